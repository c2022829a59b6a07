"""Activation modules beyond the OpInfo table: reprs as PyTorch prints them, PReLU's parameter, RReLU's modes,
``inplace=``, finite values and gradients at extreme inputs, and readable derived formulas."""

import numpy as np
import pytest

import symnet as sn
from symnet.nn import activation as A
from symnet.nn import functional as F

torch = pytest.importorskip("torch")

REPRS = [
    ("ELU", dict(alpha=0.5, inplace=True)), ("CELU", {}), ("SELU", {}), ("SiLU", dict(inplace=True)),
    ("Hardtanh", {}), ("ReLU6", {}), ("Threshold", dict(threshold=0.1, value=20)), ("Softshrink", {}),
    ("Hardshrink", dict(lambd=2.0)), ("PReLU", dict(num_parameters=3)), ("RReLU", {}), ("Softmin", dict(dim=1)),
    ("GLU", {}), ("LeakyReLU", dict(negative_slope=0.2, inplace=True)), ("ReLU", dict(inplace=True)),
    ("Mish", {}), ("Hardswish", {}), ("Hardsigmoid", {}), ("LogSigmoid", {}), ("Softsign", {}), ("Tanhshrink", {}),
]


@pytest.mark.parametrize(("name", "kwargs"), REPRS, ids=[n for n, _ in REPRS])
def test_repr_matches_pytorch(name, kwargs):
    assert repr(getattr(A, name)(**kwargs)) == repr(getattr(torch.nn, name)(**kwargs))


def test_prelu_weight_is_a_named_parameter():
    m = A.PReLU(4, init=0.1)
    assert [n for n, _ in m.named_parameters()] == ["weight"]
    np.testing.assert_array_equal(m.weight.numpy(), np.full(4, 0.1, dtype=np.float32))


def test_rrelu_in_training_draws_a_slope_per_element_whose_gradient_is_the_slope():
    sn.manual_seed(2)
    x = sn.tensor(np.concatenate([-np.linspace(0.5, 2.0, 20000), [0.0, 1.0, 3.0]]), requires_grad=True)
    y = A.RReLU(0.1, 0.3)(x)
    y.sum().backward()
    slopes = (y.numpy() / x.numpy())[:20000]
    assert 0.1 <= slopes.min() and slopes.max() <= 0.3 and len(np.unique(slopes)) > 19000
    assert abs(slopes.mean() - 0.2) < 6 * 0.2 / np.sqrt(12 * 20000)  # U(0.1, 0.3): σ = 0.2/√12
    np.testing.assert_allclose(x.grad.numpy()[:20000], slopes, rtol=1e-6)
    np.testing.assert_array_equal(y.numpy()[20000:], [0.0, 1.0, 3.0])
    np.testing.assert_array_equal(x.grad.numpy()[20000:], [1.0, 1.0, 1.0])
    np.testing.assert_allclose(A.RReLU(0.1, 0.3).eval()(sn.tensor([-1.0, 1.0])).numpy(), [-0.2, 1.0])


def test_inplace_writes_back():
    x = sn.tensor([-1.0, 2.0])
    out = F.elu(x, inplace=True)
    assert out is x
    np.testing.assert_allclose(x.numpy(), [np.expm1(-1.0), 2.0], rtol=1e-6)


FUNCTIONS = ["elu", "selu", "celu", "silu", "mish", "logsigmoid", "softsign", "hardswish", "softshrink"]


@pytest.mark.parametrize("name", FUNCTIONS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_finite_at_extremes(name, dtype):
    x = sn.tensor([-1e4, -100.0, 1e4], dtype=dtype, requires_grad=True)
    y = getattr(F, name)(x)
    y.sum().backward()
    assert np.isfinite(y.numpy()).all() and np.isfinite(x.grad.numpy()).all()


@pytest.mark.parametrize("name", ["elu", "selu", "silu", "mish", "softsign", "logsigmoid", "hardswish"])
def test_second_derivatives_match_finite_differences(name):
    x = np.random.default_rng(3).uniform(-2.5, 2.5, (7,))
    sn.check_grads(lambda t: getattr(F, name)(t), [x], order=2)


def test_formulas_read_as_math():
    w = sn.tensor([0.3], requires_grad=True, name="w")
    text = str(sn.formulas(F.elu(w).sum()))
    assert "where" in text and "exp" in text
