"""Element-wise ops beyond the OpInfo table: the erfinv kernel's accuracy, Python's division rules at special
values, the rule rows that print, selects that keep overflow out of every derivative order, and the function
forms ``symnet.<name>``."""

import numpy as np
import pytest
import sympy as sp

import symnet as sn
from symnet.core.autodiff import partial
from symnet.core.elementwise import ELEMENTWISE, derivative_rules

scipy_special = pytest.importorskip("scipy.special")


def ulps(actual, expected, dtype):
    expected = expected.astype(dtype)
    finite = np.isfinite(expected) & (expected != 0)
    spacing = np.spacing(np.abs(expected[finite])).astype(np.float64)
    return float((np.abs(actual[finite].astype(np.float64) - expected[finite].astype(np.float64)) / spacing).max())


# measured: float64 ≤ 15 ulps, float32 ≤ 3 on |y| ≤ 0.9999 (from the exact value, scipy's); float32 ≤ 19 up to
# 1 − 10⁻⁷. Closer to ±1 in float64 the residual erf(x) − y is all rounding: relative error up to 0.12 at 1 − 2⁻⁵³.
@pytest.mark.parametrize(("dtype", "bound"), [(np.float64, 16), (np.float32, 4)])
def test_erfinv_kernel_accuracy(dtype, bound):
    y = np.linspace(-0.9999, 0.9999, 200_001).astype(dtype)
    actual = sn.tensor(y, dtype=dtype).erfinv().numpy()
    assert ulps(actual, scipy_special.erfinv(y.astype(np.float64)), dtype) <= bound


@pytest.mark.parametrize("backend", ["native", "reference"])
def test_erfinv_special_values(backend):
    with sn.backend.use(backend):
        got = sn.tensor([1.0, -1.0, 1.5, np.nan, 0.0, -0.0]).erfinv().numpy()
    np.testing.assert_array_equal(got[:2], [np.inf, -np.inf])
    assert np.isnan(got[2:4]).all() and (got[4:] == 0).all()


SPECIAL = np.array([-7.0, 7.0, -0.0, 0.0, np.inf, -np.inf, np.nan, 5.5, 1e308, -1e-300])


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_floor_divide_and_remainder_follow_python_at_special_values(dtype):
    a, b = np.meshgrid(SPECIAL, SPECIAL)
    a, b = a.ravel().astype(dtype), b.ravel().astype(dtype)
    x, y = sn.tensor(a, dtype=dtype), sn.tensor(b, dtype=dtype)
    with np.errstate(all="ignore"):
        np.testing.assert_array_equal((x // y).numpy(), np.floor_divide(a, b))
        np.testing.assert_array_equal((x % y).numpy(), np.remainder(a, b))


def test_integer_division_by_zero_raises_as_pytorch():
    """A zero divisor known at once or computed is PyTorch's ZeroDivisionError, never a trap or a number."""
    a, b = sn.tensor([7, -7]), sn.tensor([0, 0])
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        (a // b).numpy()
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        (a % (b * sn.tensor(1))).numpy()


def test_rules_print_pytorch_conventions():
    rows = {name: partials for name, _, partials in derivative_rules()}
    assert str(rows["maximum"][0]) == "-[x = y]/2 - [y > x] + 1"  # ties split ½/½, NaN to both
    assert str(rows["fmax"][0]) == "[x ≥ y] + [y ≠ y]"  # ties to the first operand
    assert str(rows["remainder"][1]) == "-floor_divide(x, y)"
    assert str(rows["where"][0]) == "where(c, 1, 0)"


def test_select_keeps_overflow_out_of_second_derivatives():
    """ELU's exponential stays inside the select in every order, so at x = 10⁴ it is never multiplied by 0."""
    x = sp.Symbol("x", real=True)
    first = partial(ELEMENTWISE["elu"](x, 1, 1, 1), x)
    assert str(first) == "where([x ≤ 0], exp(x), 1)"
    assert str(partial(first, x)) == "where([x ≤ 0], exp(x), 0)"


def test_function_forms_are_exported():
    x = sn.tensor([0.5, -1.5])
    for name in ("erfinv", "expm1", "maximum", "floor_divide", "nan_to_num", "lerp", "frac", "negative"):
        assert callable(getattr(sn, name)), name
    np.testing.assert_array_equal(sn.where(x > 0, x, 0.0).numpy(), [0.5, 0.0])
    np.testing.assert_allclose(sn.pow(2, x).numpy(), 2 ** x.numpy())
    np.testing.assert_array_equal(abs(x).numpy(), [0.5, 1.5])


def test_refusals_name_the_problem():
    with pytest.raises(sn.DTypeError, match="boolean"):
        sn.where(sn.tensor([1, 0]), sn.tensor([1.0, 2.0]), 0.0)
    with pytest.raises(ValueError, match="rounding_mode"):
        sn.div(sn.tensor([1.0]), 2, rounding_mode="ceil")
    with pytest.raises(TypeError, match="must be Tensor"):
        sn.maximum(sn.tensor([1.0]), 2)


def test_signbit_and_sgn_as_pytorch():
    v = np.array([-0.0, 0.0, -1.5, 2.0, -np.inf, np.inf], np.float32)
    assert sn.tensor(v).signbit().numpy().tolist() == np.signbit(v).tolist()
    assert sn.signbit(sn.tensor([3, -2, 0])).numpy().tolist() == [False, True, False]
    assert sn.tensor([True, False]).signbit().numpy().tolist() == [False, False]
    assert sn.sgn(sn.tensor(v)).numpy().tolist() == np.sign(v).tolist()
    assert sn.tensor([True, False]).sign().numpy().tolist() == [True, False]  # as torch.sign of bools
    assert sn.tensor([True, False]).sgn().dtype == sn.bool_
