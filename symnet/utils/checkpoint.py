"""``torch.utils.checkpoint``: PyTorch recomputes a checkpointed segment's forward during backward to keep less in
memory, with the same numbers. symnet keeps no activations per op in eager mode (a graph is values and formulas,
derived and compiled once per structure), so a checkpointed call is the call itself."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ..errors import ArgumentError


def checkpoint(function: Callable, *args, use_reentrant: bool | None = None, context_fn: Callable | None = None,
               determinism_check: str = "default", debug: bool = False, preserve_rng_state: bool = True, **kwargs):
    """``function(*args, **kwargs)``, its gradients PyTorch's (the options are accepted for its signature)."""
    return function(*args, **kwargs)


def checkpoint_sequential(functions: Sequence[Callable], segments: int, input, use_reentrant: bool | None = None,
                          **kwargs):
    """The functions (or a Sequential's modules) applied in turn, as ``torch.utils.checkpoint_sequential``."""
    if segments < 1:
        raise ArgumentError(f"checkpoint_sequential: segments must be at least 1, got {segments}")
    for f in functions.children() if hasattr(functions, "children") else functions:
        input = f(input)
    return input


__all__ = ["checkpoint", "checkpoint_sequential"]
