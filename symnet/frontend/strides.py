"""PyTorch's strided layout of a tensor — strides and storage offset, in elements — derived from the views that made
it. symnet's values are contiguous arrays, but what PyTorch's ``stride()``, ``is_contiguous()`` and
``storage_offset()`` say, whether its ``reshape`` is a view or a copy and whether ``view()`` is allowed all follow
from the layout a PyTorch tensor made the same way would have.

A tensor that is not a view owns a contiguous storage. A view's layout is its base's read through the view's key
(``core.indexing``'s items): a fixed index moves the offset and drops the dim, a range scales the stride, an
inserted axis takes PyTorch's ``unsqueeze`` stride, a moved axis (``permute``, ``diagonal``) carries its stride to
its new place, and a reshape takes the strides ``reshape_strides`` finds (PyTorch's ``computeStride``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .tensor import Tensor

Layout = tuple[tuple[int, ...], int]


def contiguous_strides(shape: Sequence[int]) -> tuple[int, ...]:
    """Row-major strides, an empty dim counted as 1 (as PyTorch's)."""
    strides, step = [], 1
    for n in reversed(shape):
        strides.append(step)
        step *= max(n, 1)
    return tuple(reversed(strides))


def is_contiguous(shape: Sequence[int], strides: Sequence[int]) -> bool:
    """PyTorch's test: row-major over the dims of size other than 1 (an empty tensor is contiguous)."""
    if 0 in shape:
        return True
    expected = 1
    for n, s in zip(reversed(shape), reversed(strides), strict=True):
        if n != 1:
            if s != expected:
                return False
            expected *= n
    return True


def reshape_strides(old: Sequence[int], strides: Sequence[int], new: Sequence[int]) -> tuple[int, ...] | None:
    """The strides of ``new`` over the storage of a tensor of shape ``old`` and ``strides``, where the reshape can
    be a view (None: it needs a copy): the old dims are cut into chunks each contiguous in itself, and each chunk
    must be covered by whole new dims."""
    if not old:
        return (1,) * len(new)
    if 0 in old:
        return tuple(strides) if tuple(old) == tuple(new) else contiguous_strides(new)
    result = [0] * len(new)
    view_d, base = len(new) - 1, strides[-1]
    chunk = view = 1
    for d in range(len(old) - 1, -1, -1):
        chunk *= old[d]
        if d == 0 or (old[d - 1] != 1 and strides[d - 1] != chunk * base):  # the chunk ends at dim d
            while view_d >= 0 and (view < chunk or new[view_d] == 1):
                result[view_d] = view * base
                view *= new[view_d]
                view_d -= 1
            if view != chunk:
                return None
            if d > 0:
                base, chunk, view = strides[d - 1], 1, 1
    return tuple(result) if view_d == -1 else None


def _keyed(items: tuple, shape: Sequence[int], strides: Sequence[int], offset: int) -> Layout:
    """The layout of ``src[key]`` (basic items or moved axes) over a source of ``shape``, ``strides``, ``offset``."""
    if any(item[0] == "axis" for item in items):
        out = [0] * (1 + max(item[1] for item in items))
        for item, s in zip(items, strides, strict=True):
            _, q, start, step, _ = item
            out[q] += step * s
            offset += start * s
        return tuple(out), offset
    sizes, out, at = list(shape), list(strides), 0
    for item in items:
        kind = item[0]
        if kind == "index":
            offset += item[1] * out[at]
            del sizes[at], out[at]
        elif kind == "range":
            _, start, step, length = item
            offset += start * out[at]
            sizes[at], out[at] = length, out[at] * step
            at += 1
        elif kind == "new":  # PyTorch's unsqueeze stride: the next dim's extent, 1 at the end
            out.insert(at, sizes[at] * out[at] if at < len(sizes) else 1)
            sizes.insert(at, 1)
            at += 1
        else:
            at += 1
    return tuple(out), offset


def layout(t: Tensor) -> Layout | None:
    """``t``'s strides and storage offset as PyTorch's; None where they cannot be told (a symbolic size, a base
    reshaped in place since the view was made)."""
    if not all(type(n) is int for n in t.shape):
        return None
    if t._base is None or t._view is None:
        return contiguous_strides(t.shape), 0
    base = t._base
    if len(base._layouts) != t._made_at:
        return None
    outer = layout(base)
    if outer is None:
        return None
    items = t._view[0][0]
    if items and items[0][0] == "reshape":
        strides = reshape_strides(base.shape, outer[0], t.shape)
        return None if strides is None else (strides, outer[1])
    return _keyed(items, base.shape, *outer)


def viewable_as(t: Tensor, shape: Sequence[int]) -> bool:
    """Whether PyTorch's ``t.view(shape)`` is a view (else ``reshape`` copies, ``view`` refuses)."""
    if t._base is None or t._view is None:  # its own contiguous storage: any shape of its size
        return True
    known = layout(t)
    if known is None or not all(type(n) is int for n in shape):
        return True
    return reshape_strides(t.shape, known[0], shape) is not None
