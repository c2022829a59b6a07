"""``@sn.objective``: losses that differentiate the model with respect to its inputs, compiled into one native
step (physics-informed residuals, gradient penalties), equal to the same objective run eagerly."""

from __future__ import annotations

import copy

import numpy as np
import pytest

import symnet as sn


def mlp(seed: int = 0, dtype=sn.float64):
    sn.manual_seed(seed)
    return sn.nn.Sequential(sn.nn.Linear(2, 8), sn.nn.Tanh(), sn.nn.Linear(8, 8), sn.nn.Tanh(),
                            sn.nn.Linear(8, 1)).to(dtype)


def laplacian(u, x):
    """Σ_i ∂²u/∂x_i², the batched sum trick: the gradient of the summed output, twice."""
    (g,) = sn.autograd.grad(u.sum(), x, create_graph=True)
    lap = 0
    for i in range(x.shape[1]):
        (h,) = sn.autograd.grad(g[:, i].sum(), x, create_graph=True)
        lap = lap + h[:, i]
    return lap


@sn.objective
def poisson(model, x, y):
    """Interior rows (y[:, 1] = 0): Δu + f = 0 with f = y[:, 0]; boundary rows (y[:, 1] = 1): u = 0."""
    u = model(x)
    f, boundary = y[:, 0], y[:, 1]
    return ((1 - boundary) * (laplacian(u, x) + f) ** 2 + boundary * u[:, 0] ** 2).mean()


def poisson_data(n: int, seed: int = 0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    x = rng.random((n, 2)).astype(dtype)
    y = np.zeros((n, 2), dtype)
    y[:, 0] = 2 * np.pi**2 * np.sin(np.pi * x[:, 0]) * np.sin(np.pi * x[:, 1])
    y[n * 3 // 4:, 1] = 1
    return x, y


def eager_adam(model, objective, batches, lr=1e-2):
    return eager(model, objective, batches, sn.optim.Adam(model.parameters(), lr=lr))


def eager(model, objective, batches, optimizer):
    """The objective trained eagerly: forward, backward, step, batch by batch; the losses."""
    losses = []
    for x, y in batches:
        optimizer.zero_grad()
        loss = objective(model, sn.tensor(x, requires_grad=True), sn.tensor(y))
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def test_compiled_objective_equals_eager_over_batches_of_every_size():
    """Batches of 64, 64 and 17 rows (the batch dimension is symbolic, derivatives included): losses and final
    parameters equal the eager run of the same objective."""
    x, y = poisson_data(145)
    batches = [(x[:64], y[:64]), (x[64:128], y[64:128]), (x[128:], y[128:])] * 3
    model = mlp()
    twin = copy.deepcopy(model)
    step = sn.compile(model, poisson, sn.optim.Adam(model.parameters(), lr=1e-2))
    compiled = [step.step(bx, by) for bx, by in batches]
    np.testing.assert_allclose(compiled, eager_adam(twin, poisson, batches), rtol=1e-12)
    for p, q in zip(model.parameters(), twin.parameters(), strict=True):
        np.testing.assert_allclose(p.numpy(), q.numpy(), rtol=1e-11, atol=1e-14)


def test_fit_and_evaluate_run_an_objective():
    x, y = poisson_data(96)
    model = mlp()
    step = sn.compile(model, poisson, sn.optim.Adam(model.parameters(), lr=1e-2))
    before = step.evaluate([(x, y)])
    history = step.fit(sn.data.DataLoader(sn.data.TensorDataset(sn.tensor(x), sn.tensor(y)), batch_size=32),
                       epochs=20, progress=False)
    assert len(history) == 60
    after = step.evaluate([(x, y)])
    assert after < before
    assert after == pytest.approx(poisson(model, sn.tensor(x, requires_grad=True), sn.tensor(y)).item(), rel=1e-12)


def test_a_derivative_without_create_graph_is_computed_per_batch_not_baked():
    """Inside the trace a detached derivative (no create_graph) or a detach() still follows each step's batch:
    its value is never the first batch's constant."""
    @sn.objective
    def weighted(model, x, y):
        u = model(x)
        (g,) = sn.autograd.grad(u.sum(), x)            # no graph: a weight, not trained through
        w = (g ** 2).sum(1, keepdim=True)
        return (w * (u - y[:, :1]) ** 2).mean() + (u.detach() * u).mean()

    x, y = poisson_data(64)
    batches = [(x[:32], y[:32]), (x[32:], y[32:])] * 2
    model = mlp(1)
    twin = copy.deepcopy(model)
    step = sn.compile(model, weighted, sn.optim.SGD(model.parameters(), lr=0.1))
    compiled = [step.step(bx, by) for bx, by in batches]
    np.testing.assert_allclose(compiled, eager(twin, weighted, batches, sn.optim.SGD(twin.parameters(), lr=0.1)),
                               rtol=1e-12)


def test_float32_objective():
    x, y = poisson_data(64, dtype=np.float32)
    model = mlp(dtype=sn.float32)
    twin = copy.deepcopy(model)
    step = sn.compile(model, poisson, sn.optim.Adam(model.parameters(), lr=1e-2))
    compiled = [step.step(x, y) for _ in range(5)]
    np.testing.assert_allclose(compiled, eager_adam(twin, poisson, [(x, y)] * 5), rtol=1e-4)
    assert all(p.dtype == sn.float32 for p in model.parameters())


def test_objective_refuses_what_is_not_a_function():
    with pytest.raises(TypeError, match="objective"):
        sn.objective(3)


def test_a_loss_reading_no_parameter_is_a_clear_error():
    model = mlp()
    step = sn.compile(model, sn.objective(lambda m, x, y: (x ** 2).sum()), sn.optim.SGD(model.parameters(), lr=0.1))
    with pytest.raises(sn.GradError, match="reads none of the parameters"):
        step.step(*poisson_data(8))


def test_the_readme_objective_runs_as_written():
    """The README's physics-informed snippet, copied from the README itself, on a small batch: it trains."""
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    code = readme.split("## Derivatives in the loss", 1)[1].split("```python", 1)[1].split("```", 1)[0]
    x, y = poisson_data(64)
    namespace = {"sn": sn, "model": mlp(), "x": x, "y": y}
    exec(compile(code.replace("epochs=2000", "epochs=200"), "README.md", "exec"), namespace)
    losses = namespace["history"]
    assert len(losses) == 200 and losses[-1] < losses[0] / 2


def test_an_empty_batch_is_refused_not_a_silent_zero():
    """PyTorch's mean loss of an empty batch is nan; symnet's compiled sum would be 0: refused, nothing changes.
    An empty data set is an empty loop, as PyTorch's."""
    model = mlp()
    step = sn.compile(model, poisson, sn.optim.SGD(model.parameters(), lr=0.1))
    x, y = poisson_data(8)
    step.step(x, y)
    before = [p.detach().numpy().copy() for p in model.parameters()]
    with pytest.raises(sn.ShapeError, match="the batch is empty"):
        step.step(x[:0], y[:0])
    assert all(np.array_equal(b, p.detach().numpy()) for b, p in zip(before, model.parameters(), strict=True))
    assert len(step.fit((x[:0], y[:0]), epochs=3)) == 0


@pytest.mark.parametrize("direction", [[[1, 0]], [[True, False]], [[1.0, 0.0]]], ids=["int", "bool", "float"])
@pytest.mark.parametrize("dtype", [sn.float32, sn.float64])
def test_derivatives_along_directions_of_any_dtype(direction, dtype):
    """A direction of another dtype is taken in the input's: u = x₀³ + x₁³ at x₀ = 0.5 along e₀ gives 3x₀², 6x₀."""
    x = sn.tensor(np.array([[0.5, 1.0]]), dtype=dtype, requires_grad=True)
    first, second = sn.autograd.derivatives((x ** 3).sum(1), x, sn.tensor(direction), order=2)
    assert first.dtype == second.dtype == dtype
    np.testing.assert_allclose([first.item(), second.item()], [0.75, 3.0], rtol=1e-6)


@pytest.mark.parametrize("reads", ["x", "nothing"])
def test_an_objective_that_reads_no_target_trains_as_eagerly(reads):
    """The step takes x and y whatever the loss reads (y unread: an autoencoder's or a regularizer's loss): one
    step, a fit over the whole data in place and a fit over gathered batches, each equal to the eager run."""
    def loss(model, x, y):
        return (model(x) ** 2).mean() if reads == "x" else (model[0].weight ** 2).sum()

    rng = np.random.default_rng(3)
    x, y = rng.standard_normal((6, 2)), np.zeros((6, 1))
    compiled_model, eager_model = mlp(3), mlp(3)
    step = sn.compile(compiled_model, sn.objective(loss), sn.optim.SGD(compiled_model.parameters(), lr=0.1))
    got = [step.step(x, y), *step.fit((x, y), epochs=2), *step.fit([(x[:3], y[:3]), (x[3:], y[3:])], epochs=1)]
    opt = sn.optim.SGD(eager_model.parameters(), lr=0.1)
    want = []
    for xb in (x, x, x, x[:3], x[3:]):
        opt.zero_grad()
        value = loss(eager_model, sn.tensor(xb), None)
        value.backward()
        opt.step()
        want.append(value.item())
    np.testing.assert_allclose(got, want, rtol=1e-12)
