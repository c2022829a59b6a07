"""``sn.autograd.derivatives``: derivatives of any order along a direction in Taylor mode, equal to PyTorch's
nested ``autograd.grad`` (stored fixtures) and to symnet's own, eager and inside a compiled objective, with a
program that grows with the order instead of doubling per nested gradient."""

from __future__ import annotations

import copy
import os
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

import symnet as sn
from tests.fixtures import make_pinn_fixtures as fx

FIXTURES = np.load(Path(__file__).parent / "fixtures" / "pinn.npz")


def test_first_three_derivatives_equal_pytorchs_nested_grads():
    """u and ∂ᵏu/∂x₀ᵏ (k = 1, 2, 3) of the fixtures' 2-8-8-1 tanh MLP, against torch.autograd.grad nested."""
    model = fx.model_of(sn, "third")
    xa, _ = fx.data("third")
    x = sn.tensor(xa, dtype=sn.float64, requires_grad=True)
    u = model(x)
    derived = sn.autograd.derivatives(u, x, sn.tensor([1.0, 0.0], dtype=sn.float64), order=3)
    assert len(derived) == 3
    for k, d in enumerate(derived, start=1):
        np.testing.assert_allclose(d.numpy()[:, 0], FIXTURES[f"third/probe/d{k}"], rtol=1e-9, atol=1e-13)


#: the orders compared with nested grads (whose cost doubles per order): all four with SYMNET_DEEP=1
DEEP = bool(os.environ.get("SYMNET_DEEP"))


@pytest.mark.parametrize("activation, top", [("Tanh", 4), ("Sigmoid", 3), ("SiLU", 3), ("Softplus", 3),
                                             ("GELU", 3), ("ELU", 3)])
def test_every_order_equals_nested_grads(activation, top):
    """Orders 1…4 along a direction that is not an axis, per row, for several activations (a product of two
    moving reads in SiLU, an exp and a log in Softplus): Taylor mode equals grad of grad of grad of grad."""
    top = 4 if DEEP else top
    sn.manual_seed(3)
    act = getattr(sn.nn, activation)
    model = sn.nn.Sequential(sn.nn.Linear(2, 6), act(), sn.nn.Linear(6, 5), act(), sn.nn.Linear(5, 2)).double()
    x = sn.tensor(np.random.default_rng(0).uniform(-1, 1, (7, 2)), requires_grad=True)
    v = sn.tensor([0.6, -0.8], dtype=sn.float64)
    u = model(x)
    derived = sn.autograd.derivatives(u, x, v, order=top)
    g = u
    for k in range(top):
        # the k-th derivative along v per row: grad of ⟨v, ∇⟩ of the previous one, summed over rows and outputs
        # would mix the outputs, so each output column is taken on its own
        columns = []
        for c in range(2):
            (grad,) = sn.autograd.grad(g[:, c].sum(), x, create_graph=True)
            columns.append((grad * v).sum(1, keepdim=True))
        g = sn.cat(columns, 1)
        np.testing.assert_allclose(derived[k].numpy(), g.numpy(), rtol=1e-9, atol=1e-12, err_msg=f"order {k + 1}")


def test_a_full_direction_per_row_and_several_outputs_and_inputs():
    sn.manual_seed(1)
    a = sn.tensor(np.linspace(-1, 1, 6).reshape(3, 2), requires_grad=True)
    b = sn.tensor([0.3, -0.2], dtype=sn.float64, requires_grad=True)
    y1, y2 = (a * b).sin().sum(1), (a.exp() * b).sum()
    va, vb = sn.tensor(np.ones((3, 2))), sn.tensor([0.5, 2.0], dtype=sn.float64)
    (d1, d2), (e1, e2) = sn.autograd.derivatives([y1, y2], [a, b], [va, vb], order=2)
    t = 1e-4

    def at(s):
        aa, bb = a.numpy() + s * va.numpy(), b.numpy() + s * vb.numpy()
        return np.sin(aa * bb).sum(1), (np.exp(aa) * bb).sum()

    (p1, p2), (m1, m2), (z1, z2) = at(t), at(-t), at(0)
    np.testing.assert_allclose(d1.numpy(), (p1 - m1) / (2 * t), rtol=1e-6)
    np.testing.assert_allclose(d2.numpy(), (p1 - 2 * z1 + m1) / t**2, rtol=1e-4)
    np.testing.assert_allclose(e1.numpy(), (p2 - m2) / (2 * t), rtol=1e-6)
    np.testing.assert_allclose(e2.numpy(), (p2 - 2 * z2 + m2) / t**2, rtol=1e-4)


def test_an_output_independent_of_the_direction_has_zero_derivatives():
    x = sn.tensor([1.0, 2.0], dtype=sn.float64, requires_grad=True)
    w = sn.tensor([3.0], dtype=sn.float64, requires_grad=True)
    d1, d2 = sn.autograd.derivatives(w * 2, x, sn.ones(2, dtype=sn.float64), order=2)
    assert d1.tolist() == [0.0] and d2.tolist() == [0.0]


@pytest.mark.parametrize("call, error, match", [
    (lambda u, x: sn.autograd.derivatives(u, x, sn.ones(3), order=2), sn.ShapeError, "does not broadcast"),
    (lambda u, x: sn.autograd.derivatives(u, x, sn.ones(2), order=0), ValueError, "positive int"),
    (lambda u, x: sn.autograd.derivatives(u, [x, x], [sn.ones(2)], order=1), ValueError, "2 inputs but 1"),
    (lambda u, x: sn.autograd.derivatives(u.sum(-1).max(), x, sn.ones(2), order=2), None, None),
    (lambda u, x: sn.autograd.derivatives(u.prod(), x, sn.ones(2), order=2), sn.NotSupportedError, "product"),
])
def test_refusals(call, error, match):
    x = sn.tensor([[1.0, 2.0], [0.5, -1.0]], dtype=sn.float64, requires_grad=True)
    u = x.tanh()
    if error is None:
        d1, d2 = call(u, x)  # a max: the derivatives of its selected element
        assert np.isfinite(d2.numpy()).all()
    else:
        with pytest.raises(error, match=match):
            call(u, x)


@sn.objective
def poisson_taylor(model, x, y):
    """The Poisson PINN of the fixtures with its Laplacian in Taylor mode: two second derivatives, no Hessian."""
    u = model(x)
    lap = sum(sn.autograd.derivatives(u, x, sn.tensor(e, dtype=x.dtype), order=2, create_graph=True)[1][:, 0]
              for e in ([1.0, 0.0], [0.0, 1.0]))
    f, b = y[:, 0], y[:, 1]
    return ((1 - b) * (lap + f) ** 2 + b * u[:, 0] ** 2).mean()


def test_the_pinn_with_a_taylor_laplacian_equals_pytorch_eager_and_compiled():
    """The Laplacian by Taylor mode gives PyTorch's loss and gradients (nested autograd.grad there), eagerly
    and in one compiled SGD step."""
    model = fx.model_of(sn, "poisson")
    xa, ya = fx.data("poisson")
    twin = copy.deepcopy(model)
    x = sn.tensor(xa, dtype=sn.float64, requires_grad=True)
    loss = poisson_taylor(model, x, sn.tensor(ya, dtype=sn.float64))
    loss.backward()
    np.testing.assert_allclose(loss.item(), FIXTURES["poisson/loss"], rtol=1e-9)
    for key, p in model.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), FIXTURES[f"poisson/grad/{key}"], rtol=1e-8, atol=1e-12)
    step = sn.compile(twin, poisson_taylor, sn.optim.SGD(twin.parameters(), lr=fx.SGD_LR))
    np.testing.assert_allclose(step.step(xa, ya), FIXTURES["poisson/loss"], rtol=1e-9)
    for key, p in twin.named_parameters():
        np.testing.assert_allclose(p.numpy(), FIXTURES[f"poisson/sgd/{key}"], rtol=1e-8, atol=1e-12)


def test_the_compiled_program_grows_with_the_order_not_by_doubling():
    """∂ⁿu/∂x₀ⁿ in a compiled step, Taylor mode against nested grads: its operation count stays well below the
    nested form's, which doubles per order (``derivation_orders.py`` prints the full table)."""
    def nth(u, x, order: int, method: str):
        if method == "taylor":
            return sn.autograd.derivatives(u, x, sn.tensor([1.0, 0.0], dtype=x.dtype), order, True)[-1][:, 0]
        for _ in range(order):
            u = sn.autograd.grad(u.sum(), x, create_graph=True)[0][:, :1]
        return u[:, 0]

    def ops(order: int, method: str) -> int:
        sn.manual_seed(0)
        model = sn.nn.Sequential(sn.nn.Linear(2, 4), sn.nn.Tanh(), sn.nn.Linear(4, 1)).double()

        def fn(model, x, y):
            u = model(x)
            return ((nth(u, x, order, method) - y[:, 0]) ** 2).mean() + (u ** 2).mean()

        step = sn.compile(model, sn.objective(fn), sn.optim.SGD(model.parameters(), lr=0.01))
        step.step(np.ones((4, 2)), np.zeros((4, 1)))
        return sum(int(sp.count_ops(d.body)) for d in step._step.graph.defs)

    taylor = [ops(n, "taylor") for n in (1, 2, 3, 4, 5)]
    assert taylor == sorted(taylor) and all(t <= n * taylor[0] for n, t in enumerate(taylor, start=1)), taylor
    assert ops(5, "nested") > 1.5 * taylor[4]
