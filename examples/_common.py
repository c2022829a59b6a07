"""What every example shares: --show/--out/--dpi flags, saving figures as PNG (non-interactive by default), curves
drawn faint with their running mean over them, and expressions in the printed notation."""

from __future__ import annotations

import argparse
import inspect
from pathlib import Path

import matplotlib
import numpy as np
import sympy as sp

from symnet.train.history import running_mean


def parser(description: str) -> argparse.ArgumentParser:
    """The examples' common options; usage reads ``symnet run NAME`` (the calling example's file name)."""
    caller = Path(inspect.stack()[1].filename).stem
    p = argparse.ArgumentParser(prog=f"symnet run {caller}", description=description)
    p.add_argument("--out", default="figures", help="folder for the PNG figures (default: figures/)")
    p.add_argument("--show", action="store_true", help="also open the figures in a window")
    p.add_argument("--dpi", type=int, default=110, help="resolution of the saved PNG figures (default: 110)")
    return p


def pyplot(show: bool):
    if not show:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save(fig, name: str, args) -> Path:
    """Write ``fig`` as NAME.png under ``--out``; the figure is closed unless ``--show`` keeps it on screen."""
    folder = Path(args.out)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    fig.savefig(path, dpi=args.dpi, bbox_inches="tight")
    print(f"saved {path}")
    if args.show:
        fig.show()
    else:
        import matplotlib.pyplot as plt

        plt.close(fig)
    return path


def smoothed(ax, x, values, window: int, label: str, color=None) -> None:
    """A noisy per-step curve drawn faint, with its running mean over ``window`` steps on top carrying the label."""
    values = np.asarray(values, dtype=np.float64)
    line = ax.plot(x, values, color=color, alpha=0.25, lw=0.7)[0]
    ax.plot(x, running_mean(values, window), color=line.get_color(), lw=1.6, label=label)


def notation(expr: sp.Expr) -> str:
    """An expression as symnet prints formulas: ``^`` for powers, ``·`` for products."""
    return sp.sstr(expr, full_prec=False).replace("**", "^").replace("*", "·")


def training_figure(plt, losses, epoch_losses, accuracies: dict[str, list[float]], title: str, loss_name: str):
    """A classifier's training: the per-step loss (faint), its running mean over an epoch and the epoch means on
    the left; the accuracies per epoch, on one shared scale, on the right."""
    from matplotlib.ticker import MaxNLocator

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    epochs = len(epoch_losses)
    per_epoch = max(1, len(losses) // epochs)
    at = np.arange(1, len(losses) + 1) / per_epoch
    smoothed(left, at, losses, per_epoch, f"running mean over {per_epoch} steps")
    left.plot(np.arange(1, epochs + 1), epoch_losses, "o", ms=4, color="black", label="epoch mean")
    left.set_yscale("log")
    left.set_title("training loss per step (faint)")
    left.set_xlabel("epoch")
    left.set_ylabel(loss_name)
    left.legend()
    for name, values in accuracies.items():
        right.plot(np.arange(1, epochs + 1), values, "o-", ms=4, label=name)
    right.set_title("accuracy after each epoch")
    right.set_xlabel("epoch")
    right.set_ylabel("accuracy")
    right.legend()
    for ax in (left, right):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def tanh_mlp(hidden: int = 32, seed: int = 0, dtype=None, inputs: int = 2):
    """inputs → hidden → hidden → 1 with tanh (a physics-informed network's usual shape), float64 by default,
    PyTorch's default initialisation under ``seed``."""
    import symnet as sn

    sn.manual_seed(seed)
    return sn.nn.Sequential(sn.nn.Linear(inputs, hidden), sn.nn.Tanh(), sn.nn.Linear(hidden, hidden), sn.nn.Tanh(),
                            sn.nn.Linear(hidden, 1)).to(dtype or sn.float64)
