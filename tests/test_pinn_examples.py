"""The examples whose loss differentiates the model with respect to its inputs (``@sn.objective``): Poisson and heat
PINNs and a WGAN-GP critic. Each runs short, learns what it should and saves labelled figures; its compiled step
retraces the same objective run eagerly, over batches of two sizes; the Poisson and penalty objectives give
PyTorch's loss and weight gradients (torch.autograd.grad with create_graph) at initialisation."""

import copy
import importlib

import numpy as np
import pytest

import symnet as sn
from tests.test_examples import EXAMPLES, assert_real_png, symnet
from tests.test_figures import problems


def run_recording(name, tmp_path, monkeypatch, *args) -> tuple[dict, dict]:
    """Run an example in-process into ``tmp_path``; its result and the figures it saved, by name."""
    module = importlib.import_module(name)
    real_save, figures = module.save, {}

    def record(fig, figure_name, options):
        figures[figure_name] = fig
        return real_save(fig, figure_name, options)

    monkeypatch.setattr(module, "save", record)
    return module.main(["--out", str(tmp_path), *args]), figures


def assert_figures(tmp_path, figures, names):
    assert sorted(figures) == sorted(names)
    for name, fig in figures.items():
        assert_real_png(tmp_path / f"{name}.png")
        assert problems(fig) == [], name


def residual_line(lines: list[str], *terms: str) -> str:
    """The one printed definition that sums the squared residual over the batch: it names every term."""
    found = [line for line in lines if "Σ_b" in line and all(t in line for t in terms)]
    assert len(found) == 1, lines
    return found[0]


def test_poisson_example_error_falls_to_a_loose_bound(tmp_path, monkeypatch, capsys):
    result, figures = run_recording("pinn_poisson", tmp_path, monkeypatch, "--iterations", "300")
    errors, losses = result["errors"], result["losses"]
    assert result["iterations"][-1] == 300 and len(errors) == len(losses) + 1
    assert errors[-1] < 2e-2 and errors[-1] < errors[0] / 20       # 300 of the default 2000 iterations
    assert min(errors[1:]) < errors[0] and losses[-1] < losses[0] / 1e3
    assert result["error"] == errors[-1]
    out = capsys.readouterr().out
    line = residual_line(result["formulas"], "Y[b, 0]", "∂²u/∂X₀∂X[b, 0]", "∂²u/∂X₁∂X[b, 1]")    # f + u_xx + u_yy
    assert f"  {line}" in out and f"relative L2 error on a 101×101 grid: {errors[-1]:.2e}" in out
    assert_figures(tmp_path, figures, ["pinn_poisson"])


def test_heat_example_adam_then_lbfgs(tmp_path, monkeypatch, capsys):
    result, figures = run_recording("pinn_heat", tmp_path, monkeypatch, "--epochs", "300", "--lbfgs", "100")
    losses = result["losses"]
    assert len(losses) == 300 and losses[-1] < losses[0] / 20
    assert result["error"] < result["adam_error"] and result["error"] < 0.05
    residual_line(result["formulas"], "∂u/∂X[b, 1]", "0.1·∂²u/∂X₀∂X[b, 0]")   # u_t − α·u_xx
    assert "300 steps in one native call of fit" in capsys.readouterr().out
    assert_figures(tmp_path, figures, ["pinn_heat"])


def test_gradient_penalty_example_pulls_the_gradient_norm_to_one(tmp_path, monkeypatch, capsys):
    result, figures = run_recording("gradient_penalty", tmp_path, monkeypatch, "--epochs", "40")
    assert len(result["losses"]) == 40 * 4                        # 1024 rows in shuffled batches of 256
    assert result["penalty"] < result["penalty_before"] / 5
    assert abs(np.median(result["norms"]) - 1) < 0.25
    assert result["wasserstein"] > result["wasserstein_before"] + 0.1   # D learns real from fake
    out = capsys.readouterr().out
    assert "  gradD[b, " in out and "  δgradD[b, " in out            # ∇ₓD and the penalty's adjoint, printed
    assert_figures(tmp_path, figures, ["gradient_penalty"])


@pytest.mark.parametrize("name,derivative,adjoint", [("pinn_poisson", "∂²u/∂X₁∂X", "δ(∂²u/∂X₁∂X)"),
                                                     ("pinn_heat", "∂u/∂X", "δ(∂u/∂X)"),
                                                     ("gradient_penalty", "gradD", "δgradD")])
def test_symnet_formulas_of_the_example_file(name, derivative, adjoint):
    """``program()`` serves ``symnet formulas FILE``: the input derivative, named as people write it (a
    contraction with the first layer's weights), its adjoint, the gradients of the first layer and of the points,
    and the optimizer's rule."""
    out = symnet("formulas", str(EXAMPLES / f"{name}.py"))
    assert out.returncode == 0, out.stderr
    printed = out.stdout.splitlines()
    assert any(line.startswith(f"{derivative}[") and "Σ" in line and "W0[" in line for line in printed)
    assert all(any(line.startswith(f"{start}[") for line in printed) for start in (adjoint, "δW0", "δX"))
    rule = {"pinn_poisson": "LBFGS: at iteration k"}.get(name, "Adam: at step t")
    assert any(line.startswith(rule) for line in printed)


def small_problem(name: str):
    """A small model, the example's objective and its data, for the compiled-versus-eager comparison."""
    module = importlib.import_module(name)
    if name == "gradient_penalty":
        return module.critic(8, seed=1), module.wgan_gp, *module.samples(40, seed=1)
    return module.mlp(8, seed=1), getattr(module, {"pinn_poisson": "poisson", "pinn_heat": "heat"}[name]), \
        *module.collocation(5, 12)


def eager_losses(model, objective, optimizer, batches) -> list[float]:
    losses = []
    for bx, by in batches:
        optimizer.zero_grad()
        loss = objective(model, sn.tensor(bx, requires_grad=True), sn.tensor(by))
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


@pytest.mark.parametrize("name", ["pinn_poisson", "pinn_heat", "gradient_penalty"])
def test_compiled_step_equals_the_objective_run_eagerly(name):
    """Adam over the whole batch and a shuffled two-thirds of it (the batch dimension is symbolic): the losses and
    the final weights of the compiled step are those of the eager loop on a copy of the model."""
    model, objective, x, y = small_problem(name)
    keep = np.random.default_rng(0).permutation(len(x))[: 2 * len(x) // 3]
    batches = [(x, y), (x[keep], y[keep])] * 3
    twin = copy.deepcopy(model)
    step = sn.compile(model, objective, sn.optim.Adam(model.parameters(), lr=1e-2, betas=(0.5, 0.9)))
    compiled = [step.step(bx, by) for bx, by in batches]
    eager = eager_losses(twin, objective, sn.optim.Adam(twin.parameters(), lr=1e-2, betas=(0.5, 0.9)), batches)
    np.testing.assert_allclose(compiled, eager, rtol=1e-12)
    assert compiled[-2] < compiled[0]
    for p, q in zip(model.parameters(), twin.parameters(), strict=True):
        np.testing.assert_allclose(p.numpy(), q.numpy(), rtol=1e-10, atol=1e-13)


def test_compiled_lbfgs_equals_eager_lbfgs_on_the_poisson_objective():
    """The example's optimizer: L-BFGS with the strong-Wolfe search calling the compiled loss and gradient retraces
    ``optimizer.step(closure)`` with an eager closure."""
    model, objective, x, y = small_problem("pinn_poisson")
    twin = copy.deepcopy(model)
    options = dict(max_iter=10, history_size=5, line_search_fn="strong_wolfe")
    step = sn.compile(model, objective, sn.optim.LBFGS(model.parameters(), **options))
    compiled = [step.step(x, y) for _ in range(3)]
    optimizer = sn.optim.LBFGS(twin.parameters(), **options)

    def closure():
        optimizer.zero_grad()
        loss = objective(twin, sn.tensor(x, requires_grad=True), sn.tensor(y))
        loss.backward()
        return loss

    eager = [float(optimizer.step(closure)) for _ in range(3)]
    np.testing.assert_allclose(compiled, eager, rtol=1e-10)
    assert compiled[-1] < compiled[0] / 2
    # the two programs' gradients agree to an ulp or two (a batch known when compiling is summed in another order
    # than a symbolic one), and thirty evaluations of L-BFGS's curvature estimate amplify that
    for p, q in zip(model.parameters(), twin.parameters(), strict=True):
        np.testing.assert_allclose(p.numpy(), q.numpy(), rtol=1e-6, atol=1e-11)


def torch_poisson(torch, module, model, x, y):
    """The Poisson objective written with torch.autograd.grad."""
    u = model(x)
    (du,) = torch.autograd.grad(u.sum(), x, create_graph=True)
    (gx,) = torch.autograd.grad(du[:, 0].sum(), x, create_graph=True)
    (gy,) = torch.autograd.grad(du[:, 1].sum(), x, create_graph=True)
    interior, boundary = 1 - y[:, 1], y[:, 1]
    residual = gx[:, 0] + gy[:, 1] + y[:, 0]
    return ((interior * residual**2).sum() / interior.sum()
            + module.BOUNDARY_WEIGHT * (boundary * u[:, 0] ** 2).sum() / boundary.sum())


def torch_wgan_gp(torch, module, model, x, y):
    """The critic's loss as the WGAN-GP paper's code writes it."""
    (g,) = torch.autograd.grad(model(x).sum(), x, create_graph=True)
    penalty = ((g.norm(2, dim=1) - 1) ** 2).mean()
    return model(y[:, 2:]).mean() - model(y[:, :2]).mean() + module.LAMBDA * penalty


@pytest.mark.parametrize("name", ["pinn_poisson", "gradient_penalty"])
def test_objective_matches_pytorch_at_initialisation(name):
    """float64, the same weights: the loss and every weight gradient, eager and compiled, equal PyTorch's to 1e-9.
    The compiled gradient is read from one SGD step at lr 1: the weights move by exactly −g."""
    torch = pytest.importorskip("torch")
    module = importlib.import_module(name)
    if name == "pinn_poisson":
        model, objective, reference = module.mlp(32, seed=3), module.poisson, torch_poisson
        x, y = module.collocation(8, 40)
    else:
        model, objective, reference = module.critic(32, seed=3), module.wgan_gp, torch_wgan_gp
        x, y = module.samples(100, seed=3)
    twin = torch.nn.Sequential(torch.nn.Linear(2, 32), torch.nn.Tanh(), torch.nn.Linear(32, 32), torch.nn.Tanh(),
                               torch.nn.Linear(32, 1)).double()
    twin.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in model.state_dict().items()})
    expected = reference(torch, module, twin, torch.from_numpy(x).requires_grad_(), torch.from_numpy(y))
    grads = [g.numpy() for g in torch.autograd.grad(expected, list(twin.parameters()))]

    loss = objective(model, sn.tensor(x, requires_grad=True), sn.tensor(y))
    loss.backward()
    np.testing.assert_allclose(loss.item(), expected.item(), rtol=1e-9)
    for p, g in zip(model.parameters(), grads, strict=True):
        np.testing.assert_allclose(p.grad.numpy(), g, rtol=1e-9, atol=1e-14)

    before = [p.numpy().copy() for p in model.parameters()]
    step = sn.compile(model, objective, sn.optim.SGD(model.parameters(), lr=1.0))
    np.testing.assert_allclose(step.step(x, y), expected.item(), rtol=1e-9)
    for b, p, g in zip(before, model.parameters(), grads, strict=True):
        np.testing.assert_allclose(b - p.numpy(), g, rtol=1e-9, atol=1e-14)
