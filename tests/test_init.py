"""nn.init: PyTorch's gains, fans and errors exactly; the draws (symnet's generator, not torch's) checked by
their statistics and structure: bounds, moments, orthogonality, identity maps, sparsity per column."""

from __future__ import annotations

import math

import numpy as np
import pytest

import symnet as sn
from symnet.nn import init


def empty(*shape, dtype=sn.float64):
    return sn.zeros(*shape, dtype=dtype)


@pytest.mark.parametrize(("name", "param", "gain"), [
    ("linear", None, 1.0), ("conv1d", None, 1.0), ("conv2d", None, 1.0), ("conv3d", None, 1.0),
    ("conv_transpose1d", None, 1.0), ("conv_transpose2d", None, 1.0), ("conv_transpose3d", None, 1.0),
    ("sigmoid", None, 1.0), ("tanh", None, 5 / 3), ("relu", None, math.sqrt(2)), ("selu", None, 0.75),
    ("leaky_relu", None, math.sqrt(2 / (1 + 0.01**2))), ("leaky_relu", 0.2, math.sqrt(2 / 1.04)),
    ("leaky_relu", 1, 1.0),
])
def test_calculate_gain_matches_pytorch(name, param, gain):
    assert init.calculate_gain(name, param) == pytest.approx(gain, rel=1e-15)


def test_calculate_gain_errors():
    with pytest.raises(ValueError, match="Unsupported nonlinearity"):
        init.calculate_gain("softsign")
    with pytest.raises(ValueError, match="not a valid number"):
        init.calculate_gain("leaky_relu", True)


def test_fills_in_place_and_keeps_dtype():
    w = empty(3, 4, dtype=sn.float32)
    assert init.constant_(w, 0.5) is w and w.dtype == sn.float32 and (w.numpy() == 0.5).all()
    assert (init.ones_(w).numpy() == 1).all() and (init.zeros_(w).numpy() == 0).all()


def test_uniform_normal_and_seeding():
    sn.manual_seed(3)
    a = init.uniform_(empty(200, 100), -2.0, 3.0).numpy()
    assert a.min() >= -2 and a.max() < 3 and abs(a.mean() - 0.5) < 0.05
    b = init.normal_(empty(200, 100), 1.0, 2.0).numpy()
    assert abs(b.mean() - 1) < 0.05 and abs(b.std() - 2) < 0.05
    sn.manual_seed(3)
    np.testing.assert_array_equal(init.uniform_(empty(200, 100), -2.0, 3.0).numpy(), a)
    own = init.normal_(empty(5), generator=np.random.default_rng(7)).numpy()
    np.testing.assert_array_equal(own, np.random.default_rng(7).normal(0, 1, 5))


def test_trunc_normal_bounds_and_moments():
    sn.manual_seed(0)
    v = init.trunc_normal_(empty(300, 300), mean=0.5, std=1.0, a=0.0, b=1.5).numpy()
    assert v.min() >= 0 and v.max() <= 1.5
    # N(0.5, 1) truncated to [−0.5σ, 1σ] around its mean: mean 0.5 + (φ(−0.5) − φ(1))/(Φ(1) − Φ(−0.5))
    phi = lambda z: math.exp(-z * z / 2) / math.sqrt(2 * math.pi)  # noqa: E731
    cdf = lambda z: 0.5 * (1 + math.erf(z / math.sqrt(2)))  # noqa: E731
    expected = 0.5 + (phi(-0.5) - phi(1.0)) / (cdf(1.0) - cdf(-0.5))
    assert abs(v.mean() - expected) < 0.01
    with pytest.warns(UserWarning, match="more than 2 std"):
        tail = init.trunc_normal_(empty(1000), mean=4.0, a=-1.0, b=1.0).numpy()
    assert tail.min() >= -1 and tail.max() <= 1 and tail.mean() > 0.7  # the mass piles up near b


@pytest.mark.parametrize("shape", [(300, 200), (64, 16, 3, 3)])
def test_xavier_and_kaiming_spreads(shape):
    sn.manual_seed(1)
    fan_in, fan_out = shape[1] * math.prod(shape[2:]), shape[0] * math.prod(shape[2:])
    bound = 2.0 * math.sqrt(6 / (fan_in + fan_out))
    u = init.xavier_uniform_(empty(*shape), gain=2.0).numpy()
    assert u.min() >= -bound and u.max() <= bound and abs(u.std() - bound / math.sqrt(3)) < 0.03 * bound
    n = init.xavier_normal_(empty(*shape)).numpy()
    assert abs(n.std() - math.sqrt(2 / (fan_in + fan_out))) < 0.03 * n.std()
    std = math.sqrt(2) / math.sqrt(fan_out)
    k = init.kaiming_normal_(empty(*shape), mode="fan_out", nonlinearity="relu").numpy()
    assert abs(k.std() - std) < 0.03 * std
    bound = math.sqrt(3) * math.sqrt(2 / (1 + 5)) / math.sqrt(fan_in)  # Linear's a = √5
    k = init.kaiming_uniform_(empty(*shape), a=math.sqrt(5)).numpy()
    assert k.min() >= -bound and k.max() <= bound and k.max() > 0.95 * bound


def test_fan_errors_and_empty_tensors():
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init.xavier_uniform_(empty(3))
    with pytest.raises(ValueError, match="Mode fan_avg not supported"):
        init.kaiming_uniform_(empty(2, 2), mode="fan_avg")
    with pytest.warns(UserWarning, match="zero-element"):
        init.kaiming_normal_(empty(0, 3))


def test_eye_and_dirac_are_identity_maps():
    assert (init.eye_(empty(2, 3)).numpy() == np.eye(2, 3)).all()
    with pytest.raises(ValueError, match="2 dimensions"):
        init.eye_(empty(2, 2, 2))
    w = init.dirac_(empty(4, 2, 3, 3), groups=2).numpy()
    expected = np.zeros((4, 2, 3, 3))
    for out, inp in [(0, 0), (1, 1), (2, 0), (3, 1)]:
        expected[out, inp, 1, 1] = 1
    np.testing.assert_array_equal(w, expected)
    x = sn.randn(1, 3, 5, 5, dtype=sn.float64)
    conv = sn.nn.functional.conv2d(x, init.dirac_(empty(3, 3, 3, 3)), padding=1)
    np.testing.assert_allclose(conv.numpy(), x.numpy())
    with pytest.raises(ValueError, match="divisible by groups"):
        init.dirac_(empty(3, 1, 3), groups=2)
    with pytest.raises(ValueError, match="3, 4, or 5 dimensions"):
        init.dirac_(empty(3, 3))


@pytest.mark.parametrize("shape", [(3, 5), (5, 3), (4, 2, 3)])
def test_orthogonal_rows_or_columns(shape):
    sn.manual_seed(2)
    q = init.orthogonal_(empty(*shape), gain=2.0).numpy().reshape(shape[0], -1)
    small = min(q.shape)
    gram = q @ q.T if q.shape[0] == small else q.T @ q
    np.testing.assert_allclose(gram, 4 * np.eye(small), atol=1e-12)
    with pytest.raises(ValueError, match="2 or more dimensions"):
        init.orthogonal_(empty(3))


def test_sparse_zeros_per_column():
    sn.manual_seed(4)
    w = init.sparse_(empty(10, 300), sparsity=0.25, std=0.5).numpy()
    assert ((w == 0).sum(0) == math.ceil(0.25 * 10)).all()
    assert abs(w[w != 0].std() - 0.5) < 0.03
    with pytest.raises(ValueError, match="2 dimensions"):
        init.sparse_(empty(2, 2, 2), 0.1)
