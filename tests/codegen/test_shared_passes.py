"""Definitions that loop alike share a pass: a max-pool's argmax (what its backward reads) is computed with the
pool's own max (one read of each window, not two), and an optimizer's moments with its update (one pass over the
parameters, not three); the numbers are the same."""

from __future__ import annotations

import numpy as np
import pytest

import symnet as sn


def pooled_loss(dtype, ties: bool = False):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 6, 6))
    if ties:
        x = np.round(x)  # many exact ties inside windows
    X = sn.tensor(x, dtype=dtype, requires_grad=True)
    b = sn.tensor(rng.standard_normal(3), dtype=dtype, requires_grad=True)
    pooled = sn.nn.functional.max_pool2d(sn.relu(X + b.view(1, -1, 1, 1)), 2)
    return (pooled * pooled).sum(), X, b, x


def test_the_argmax_is_computed_in_the_pass_of_the_max():
    loss, *_ = pooled_loss(sn.float32)
    lines = sn.show(loss, "loops").splitlines()
    stores = [line.strip() for line in lines if line.strip().endswith("= acc.position")]
    assert len(stores) == 1
    argmax = stores[0].split("[")[0]
    at = next(k for k, line in enumerate(lines) if line.strip() == stores[0])
    owner = next(line for line in reversed(lines[:at]) if line.startswith("# "))
    assert owner.endswith(": max"), f"{argmax} is computed in {owner}, not in the pool's pass"


@pytest.mark.parametrize("dtype", [sn.float32, sn.float64])
@pytest.mark.parametrize("ties", [False, True])
def test_fused_argmax_gives_the_gradient_of_the_first_maximum(dtype, ties):
    loss, X, b, x = pooled_loss(dtype, ties)
    loss.backward()
    bias = b.numpy().astype(np.float64)
    z = np.maximum(x.astype(np.dtype(dtype)) + b.numpy()[None, :, None, None], 0).astype(np.float64)
    windows = z.reshape(2, 3, 3, 2, 3, 2).transpose(0, 1, 2, 4, 3, 5).reshape(2, 3, 3, 3, 4)
    first = windows.argmax(-1)  # NumPy's argmax takes the first maximum, as PyTorch's pooling does
    peak = np.take_along_axis(windows, first[..., None], -1)[..., 0]
    grad = np.zeros_like(windows)
    np.put_along_axis(grad, first[..., None], (2 * peak)[..., None], -1)
    grad = grad.reshape(2, 3, 3, 3, 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(2, 3, 6, 6)
    grad = grad * (x + bias[None, :, None, None] > 0)
    rtol = 1e-5 if dtype == sn.float32 else 1e-12
    np.testing.assert_allclose(X.grad.numpy(), grad, rtol=rtol, atol=rtol)
    np.testing.assert_allclose(b.grad.numpy(), grad.sum(axis=(0, 2, 3)), rtol=rtol * 10, atol=rtol * 10)


def test_adams_moments_and_update_are_one_pass():
    net = sn.nn.Sequential(sn.nn.Linear(6, 16), sn.nn.Tanh(), sn.nn.Linear(16, 3))
    step = sn.compile(net, sn.nn.CrossEntropyLoss(), sn.optim.Adam(net.parameters(), lr=1e-2))
    x, y = np.random.default_rng(0).standard_normal((8, 6)).astype(np.float32), np.arange(8) % 3
    step.step(x, y)
    shared = [[d.name for d in k.writes] for k in step._step.kernels if len(k.writes) == 3]
    assert len(shared) == 4, shared  # the two weights and the two biases
    for names in shared:  # first moment, second moment, new parameter
        assert [n.rsplit("_", 1)[1][0] for n in names] == ["m", "v", "p"], names
