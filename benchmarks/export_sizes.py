"""Export sizes: the digits MLP (64-256-10) forward pass exported for each target, with the time to export.

    python benchmarks/export_sizes.py

Prints, per target (this machine generic and native, aarch64, thumbv7em, riscv64, wasm32), the object file's size
with the weights in a separate file (the code alone: target ≤ 64 KB), the weights file, the object with the
weights embedded, and the seconds the export took (trace, LLVM O3 and emission); then the host's shared library.
Targets are printed as measured vs target with OK/MISS; nothing is asserted.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import symnet as sn
from symnet.export import export

TARGETS = [(None, "generic"), (None, "native"), ("aarch64-unknown-linux-gnu", "generic"),
           ("thumbv7em-none-eabi", "cortex-m4"), ("riscv64-unknown-linux-gnu", "generic"),
           ("wasm32-unknown-unknown", "generic")]
CODE_TARGET = 64 * 1024


def main() -> None:
    sn.manual_seed(0)
    model = sn.nn.Sequential(sn.nn.Linear(64, 256), sn.nn.ReLU(), sn.nn.Linear(256, 10)).eval()
    print(f"{'target':30s} {'cpu':10s} {'code':>9s} {'weights':>9s} {'embedded':>9s} {'export s':>9s}  code ≤ 64 KB")
    with tempfile.TemporaryDirectory() as folder:
        for triple, cpu in TARGETS:
            began = time.perf_counter()
            apart = export(model, Path(folder) / "apart", (64,), weights="file", target=triple, cpu=cpu)
            seconds = time.perf_counter() - began
            whole = export(model, Path(folder) / "whole", (64,), target=triple, cpu=cpu)
            code = apart.sizes["object"]
            print(f"{apart.target:30s} {apart.cpu[:10]:10s} {code:9,d} {apart.sizes['weights']:9,d} "
                  f"{whole.sizes['object']:9,d} {seconds:9.2f}  {code / 1024:.1f} KB "
                  f"{'OK' if code <= CODE_TARGET else 'MISS'}")
        shared = export(model, Path(folder) / "net", (64,), formats=("shared", "static"), weights="file")
        print(f"\nthis machine: shared library {shared.sizes['shared']:,d} B, static library "
              f"{shared.sizes['static']:,d} B (weights apart)")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
