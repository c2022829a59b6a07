"""The special functions beyond the OpInfo table: accuracy over wide ranges (SciPy as the oracle), PyTorch's values
at poles and infinities on both backends, integer and empty inputs, and the refusals of polygamma's order."""

import numpy as np
import pytest

import symnet as sn

scipy_special = pytest.importorskip("scipy.special")

RNG = np.random.default_rng(11)
POSITIVE = np.concatenate([np.exp(RNG.uniform(np.log(1e-300), np.log(1e-3), 40)), RNG.uniform(1e-3, 30, 300),
                           np.exp(RNG.uniform(np.log(30), np.log(1e300), 40))])
NEGATIVE = -RNG.uniform(1e-3, 30, 300)
NEGATIVE = NEGATIVE[np.abs(NEGATIVE - np.round(NEGATIVE)) > 1e-3]


def relative_error(actual, expected) -> float:
    """Over the normal results (a subnormal one has fewer digits)."""
    finite = np.isfinite(expected) & (np.abs(expected) >= np.finfo(actual.dtype).tiny)
    return float(np.max(np.abs(actual[finite] / expected[finite] - 1)))


# measured worst relative errors (float64, against SciPy): lgamma 2e-15 away from its zeros (9e-15 beside the
# negative ones), digamma/polygamma 2e-12 beside digamma's negative zeros, else 1e-14; erfc 2e-13 (erf's tail
# fit, near x = 3), 6e-15 elsewhere; i0, i1 2e-15; float32 erfc 2e-6 (normal results), i0 5e-7, lgamma 1e-6.
@pytest.mark.parametrize(("name", "ours", "oracle", "xs", "bound"), [
    ("lgamma", lambda t: t.lgamma(), scipy_special.gammaln, POSITIVE, 1e-13),
    ("digamma", lambda t: t.digamma(), scipy_special.psi, POSITIVE, 1e-13),
    ("trigamma", lambda t: sn.polygamma(1, t), lambda x: scipy_special.polygamma(1, x), POSITIVE[POSITIVE < 1e150],
     1e-13),
    ("polygamma3", lambda t: sn.polygamma(3, t), lambda x: scipy_special.polygamma(3, x),
     POSITIVE[(POSITIVE < 1e70) & (POSITIVE > 1e-70)], 1e-13),
    ("lgamma-negative", lambda t: t.lgamma(), scipy_special.gammaln, NEGATIVE[np.abs(scipy_special.gammaln(NEGATIVE))
                                                                               > 0.05], 1e-13),
    ("trigamma-negative", lambda t: sn.polygamma(1, t), lambda x: scipy_special.polygamma(1, x), NEGATIVE, 1e-13),
    ("erfc", lambda t: t.erfc(), scipy_special.erfc, np.linspace(-30, 27, 2001), 1e-12),
    ("i0", lambda t: t.i0(), scipy_special.i0, np.linspace(-700, 700, 2001), 1e-14),
])
def test_accuracy_against_scipy(name, ours, oracle, xs, bound):
    with np.errstate(all="ignore"):
        assert relative_error(ours(sn.tensor(xs)).numpy(), oracle(xs)) < bound


def test_float32_accuracy():
    xs = np.linspace(-9.95, 9.95, 997).astype(np.float32)  # no pole hit; zeros of lgamma avoided by the bound's use
    assert relative_error(sn.tensor(xs).erfc().numpy(), scipy_special.erfc(xs.astype(np.float64))) < 1e-5
    assert relative_error(sn.tensor(xs).i0().numpy(), scipy_special.i0(xs.astype(np.float64))) < 1e-6
    positive = np.linspace(2.05, 30, 500).astype(np.float32)
    assert relative_error(sn.tensor(positive).lgamma().numpy(), scipy_special.gammaln(positive.astype(np.float64))) \
        < 1e-5


SPECIAL = [0.0, -0.0, -1.0, -2.0, -np.inf, np.inf, np.nan, 1e-320, -1e-320]
#: PyTorch 2.13's values at SPECIAL (float64)
EXPECTED = {
    "lgamma": [np.inf, np.inf, np.inf, np.inf, np.inf, np.inf, np.nan, 736.8272408909739, 736.8272408909739],
    "digamma": [-np.inf, np.inf, np.nan, np.nan, np.nan, np.inf, np.nan, -np.inf, np.inf],
    "polygamma1": [np.inf, np.inf, 6.580790147320947e+32, 1.6451975368302367e+32, np.nan, 0.0, np.nan, np.inf, np.inf],
    "polygamma2": [-np.inf, -np.inf, -np.inf, -np.inf, -np.inf, np.nan, np.nan, -np.inf, np.inf],
    "polygamma3": [np.inf, np.inf, np.inf, np.inf, np.inf, np.nan, np.nan, np.inf, np.inf],
    "i0": [1.0, 1.0, 1.2660658777520082, 2.279585302336067, np.nan, np.nan, np.nan, 1.0, 1.0],
    "erfc": [1.0, 1.0, 1.8427007929497148, 1.9953222650189528, 2.0, 0.0, np.nan, 1.0, 1.0],
}


def _special(name: str, t):
    return sn.polygamma(int(name[-1]), t) if name.startswith("polygamma") else getattr(t, name)()


@pytest.mark.parametrize("backend", ["native", "reference"])
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_poles_and_infinities_as_pytorch(name, backend):
    with sn.backend.use(backend), np.errstate(all="ignore"):
        got = _special(name, sn.tensor(np.array(SPECIAL))).numpy()
    np.testing.assert_allclose(got, EXPECTED[name], rtol=1e-12)


def test_derivatives_at_zero_and_large_arguments():
    x = sn.tensor([0.0, 1e-300, 3.0, 50.0], dtype=sn.float64, requires_grad=True)
    x.i0().sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), scipy_special.i1([0.0, 1e-300, 3.0, 50.0]), rtol=1e-13)
    y = sn.tensor([10.0, 20.0], dtype=sn.float64, requires_grad=True)
    y.erfc().sum().backward()  # −2/√π·exp(−x²): finite and tiny, not 0 · ∞
    np.testing.assert_allclose(y.grad.numpy(), -2 / np.sqrt(np.pi) * np.exp(-np.array([100.0, 400.0])), rtol=1e-13)


def test_integer_bool_and_empty_inputs():
    assert sn.tensor([1, 2, 3]).lgamma().dtype == sn.float32
    np.testing.assert_allclose(sn.tensor([True, False]).i0().numpy(), [1.2660658, 1.0], rtol=1e-6)
    np.testing.assert_allclose(sn.polygamma(1, sn.tensor([1, 2])).numpy(), [np.pi**2 / 6, np.pi**2 / 6 - 1], rtol=1e-6)
    assert sn.tensor(np.zeros((0, 3))).digamma().shape == (0, 3)
    assert sn.tensor(2.5).lgamma().shape == ()


def test_polygamma_order_refused_as_pytorch():
    x = sn.tensor([1.5])
    with pytest.raises(ValueError, match="negative n"):
        sn.polygamma(-1, x)
    with pytest.raises(TypeError, match="must be int"):
        sn.polygamma(1.5, x)
    np.testing.assert_allclose(x.polygamma(2).numpy(), sn.polygamma(2, x).numpy())
