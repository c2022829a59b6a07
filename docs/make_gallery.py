"""Regenerate docs/gallery/: every example's figures, from its default run, as small PNGs for the README.

Run by hand from the repository root: ``python docs/make_gallery.py`` (all examples, a few minutes) or
``python docs/make_gallery.py optimizers lenet`` (some). Figures are saved at a low resolution and reduced to a
palette of 128 colours so each stays under about 60 KB in the repository."""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from pathlib import Path

import matplotlib
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
GALLERY = ROOT / "docs" / "gallery"
LIMIT = 60_000
DPI = 75


def shrink(path: Path) -> int:
    """Rewrite a PNG with a 128-colour palette (curves and text survive it); returns the new size in bytes."""
    with Image.open(path) as image:
        small = image.convert("RGB").quantize(colors=128, method=Image.Quantize.MEDIANCUT)
    small.save(path, optimize=True)
    return path.stat().st_size


def main(argv=None) -> int:
    sys.path.insert(0, str(ROOT / "examples"))
    from symnet.cli import EXAMPLES

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("names", nargs="*", metavar="NAME", help=f"examples to redo (default: all of {', '.join(EXAMPLES)})")
    names = p.parse_args(argv).names or list(EXAMPLES)
    unknown = sorted(set(names) - set(EXAMPLES))
    if unknown:
        p.error(f"unknown example(s) {', '.join(unknown)}")
    matplotlib.use("Agg")
    too_big = []
    for name in names:
        began = time.time()
        importlib.import_module(name).main(["--out", str(GALLERY), "--dpi", str(DPI)])
        for path in sorted(p for p in GALLERY.glob("*.png") if p.stat().st_mtime >= began):
            size = shrink(path)
            print(f"{path.relative_to(ROOT)}: {size / 1000:.0f} KB")
            if size > LIMIT:
                too_big.append(path.name)
    if too_big:
        print(f"over {LIMIT // 1000} KB: {', '.join(too_big)}", file=sys.stderr)
    return 1 if too_big else 0


if __name__ == "__main__":
    sys.exit(main())
