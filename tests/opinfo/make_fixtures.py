"""Record PyTorch 2.13's numbers for the OpInfo table (by hand: ``pip install torch==2.13.0``, then
``python -m tests.opinfo.make_fixtures [AREA …]``; no area: all). Writes ``tests/fixtures/opinfo_<area>.npz``:
for each case and dtype, ``{case}/{dtype}/out/{k}`` (each output), ``…/grad/{i}`` (the gradient of
``Σ_k (out_k · G_k).sum()`` for each float operand whose gradient is checked) and ``…/error`` when PyTorch
refuses the call (its message; symnet must refuse it too)."""

from __future__ import annotations

import sys

import numpy as np
import torch

from tests.opinfo.spec import AREAS, FIXTURES, cases, key, operands, outputs, upstream

torch.use_deterministic_algorithms(True)


def record(case, dtype: str) -> dict[str, np.ndarray]:
    arrays = operands(case, dtype)
    tensors = [torch.tensor(a, requires_grad=case.grad and a.dtype.kind == "f" and spec.grad)
               for a, spec in zip(arrays, case.args, strict=True)]
    prefix = key(case, dtype)
    try:
        result = outputs(case.fn(torch, *tensors))
    except Exception as e:  # noqa: BLE001 - PyTorch's refusal is the fixture
        return {f"{prefix}/error": np.array(f"{type(e).__name__}: {e}")}
    out = {f"{prefix}/out/{k}": r.detach().numpy() for k, r in enumerate(result)}
    total = sum((r * torch.from_numpy(upstream(case, dtype, tuple(r.shape), k))).sum()
                for k, r in enumerate(result) if r.requires_grad)
    if case.grad and isinstance(total, torch.Tensor):
        total.backward()
        for i, t in enumerate(tensors):
            if t.requires_grad:
                out[f"{prefix}/grad/{i}"] = (t.grad if t.grad is not None else torch.zeros_like(t)).numpy()
    return out


def main(areas: list[str]) -> None:
    for area in areas:
        data = {}
        for case in cases(area):
            for dtype in case.dtypes:
                data.update(record(case, dtype))
        np.savez_compressed(FIXTURES / f"opinfo_{area}.npz", **data)
        print(f"opinfo_{area}.npz: {len(cases(area))} cases, {len(data)} arrays")


if __name__ == "__main__":
    main(sys.argv[1:] or AREAS)
