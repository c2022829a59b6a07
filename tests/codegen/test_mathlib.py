"""Accuracy of the compiled transcendental functions: max error over a dense sweep, in ulps.

The reference is NumPy in extended precision (x86 long double) rounded to the result dtype; special values
(±inf, NaN, ±0, subnormals) must give exactly what NumPy gives. sin and cos of large and hard arguments are
checked against mpmath values and glibc (float64).
"""

import math

import mpmath
import numpy as np
import pytest

import symnet as sn
from codegen import mathlib

LD = np.longdouble


def reference(name, x):
    x = x.astype(LD)
    with np.errstate(all="ignore"):
        if name == "sigmoid":
            e = np.exp(-np.abs(x))
            return np.where(x >= 0, 1 / (1 + e), e / (1 + e))
        if name == "softplus":
            return np.where(x > 20, x, np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x))))
        if name == "erf":  # NumPy has no erf: the C library's, in double (within half an ulp)
            return np.vectorize(math.erf, otypes=[np.float64])(x.astype(np.float64)).astype(LD)
        return getattr(np, name)(x)


# name -> (domain sweep, max ulps float64, max ulps float32), the bounds set just above what was measured:
# float64 exp 1, log 3, tanh 3, sigmoid 2, softplus 4, sin 1, cos 1; float32 exp 1, log 3, tanh 2, sigmoid 2,
# softplus 3, and sin/cos 0 (computed in double, rounded once); erf 1 in both (against mpmath; the reference
# here is the C library's erf, itself within half an ulp).
SWEEPS = {
    "exp": (np.linspace(-745, 709.7, 400_001), 2, 2),
    "log": (np.concatenate([np.geomspace(1e-307, 1e307, 200_001), np.linspace(0.5, 2, 100_001),
                            np.array([5e-324, 1e-310, 2.2250738585072014e-308])]), 3, 3),
    "tanh": (np.linspace(-25, 25, 400_001), 3, 3),
    "sigmoid": (np.linspace(-745, 745, 400_001), 3, 3),
    "softplus": (np.linspace(-100, 100, 400_001), 4, 4),
    "sin": (np.linspace(-1e4, 1e4, 400_001), 2, 1),
    "cos": (np.linspace(-1e4, 1e4, 400_001), 2, 1),
    "erf": (np.linspace(-7, 7, 400_001), 2, 2),
}


def ulps(actual, expected, dtype):
    expected = expected.astype(dtype)
    finite = np.isfinite(expected) & (expected != 0)
    spacing = np.spacing(np.abs(expected[finite]).astype(dtype))
    err = np.abs(actual[finite].astype(LD) - expected[finite].astype(LD)) / spacing.astype(LD)
    return float(err.max(initial=0))


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("name", sorted(SWEEPS))
def test_max_ulp_error_over_sweep(name, dtype):
    x, tol64, tol32 = SWEEPS[name]
    x = x[np.abs(x) < np.finfo(dtype).max].astype(dtype)
    actual = getattr(sn.tensor(x, dtype=dtype), name)().numpy()
    with np.errstate(over="ignore"):
        err = ulps(actual, reference(name, x), dtype)
    assert err <= (tol64 if dtype == np.float64 else tol32), f"{name} {np.dtype(dtype).name}: {err:.2f} ulps"


# x, sin x, cos x (mpmath, 2000 bits): beyond Cody–Waite's 2^20·π/2, where Payne–Hanek reduces, up to the largest
# double, and doubles closest to a multiple of π/2 (the hardest: the reduced argument cancels the most), found by
# continued fractions of 2^e·2/π per binade; 6381956970095103·2^797 is the closest of all doubles.
HARD = [
    (1e7, 0.4205477931907825, -0.9072703861817396),
    (-1e22, 0.8522008497671888, 0.523214785395139),
    (1e300, -0.8178819121159085, -0.5753861119575491),
    (2.0**1023, 0.563127779850884, -0.826369834614148),
    (-1.7976931348623157e308, -0.004961954789184062, -0.9999876894265599),
    (1647100.0, 0.6216400379214212, 0.7833030468809974),
    (6381956970095103 * 2.0**797, 1.0, -4.687165924254628e-19),
    (1.0638745296653083e256, -9.374331848509255e-19, -1.0),
    (14461176.67027838, -1.0, -1.6985038298986004e-18),
    (3.924293714572882e298, 1.0, 2.0149386674952238e-18),
    (45.553093477052, 1.0, -6.189806365883577e-19),
]


@pytest.mark.parametrize("name", ["sin", "cos"])
def test_sin_cos_of_huge_and_hard_arguments_match_mpmath(name):
    x, sin, cos = (np.array(column) for column in zip(*HARD, strict=True))
    actual = getattr(sn.tensor(x, dtype=sn.float64), name)().numpy()
    assert ulps(actual, sin if name == "sin" else cos, np.float64) <= 2


@pytest.mark.parametrize("name", ["sin", "cos"])
def test_sin_cos_of_large_arguments_match_glibc(name):
    """NumPy's float64 sin and cos (glibc's) reduce exactly and are within an ulp: a reference at every magnitude."""
    x = np.geomspace(1e4, 1e300, 5001)
    x = np.concatenate([x, -x])
    actual = getattr(sn.tensor(x, dtype=sn.float64), name)().numpy()
    assert ulps(actual, getattr(np, name)(x), np.float64) <= 2


@pytest.mark.parametrize("name", ["sin", "cos"])
def test_sin_cos_of_large_float32_arguments(name):
    x = np.geomspace(1e4, 3e38, 5001, dtype=np.float32)
    x = np.concatenate([x, -x, [np.finfo(np.float32).max]])
    actual = getattr(sn.tensor(x, dtype=sn.float32), name)().numpy()
    assert ulps(actual, getattr(np, name)(x.astype(np.float64)).astype(np.float32), np.float32) <= 1


def test_sin_keeps_the_sign_of_zero():
    zeros = sn.tensor([0.0, -0.0], dtype=sn.float64)
    np.testing.assert_array_equal(np.signbit(zeros.sin().numpy()), [False, True])
    np.testing.assert_array_equal(zeros.cos().numpy(), [1.0, 1.0])


def test_two_over_pi_matches_mpmath():
    with mpmath.workprec(1300):
        assert mathlib.TWO_OVER_PI == int(mpmath.floor(2 / mpmath.pi * mpmath.mpf(2) ** 1176))


SPECIALS = np.array([np.inf, -np.inf, np.nan, 0.0, -0.0, 5e-324, -5e-324, 1e308, -1e308, 1.0, -1.0])


@pytest.mark.parametrize("name", sorted(SWEEPS))
def test_special_values_match_numpy(name):
    with np.errstate(all="ignore"):
        expected = reference(name, SPECIALS).astype(np.float64)
        actual = getattr(sn.tensor(SPECIALS, dtype=sn.float64), name)().numpy()
    np.testing.assert_array_equal(np.isnan(actual), np.isnan(expected))
    finite = ~np.isnan(expected)
    np.testing.assert_allclose(actual[finite], expected[finite], rtol=4e-16, atol=0)
