"""PyTorch's ``out=`` argument: a function's result written into a tensor the caller gives (``torch.matmul(a, b,
out=c)`` in PyTorch's tensor tutorial), with PyTorch's rules — the result cast only within its kind or up (no
float into an integer tensor), a tensor of another shape resized (with PyTorch's deprecation warning unless it
was empty), and no autograd through it."""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable

import numpy as np

from ..core.dtypes import category
from ..errors import DTypeError, GradError, NotSupportedError
from .autograd import grad_mode, no_grad
from .base import TensorBase


def with_out(fn: Callable, name: str | None = None) -> Callable:
    """``fn`` taking PyTorch's ``out=`` keyword too: its result (or results, for ``out=(values, indices)``)
    written into the given tensors, which are returned."""
    name = name or fn.__name__

    @functools.wraps(fn)
    def function(*args, out=None, **kwargs):
        if out is None:
            return fn(*args, **kwargs)
        _refuse_autograd(name, out, args, kwargs)
        result = fn(*args, **kwargs)
        if isinstance(result, tuple):
            if not isinstance(out, tuple | list) or len(out) != len(result):
                raise TypeError(f"{name}(): argument 'out' must be a tuple of {len(result)} Tensors")
            for target, value in zip(out, result, strict=True):
                written_into(target, value, name)
            return type(result)(*out) if hasattr(result, "_fields") else tuple(out)
        return written_into(out, result, name)

    return function


def _refuse_autograd(name: str, out, args: tuple, kwargs: dict) -> None:
    if not grad_mode.enabled:
        return
    given = [*args, *kwargs.values(), *(out if isinstance(out, tuple | list) else (out,))]
    if any(isinstance(t, TensorBase) and t._requires_grad for t in given):
        raise GradError(f"{name}(): functions with out=... arguments don't support automatic differentiation, but "
                        "one of the arguments requires grad.")


def written_into(out, result, name: str):
    """``result`` written into ``out`` as PyTorch's ``out=`` writes it; returns ``out``."""
    if not isinstance(out, TensorBase):
        raise TypeError(f"{name}(): argument 'out' must be Tensor, not {type(out).__name__}")
    if category(result.dtype) > category(out.dtype):
        raise DTypeError(f"{name}(): result type {result.dtype.name} can't be cast to the desired output type "
                         f"{out.dtype.name}")
    if out.shape == result.shape:
        with no_grad():
            return out.copy_(result)
    if out._view is not None or out.node is not None:
        raise NotSupportedError(f"{name}(): out= of shape {list(out.shape)} would be resized to "
                                f"{list(result.shape)}, and it is a view or a computed tensor: give a leaf tensor")
    if out.numel():
        warnings.warn(f"An output with one or more elements was resized since it had shape {list(out.shape)}, "
                      f"which does not match the required output shape {list(result.shape)}. This behavior is "
                      "deprecated, and in a future PyTorch release outputs will not be resized unless they have "
                      "zero elements. You can explicitly reuse an out tensor t by resizing it, inplace, to zero "
                      "elements with t.resize_(0).", UserWarning, stacklevel=3)
    out.set_(np.array(result._array(), dtype=out.dtype))
    out._version += 1
    return out
