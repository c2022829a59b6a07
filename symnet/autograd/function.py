"""``symnet.autograd.Function``, as ``torch.autograd.Function``: an operation with a forward and a backward of
the user's own (a straight-through estimator, a clipped or reversed gradient, a formula symnet should not
derive). The backward runs between symnet's derived programs (``frontend.custom_functions``)."""

from __future__ import annotations

import functools
from collections.abc import Callable

from ..frontend import autograd as _autograd
from ..frontend import custom_functions as _custom
from ..frontend.custom_functions import FunctionCtx


class Function:
    """Subclass with static ``forward(ctx, *args)`` and ``backward(ctx, *grad_outputs)`` (or ``forward(*args)``
    and ``setup_context(ctx, inputs, output)``), and call ``MyFunction.apply(*args)``.

    >>> class Cube(sn.autograd.Function):                                                    # doctest: +SKIP
    ...     @staticmethod
    ...     def forward(ctx, x):
    ...         ctx.save_for_backward(x)
    ...         return x ** 3
    ...     @staticmethod
    ...     def backward(ctx, grad):
    ...         (x,) = ctx.saved_tensors
    ...         return grad * 3 * x ** 2
    """

    def __call__(self, *args, **kwargs):
        raise RuntimeError("Legacy autograd function with non-static forward method is deprecated. Please use "
                           "new-style autograd function with static forward method. (Example: "
                           "https://pytorch.org/docs/stable/autograd.html#torch.autograd.Function)")

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("You must implement the forward function for custom autograd.Function.")

    @staticmethod
    def setup_context(ctx, inputs, output):
        raise NotImplementedError("setup_context is not implemented.")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError("You must implement either the backward or vjp method for your custom "
                                  "autograd.Function to use it with backward mode AD.")

    vjp = backward

    @staticmethod
    def jvp(ctx, *grad_inputs):
        raise NotImplementedError("You must implement the jvp function for custom autograd.Function to use it "
                                  "with forward mode AD.")

    @classmethod
    def apply(cls, *args, **kwargs):
        own_setup = cls.setup_context is not Function.setup_context
        return _custom.apply(cls, args, kwargs, cls.forward, cls.setup_context if own_setup else None)


class _DifferentiatedTwice(Function):
    """What a ``once_differentiable`` backward returns under ``create_graph``: its values, whose own backward is
    PyTorch's error."""

    @staticmethod
    def forward(ctx, *grads):
        return tuple(g.clone() for g in grads) if len(grads) > 1 else grads[0].clone()

    @staticmethod
    def backward(ctx, *grads):
        raise RuntimeError("trying to differentiate twice a function that was marked with @once_differentiable")


def once_differentiable(backward: Callable) -> Callable:
    """A backward run without a graph (``torch.autograd.function.once_differentiable``): differentiating its
    result again is an error."""

    @functools.wraps(backward)
    def wrapper(ctx, *grad_outputs):
        graph = _autograd.is_grad_enabled()
        with _autograd.no_grad():
            result = backward(ctx, *grad_outputs)
        if not graph or not any(getattr(g, "requires_grad", False) for g in grad_outputs):
            return result
        single = not isinstance(result, tuple)
        grads = (result,) if single else result
        present = [k for k, g in enumerate(grads) if g is not None]
        if not present:
            return result
        leaves = [grads[k].detach().requires_grad_(True) for k in present]
        marked = _DifferentiatedTwice.apply(*leaves)
        marked = marked if isinstance(marked, tuple) else (marked,)
        out = list(grads)
        for k, m in zip(present, marked, strict=True):
            out[k] = m
        return out[0] if single else tuple(out)

    return wrapper


__all__ = ["Function", "FunctionCtx", "once_differentiable"]
