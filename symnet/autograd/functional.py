"""``symnet.autograd.functional``, as ``torch.autograd.functional``: Jacobians, Hessians and their products with
vectors, for a function of tensors.

Each is built from ``grad`` (with ``create_graph`` where a derivative is differentiated again), so every one of
them is derived symbolically and compiled once per structure: a Jacobian's rows are one vector-Jacobian
product each, all of one derived program run with different cotangents. ``vectorize`` and the strategies are
accepted for PyTorch's signatures and change nothing (the numbers are the same).

>>> import symnet as sn
>>> from symnet.autograd.functional import hessian
>>> hessian(lambda x: (x ** 3).sum(), sn.tensor([1.0, 2.0]))
tensor([[ 6.,  0.],
        [ 0., 12.]])
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ..errors import GradError
from ..frontend.autograd import assemble, detached, enable_grad, grad
from ..frontend.autograd import jvp as forward
from ..frontend.tensor import Tensor

Inputs = Tensor | Sequence[Tensor]


def _as_tuple(x, arg: str, fn: str) -> tuple[bool, tuple[Tensor, ...]]:
    """Whether ``x`` was a tuple (results are shaped alike), and its tensors."""
    is_tuple = isinstance(x, tuple | list)
    items = tuple(x) if is_tuple else (x,)
    for n, t in enumerate(items):
        if not isinstance(t, Tensor):
            what = f"The {arg} given to {fn} must be either a Tensor or a tuple of Tensors"
            raise TypeError(f"{what} but the value at index {n} has type {type(t).__name__}.")
    return is_tuple, items


def _untuple(is_tuple: bool, items: tuple):
    return items if is_tuple else items[0]


def _prepare(inputs: tuple[Tensor, ...], create_graph: bool) -> tuple[Tensor, ...]:
    """The inputs ``func`` is called on: the user's own tensors when the result must keep their graph, else
    detached copies that require grad."""
    return tuple(t if create_graph and t.requires_grad else t.detach().requires_grad_(True) for t in inputs)


def _finish(items: tuple[Tensor, ...], create_graph: bool) -> tuple[Tensor, ...]:
    return items if create_graph else tuple(detached(items))


def _vjp(outputs: Sequence[Tensor], inputs: Sequence[Tensor], v: Sequence[Tensor | None], create_graph: bool,
         strict: bool, what: str) -> tuple[Tensor, ...]:
    """Σ_k v_k·∂output_k/∂input for each input; zeros where none depends on it (an error when ``strict``)."""
    live = [k for k, o in enumerate(outputs) if o.requires_grad]
    grads = grad([outputs[k] for k in live], list(inputs), [v[k] for k in live], create_graph=create_graph,
                 allow_unused=True) if live else (None,) * len(inputs)
    result = []
    for n, (t, g) in enumerate(zip(inputs, grads, strict=True)):
        if g is None:
            if strict:
                raise GradError(f"The {what} of the user-provided function is independent of input {n}. "
                                "This is not allowed in strict mode.")
            g = Tensor(np.zeros(t.shape, t.dtype), t.shape, t.dtype)
        result.append(g)
    return tuple(result)


def _cotangents(v, outputs: tuple[Tensor, ...], fn: str) -> tuple[Tensor | None, ...]:
    if v is None:
        if len(outputs) != 1 or outputs[0].numel() != 1:
            raise GradError(f"The vector v can only be None if the user-provided function returns a single "
                            f"Tensor with a single element ({fn}).")
        return (None,)
    _, vs = _as_tuple(v, "v", fn)
    if len(vs) != len(outputs) or any(a.shape != b.shape for a, b in zip(vs, outputs, strict=True)):
        raise GradError(f"{fn}: v has shapes {[list(a.shape) for a in vs]}, it must match "
                        f"{[list(b.shape) for b in outputs]}")
    return vs


def _call(func: Callable, inputs: tuple[Tensor, ...], fn: str) -> tuple[bool, tuple[Tensor, ...]]:
    return _as_tuple(func(*inputs), "outputs of the user-provided function", fn)


@enable_grad()  # as PyTorch's: in grad mode whatever the caller's (under no_grad every product is 0)
def vjp(func: Callable, inputs: Inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(func(inputs), vᵀ·J)``: the vector-Jacobian product (``torch.autograd.functional.vjp``)."""
    in_tuple, inputs = _as_tuple(inputs, "inputs", "vjp")
    inputs = _prepare(inputs, create_graph)
    out_tuple, outputs = _call(func, inputs, "vjp")
    products = _vjp(outputs, inputs, _cotangents(v, outputs, "vjp"), create_graph, strict, "output")
    return _untuple(out_tuple, _finish(outputs, create_graph)), _untuple(in_tuple, _finish(products, create_graph))


@enable_grad()
def jvp(func: Callable, inputs: Inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(func(inputs), J·v)``: the Jacobian-vector product, derived in forward mode
    (``torch.autograd.functional.jvp``, which takes the derivative of a vector-Jacobian product: same numbers)."""
    in_tuple, inputs = _as_tuple(inputs, "inputs", "jvp")
    inputs = _prepare(inputs, create_graph)
    vs = _cotangents(v, inputs, "jvp") if v is not None or len(inputs) != 1 or inputs[0].numel() != 1 else (None,)
    vs = tuple(Tensor(np.ones(t.shape, t.dtype), t.shape, t.dtype) if s is None else s
               for s, t in zip(vs, inputs, strict=True))
    out_tuple, outputs = _call(func, inputs, "jvp")
    if strict and not all(o.requires_grad for o in outputs):
        raise GradError("Output of the user-provided function does not require gradients. The outputs must be "
                        "computed in a differentiable manner from the input when running in strict mode.")
    products = tuple(forward(outputs, inputs, vs, create_graph))
    return _untuple(out_tuple, _finish(outputs, create_graph)), _untuple(out_tuple, _finish(products, create_graph))


@enable_grad()
def jacobian(func: Callable, inputs: Inputs, create_graph: bool = False, strict: bool = False,
             vectorize: bool = False, strategy: str = "reverse-mode"):
    """∂output/∂input of shape ``output.shape + input.shape``, nested as the outputs and inputs are
    (``torch.autograd.functional.jacobian``): one vector-Jacobian product per output element."""
    if strategy not in ("reverse-mode", "forward-mode"):
        raise ValueError('Expected strategy to be either "forward-mode" or "reverse-mode".')
    in_tuple, inputs = _as_tuple(inputs, "inputs", "jacobian")
    inputs = _prepare(inputs, create_graph)
    out_tuple, outputs = _call(func, inputs, "jacobian")
    blocks = []
    for o in outputs:
        rows = []
        for j in range(o.numel()):
            unit = np.zeros(o.numel(), o.dtype)
            unit[j] = 1
            rows.append(_vjp([o], inputs, [Tensor(unit.reshape(o.shape), o.shape, o.dtype)], create_graph, strict,
                             "output"))
        blocks.append(tuple(assemble([r[n] for r in rows], 0, (*o.shape, *t.shape), t.dtype, create_graph)
                            for n, t in enumerate(inputs)))
    return _untuple(out_tuple, tuple(_untuple(in_tuple, b) for b in blocks))


def _one_element(func: Callable, fn: str) -> Callable:
    def scalar(*inputs):
        out_tuple, outputs = _call(func, inputs, fn)
        if out_tuple or outputs[0].numel() != 1:
            raise GradError(f"The function given to {fn} should return a single Tensor containing a single "
                            "element")
        return outputs[0]

    return scalar


@enable_grad()
def hessian(func: Callable, inputs: Inputs, create_graph: bool = False, strict: bool = False,
            vectorize: bool = False, outer_jacobian_strategy: str = "reverse-mode"):
    """∂²func/∂input_i∂input_j for a function with one element, blocks of shape ``input_i.shape +
    input_j.shape`` (``torch.autograd.functional.hessian``): the Jacobian of the gradient."""
    in_tuple, items = _as_tuple(inputs, "inputs", "hessian")
    scalar = _one_element(func, "hessian")

    def gradient(*inputs):
        return _vjp([scalar(*inputs)], inputs, [None], True, strict, "output")

    blocks = jacobian(gradient, items, create_graph, strict, vectorize, outer_jacobian_strategy)
    return blocks if in_tuple else blocks[0][0]


@enable_grad()
def vhp(func: Callable, inputs: Inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(func(inputs), vᵀ·H)`` for a function with one element (``torch.autograd.functional.vhp``)."""
    in_tuple, inputs = _as_tuple(inputs, "inputs", "vhp")
    inputs = _prepare(inputs, create_graph)
    output = _one_element(func, "vhp")(*inputs)
    vs = _cotangents(v, inputs, "vhp") if v is not None or len(inputs) != 1 or inputs[0].numel() != 1 else (None,)
    vs = tuple(Tensor(np.ones(t.shape, t.dtype), t.shape, t.dtype) if s is None else s
               for s, t in zip(vs, inputs, strict=True))
    first = _vjp([output], inputs, [None], True, strict, "output")
    products = _vjp(first, inputs, vs, create_graph, strict, "gradient")
    return _finish((output,), create_graph)[0], _untuple(in_tuple, _finish(products, create_graph))


@enable_grad()
def hvp(func: Callable, inputs: Inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(func(inputs), H·v)`` for a function with one element (``torch.autograd.functional.hvp``); the Hessian
    of a twice differentiable function is symmetric, so this is ``vhp``'s product."""
    return vhp(func, inputs, v, create_graph, strict)


__all__ = ["hessian", "hvp", "jacobian", "jvp", "vhp", "vjp"]
