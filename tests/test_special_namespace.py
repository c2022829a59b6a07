"""``symnet.special`` (torch.special's names) and ``mvlgamma``: the aliases are the tensor functions checked against
PyTorch elsewhere (tests/test_special.py, the OpInfo table); the compositions are checked here against their
formulas, at their edges and through a compiled step's derivation (finite differences)."""

import math

import numpy as np
import pytest

import symnet as sn
from symnet import special

X = np.array([-1.0, 0.0, 0.5, 2.0, 3.5])


@pytest.mark.parametrize(("name", "method"), [
    ("digamma", "digamma"), ("psi", "digamma"), ("gammaln", "lgamma"), ("erf", "erf"), ("erfc", "erfc"),
    ("exp2", "exp2"), ("expit", "sigmoid"), ("expm1", "expm1"), ("i0", "i0"), ("log1p", "log1p"),
    ("round", "round"), ("sinc", "sinc")])
def test_aliases_are_the_tensor_functions(name, method):
    x = sn.tensor(X, dtype=sn.float64)
    np.testing.assert_array_equal(getattr(special, name)(x).numpy(), getattr(x, method)().numpy())


def test_compositions_follow_their_formulas_and_edges():
    x = sn.tensor(X, dtype=sn.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        np.testing.assert_allclose(special.ndtr(x).numpy(), [0.15865525393145707, 0.5, 0.6914624612740131,
                                                             0.9772498680518208, 0.9997673709209645], rtol=1e-14)
        assert special.ndtr(sn.tensor([-30.0], dtype=sn.float64)).item() == pytest.approx(4.906713927148187e-198)
        np.testing.assert_array_equal(special.entr(x).numpy()[:2], [-np.inf, 0.0])
        np.testing.assert_allclose(special.entr(x).numpy()[2:], -X[2:] * np.log(X[2:]), rtol=1e-15)
    y = sn.tensor([-1.0, 0.5, np.nan, 2.0], dtype=sn.float64)
    out = special.xlog1py(sn.tensor([0.0, 2.0, 0.0, 1.5], dtype=sn.float64), y).numpy()
    np.testing.assert_allclose(out, [0.0, 2 * math.log1p(0.5), np.nan, 1.5 * math.log1p(2.0)], rtol=1e-15)
    np.testing.assert_allclose(special.i1(sn.tensor([1.0], dtype=sn.float64)).numpy(), [0.5651591039924851],
                               rtol=1e-14)


def test_mvlgamma_is_the_multivariate_log_gamma():
    z = np.array([2.5, 3.0, 7.25])
    expected = sum(np.array([math.lgamma(v - j / 2) for v in z]) for j in range(3)) + 3 * 2 / 4 * math.log(math.pi)
    np.testing.assert_allclose(sn.mvlgamma(sn.tensor(z, dtype=sn.float64), 3).numpy(), expected, rtol=1e-13)
    np.testing.assert_array_equal(special.multigammaln(sn.tensor(z, dtype=sn.float64), 3).numpy(),
                                  sn.tensor(z, dtype=sn.float64).mvlgamma(3).numpy())
    # PyTorch 2.13 checks no domain: below (p − 1)/2 it gives lgamma's values, ∞ at a pole
    low = sn.mvlgamma(sn.tensor([0.5, 0.1], dtype=sn.float64), 2).numpy()
    assert low[0] == np.inf and low[1] == pytest.approx(4.1396022, rel=1e-7)
    with pytest.raises(ValueError, match="p has to be"):
        sn.mvlgamma(sn.tensor([2.0]), 0)


def test_gradients_of_the_compositions_against_finite_differences():
    x = sn.tensor([0.3, 1.2, 2.5], dtype=sn.float64, requires_grad=True)
    y = sn.tensor([0.5, 1.5, 0.2], dtype=sn.float64, requires_grad=True)
    sn.check_grads(lambda a, b: (special.ndtr(a) + special.entr(a) + special.xlog1py(a, b)).sum()
                   + a.mvlgamma(2).sum(), [x + 1.0, y], order=1)
