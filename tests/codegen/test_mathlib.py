"""Accuracy of the compiled transcendental functions: max error over a dense sweep, in ulps.

The reference is NumPy in extended precision (x86 long double) rounded to the result dtype; special values
(±inf, NaN, ±0, subnormals) must give exactly what NumPy gives.
"""

import math

import numpy as np
import pytest

import symnet as sn

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
# float64 exp 1, log 3, tanh 3, sigmoid 2, softplus 4, sin 2, cos 2; float32 exp 1, log 3, tanh 2, sigmoid 2,
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


def test_sin_cos_beyond_their_domain_are_nan_not_wrong():
    huge = sn.tensor([1e7, -1e300], dtype=sn.float64)
    assert np.isnan(huge.sin().numpy()).all() and np.isnan(huge.cos().numpy()).all()


SPECIALS = np.array([np.inf, -np.inf, np.nan, 0.0, -0.0, 5e-324, -5e-324, 1e308, -1e308, 1.0, -1.0])


@pytest.mark.parametrize("name", sorted(SWEEPS))
def test_special_values_match_numpy(name):
    specials = SPECIALS[np.abs(SPECIALS) < 1e300] if name in ("sin", "cos") else SPECIALS
    with np.errstate(all="ignore"):
        expected = reference(name, specials).astype(np.float64)
        actual = getattr(sn.tensor(specials, dtype=sn.float64), name)().numpy()
    np.testing.assert_array_equal(np.isnan(actual), np.isnan(expected))
    finite = ~np.isnan(expected)
    np.testing.assert_allclose(actual[finite], expected[finite], rtol=4e-16, atol=0)
