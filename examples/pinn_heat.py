"""A physics-informed network for the heat equation u_t = α·u_xx on x ∈ [0, 1], t ∈ [0, 1], with u(x, 0) = sin(πx)
and u(0, t) = u(1, t) = 0, whose solution is u = exp(−απ²t)·sin(πx).

The network takes (x, t); the loss reads u_t and u_xx, both from ``sn.autograd.grad(..., create_graph=True)``. The
objective is compiled once and trained by Adam with a decaying learning rate, all of its steps in one native call
of ``fit``; L-BFGS then polishes the same network through a second compiled program. Prints the residual's
derived formula and the relative L2 error against the exact solution; saves the solution, its error field and
the profiles u(x, t) at three times."""

from __future__ import annotations

import time

import numpy as np
from _common import parser, pyplot, save
from _common import tanh_mlp as mlp

import symnet as sn

#: the diffusivity α
ALPHA = 0.1
#: the evaluation grid: 101 × 101 points of [0, 1] × [0, 1]
GRID = 101
#: the weight of the initial and boundary values in the loss
DATA_WEIGHT = 10




@sn.objective
def heat(model, x, y):
    """Rows with y[:, 1] = 0 (collocation points): the mean of (u_t − α·u_xx)²; rows with y[:, 1] = 1 (t = 0 or
    x ∈ {0, 1}): the mean of (u − y[:, 0])², weighted."""
    u = model(x)
    (du,) = sn.autograd.grad(u.sum(), x, create_graph=True)              # (u_x, u_t) at every point
    (grad_ux,) = sn.autograd.grad(du[:, 0].sum(), x, create_graph=True)  # (u_xx, u_xt)
    target, data = y[:, 0], y[:, 1]
    pde = 1 - data
    residual = du[:, 1] - ALPHA * grad_ux[:, 0]
    return (pde * residual**2).sum() / pde.sum() + DATA_WEIGHT * (data * (u[:, 0] - target) ** 2).sum() / data.sum()


def exact(x: np.ndarray) -> np.ndarray:
    return np.exp(-ALPHA * np.pi**2 * x[:, 1]) * np.sin(np.pi * x[:, 0])


def collocation(side: int = 20, edge: int = 40, dtype=np.float64) -> tuple[np.ndarray, np.ndarray]:
    """``side``² collocation points (centres of a side × side grid over the domain) and ``edge`` points on each of
    the three sides where u is given (t = 0, x = 0, x = 1); y holds the given value and the mask."""
    centres = (np.arange(side) + 0.5) / side
    inside = np.stack(np.meshgrid(centres, centres), -1).reshape(-1, 2)
    s = np.linspace(0, 1, edge)
    t = s[1:]                                  # the corners belong to t = 0
    given = np.concatenate([np.stack([s, 0 * s], 1), np.stack([0 * t, t], 1), np.stack([1 + 0 * t, t], 1)])
    x = np.concatenate([inside, given]).astype(dtype)
    y = np.zeros((len(x), 2), dtype)
    y[len(inside):, 0] = exact(given)          # sin(πx) at t = 0, zero on both ends
    y[len(inside):, 1] = 1
    return x, y


def evaluation_grid(dtype=np.float64) -> np.ndarray:
    g = np.linspace(0, 1, GRID)
    return np.stack(np.meshgrid(g, g), -1).reshape(-1, 2).astype(dtype)   # rows (x, t); t varies slowest


def relative_error(u: np.ndarray, points: np.ndarray) -> float:
    truth = exact(points)
    return float(np.linalg.norm(u.reshape(-1) - truth) / np.linalg.norm(truth))


def forward_formulas(step) -> list[str]:
    """The lines of ``step.formulas()`` before the first adjoint (δ…): the network, its input derivatives, the loss."""
    lines = str(step.formulas()).splitlines()
    return lines[: next(k for k, line in enumerate(lines) if line.startswith("δ"))]


def program():
    """The loss on a few points, for ``symnet formulas`` and ``symnet show`` (they differentiate it with respect to
    every leaf that requires grad: the weights, and the points themselves)."""
    model = mlp().name_parameters()
    x, y = collocation(4, 4)
    loss = heat(model, sn.tensor(x, requires_grad=True, name="X"), sn.tensor(y, name="Y"))
    return loss, sn.optim.Adam(model.parameters(), lr=1e-2)


def colorbar(fig, image, ax, label: str, **options):
    """A colorbar in an inset at the right of ``ax``: a part of that axes, laid out with it."""
    return fig.colorbar(image, cax=ax.inset_axes([1.03, 0, 0.04, 1]), label=label, **options)


def main(argv=None) -> dict:
    p = parser(__doc__)
    p.add_argument("--epochs", type=int, default=2000, help="Adam steps, full batch (default: 2000)")
    p.add_argument("--lr", type=float, default=1e-2, help="Adam's first learning rate, decayed tenfold over the "
                   "steps (default: 0.01)")
    p.add_argument("--lbfgs", type=int, default=500, help="L-BFGS iterations after Adam (default: 500)")
    p.add_argument("--side", type=int, default=20, help="collocation points: side × side (default: 20)")
    p.add_argument("--hidden", type=int, default=32, help="width of the two hidden layers (default: 32)")
    p.add_argument("--seed", type=int, default=0, help="seed of the initial weights (default: 0)")
    args = p.parse_args(argv)
    script_start = time.perf_counter()
    x, y = collocation(args.side)
    points = evaluation_grid()
    model = mlp(args.hidden, args.seed)

    began = time.perf_counter()
    adam = sn.optim.Adam(model.parameters(), lr=args.lr)
    step = sn.compile(model, heat, adam)
    decay = sn.optim.lr_scheduler.ExponentialLR(adam, gamma=0.1 ** (1 / max(args.epochs, 1)))
    history = step.fit((x, y), epochs=args.epochs, progress=False, scheduler=decay) if args.epochs else []
    adam_seconds = time.perf_counter() - began
    adam_error = relative_error(step.predict(points).numpy(), points)
    losses = list(history)
    print(f"u_t = {ALPHA}·u_xx on [0, 1] × [0, 1]: {args.side ** 2} collocation points and {len(x) - args.side ** 2} "
          f"initial and boundary points, a 2-{args.hidden}-{args.hidden}-1 tanh network in float64")
    if args.epochs:
        print("the loss as compiled (u_t[b] = ∂u/∂X[b, 1], u_xx[b] = ∂²u/∂X₀∂X[b, 0], data mask Y[b, 1]):")
        print("\n".join(f"  {line}" for line in forward_formulas(step)))
        print(f"Adam: {args.epochs} steps in one native call of fit, lr {args.lr:g} → {args.lr / 10:g}: loss "
              f"{losses[0]:.3g} → {losses[-1]:.3g}, relative L2 error {adam_error:.2e}, {adam_seconds:.2f} s with "
              f"the compile")

    error = adam_error
    if args.lbfgs:
        lbfgs = sn.optim.LBFGS(model.parameters(), max_iter=args.lbfgs, max_eval=2 * args.lbfgs, history_size=50,
                               line_search_fn="strong_wolfe", tolerance_grad=1e-12, tolerance_change=1e-15)
        polish = sn.compile(model, heat, lbfgs)
        began = time.perf_counter()
        polish.step(x, y)
        state = lbfgs.state_dict()["state"][0]
        error = relative_error(step.predict(points).numpy(), points)      # the same model: its weights moved
        print(f"L-BFGS: {state['n_iter']} iterations ({state['func_evals']} evaluations) in "
              f"{time.perf_counter() - began:.2f} s with the compile: relative L2 error {error:.2e}")
    u = step.predict(points).numpy().reshape(GRID, GRID)
    truth = exact(points).reshape(GRID, GRID)
    print(f"relative L2 error on a {GRID}×{GRID} grid: {error:.2e}; max |u − u_exact| {np.abs(u - truth).max():.2e}")

    plt = pyplot(args.show)
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    extent = (0, 1, 0, 1)
    image = axes[0].imshow(u, origin="lower", extent=extent, aspect="auto", cmap="viridis")
    colorbar(fig, image, axes[0], label="u")
    axes[0].set_title("the network's u(x, t)")
    image = axes[1].imshow(np.abs(u - truth), origin="lower", extent=extent, aspect="auto", cmap="magma")
    colorbar(fig, image, axes[1], label="|u − u_exact|", format="%.1e")
    axes[1].set_title(f"error field (relative L2 {error:.1e})")
    for ax in axes[:2]:
        ax.set_xlabel("x")
        ax.set_ylabel("t")
    g = np.linspace(0, 1, GRID)
    for k, t in enumerate((0, 0.5, 1)):
        row = int(round(t * (GRID - 1)))
        axes[2].plot(g, truth[row], color=f"C{k}", lw=3, alpha=0.35, label=f"exact, t = {t:g}")
        axes[2].plot(g, u[row], "--", color=f"C{k}", label=f"network, t = {t:g}")
    axes[2].set_title("u(x, t) at three times")
    axes[2].set_xlabel("x")
    axes[2].set_ylabel("u")
    axes[2].legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    save(fig, "pinn_heat", args)
    print(f"whole example: {time.perf_counter() - script_start:.2f} s")
    return {"error": error, "adam_error": adam_error, "losses": losses,
            "formulas": forward_formulas(step) if args.epochs else []}


if __name__ == "__main__":
    main()
