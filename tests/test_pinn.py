"""Physics-informed training (issue 13) against PyTorch 2.13: objectives that differentiate the model by its
inputs, run eagerly (``loss.backward()``) and compiled into one native step (``sn.compile``).

The objectives, weights and points are those of ``tests/fixtures/make_pinn_fixtures.py`` (``pinn.npz``): a
Poisson PINN (Laplacian by grad of grad), a WGAN-GP critic loss, a heat equation (u_t and u_xx of u(x, t)) and a
loss on ∂³u/∂x³; their losses and gradients, one SGD step, and 50 Adam steps of the PINN. ``check_grads`` checks
the PINN loss as a function of the parameters against finite differences. ``SYMNET_DEEP=1`` adds the eager
50-step run and a third-order check of the PINN loss in its parameters.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

import symnet as sn
from tests.fixtures import make_pinn_fixtures as fx

FIXTURES = np.load(Path(__file__).parent / "fixtures" / "pinn.npz")
RTOL = 1e-9
DEEP = os.environ.get("SYMNET_DEEP") == "1"


def _close(actual, key: str, rtol: float = RTOL) -> None:
    """Relative to each entry, with a floor of rtol × 1e-3 of the array's largest (an exact 0 in PyTorch, like the
    penalty's last bias gradient D(fake) − D(real) cancels, may be a rounding residue here)."""
    expected = FIXTURES[key]
    actual = np.asarray(actual)
    assert actual.shape == expected.shape, key
    scale = float(np.abs(expected).max(initial=0))
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * 1e-3 * scale, err_msg=key)


def _unused(case: str) -> set[str]:
    return {str(k) for k in FIXTURES[f"{case}/unused"]}


# ---------------------------------------------------------------- eager, against PyTorch

@pytest.mark.parametrize("case", list(fx.CASES))
def test_eager_objective_matches_pytorch(case: str):
    """The objective run eagerly on symnet tensors then ``backward()``: the loss, every parameter's ``.grad``
    (None for a parameter the loss never reads, as in PyTorch), the batch's ``.grad``, the parameters after
    ``SGD.step()``, and for the third-order case u and its first three derivatives by x₀ themselves."""
    computed = fx.eager(sn, case)
    stored = {k.split("/", 1)[1] for k in FIXTURES.files if k.startswith(f"{case}/") and "/adam/" not in k}
    assert set(computed) == stored
    for key, value in computed.items():
        if key == "unused":
            assert set(value) == _unused(case)
        else:
            _close(value, f"{case}/{key}")


# ---------------------------------------------------------------- compiled, against PyTorch

def _compiled_sgd(case: str, params_of=None):
    model = fx.model_of(sn, case)
    params = (params_of or (lambda m: m.parameters()))(model)
    step = sn.compile(model, sn.objective(fx.CASES[case][0](sn)), sn.optim.SGD(params, lr=fx.SGD_LR))
    return model, step, step.step(*fx.data(case))


@pytest.mark.parametrize("case", list(fx.CASES))
def test_compiled_step_matches_pytorch(case: str):
    """One native SGD step of the compiled objective: the loss and the parameters after it equal PyTorch's
    ``backward()`` + ``SGD.step()``; the step's implied gradient (p₀ − p₁)/lr is PyTorch's gradient. The optimizer
    holds the parameters the loss reads (PyTorch's SGD skips a None gradient; see the test below for why the
    unread bias of the third-order case is left out)."""
    unused = _unused(case)
    model, _, loss = _compiled_sgd(case, lambda m: [p for k, p in m.named_parameters() if k not in unused])
    _close(loss, f"{case}/loss")
    initial = fx.weights(case)
    for key, p in model.named_parameters():
        _close(p.numpy(), f"{case}/sgd/{key}")
        if key in unused:
            np.testing.assert_array_equal(p.numpy(), initial[key])
        else:
            _close((initial[key] - p.numpy()) / fx.SGD_LR, f"{case}/grad/{key}", rtol=1e-7)


def test_compiled_step_with_a_parameter_the_loss_never_reads():
    """∂³u/∂x³ does not read the last bias: PyTorch's step leaves it unchanged and moves the others."""
    model, _, loss = _compiled_sgd("third")
    _close(loss, "third/loss")
    for key, p in model.named_parameters():
        _close(p.numpy(), f"third/sgd/{key}")


def test_fifty_compiled_adam_steps_match_pytorch():
    """The Poisson PINN trained 50 full-batch Adam steps through ``step.step`` and through ``fit`` (the driver's
    native loop): every step's loss and the final parameters equal PyTorch's eager loop (rtol 1e-7)."""
    x, y = fx.data("poisson")
    for drive in ("step", "fit"):
        model = fx.model_of(sn, "poisson")
        step = sn.compile(model, sn.objective(fx.poisson(sn)), sn.optim.Adam(model.parameters(), lr=fx.ADAM_LR))
        if drive == "step":
            losses = [step.step(x, y) for _ in range(fx.ADAM_STEPS)]
        else:
            loader = sn.data.DataLoader(sn.data.TensorDataset(sn.tensor(x), sn.tensor(y)), batch_size=len(x))
            step.fit(loader, epochs=fx.ADAM_STEPS, progress=False)
            losses = list(step.history)
        _close(losses, "poisson/adam/losses", rtol=1e-7)
        for key, p in model.named_parameters():
            _close(p.numpy(), f"poisson/adam/{key}", rtol=1e-7)


@pytest.mark.skipif(not DEEP, reason="SYMNET_DEEP=1: the 50 Adam steps eagerly")
def test_fifty_eager_adam_steps_match_pytorch():
    for key, value in fx.adam(sn).items():
        _close(value, f"poisson/adam/{key}", rtol=1e-7)


# ---------------------------------------------------------------- finite differences

def _tiny_pinn():
    """The Poisson loss of a 2-3-3-1 tanh MLP on 4 interior and 2 boundary points, as a function of its six
    parameter arrays (their values: the second return)."""
    rng = np.random.default_rng(5)
    x = np.concatenate([rng.random((4, 2)), fx.edges(rng, 2)])
    y = np.zeros((6, 2))
    y[:, 0] = 2 * np.pi**2 * np.sin(np.pi * x[:, 0]) * np.sin(np.pi * x[:, 1])
    y[4:, 1] = 1
    values = []
    for a, b in ((2, 3), (3, 3), (3, 1)):
        values += [rng.uniform(-1, 1, (b, a)) / np.sqrt(a), rng.uniform(-1, 1, b) / np.sqrt(a)]
    objective = fx.poisson(sn)

    def loss(W1, b1, W2, b2, W3, b3):
        def model(t):
            return ((t @ W1.T + b1).tanh() @ W2.T + b2).tanh() @ W3.T + b3
        return objective(model, sn.tensor(x, requires_grad=True), sn.tensor(y))

    return loss, values


@pytest.fixture(scope="module")
def pinn_reports():
    loss, values = _tiny_pinn()
    return sn.check_grads(loss, values, order=3)


def test_check_grads_order_3_passes_on_the_pinn_loss(pinn_reports):
    """The PINN loss (its Laplacian by grad of grad) by the parameters: the gradient against central differences
    and Hessian-vector products against differences of gradients — fourth derivatives of u, mixed."""
    assert [r.order for r in pinn_reports] == [1, 2, 3]
    assert all(np.isfinite(r.max_abs_error) for r in pinn_reports)


def test_check_grads_order_3_reports_a_third_order(pinn_reports):
    assert [r.order for r in pinn_reports] == [1, 2, 3]


@pytest.mark.skipif(not DEEP, reason="SYMNET_DEEP=1: five nested derivatives eagerly (about a minute)")
def test_third_derivative_of_the_pinn_loss_by_its_parameters():
    """What check_grads(order=3) leaves out: D³L[v, v, v] by three nested ``grad(create_graph=True)`` over the
    parameters (on top of the two by x) equals the central difference of D²L[v, v] along v."""
    loss, values = _tiny_pinn()
    rng = np.random.default_rng(6)
    direction = [rng.standard_normal(v.shape) for v in values]

    def along(point, order):
        params = [sn.tensor(p, requires_grad=True) for p in point]
        s = loss(*params)
        for _ in range(order):
            grads = sn.autograd.grad(s, params, create_graph=True)
            s = sum(((g * sn.tensor(d)).sum() for g, d in zip(grads, direction, strict=True)),
                    sn.zeros((), dtype=sn.float64))
        return s.item()

    h = 1e-4
    plus = along([v + h * d for v, d in zip(values, direction, strict=True)], 2)
    minus = along([v - h * d for v, d in zip(values, direction, strict=True)], 2)
    assert along(values, 3) == pytest.approx((plus - minus) / (2 * h), rel=1e-6)


# ---------------------------------------------------------------- the fixtures themselves

def test_fixtures_are_what_pytorch_computes_now():
    """Regenerated with the installed torch, the fixtures agree with the stored ones to rtol 1e-12 (another
    CPU's BLAS rounds the last bits differently; 50 Adam steps do not amplify that beyond it)."""
    torch = pytest.importorskip("torch")
    torch.set_default_dtype(torch.float32)
    live = fx.compute(torch)
    assert set(live) == set(FIXTURES.files)
    for key, value in live.items():
        if value.dtype.kind == "f":
            _close(value, key, rtol=1e-12)
        else:
            np.testing.assert_array_equal(value, FIXTURES[key], err_msg=key)
