"""A WGAN-GP critic: the Wasserstein loss mean D(fake) − mean D(real) plus the gradient penalty
λ·mean((‖∇ₓD(x̂)‖₂ − 1)²) at interpolates x̂ = ε·real + (1 − ε)·fake, compiled into one native training step.

The real samples lie on a circle, the fake ones come from a fixed Gaussian blob (a generator that has not learned
yet). Every row of the data is one (interpolate, real, fake) triple: the interpolate is the objective's input
``x``, so ``sn.autograd.grad(..., create_graph=True)`` takes ∇ₓD there; the real and fake pair rides in ``y``.
The critic's weight gradients are derived through that input gradient. Prints the penalty's derived formulas, the
penalty and the critic's estimate of the Wasserstein distance before and after training, and saves the critic and
its gradient-norm field."""

from __future__ import annotations

import time

import numpy as np
from _common import parser, pyplot, save

import symnet as sn

#: the penalty's weight λ (the WGAN-GP paper's)
LAMBDA = 10.0


def critic(hidden: int = 64, seed: int = 0, dtype=sn.float64) -> sn.nn.Module:
    """2 → hidden → hidden → 1 with tanh, PyTorch's default initialisation under ``seed``."""
    sn.manual_seed(seed)
    return sn.nn.Sequential(sn.nn.Linear(2, hidden), sn.nn.Tanh(), sn.nn.Linear(hidden, hidden), sn.nn.Tanh(),
                            sn.nn.Linear(hidden, 1)).to(dtype)


def gradient_norm(model, x):
    """‖∇ₓD(x)‖₂ per row (its graph kept, so that a loss of it trains D)."""
    (g,) = sn.autograd.grad(model(x).sum(), x, create_graph=True)
    g.name = "gradD"
    return g.norm(2, dim=1)


def penalty(model, x):
    return ((gradient_norm(model, x) - 1) ** 2).mean()


@sn.objective
def wgan_gp(model, x, y):
    """x: interpolates; y: the real sample (columns 0, 1) and the fake one (columns 2, 3) of each row."""
    wasserstein = model(y[:, 2:]).mean() - model(y[:, :2]).mean()
    return wasserstein + LAMBDA * penalty(model, x)


def samples(n: int, seed: int = 0, dtype=np.float64) -> tuple[np.ndarray, np.ndarray]:
    """``n`` rows (interpolate; real, fake): real on the unit circle with a little noise, fake from N((0.3, −0.2),
    0.25²), ε uniform in [0, 1]."""
    rng = np.random.default_rng(seed)
    angle = rng.uniform(0, 2 * np.pi, n)
    real = np.stack([np.cos(angle), np.sin(angle)], 1) + 0.02 * rng.standard_normal((n, 2))
    fake = np.array([0.3, -0.2]) + 0.25 * rng.standard_normal((n, 2))
    eps = rng.uniform(0, 1, (n, 1))
    mixed = eps * real + (1 - eps) * fake
    return mixed.astype(dtype), np.concatenate([real, fake], 1).astype(dtype)


def forward_formulas(step) -> list[str]:
    """The lines of ``step.formulas()`` before the first adjoint (δ…): the critic, its input gradient, the loss."""
    lines = str(step.formulas()).splitlines()
    return lines[: next(k for k, line in enumerate(lines) if line.startswith("δ"))]


def penalty_adjoints(step) -> list[str]:
    """The adjoint lines of ``step.formulas()`` from the first to the one of ``gradD`` (∇ₓD): the penalty's
    derivative with respect to the input gradient."""
    lines = str(step.formulas()).splitlines()
    first = next(k for k, line in enumerate(lines) if line.startswith("δ"))
    last = next(k for k, line in enumerate(lines) if line.startswith("δgradD"))
    return lines[first: last + 1]


def measure(model, x, y) -> tuple[float, float, np.ndarray]:
    """The penalty, the critic's Wasserstein estimate mean D(real) − mean D(fake), and ‖∇D‖ at every interpolate:
    run eagerly, outside the compiled step."""
    xs = sn.tensor(x, requires_grad=True)
    norms = gradient_norm(model, xs)
    gap = model(sn.tensor(y[:, :2])).mean() - model(sn.tensor(y[:, 2:])).mean()
    return float(((norms - 1) ** 2).mean().item()), float(gap.item()), norms.detach().numpy()


def program():
    """The loss on a few rows, for ``symnet formulas`` and ``symnet show`` (they differentiate it with respect to
    every leaf that requires grad: the weights, and the interpolates themselves)."""
    model = critic().name_parameters()
    x, y = samples(8)
    loss = wgan_gp(model, sn.tensor(x, requires_grad=True, name="X"), sn.tensor(y, name="Y"))
    return loss, sn.optim.Adam(model.parameters(), lr=1e-3, betas=(0.5, 0.9))


def colorbar(fig, image, ax, label: str, **options):
    """A colorbar in an inset at the right of ``ax``: a part of that axes, laid out with it."""
    return fig.colorbar(image, cax=ax.inset_axes([1.03, 0, 0.04, 1]), label=label, **options)


def main(argv=None) -> dict:
    p = parser(__doc__)
    p.add_argument("--epochs", type=int, default=200, help="epochs over the samples (default: 200)")
    p.add_argument("--samples", type=int, default=1024, help="(interpolate, real, fake) rows (default: 1024)")
    p.add_argument("--batch-size", type=int, default=256, help="rows per step, shuffled (default: 256)")
    p.add_argument("--lr", type=float, default=1e-3, help="Adam's learning rate (default: 0.001)")
    p.add_argument("--seed", type=int, default=0, help="seed of the samples and the initial weights (default: 0)")
    args = p.parse_args(argv)
    script_start = time.perf_counter()
    x, y = samples(args.samples, args.seed)
    model = critic(seed=args.seed)
    before = measure(model, x, y)
    optimizer = sn.optim.Adam(model.parameters(), lr=args.lr, betas=(0.5, 0.9))
    step = sn.compile(model, wgan_gp, optimizer)
    loader = sn.data.DataLoader(sn.data.TensorDataset(sn.tensor(x), sn.tensor(y)), batch_size=args.batch_size,
                                shuffle=True)
    sn.manual_seed(args.seed)
    began = time.perf_counter()
    history = step.fit(loader, epochs=args.epochs, progress=False)
    seconds = time.perf_counter() - began
    after = measure(model, x, y)

    print(f"critic 2-64-64-1 tanh; loss = mean D(fake) − mean D(real) + {LAMBDA:g}·mean((‖∇D(x̂)‖ − 1)²)")
    print("the loss as compiled (X: interpolates, Y: real and fake pairs; gradD = ∇ₓD at each interpolate):")
    print("\n".join(f"  {line}" for line in forward_formulas(step)))
    print("the penalty's derivative, first of the adjoints (δ…) that carry it back to the weights:")
    print("\n".join(f"  {line}" for line in penalty_adjoints(step)))
    print(f"  … then through ∇ₓD to every weight ({len(str(step.formulas()).splitlines())} lines in step.formulas())")
    print(f"{len(history)} Adam steps ({args.epochs} epochs of {len(loader)} shuffled batches) in {seconds:.2f} s "
          "with the compile, every epoch (its shuffle too) inside native code")
    print(f"penalty mean((‖∇D‖ − 1)²): {before[0]:.4f} → {after[0]:.4f}; ‖∇D‖ at the interpolates: median "
          f"{np.median(before[2]):.3f} → {np.median(after[2]):.3f}")
    print(f"critic's Wasserstein estimate mean D(real) − mean D(fake): {before[1]:.4f} → {after[1]:.4f}")

    plt = pyplot(args.show)
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 5))
    g = np.linspace(-1.6, 1.6, 121)
    grid = np.stack(np.meshgrid(g, g), -1).reshape(-1, 2)
    values = step.predict(grid).numpy().reshape(len(g), len(g))
    field = gradient_norm(model, sn.tensor(grid, requires_grad=True)).detach().numpy().reshape(len(g), len(g))
    extent = (g[0], g[-1], g[0], g[-1])
    image = left.imshow(values, origin="lower", extent=extent, cmap="coolwarm")
    colorbar(fig, image, left, label="D(x)")
    left.set_title("the critic D")
    image = right.imshow(field, origin="lower", extent=extent, cmap="RdBu_r", vmin=0, vmax=2)
    colorbar(fig, image, right, label="‖∇D(x)‖", extend="max" if field.max() > 2 else "neither")
    right.set_title("‖∇ₓD‖: white where it is 1, the penalty's target")
    shown = slice(0, 300)
    for ax in (left, right):
        ax.plot(y[shown, 0], y[shown, 1], ".", ms=3, color="black", label="real")
        ax.plot(y[shown, 2], y[shown, 3], "x", ms=3, color="tab:orange", label="fake")
        ax.set_xlabel("x₁")
        ax.set_ylabel("x₂")
        ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    save(fig, "gradient_penalty", args)
    print(f"whole example: {time.perf_counter() - script_start:.2f} s")
    return {"penalty_before": before[0], "penalty": after[0], "wasserstein_before": before[1],
            "wasserstein": after[1], "losses": list(history), "norms": after[2], "formulas": forward_formulas(step)}


if __name__ == "__main__":
    main()
