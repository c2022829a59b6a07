"""Ops a layer or a loss records as one where its formula has several: ``F.linear`` of a matrix weight is one
matmul reading the weight transposed (``MatMul(b_transposed=True)``: no transposed view of the weight first), and
``mse_loss`` of two float tensors of one dtype is one op (a sum or mean of the element function
``squared_difference``; that element op alone with ``reduction="none"``).
Each must give what the composition gives — values, gradients (against float64 central differences too), errors,
``grad_fn`` names — on every shape a layer takes, and record fewer ops (the point: a training loop's Python)."""

from __future__ import annotations

import numpy as np
import pytest

import symnet as sn
import symnet.nn.functional as F
from symnet.errors import DTypeError, ShapeError
from symnet.frontend.trace import trace

SHAPES = [(5, 3), (3,), (2, 4, 3), (0, 3), (1, 3)]


def _ops(t) -> int:
    return sum(type(s).__name__ == "OpSpec" for s in trace([t]).specs)


@pytest.mark.parametrize("dtype", [sn.float32, sn.float64])
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no-bias"])
def test_linear_equals_the_product_with_the_transposed_weight(shape, bias, dtype, rng):
    x = sn.tensor(rng.standard_normal(shape), dtype=dtype, requires_grad=True)
    W = sn.tensor(rng.standard_normal((2, 3)), dtype=dtype, requires_grad=True)
    b = sn.tensor(rng.standard_normal(2), dtype=dtype, requires_grad=True) if bias else None
    fused = F.linear(x, W, b)
    composed = x @ W.T + b if bias else x @ W.T
    assert fused.shape == composed.shape and fused.dtype == composed.dtype == dtype
    np.testing.assert_array_equal(fused.detach().numpy(), composed.detach().numpy())
    assert _ops(fused) == _ops(composed) - 1  # no transposed view of the weight
    leaves = [x, W] + ([b] if bias else [])
    seed = rng.standard_normal(fused.shape)
    got = sn.autograd.grad(fused, leaves, sn.tensor(seed, dtype=dtype))
    want = sn.autograd.grad(composed, leaves, sn.tensor(seed, dtype=dtype))
    for g, w in zip(got, want, strict=True):
        np.testing.assert_array_equal(g.numpy(), w.numpy())


def test_linear_gradient_against_central_differences(rng):
    x = sn.tensor(rng.standard_normal((4, 3)), dtype=sn.float64, requires_grad=True)
    W = sn.tensor(rng.standard_normal((2, 3)), dtype=sn.float64, requires_grad=True)
    b = sn.tensor(rng.standard_normal(2), dtype=sn.float64, requires_grad=True)
    assert sn.autograd.gradcheck(lambda x, W, b: F.linear(x, W, b).tanh().sum(), (x, W, b))


def test_linear_of_a_vector_weight_and_of_a_wrong_shape(rng):
    x = sn.tensor(rng.standard_normal((4, 3)), dtype=sn.float32, requires_grad=True)
    w = sn.tensor(rng.standard_normal(3), dtype=sn.float32, requires_grad=True)
    np.testing.assert_allclose(F.linear(x, w).detach().numpy(), x.detach().numpy() @ w.detach().numpy(), rtol=1e-6)
    with pytest.raises(ShapeError, match=r"\(4, 3\) and \(2, 1\)"):  # PyTorch's message names the weight's transpose
        F.linear(x, sn.zeros(1, 2))
    with pytest.raises(DTypeError):
        F.linear(x, sn.zeros(2, 3, dtype=sn.float64))
    with pytest.raises(DTypeError):
        F.linear(x > 0, sn.zeros(2, 3, dtype=sn.bool))


def test_linear_layer_shows_pytorch_grad_fn_and_trains_compiled_as_eagerly(rng):
    sn.manual_seed(0)
    eager, compiled = sn.nn.Linear(3, 2), sn.nn.Linear(3, 2)
    compiled.load_state_dict(eager.state_dict())
    x = sn.tensor(rng.standard_normal((6, 3)), dtype=sn.float32)
    y = sn.tensor(rng.standard_normal((6, 2)), dtype=sn.float32)
    out = eager(x)
    assert out.grad_fn.name() == "AddmmBackward0"
    opt = sn.optim.SGD(eager.parameters(), lr=0.1)
    step = sn.compile(compiled, sn.nn.MSELoss(), sn.optim.SGD(compiled.parameters(), lr=0.1))
    for _ in range(3):
        loss = F.mse_loss(eager(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        step.step(x, y)
    for a, b in zip(eager.parameters(), compiled.parameters(), strict=True):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("dtype", [sn.float32, sn.float64])
def test_mse_loss_equals_the_mean_square_of_the_difference(reduction, dtype, rng):
    a = sn.tensor(rng.standard_normal((4, 5)), dtype=dtype, requires_grad=True)
    b = sn.tensor(rng.standard_normal((4, 5)), dtype=dtype, requires_grad=True)
    fused = F.mse_loss(a, b, reduction=reduction)
    d = a - b
    composed = {"mean": (d * d).mean(), "sum": (d * d).sum(), "none": d * d}[reduction]
    np.testing.assert_array_equal(fused.detach().numpy(), composed.detach().numpy())
    assert _ops(fused) == 1 < _ops(composed)  # the subtraction, the product (and the reduction) as one op
    if reduction != "none":
        assert fused.grad_fn.name() == "MseLossBackward0"
        for g, w in zip(sn.autograd.grad(fused, [a, b]), sn.autograd.grad(composed, [a, b]), strict=True):
            np.testing.assert_array_equal(g.numpy(), w.numpy())


def test_mse_loss_gradient_against_central_differences_and_at_extremes(rng):
    a = sn.tensor(rng.standard_normal(6), dtype=sn.float64, requires_grad=True)
    b = sn.tensor(rng.standard_normal(6), dtype=sn.float64, requires_grad=True)
    assert sn.autograd.gradcheck(lambda a, b: F.mse_loss(a, b), (a, b))
    huge = sn.tensor([3e38, -3e38, 0.0, float("inf")], dtype=sn.float32)
    same = sn.tensor([3e38, -3e38, 0.0, 1.0], dtype=sn.float32)
    # overflow and inf as float32 arithmetic has them: (3e38 − 3e38)² = 0, (inf − 1)² = inf
    np.testing.assert_array_equal(F.mse_loss(huge, same, reduction="none").numpy(), [0.0, 0.0, 0.0, np.inf])


def test_mse_loss_of_other_dtypes_keeps_the_composed_path():
    a32 = sn.tensor([1.0, 2.0], dtype=sn.float32)
    b64 = sn.tensor([0.5, 4.0], dtype=sn.float64)
    mixed = F.mse_loss(a32, b64)
    assert mixed.dtype == sn.float64  # promoted, as the difference of the two is
    np.testing.assert_allclose(mixed.item(), (0.25 + 4.0) / 2)
    with pytest.raises(DTypeError, match="mean"):
        F.mse_loss(sn.tensor([1, 2]), sn.tensor([1, 3]))
    assert F.mse_loss(sn.tensor([1, 2]), sn.tensor([1, 4]), reduction="sum").item() == 4


def test_mse_loss_of_empty_and_0d_tensors_as_pytorch():
    empty = sn.zeros(0, 2)
    assert np.isnan(F.mse_loss(empty, empty).item())  # PyTorch's mean of nothing
    assert F.mse_loss(empty, empty, reduction="sum").item() == 0
    a = sn.tensor(2.0, requires_grad=True)
    loss = F.mse_loss(a, sn.tensor(0.5))
    assert loss.shape == () and loss.item() == 2.25
    loss.backward()
    assert a.grad.item() == 3.0
