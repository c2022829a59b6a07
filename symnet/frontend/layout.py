"""In-place shape changes (``squeeze_``, ``t_``, ``resize_``, …) as layout changes a tensor records.

PyTorch's in-place shape methods change a tensor's sizes and strides over the same storage. symnet's tensors are
values, so a change is kept as data: a ``Relayout`` lists the steps from the old layout to the new one
(``forward``) and back (``inverse``), each step one of

    ("permute", perm)   new[i] = old[i∘perm]                       (t_, transpose_)
    ("reshape", shape)  the same elements in C order, new shape    (squeeze_, unsqueeze_, resize_ of equal size)
    ("prefix", n)       the first n elements in C order, 1-d       (resize_ to fewer elements)
    ("pad", n)          the elements then zeros up to n, 1-d       (resize_ to more elements)

A view made before its base changed shape reads the base through the inverse steps (``old = inverse(new)``: the
storage it reads is the same, as in PyTorch); ``inverse`` is None where the base no longer holds what such a
view reads (a ``resize_`` to fewer elements). ``resize_`` lays a tensor out in storage order: the permutations
made in place since its last ``resize_`` are undone first (``storage_steps``), as PyTorch's reads its storage.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .shaping import cat

if TYPE_CHECKING:
    from .tensor import Tensor

Step = tuple


@dataclass(frozen=True)
class Relayout:
    """One in-place shape change: steps to the new layout and back (None: not invertible); ``resets`` for a
    ``resize_``, after which the tensor is laid out in storage order again."""

    forward: tuple[Step, ...]
    inverse: tuple[Step, ...] | None
    resets: bool = False


def permutation(perm: tuple[int, ...]) -> Relayout:
    """``t_``/``transpose_``: a permutation undone by its inverse permutation."""
    back = tuple(int(i) for i in np.argsort(perm))
    return Relayout((("permute", tuple(perm)),), (("permute", back),))


def reshaping(old: tuple, new: tuple) -> Relayout:
    """``squeeze_``/``unsqueeze_``: the same elements in another shape."""
    return Relayout((("reshape", tuple(new)),), (("reshape", tuple(old)),))


def storage_steps(changes: tuple[Relayout, ...]) -> tuple[Step, ...]:
    """The steps from a tensor's layout to its storage order: the inverses of its changes since the last
    ``resize_`` (all invertible: permutations and reshapes), latest first."""
    steps: list[Step] = []
    for change in reversed(changes):
        if change.resets:
            break
        steps.extend(change.inverse)
    return tuple(steps)


def resizing(shape: tuple, storage: tuple, pending: tuple[Step, ...], size: tuple) -> Relayout:
    """``resize_`` from ``shape`` (whose storage layout ``storage`` the ``pending`` steps reach) to ``size``: the
    storage's first elements in C order, zeros after them. A view of the old layout still reads the storage
    when none was dropped: ``old = redo(storage.reshape(-1)[:n_old].reshape(storage))``."""
    n_old, n_new = int(np.prod(storage, dtype=np.int64)), int(np.prod(size, dtype=np.int64))
    flat = (("reshape", (-1,)),)
    sized = () if n_new == n_old else (("prefix", n_new),) if n_new < n_old else (("pad", n_new),)
    forward = (*pending, *flat, *sized, ("reshape", tuple(size)))
    inverse = None
    if n_new >= n_old:
        redo = tuple(_redo(pending, shape))
        inverse = (*flat, *((("prefix", n_old),) if n_new > n_old else ()), ("reshape", tuple(storage)), *redo)
    return Relayout(forward, inverse, resets=True)


def _redo(pending: tuple[Step, ...], shape: tuple):
    """The steps from the storage layout back to ``shape`` (each pending step's inverse, in reverse order)."""
    shapes = [tuple(shape)]
    for kind, arg in pending:  # the shape before each pending step
        shapes.append(tuple(shapes[-1][i] for i in arg) if kind == "permute" else tuple(arg))
    for (kind, arg), before in zip(reversed(pending), reversed(shapes[:-1]), strict=True):
        yield ("permute", tuple(int(i) for i in np.argsort(arg))) if kind == "permute" else ("reshape", before)


def apply(value: np.ndarray | Tensor, steps: tuple[Step, ...]) -> np.ndarray | Tensor:
    """The steps applied to an array (views of it where numpy can make them) or a tensor (a chain of views of it
    by its view methods); "pad" joins zeros."""
    array = isinstance(value, np.ndarray)
    for kind, arg in steps:
        if kind == "permute":
            value = value.transpose(arg) if array else value.permute(arg)
        elif kind == "reshape":
            value = value.reshape(arg)
        elif kind == "prefix":
            value = value[:arg]
        elif array:
            value = np.concatenate([value, np.zeros(arg - value.size, dtype=value.dtype)])
        else:
            value = cat([value, value.new_zeros((arg - value.numel(),))])
    return value
