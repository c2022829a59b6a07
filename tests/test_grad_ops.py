"""Every op: its symbolic gradient (and Hessian-vector product) against central finite differences, float64."""

import numpy as np
import pytest

import symnet as sn
import symnet.nn.functional as F

# name -> (function of the inputs, input shapes, how to draw inputs)
# Shapes mix broadcasting (a (3, 1) with a (4,)) and reductions; "pos" draws positive inputs, "away"
# keeps inputs away from kinks (relu, abs, clamp) where finite differences are not defined.
OPS = {
    "add_broadcast": (lambda a, b: a + b, [(3, 1), (4,)], "any"),
    "sub_broadcast": (lambda a, b: a - b, [(2, 3, 4), (3, 1)], "any"),
    "mul_broadcast": (lambda a, b: a * b, [(3, 4), (1, 4)], "any"),
    "div": (lambda a, b: a / b, [(3, 4), (4,)], "pos"),
    "rdiv_scalar": (lambda a: 2.0 / a, [(5,)], "pos"),
    "rsub_scalar": (lambda a: 1.0 - a * 3, [(5,)], "any"),
    "neg": (lambda a: -a, [(2, 3)], "any"),
    "pow_scalar": (lambda a: a**3, [(4,)], "any"),
    "pow_tensor": (lambda a, b: a**b, [(4,), (4,)], "pos"),
    "rpow": (lambda a: 2.0**a, [(4,)], "any"),
    "exp": (lambda a: a.exp(), [(3, 2)], "any"),
    "log": (lambda a: a.log(), [(3, 2)], "pos"),
    "sqrt": (lambda a: a.sqrt(), [(3, 2)], "pos"),
    "abs": (lambda a: a.abs(), [(6,)], "away"),
    "sin": (lambda a: a.sin(), [(6,)], "any"),
    "cos": (lambda a: a.cos(), [(6,)], "any"),
    "tanh": (lambda a: a.tanh(), [(6,)], "any"),
    "sigmoid": (lambda a: a.sigmoid(), [(6,)], "any"),
    "relu": (lambda a: a.relu(), [(6,)], "away"),
    "leaky_relu": (lambda a: F.leaky_relu(a, 0.05), [(6,)], "away"),
    "softplus": (lambda a: a.softplus(), [(6,)], "any"),
    "softplus_beta": (lambda a: a.softplus(beta=2.0), [(6,)], "any"),
    "clamp": (lambda a: a.clamp(-0.5, 0.5), [(8,)], "away"),
    "sum_all": (lambda a: a.sum(), [(3, 4)], "any"),
    "sum_dim_keepdim": (lambda a: a.sum(1, keepdim=True) * a, [(3, 4)], "any"),
    "mean_dims": (lambda a: a.mean((0, 2)), [(2, 3, 4)], "any"),
    "max_dim": (lambda a: a.max(1).values, [(3, 5)], "any"),
    "amax": (lambda a: a.amax(0), [(4, 3)], "any"),
    "max_all": (lambda a: a.max(), [(4, 3)], "any"),
    "min_dim": (lambda a: a.min(0).values, [(4, 3)], "any"),
    "logsumexp": (lambda a: a.logsumexp(1), [(3, 5)], "any"),
    "softmax": (lambda a: a.softmax(1), [(3, 5)], "any"),
    "softmax_dim0": (lambda a: sn.softmax(a, 0), [(3, 5)], "any"),
    "log_softmax": (lambda a: a.log_softmax(-1), [(3, 5)], "any"),
    "matmul": (lambda a, b: a @ b, [(3, 4), (4, 5)], "any"),
    "matmul_vec": (lambda a, b: a @ b, [(3, 4), (4,)], "any"),
    "vec_matmul": (lambda a, b: a @ b, [(4,), (4, 5)], "any"),
    "dot": (lambda a, b: a @ b, [(4,), (4,)], "any"),
    "batched_matmul_broadcast": (lambda a, b: a @ b, [(2, 3, 4), (4, 2)], "any"),
    "linear": (lambda x, w, b: x @ w.T + b, [(5, 3), (4, 3), (4,)], "any"),
    "transpose": (lambda a: a.transpose(0, 1) * 2, [(3, 4)], "any"),
    "permute": (lambda a: a.permute(2, 0, 1).exp(), [(2, 3, 4)], "any"),
    "reshape": (lambda a: a.reshape(4, 6).exp(), [(2, 3, 4)], "any"),
    "view_minus_one": (lambda a: a.view(-1, 2).sin(), [(3, 4)], "any"),
    "flatten": (lambda a: a.flatten(1).tanh(), [(2, 3, 4)], "any"),
    "unsqueeze": (lambda a: a.unsqueeze(1) * a, [(3,)], "any"),
    "squeeze": (lambda a: a.squeeze(1).exp(), [(3, 1, 2)], "any"),
    "slice": (lambda a: a[1:, ::2] * 3, [(3, 5)], "any"),
    "index": (lambda a: a[1] * a[2], [(3, 4)], "any"),
    "mse_loss": (lambda a, b: F.mse_loss(a, b), [(3, 4), (3, 4)], "any"),
    "l1_loss_sum": (lambda a, b: F.l1_loss(a, b, reduction="sum"), [(3, 4), (3, 4)], "away"),
    "cross_entropy": (lambda a: F.cross_entropy(a, sn.tensor([0, 2, 1])), [(3, 4)], "any"),
    "cross_entropy_sum": (lambda a: F.cross_entropy(a, sn.tensor([3, 0]), reduction="sum"), [(2, 4)], "any"),
    "cross_entropy_one_sample": (lambda a: F.cross_entropy(a, sn.tensor(1)), [(4,)], "any"),
    "nll_loss": (lambda a: F.nll_loss(a.log_softmax(1), sn.tensor([1, 1])), [(2, 3)], "any"),
    "gather": (lambda a: a.gather(1, sn.tensor([[0, 0], [2, 1]])), [(2, 3)], "any"),
}


def draw(rng, shape, kind):
    x = rng.standard_normal(shape)
    if kind == "pos":
        return np.abs(x) + 0.5
    if kind == "away":
        return np.sign(x) * (np.abs(x) + 0.1) + np.where(np.abs(np.abs(x) - 0.5) < 0.05, 0.1, 0)
    return x


@pytest.mark.parametrize("name", sorted(OPS))
def test_gradient_matches_finite_differences(name, rng):
    fn, shapes, kind = OPS[name]
    inputs = [sn.tensor(draw(rng, s, kind), dtype=sn.float64) for s in shapes]
    order = 1 if kind == "away" or name.startswith(("max", "amax", "min")) else 2
    reports = sn.check_grads(fn, inputs, order=order, rtol=1e-6)
    assert reports[0].max_abs_error < 1e-6


def test_check_grads_catches_a_wrong_derivative(monkeypatch):
    """The checker is a real oracle: a broken derivative rule makes it fail."""
    from symnet.core import functions

    monkeypatch.setattr(functions.sigmoid, "fdiff", lambda self, argindex=1: self)
    from symnet.pipeline import cache_clear

    cache_clear()
    with pytest.raises(AssertionError, match="disagree"):
        sn.check_grads(lambda a: a.sigmoid(), [sn.tensor([0.3, -1.2], dtype=sn.float64)], order=1)
    cache_clear()


def test_relu_kink_follows_pytorch():
    x = sn.tensor([-1.0, 0.0, 2.0], requires_grad=True)
    x.relu().sum().backward()
    assert x.grad.tolist() == [0.0, 0.0, 1.0]
    y = sn.tensor([-1.0, 0.0, 2.0], requires_grad=True)
    F.leaky_relu(y, 0.05).sum().backward()
    np.testing.assert_allclose(y.grad.numpy(), [0.05, 0.05, 1.0])
    z = sn.tensor([-1.0, 0.0, 2.0], requires_grad=True)
    z.abs().sum().backward()
    assert z.grad.tolist() == [-1.0, 0.0, 1.0]


def test_max_ties_follow_pytorch():
    x = sn.tensor([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]], requires_grad=True)
    x.max(1).values.sum().backward()          # max(dim): all to the first maximal element
    assert x.grad.tolist() == [[0, 1, 0], [1, 0, 0]]
    y = sn.tensor([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]], requires_grad=True)
    y.max().backward()                        # full max(): split evenly among ties
    assert y.grad.tolist() == [[0, 0.5, 0.5], [0, 0, 0]]
    z = sn.tensor([[1.0, 3.0, 3.0]], requires_grad=True)
    z.amax(1).sum().backward()
    assert z.grad.tolist() == [[0, 0.5, 0.5]]


def test_clamp_gradient_includes_the_bounds():
    x = sn.tensor([-2.0, -1.0, 0.0, 1.0, 2.0], requires_grad=True)
    x.clamp(-1, 1).sum().backward()
    assert x.grad.tolist() == [0, 1, 1, 1, 0]


def test_hessian_of_small_expression():
    w = sn.tensor([1.5], requires_grad=True, dtype=sn.float64)
    x = sn.tensor([0.5], requires_grad=True, dtype=sn.float64)
    y = (w * x).sin() + w * w * x
    h = sn.hessian(y, [w, x])
    wv, xv = 1.5, 0.5
    expected = [[-xv * xv * np.sin(wv * xv) + 2 * xv, np.cos(wv * xv) - wv * xv * np.sin(wv * xv) + 2 * wv],
                [np.cos(wv * xv) - wv * xv * np.sin(wv * xv) + 2 * wv, -wv * wv * np.sin(wv * xv)]]
    np.testing.assert_allclose(h, expected, rtol=1e-12)


def test_backward_of_a_leaf_is_its_seed():
    """``x.backward()`` on a leaf accumulates the seed (1, or ``gradient``) into its own .grad, as PyTorch."""
    x = sn.tensor([2.0], requires_grad=True)
    x.backward()
    x.backward()
    assert x.grad.tolist() == [2.0]
    y = sn.tensor([2.0, 3.0], requires_grad=True)
    y.backward(sn.tensor([1.0, 5.0]))
    assert y.grad.tolist() == [1.0, 5.0]
