"""What every example shares: --show/--out flags and saving figures as PNG (non-interactive by default)."""

from __future__ import annotations

import argparse
import inspect
from pathlib import Path

import matplotlib


def parser(description: str) -> argparse.ArgumentParser:
    """The examples' common options; usage reads ``symnet run NAME`` (the calling example's file name)."""
    caller = Path(inspect.stack()[1].filename).stem
    p = argparse.ArgumentParser(prog=f"symnet run {caller}", description=description)
    p.add_argument("--out", default="figures", help="folder for the PNG figures (default: figures/)")
    p.add_argument("--show", action="store_true", help="also open the figures in a window")
    return p


def pyplot(show: bool):
    if not show:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save(fig, name: str, args) -> Path:
    folder = Path(args.out)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    fig.savefig(path, dpi=110, bbox_inches="tight")
    print(f"saved {path}")
    if args.show:
        fig.show()
    return path
