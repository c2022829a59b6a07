"""What the OpInfo table (cases_reductions2) cannot express: the eager counting ops refused inside a compiled
step, options symnet does not offer, argument checks, and the stability of logcumsumexp far below the max."""

import numpy as np
import pytest

import symnet as sn


class Counts(sn.nn.Module):
    def __init__(self, op):
        super().__init__()
        self.w = sn.nn.Parameter(np.ones((1, 1)))
        self.op = op

    def forward(self, X):
        return (X * self.w).sum() + self.op(X).sum() * 0


@pytest.mark.parametrize("op", [lambda x: x.nonzero(), lambda x: x.unique(), lambda x: x.histc(3),
                                lambda x: x.long().reshape(-1).abs().bincount()])
def test_data_dependent_ops_are_refused_inside_a_compiled_step(op):
    model = Counts(op)
    with pytest.raises(sn.NotSupportedError, match="compiled step"):
        step = sn.compile(model, lambda out, y: out + y.sum() * 0, sn.optim.SGD(model.parameters(), lr=1.0))
        step.step(np.ones((2, 1)), np.zeros((2, 1)))


def test_eager_results_have_no_graph():
    x = sn.tensor([0.0, 2.0, 2.0], requires_grad=True)
    assert not x.nonzero().requires_grad and not x.unique().requires_grad and not x.histc(2).requires_grad


@pytest.mark.parametrize(("call", "error"), [
    (lambda s: sn.searchsorted(s, s, out_int32=True), sn.NotSupportedError),
    (lambda s: sn.bucketize(s, s, out_int32=True), sn.NotSupportedError),
    (lambda s: sn.searchsorted(s, s, right=True, side="left"), ValueError),
    (lambda s: sn.searchsorted(s.reshape(2, 2), s), sn.ShapeError),
    (lambda s: sn.bucketize(s, s.reshape(2, 2)), sn.ShapeError),
    (lambda s: sn.isin(1, 2), TypeError),
    (lambda s: s.quantile(sn.tensor([0.5], dtype=sn.float32)), sn.DTypeError),
    (lambda s: s.quantile(sn.tensor([[0.5]], dtype=sn.float64)), sn.ShapeError),
    (lambda s: s[:0].quantile(0.5), sn.ShapeError),
    (lambda s: s.kthvalue(0), sn.ShapeError),
    (lambda s: s.mode(1), IndexError),
    (lambda s: s.histc(0), ValueError),
    (lambda s: s.long().bincount(minlength=-1), ValueError),
    (lambda s: s.bincount(), sn.DTypeError),
])
def test_refusals(call, error):
    with pytest.raises(error):
        call(sn.tensor([1.0, 2.0, 2.0, 3.0], dtype=sn.float64))


def test_logcumsumexp_stays_finite_far_below_the_running_max():
    x = sn.tensor([-1000.0, 0.0, -2000.0], dtype=sn.float64, requires_grad=True)
    y = x.logcumsumexp(0)
    np.testing.assert_allclose(y.numpy(), [-1000.0, 0.0, 0.0])
    y[0].backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0, 0.0, 0.0])


def test_median_and_cummax_named_tuples():
    x = sn.tensor([[3.0, 1.0, 3.0]])
    assert x.cummax(1).indices.tolist() == [[0, 0, 2]] and sn.cummin(x, 1).values.tolist() == [[3.0, 1.0, 1.0]]
    assert x.median(1).values.tolist() == [3.0] and x.mode(1).indices.tolist() == [2]


@pytest.mark.parametrize("p", [0.5, 1.5, 3.0, -0.5, -1.0])
def test_norm_gradient_at_a_zero_element_is_zero_as_pytorch(p):
    """|x|^p is taken where x ≠ 0 only: p < 1 gave 0·∞ = NaN at a zero element (PyTorch: 0); for p < 0 a zero
    element makes the norm 0 and every gradient 0."""
    x = sn.tensor([0.0, 2.0, -3.0], dtype=sn.float64, requires_grad=True)
    x.norm(p).backward()
    if p > 0:
        total = (2.0**p + 3.0**p) ** (1 / p)
        expected = [0.0, 2.0 ** (p - 1) * total ** (1 - p), -(3.0 ** (p - 1)) * total ** (1 - p)]
        np.testing.assert_allclose(x.norm(p).item(), total, rtol=1e-12)
    else:
        expected = [0.0, 0.0, 0.0]
        assert x.norm(p).item() == 0.0
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-12, atol=0)
