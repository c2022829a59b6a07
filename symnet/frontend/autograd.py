"""Eager autograd on top of the pipeline: grad mode (``no_grad``), and ``backward``'s bound plans.

``backward()`` traces the graph, asks the pipeline for its gradient program (derived once per structure) and
runs it; the program, the leaf arrays and the leaves to accumulate into are kept as a *plan* under the
graph's structural key, so a Python loop that rebuilds the same graph every step skips even the trace.
Grad mode is per thread, as in PyTorch.
"""

from __future__ import annotations

import contextlib
import threading
from typing import TYPE_CHECKING

import numpy as np

from ..core.cache import BoundedCache
from ..errors import GradError, ShapeError
from ..pipeline import gradient_program
from .trace import KEYS, trace

if TYPE_CHECKING:
    from .tensor import Tensor

_mode = threading.local()


def is_grad_enabled() -> bool:
    return getattr(_mode, "enabled", True)


class no_grad(contextlib.ContextDecorator):
    """Within it, ops compute values at once and record nothing (for hand-written parameter updates)."""

    def __enter__(self):
        self._prev = is_grad_enabled()
        _mode.enabled = False

    def __exit__(self, *exc):
        _mode.enabled = self._prev


_PLANS = BoundedCache("backward plans", limit=64)


def gradients(output: Tensor, gradient: np.ndarray | None = None) -> tuple[np.ndarray, list[Tensor], list]:
    """d(output)/d(leaf) for every leaf that requires grad: the output's value, the leaves and the gradients.

    ``gradient`` is the cotangent for outputs of more than one element."""
    if not output.requires_grad:
        raise GradError("backward(): this tensor does not require grad and has no grad_fn "
                        "(no input of its graph was created with requires_grad=True)")
    if gradient is None and output.numel() != 1:
        raise GradError(f"backward(): grad can be implicitly created only for one-element outputs; "
                        f"this one has shape {output.shape}: pass gradient=")
    if output.node is None:  # a leaf's derivative with respect to itself: the seed
        seed = np.ones(output.shape, output.dtype) if gradient is None else np.asarray(gradient, output.dtype)
        if seed.shape != output.shape:
            raise ShapeError(f"backward(): gradient has shape {seed.shape}, the output {output.shape}")
        return output.numpy(), [output], [seed]
    key = output.node.key if gradient is None else None
    plan = _PLANS.get(key) if key is not None else None
    if plan is None:
        traced = trace([output])
        wrt = tuple(p for p, t in enumerate(traced.tensors) if t.node is None and t.requires_grad)
        values = traced.leaf_values()
        program = gradient_program(traced.specs, len(traced.specs) - 1, wrt, seeded=gradient is not None)
        plan = (program, values, [traced.tensors[p] for p in wrt])
        if key is not None and sum(v.nbytes for v in values) <= KEYS.largest:
            _PLANS[key] = plan  # only graphs of small leaves have keys that can repeat
    program, values, leaves = plan
    extra = None
    if gradient is not None:
        seed = np.asarray(gradient, dtype=output.dtype)
        if seed.shape != output.shape:
            raise ShapeError(f"backward(): gradient has shape {seed.shape}, the output {output.shape}")
        extra = {"seed": seed}
    value, *grads = program.run_list(values, extra)
    return value, leaves, grads
