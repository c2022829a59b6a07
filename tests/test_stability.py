"""Extreme inputs in float32: values and gradients finite and equal to a float64 reference."""

import numpy as np
import pytest

import symnet as sn
import symnet.nn.functional as F

EXTREMES = np.array([-1e4, -100.0, -1.0, 0.0, 1.0, 100.0, 1e4])


def reference_sigmoid(x):
    return np.where(x >= 0, 1 / (1 + np.exp(-np.abs(x))), np.exp(-np.abs(x)) / (1 + np.exp(-np.abs(x))))


def reference_softplus(x):
    return np.where(x > 20, x, np.logaddexp(0, x))


def reference_logsumexp(z, axis):
    return np.logaddexp.reduce(z, axis=axis)


def run(fn, values):
    x = sn.tensor(values, requires_grad=True)
    y = fn(x)
    y.sum().backward()
    return y.numpy(), x.grad.numpy()


CASES = {
    "sigmoid": (lambda x: x.sigmoid(), lambda x: reference_sigmoid(x),
                lambda x: reference_sigmoid(x) * reference_sigmoid(-x)),
    "softplus": (lambda x: x.softplus(), reference_softplus, lambda x: np.where(x > 20, 1.0, reference_sigmoid(x))),
    "log1p_exp_is_rewritten": (lambda x: (1 + x.exp()).log(), lambda x: np.logaddexp(0, x), reference_sigmoid),
    "log_sigmoid": (lambda x: x.sigmoid().log(), lambda x: -np.logaddexp(0, -x), lambda x: reference_sigmoid(-x)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_elementwise_extremes(name):
    fn, value, grad = CASES[name]
    y, g = run(fn, EXTREMES)
    assert np.isfinite(y).all() and np.isfinite(g).all()
    np.testing.assert_allclose(y, value(EXTREMES), rtol=1e-6, atol=1e-30)
    np.testing.assert_allclose(g, grad(EXTREMES), rtol=1e-6, atol=1e-30)


LOGITS = np.array([[1e4, -1e4, 0.0], [100.0, 100.0, -100.0], [-1e4, -1e4, -1e4], [0.5, -100.0, 100.0]])


def softmax64(z):
    e = np.exp(z - z.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def test_logsumexp_and_log_softmax_extremes():
    lse, g = run(lambda z: z.logsumexp(1), LOGITS)
    np.testing.assert_allclose(lse, reference_logsumexp(LOGITS, 1), rtol=1e-6)
    np.testing.assert_allclose(g, softmax64(LOGITS), atol=1e-7)
    ls, g = run(lambda z: z.log_softmax(1), LOGITS)
    expected = LOGITS - reference_logsumexp(LOGITS, 1)[:, None]
    assert np.isfinite(ls).all() and np.isfinite(g).all()
    np.testing.assert_allclose(ls, expected, rtol=1e-6)
    np.testing.assert_allclose(g, 1 - 3 * softmax64(LOGITS), atol=1e-6)


def test_cross_entropy_extremes():
    labels = np.array([1, 2, 0, 1])
    z = sn.tensor(LOGITS, requires_grad=True)
    loss = F.cross_entropy(z, sn.tensor(labels))
    loss.backward()
    per_row = reference_logsumexp(LOGITS, 1) - LOGITS[np.arange(4), labels]
    np.testing.assert_allclose(loss.item(), per_row.mean(), rtol=1e-6)
    onehot = np.eye(3)[labels]
    np.testing.assert_allclose(z.grad.numpy(), (softmax64(LOGITS) - onehot) / 4, atol=1e-7)
    assert np.isfinite(z.grad.numpy()).all()


def test_softmax_extremes_sum_to_one():
    s, _ = run(lambda z: z.softmax(1), LOGITS)
    np.testing.assert_allclose(s, softmax64(LOGITS), atol=1e-7)


def test_power_with_a_tensor_exponent_is_finite_at_zero_base():
    """d(x^y)/dx = y·x^(y−1) and d(x^y)/dy = x^y·log x are 0 at x = 0 (PyTorch's values), not NaN."""
    x = sn.tensor([0.0, 2.0], requires_grad=True)
    y = sn.tensor([2.0, 3.0], requires_grad=True)
    (x**y).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [0.0, 12.0], rtol=1e-6)
    np.testing.assert_allclose(y.grad.numpy(), [0.0, 8 * np.log(2)], rtol=1e-6)
