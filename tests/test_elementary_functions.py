"""The trigonometric, hyperbolic and inverse functions (tan, sinh, cosh, asin, acos, atan, asinh, acosh, atanh),
log10 and exp2: values within a few ulps of NumPy's (the C library's) on both backends and in both formats, the
special values (±0, ±inf, NaN, the edges of each domain) exactly, and gradients as PyTorch computes them."""

from __future__ import annotations

import numpy as np
import pytest

import symnet as sn

NUMPY = {"tan": np.tan, "sinh": np.sinh, "cosh": np.cosh, "asin": np.arcsin, "acos": np.arccos, "atan": np.arctan,
         "asinh": np.arcsinh, "acosh": np.arccosh, "atanh": np.arctanh, "log10": np.log10, "exp2": np.exp2}
#: the derivatives, as PyTorch's backward formulas state them
DERIVATIVES = {"tan": lambda x: 1 + np.tan(x) ** 2, "sinh": np.cosh, "cosh": np.sinh,
               "asin": lambda x: 1 / np.sqrt(1 - x**2), "acos": lambda x: -1 / np.sqrt(1 - x**2),
               "atan": lambda x: 1 / (1 + x**2), "asinh": lambda x: 1 / np.sqrt(x**2 + 1),
               "acosh": lambda x: 1 / np.sqrt(x**2 - 1), "atanh": lambda x: 1 / (1 - x**2),
               "log10": lambda x: 1 / (x * np.log(10)), "exp2": lambda x: np.exp2(x) * np.log(2)}
SPECIAL = [0.0, -0.0, np.inf, -np.inf, np.nan, 1.0, -1.0, 1e-30, -1e-30, 0.5, 88.5, 89.3, 709.5, -745.0, 1e300,
           1.0000001, 0.9999999, -0.9999999, 2.0, 1e8, 3e8]
ULPS = 4  # the largest difference found from NumPy on these points: 4 ulps (acosh near 1 in float32)


def points(dtype: str) -> np.ndarray:
    rng = np.random.default_rng(7)
    wide = np.exp(rng.uniform(-60, 60, 1000))  # beyond float32's range at both ends: ±inf and ±0 there
    with np.errstate(over="ignore"):
        return np.concatenate([rng.standard_normal(2000) * 3, rng.uniform(-1, 1, 2000), wide, -wide,
                               SPECIAL]).astype(dtype)


@pytest.mark.parametrize("backend", ["native", "reference"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(NUMPY))
def test_values_are_within_a_few_ulps_and_special_values_exact(name, dtype, backend):
    x = points(dtype)
    with np.errstate(all="ignore"):
        want = NUMPY[name](x)
        with sn.backend.use(backend):
            got = getattr(sn.tensor(x), name)().numpy()
    assert got.dtype == x.dtype
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    finite = np.isfinite(want)
    np.testing.assert_array_equal(got[~finite & ~np.isnan(want)], want[~finite & ~np.isnan(want)])
    tiny = np.finfo(dtype).tiny
    ulps = np.abs(got[finite].astype(np.float64) - want[finite]) / np.spacing(np.maximum(np.abs(want[finite]), tiny))
    assert ulps.max(initial=0) <= ULPS, x[finite][np.argmax(ulps)]
    zeros = x == 0
    odd = name not in ("cosh", "acos", "acosh", "log10", "exp2")
    if odd:  # an odd function keeps the sign of a zero
        np.testing.assert_array_equal(np.signbit(got[zeros]), np.signbit(x[zeros]))


@pytest.mark.parametrize("backend", ["native", "reference"])
@pytest.mark.parametrize("name", sorted(NUMPY))
def test_gradients_are_pytorchs_formulas(name, backend):
    x = {"acosh": np.array([1.5, 2.0, 10.0, 1e3]), "log10": np.array([0.1, 2.0, 10.0, 1e3])}.get(
        name, np.array([-0.9, -0.3, 0.2, 0.7]))
    with sn.backend.use(backend):
        t = sn.tensor(x, requires_grad=True)
        getattr(t, name)().sum().backward()
    np.testing.assert_allclose(t.grad.numpy(), DERIVATIVES[name](x), rtol=1e-13)
    for alias in ("arcsin", "arccos", "arctan", "arcsinh", "arccosh", "arctanh"):
        assert getattr(sn.Tensor, alias) is getattr(sn.Tensor, alias.replace("arc", "a"))
    assert getattr(sn, name)(sn.tensor(x)).numpy().tolist() == getattr(sn.tensor(x), name)().numpy().tolist()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_values_and_gradients_match_pytorch(dtype):
    torch = pytest.importorskip("torch")
    x = points(dtype)
    for name in NUMPY:
        got, want = getattr(sn.tensor(x), name)().numpy(), getattr(torch.from_numpy(x), name)().numpy()
        np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
        finite = np.isfinite(want)
        np.testing.assert_allclose(got[finite], want[finite], rtol=5e-7 if dtype == "float32" else 1e-15, atol=0,
                                   err_msg=name)


@pytest.mark.parametrize("backend", ["native", "reference"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("exponent", [1.5, 2.5, -1.5, -2.5, 4.5, -4.5])
def test_half_integer_powers_are_within_a_few_ulps(exponent, dtype, backend):
    """x^(n + ½) as xⁿ·√x: e^(y·log x) was 17 ulps off at x^2.5; pow's special values as C's (pow(−inf, 2.5) is
    +inf, pow(−0, −1.5) is +inf, a negative base NaN)."""
    rng = np.random.default_rng(3)
    x = np.concatenate([rng.uniform(0, 30, 5000), [0.0, -0.0, np.inf, -np.inf, np.nan, -1.0, 4.0]]).astype(dtype)
    with sn.backend.use(backend), np.errstate(all="ignore"):
        got = (sn.tensor(x) ** exponent).numpy()
        exact = np.power(x.astype(np.float64), exponent)
    finite = np.isfinite(exact) & (np.abs(exact) < np.finfo(dtype).max) & (np.abs(exact) > np.finfo(dtype).tiny)
    ulps = np.abs(got[finite] - exact[finite]) / np.spacing(np.abs(exact[finite]).astype(dtype))
    assert ulps.max() <= 5
    special = ~np.isfinite(x) | (x <= 0)
    with np.errstate(all="ignore"):
        np.testing.assert_array_equal(got[special], np.power(x[special], dtype_of(dtype)(exponent)))


def dtype_of(dtype: str):
    return np.dtype(dtype).type
