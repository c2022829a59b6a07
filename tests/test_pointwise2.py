"""Comparison and binary element functions beyond the OpInfo table (tests/opinfo/cases_pointwise2.py): signed
zeros (the table's comparison ignores a zero's sign), exact and stable values at extreme magnitudes, Python
results (``equal``, ``allclose``), what has no gradient, the forms offered, and what a compiled step refuses."""

from __future__ import annotations

import math

import numpy as np
import pytest

import symnet as sn
from symnet.frontend.batch import batch_trace

NAMES = ("eq", "ne", "gt", "ge", "lt", "le", "greater", "greater_equal", "less", "less_equal", "not_equal", "equal",
         "isclose", "allclose", "atan2", "arctan2", "hypot", "copysign", "fmod", "heaviside", "logaddexp",
         "logaddexp2", "xlogy", "sinc", "float_power", "ldexp", "clamp_min", "clamp_max", "nextafter", "addcmul",
         "addcdiv", "isneginf", "isposinf", "isreal")


def test_every_function_is_offered_as_a_method_and_a_function():
    x = sn.tensor([1.0])
    for name in (*NAMES, "real"):
        assert callable(getattr(sn, name)), name
    for name in NAMES:
        assert callable(getattr(x, name)), name
    assert x.real is x and sn.real(x) is x  # a real tensor's real part is the tensor, as in PyTorch


def test_equal_and_allclose_are_python_bools():
    a = sn.tensor([1.0, 2.0, math.nan])
    assert sn.equal(a[:2], sn.tensor([1, 2])) is True
    assert a.equal(a) is False  # NaN equals nothing
    assert sn.equal(a, a[:2]) is False  # shapes differ
    assert sn.allclose(a, a, equal_nan=True) is True
    assert a.allclose(a + 1e-3) is False


def test_ldexp_scales_as_c_in_the_promoted_float_dtype():
    """An integer exponent scales without 2^other overflowing (as PyTorch's, which calls C's ldexp); a float one
    is self·2^other, overflow and gradients included; the dtype is result_type's, made float (PyTorch 2.13's
    values, read off it)."""
    big = sn.ldexp(sn.tensor([1e-30, 1e30, 3.0]), sn.tensor([200, -200, -149]))
    np.testing.assert_array_equal(big.numpy(), np.float32([1.606938e30, 6.2230154e-31, 4e-45]))
    assert math.isinf(sn.ldexp(sn.tensor([1e-30]), sn.tensor([200.5])).item())
    assert sn.ldexp(sn.tensor(2.0, dtype=sn.float64), sn.tensor([1, 2, 3])).dtype == sn.float64
    assert sn.ldexp(sn.tensor([1, 2]), sn.tensor([1, -1])).dtype == sn.float32
    np.testing.assert_array_equal(sn.ldexp(sn.tensor([1, 2]), sn.tensor([1, -1])).numpy(), [2.0, 1.0])
    x, e = sn.tensor([1.5], requires_grad=True), sn.tensor([2.0], requires_grad=True)
    sn.ldexp(x, e).backward()
    assert x.grad.item() == 4.0 and e.grad.item() == pytest.approx(6 * math.log(2))
    with pytest.raises(sn.DTypeError, match="ldexp"):
        sn.ldexp(sn.tensor([1.0]), sn.tensor([True]))


def _signed(values) -> list[tuple[float, bool]]:
    return [(float(v), bool(np.signbit(v))) for v in np.asarray(values)]


@pytest.mark.parametrize("backend", ["native", "reference"])
def test_signed_zeros_follow_c(backend):
    """C's values at zeros, with their signs (as PyTorch's); one program per function."""
    pz, nz = 0.0, -0.0
    y = sn.tensor([pz, nz, pz, nz, nz, nz], dtype=sn.float64)
    x = sn.tensor([pz, pz, nz, nz, 1.0, -1.0], dtype=sn.float64)
    with sn.backend.use(backend):
        angles = sn.atan2(y, x).numpy()
        remainders = sn.fmod(sn.tensor([-4.0, 4.0, nz, -1.0]), sn.tensor([2.0, -2.0, 1.0, math.inf])).numpy()
        signs = sn.copysign(sn.tensor([1.0, 2.0, 0.0]), sn.tensor([nz, pz, -3.0])).numpy()
    assert _signed(angles) == _signed([pz, nz, math.pi, -math.pi, nz, -math.pi])
    assert _signed(remainders) == _signed(np.float32([nz, pz, nz, -1.0]))
    assert _signed(signs) == _signed(np.float32([-1.0, 2.0, nz]))


def test_extreme_magnitudes_stay_finite_and_exact():
    """hypot's squares and logaddexp's exponentials never overflow; fmod is exact where a − trunc(a/b)·b is not
    (PyTorch's vectorized fmod gives NaN at 1e300 mod 1e-200)."""
    big = sn.tensor([1e300, 3e-300, 1e-200], dtype=sn.float64, requires_grad=True)
    other = sn.tensor([1e300, 4e-300, 0.0], dtype=sn.float64, requires_grad=True)
    h = sn.hypot(big, other)
    h.sum().backward()
    np.testing.assert_allclose(h.numpy(), [math.hypot(1e300, 1e300), 5e-300, 1e-200], rtol=1e-15)
    np.testing.assert_allclose(big.grad.numpy(), [2**-0.5, 0.6, 1.0], rtol=1e-15)
    np.testing.assert_allclose(other.grad.numpy(), [2**-0.5, 0.8, 0.0], rtol=1e-15)
    a = sn.tensor([1000.0, -1000.0, math.inf, -math.inf], dtype=sn.float64)
    np.testing.assert_allclose(sn.logaddexp(a, a).numpy(), [1000 + math.log(2), -1000 + math.log(2), math.inf,
                                                            -math.inf], rtol=1e-15)
    np.testing.assert_allclose(sn.logaddexp2(a, a).numpy(), [1001, -999, math.inf, -math.inf], rtol=1e-15)
    got = sn.fmod(sn.tensor([1e300, -7.0], dtype=sn.float64), sn.tensor([1e-200, 0.7], dtype=sn.float64))
    assert got.tolist() == [math.fmod(1e300, 1e-200), math.fmod(-7.0, 0.7)]


def test_functions_without_a_gradient():
    """PyTorch has no derivative of heaviside or nextafter: heaviside's values get none, nextafter is a constant."""
    x = sn.tensor([-1.0, 0.0, 2.0], requires_grad=True)
    values = sn.tensor([0.5, 0.5, 0.5], requires_grad=True)
    (sn.heaviside(x, values) * x).sum().backward()
    np.testing.assert_array_equal(values.grad.numpy(), [0.0, 0.0, 0.0])
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.5, 1.0])  # heaviside(x) itself: its own slope is 0
    step = sn.nextafter(x, sn.tensor(math.inf))
    assert not step.requires_grad
    np.testing.assert_array_equal(step.numpy(), np.nextafter(np.float32([-1.0, 0.0, 2.0]), np.float32(np.inf)))


def test_refusals_name_the_problem():
    f, d, i = sn.tensor([1.0]), sn.tensor([1.0], dtype=sn.float64), sn.tensor([1])
    with pytest.raises(TypeError, match=r"atan2\(\): argument 'other' \(position 2\) must be Tensor, not float"):
        sn.atan2(f, 1.0)
    with pytest.raises(sn.DTypeError, match="hypot is not implemented for int64"):
        sn.hypot(i, i)
    with pytest.raises(sn.DTypeError, match="isclose: float32 did not match float64"):
        sn.isclose(f, d)
    with pytest.raises(ValueError, match="atol must be greater than or equal to zero"):
        f.isclose(f, atol=-1e-8)
    with pytest.raises(sn.DTypeError, match="Integer division with addcdiv"):
        f.addcdiv(i, i)
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        sn.fmod(i, 0)
    with pytest.raises(TypeError, match="expected a Tensor"):
        sn.xlogy(2, 3)


def test_nextafter_of_values_that_change_per_step_is_refused_in_a_compiled_step():
    x, w, c = sn.tensor([1.0, 2.0]), sn.nn.Parameter(np.ones(2)), sn.tensor([0.0, 0.0])
    with batch_trace(x, state=[w]):  # a compiled step names its parameters and buffers
        for varying in (x * 2, w):
            with pytest.raises(sn.NotSupportedError, match="nextafter"):
                sn.nextafter(varying, c)
        assert sn.nextafter(c, c + 1).tolist() == [np.nextafter(np.float32(0), np.float32(1))] * 2  # constants
