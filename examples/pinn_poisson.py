"""A physics-informed network for the Poisson equation −Δu = f on the unit square, u = 0 on its boundary, with
f = 2π²·sin(πx)·sin(πy), whose solution is u = sin(πx)·sin(πy).

The loss reads the network's second derivatives with respect to its inputs (the Laplacian, taken with
``sn.autograd.grad(..., create_graph=True)``) at collocation points inside the square, and its values at points on
the boundary. ``@sn.objective`` compiles that loss and its gradient with respect to the weights into one native
program, which L-BFGS calls at each of its evaluations. Prints the residual's derived formula, the relative L2 error
on a 101×101 grid and the wall time; saves the solution, the error field and the training curve."""

from __future__ import annotations

import time

import numpy as np
from _common import parser, pyplot, save
from _common import tanh_mlp as mlp

import symnet as sn

#: the evaluation grid: 101×101 points on [0, 1]², boundary included
GRID = 101
#: the boundary term's weight in the loss: the error of a soft boundary condition sits on the boundary, and 10
#: halves it for the same number of iterations (measured against 1 and 100)
BOUNDARY_WEIGHT = 10




@sn.objective
def poisson(model, x, y):
    """Interior rows (y[:, 1] = 0): the mean of (Δu + f)² with f = y[:, 0]; boundary rows (y[:, 1] = 1): the mean
    of u², weighted. The batch dimension is symbolic, so the two kinds of rows are told apart by the mask, not by
    their position."""
    u = model(x)
    (du,) = sn.autograd.grad(u.sum(), x, create_graph=True)          # (∂u/∂x, ∂u/∂y) at every point
    (grad_ux,) = sn.autograd.grad(du[:, 0].sum(), x, create_graph=True)  # (u_xx, u_xy)
    (grad_uy,) = sn.autograd.grad(du[:, 1].sum(), x, create_graph=True)  # (u_yx, u_yy)
    f, boundary = y[:, 0], y[:, 1]
    interior = 1 - boundary
    residual = grad_ux[:, 0] + grad_uy[:, 1] + f
    return ((interior * residual**2).sum() / interior.sum()
            + BOUNDARY_WEIGHT * (boundary * u[:, 0] ** 2).sum() / boundary.sum())


def source(x: np.ndarray) -> np.ndarray:
    return 2 * np.pi**2 * np.sin(np.pi * x[:, 0]) * np.sin(np.pi * x[:, 1])


def exact(x: np.ndarray) -> np.ndarray:
    return np.sin(np.pi * x[:, 0]) * np.sin(np.pi * x[:, 1])


def collocation(side: int = 20, boundary: int = 100, dtype=np.float64) -> tuple[np.ndarray, np.ndarray]:
    """``side``² interior points (the centres of a side × side grid of cells) and ``boundary`` points evenly spaced
    around the square; y holds f and the boundary mask."""
    centres = (np.arange(side) + 0.5) / side
    inside = np.stack(np.meshgrid(centres, centres), -1).reshape(-1, 2)
    s = 4 * np.arange(boundary) / boundary          # arc length around the square, from (0, 0) anticlockwise
    edge, t = np.floor(s).astype(int), (s % 1)[:, None]
    corners = np.array([[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]])
    around = corners[edge] + t * (corners[edge + 1] - corners[edge])
    x = np.concatenate([inside, around]).astype(dtype)
    y = np.zeros((len(x), 2), dtype)
    y[: len(inside), 0] = source(inside)
    y[len(inside):, 1] = 1
    return x, y


def evaluation_grid(dtype=np.float64) -> np.ndarray:
    g = np.linspace(0, 1, GRID)
    return np.stack(np.meshgrid(g, g), -1).reshape(-1, 2).astype(dtype)


def relative_error(u: np.ndarray, points: np.ndarray) -> float:
    """‖u − u_exact‖₂ / ‖u_exact‖₂ over the points."""
    truth = exact(points)
    return float(np.linalg.norm(u.reshape(-1) - truth) / np.linalg.norm(truth))


def forward_formulas(step) -> list[str]:
    """The lines of ``step.formulas()`` before the first adjoint (δ…): the network, its derivatives with respect to
    the inputs and the loss. The weight gradients and the optimizer's rule follow them."""
    lines = str(step.formulas()).splitlines()
    return lines[: next(k for k, line in enumerate(lines) if line.startswith("δ"))]


def program():
    """The loss on a few points, for ``symnet formulas`` and ``symnet show`` (they differentiate it with respect to
    every leaf that requires grad: the weights, and the points themselves)."""
    model = mlp().name_parameters()
    x, y = collocation(4, 8)
    loss = poisson(model, sn.tensor(x, requires_grad=True, name="X"), sn.tensor(y, name="Y"))
    return loss, sn.optim.LBFGS(model.parameters(), line_search_fn="strong_wolfe")


def lbfgs_state(optimizer) -> dict:
    """L-BFGS's counters (``n_iter``, ``func_evals``), as PyTorch's ``state_dict`` keeps them under parameter 0."""
    return optimizer.state_dict()["state"].get(0, {"n_iter": 0, "func_evals": 0})


def colorbar(fig, image, ax, label: str, **options):
    """A colorbar in an inset at the right of ``ax``: a part of that axes, laid out with it."""
    return fig.colorbar(image, cax=ax.inset_axes([1.03, 0, 0.04, 1]), label=label, **options)


def main(argv=None) -> dict:
    p = parser(__doc__)
    p.add_argument("--iterations", type=int, default=2000, help="L-BFGS iterations (default: 2000)")
    p.add_argument("--chunk", type=int, default=100, help="iterations per L-BFGS step() call, between which the "
                   "error is measured (default: 100)")
    p.add_argument("--side", type=int, default=20, help="interior points: side × side (default: 20)")
    p.add_argument("--boundary", type=int, default=100, help="boundary points (default: 100)")
    p.add_argument("--hidden", type=int, default=32, help="width of the two hidden layers (default: 32)")
    p.add_argument("--seed", type=int, default=0, help="seed of the initial weights (default: 0)")
    args = p.parse_args(argv)
    script_start = time.perf_counter()
    x, y = collocation(args.side, args.boundary)
    points = evaluation_grid()
    model = mlp(args.hidden, args.seed)
    optimizer = sn.optim.LBFGS(model.parameters(), lr=1, max_iter=args.chunk, history_size=50,
                               line_search_fn="strong_wolfe", tolerance_grad=1e-12, tolerance_change=1e-15)
    began = time.perf_counter()
    step = sn.compile(model, poisson, optimizer)
    iterations, losses, errors, seconds = [], [], [], []
    done = 0
    while done < args.iterations:
        group = optimizer.param_groups[0]
        group["max_iter"] = min(args.chunk, args.iterations - done)
        group["max_eval"] = 2 * group["max_iter"]   # room for the line search's extra evaluations
        iterations.append(done)
        errors.append(relative_error(step.predict(points).numpy(), points))
        losses.append(step.step(x, y))              # the loss where this call starts, as PyTorch's LBFGS returns
        seconds.append(time.perf_counter() - began)
        done, before = lbfgs_state(optimizer)["n_iter"], done
        if done == before:                          # converged: L-BFGS made no iteration
            break
    u = step.predict(points).numpy().reshape(GRID, GRID)
    wall = time.perf_counter() - began
    error = relative_error(u, points)
    iterations.append(done)
    errors.append(error)
    evaluations = lbfgs_state(optimizer)["func_evals"]

    print(f"−Δu = f on [0, 1]², u = 0 on the boundary: {len(x) - args.boundary} interior and {args.boundary} "
          f"boundary points, a 2-{args.hidden}-{args.hidden}-1 tanh network in float64")
    print("the loss as compiled (Δu[b] = ∂²u/∂X₀∂X[b, 0] + ∂²u/∂X₁∂X[b, 1], f = Y[b, 0], boundary mask Y[b, 1]):")
    print("\n".join(f"  {line}" for line in forward_formulas(step)))
    total_lines = len(str(step.formulas()).splitlines())
    print(f"  … then the weight gradients, derived through the second derivatives, and the L-BFGS rule "
          f"({total_lines} lines in step.formulas())")
    print(f"L-BFGS (strong Wolfe): {done} iterations, {evaluations} evaluations of the compiled loss and gradient; "
          f"loss {losses[0]:.3g} → {losses[-1]:.3g} (at iteration {iterations[-2]})")
    print(f"relative L2 error on a {GRID}×{GRID} grid: {error:.2e}; max |u − u_exact| "
          f"{np.abs(u - exact(points).reshape(GRID, GRID)).max():.2e}")
    print(f"wall time from sn.compile to the error: {wall:.2f} s (the first {iterations[1]} iterations, deriving and "
          f"compiling included: {seconds[0]:.2f} s)")

    plt = pyplot(args.show)
    fig, (left, middle, right) = plt.subplots(1, 3, figsize=(15, 4.2))
    extent = (0, 1, 0, 1)
    image = left.imshow(u, origin="lower", extent=extent, cmap="viridis")
    colorbar(fig, image, left, label="u")
    left.set_title("the network's u(x, y)")
    gap = np.abs(u - exact(points).reshape(GRID, GRID))
    image = middle.imshow(gap, origin="lower", extent=extent, cmap="magma")
    colorbar(fig, image, middle, label="|u − u_exact|", format="%.1e")
    middle.set_title(f"error field (relative L2 {error:.1e})")
    for ax in (left, middle):
        ax.set_xlabel("x")
        ax.set_ylabel("y")
    right.plot(iterations[:-1], losses, "o-", ms=3, label="loss")
    right.plot(iterations, errors, "s-", ms=3, label="relative L2 error")
    right.axhline(1e-3, color="gray", ls=":", label="error 1e-3")
    right.set_yscale("log")
    right.set_xlabel("L-BFGS iteration")
    right.set_ylabel("loss, error")
    right.set_title(f"training: {wall:.1f} s, compile included")
    right.grid(alpha=0.3)
    right.legend()
    fig.tight_layout()
    save(fig, "pinn_poisson", args)
    total = time.perf_counter() - script_start
    print(f"whole example (data, training, figure): {total:.2f} s")
    return {"error": error, "seconds": wall, "total_seconds": total,
            "iterations": iterations, "losses": losses, "errors": errors, "evaluations": evaluations,
            "formulas": forward_formulas(step)}


if __name__ == "__main__":
    main()
