"""Compiled steps found again on disk by the structure traced: a new process skips lowering, derivation,
simplification and LLVM (and so SymPy) when it trains a model it trained before.

A step's key is the durable text (``core.durable``) of what its program depends on: the traced structure
(ops, shapes, dtypes, names), which leaf is a parameter, the batch, a buffer, a random key or a constant, the
optimizer's rule and hyperparameters, clipping, the modules' modes, and the source of symnet and of codegen.
Its entry (``symnet.stored``) holds the key of the compiled object and where each array goes among the step's
inputs, by positions in the trace. Read back, every field is checked (types, ranges, roles); anything else is a
miss, and the step is derived as if nothing were cached.
"""

from __future__ import annotations

from .. import stored


def key(structure_digest: str) -> str:
    return stored.key("compiled step", structure_digest)


def load(step_key: str, limits: dict[str, int]) -> tuple[str, dict] | None:
    """The object key and layout stored under ``step_key``, checked against ``limits`` (the counts of leaves,
    parameters, groups and buffers of the step traced now), or None."""
    found = stored.load("step", step_key)
    if found is None:
        return None
    try:
        return found if _valid(found[1], limits) else None
    except (TypeError, ValueError, KeyError):
        return None


def _index(value, limit: int) -> bool:
    return type(value) is int and 0 <= value < limit


def _valid(layout, limits: dict[str, int]) -> bool:
    """Every position an input of the step, every index a leaf, parameter, group or buffer of the trace; no input
    bound twice."""
    if not isinstance(layout, dict) or not _index(layout.get("inputs"), 1 << 20):
        return False
    n = layout["inputs"]
    taken = [layout["t"], layout["x"], layout["y"]]
    for k, at, states, written in layout["params"]:
        if not (_index(k, limits["params"]) and isinstance(states, dict) and isinstance(written, list)):
            return False
        if not all(type(s) is str for s in [*states, *written]):
            return False
        taken += [at, *states.values()]
    for group, at in layout["lrs"]:
        if not _index(group, limits["groups"]):
            return False
        taken.append(at)
    for leaf_lists in ("bound", "keys"):
        for at, leaf in layout[leaf_lists]:
            if not _index(leaf, limits["leaves"]):
                return False
            taken.append(at)
    for b, at in layout["buffers"]:
        if not _index(b, limits["buffers"]):
            return False
        taken.append(at)
    if not all(_index(b, limits["buffers"]) for b in layout["written"]):
        return False
    return all(_index(at, n) for at in taken) and len(set(taken)) == len(taken)
