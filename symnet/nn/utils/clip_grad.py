"""Gradient clipping, as ``torch.nn.utils.clip_grad``: eager, on the ``.grad`` of symnet tensors, in place, between
``backward()`` and ``optimizer.step()``.

The total norm is the p-norm of the per-gradient p-norms, as if every gradient were one vector (mixed float dtypes
promote, as ``torch.stack`` does); ``clip_coef = max_norm / (total + 1e-6)``, clamped at 1, multiplies every
gradient, so a NaN or infinite norm spreads NaN unless ``error_if_nonfinite`` refuses it. The compiled training
step states the same rule as definitions (symnet/train/clipping.py).

>>> loss.backward()                                                         # doctest: +SKIP
>>> sn.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)           # doctest: +SKIP
>>> optimizer.step()                                                        # doctest: +SKIP
"""

from __future__ import annotations

import math
import types
import warnings
from collections.abc import Iterable

from ...frontend.autograd import no_grad
from ...frontend.creation import tensor
from ...frontend.linalg import vector_norm
from ...frontend.shaping import stack
from ...frontend.tensor import Tensor

Tensors = Tensor | Iterable[Tensor]


def _as_list(tensors: Tensors) -> list[Tensor]:
    return [tensors] if isinstance(tensors, Tensor) else list(tensors)


def get_total_norm(tensors: Tensors, norm_type: float = 2.0, error_if_nonfinite: bool = False,
                   foreach: bool | None = None) -> Tensor:
    """The ``norm_type``-norm of ``tensors`` taken together, as a 0-d tensor (0.0 for none)."""
    tensors = _as_list(tensors)
    norm_type = float(norm_type)
    if not tensors:
        return tensor(0.0)
    if math.isinf(norm_type) and any(t.numel() == 0 for t in tensors):
        raise RuntimeError("_foreach_norm cannot compute the infinity norm on an empty tensor because the operation "
                           "does not have an identity" if norm_type > 0 else
                           "linalg.vector_norm cannot compute the -inf norm on an empty tensor because the operation "
                           "does not have an identity")
    with no_grad():
        total = vector_norm(stack([vector_norm(t, norm_type) for t in tensors]), norm_type)
    if error_if_nonfinite and not math.isfinite(total.item()):
        raise RuntimeError(f"The total norm of order {norm_type} for gradients from `parameters` is non-finite, so it "
                           "cannot be clipped. To disable this error and scale the gradients by the non-finite norm "
                           "anyway, set `error_if_nonfinite=False`")
    return total


def clip_grads_with_norm_(parameters: Tensors, max_norm: float, total_norm: Tensor,
                          foreach: bool | None = None) -> None:
    """Scale every ``.grad`` by ``min(max_norm / (total_norm + 1e-6), 1)`` (a total norm computed beforehand)."""
    grads = [p.grad for p in _as_list(parameters) if p.grad is not None]
    max_norm = float(max_norm)
    if not isinstance(total_norm, Tensor):
        raise TypeError(f"clip_grads_with_norm_(): total_norm must be a Tensor, not {type(total_norm).__name__}")
    if not grads:
        return
    with no_grad():
        coef = (max_norm / (total_norm + 1e-6)).clamp(max=1.0)
        for g in grads:
            g.mul_(coef)


def clip_grad_norm_(parameters: Tensors, max_norm: float, norm_type: float = 2.0, error_if_nonfinite: bool = False,
                    foreach: bool | None = None) -> Tensor:
    """Rescale the gradients so that their total ``norm_type``-norm is at most ``max_norm``; return the total norm
    before clipping (a 0-d tensor). ``foreach`` is accepted and changes nothing (one code path here)."""
    if not isinstance(parameters, Tensor):
        generator = isinstance(parameters, types.GeneratorType)
        parameters = list(parameters)
        if generator and not parameters:
            warnings.warn("`parameters` is an empty generator, no gradient clipping will occur.", stacklevel=2)
    parameters = _as_list(parameters)
    total = get_total_norm([p.grad for p in parameters if p.grad is not None], norm_type, error_if_nonfinite)
    clip_grads_with_norm_(parameters, max_norm, total)
    return total


def clip_grad_norm(parameters: Tensors, max_norm: float, norm_type: float = 2.0, error_if_nonfinite: bool = False,
                   foreach: bool | None = None) -> Tensor:
    """Deprecated in PyTorch in favour of ``clip_grad_norm_``: the same, with a FutureWarning."""
    warnings.warn("`torch.nn.utils.clip_grad_norm` is now deprecated in favor of `torch.nn.utils.clip_grad_norm_`.",
                  FutureWarning, stacklevel=2)
    return clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite, foreach)


def clip_grad_value_(parameters: Tensors, clip_value: float, foreach: bool | None = None) -> None:
    """Clamp every ``.grad`` into ``[-clip_value, clip_value]`` (NaN stays NaN)."""
    clip_value = float(clip_value)
    with no_grad():
        for p in _as_list(parameters):
            if p.grad is not None:
                p.grad.clamp_(min=-clip_value, max=clip_value)
