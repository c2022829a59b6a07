"""Max unpooling, the partial inverse of max pooling: ``MaxUnpool1d/2d/3d`` and ``max_unpool1d/2d/3d`` with
PyTorch's names, arguments, defaults, output sizes and refusals.

Each input value goes to the flat position its index names in the output plane, zeros elsewhere:
``out[b, c, indices[b, c, i]] = x[b, c, i]``. Two inputs naming one position (indices from overlapping windows)
leave one of them there (PyTorch leaves either, run to run), while each receives the gradient read there
(PyTorch's backward is the gather ``∂x[b, c, i] = ∂out[b, c, indices[b, c, i]]``). Both are composed of scatters:
``out = scatter_add(x) + stop_gradient(scatter(x) − scatter_add(x))`` — the values of ``scatter``, the
adjoint of ``scatter_add`` (a gather), equal wherever the indices are distinct.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from ..core.dtypes import int64
from ..errors import DTypeError, IndexRangeError, ShapeError
from ..frontend.tensor import Tensor
from .module import Module
from .sliding import ntuple, pad


def _output_size(n: int, input: Tensor, kernel: tuple, stride: tuple, padding: tuple,
                 output_size: Sequence[int] | None) -> tuple[int, ...]:
    """``(L − 1)·s + k − 2p`` per spatial dim, or ``output_size`` (its last n entries if it has n + 2) when it lies
    strictly within ``stride`` of that, as PyTorch's ``_unpool_output_size``."""
    default = [(size - 1) * s + k - 2 * p for size, k, s, p in zip(input.shape[-n:], kernel, stride, padding,
                                                                     strict=True)]
    if output_size is None:
        size = default
    else:
        size = list(output_size)[2:] if len(output_size) == n + 2 else list(output_size)
        if len(size) != n:
            raise ValueError(f"output_size should be a sequence containing {n} or {n + 2} elements, but it has a "
                             f"length of '{len(output_size)}'")
        for d, (want, base, s) in enumerate(zip(size, default, stride, strict=True)):
            if not base - s < want < base + s:
                raise ValueError(f'invalid output_size "{tuple(size)}" (dim {d} must be between {base - s} and '
                                 f'{base + s})')
    if any(s < 0 for s in size):
        raise ValueError(f"max_unpooling: output_size must contain non-negative spatial dimensions, but got "
                         f"output_size={tuple(size)}")
    return tuple(size)


def max_unpooling(n: int, input: Tensor, indices: Tensor, kernel_size, stride=None, padding=0,
                  output_size: Sequence[int] | None = None) -> Tensor:
    """``max_unpool{n}d``: (N, C, *L) or (C, *L) values and their flat indices into each (N, C) output plane."""
    op = f"max_unpool{n}d"
    kernel = ntuple(kernel_size, n, f"{op} kernel_size")
    stride = kernel if stride is None else ntuple(stride, n, f"{op} stride")
    padding = ntuple(padding, n, f"{op} padding")
    if input.dim() not in (n + 1, n + 2):
        raise ShapeError(f"{op}: input should be a {n + 1}d or {n + 2}d tensor, but got a tensor of shape "
                         f"{input.shape}")
    if indices.dtype != int64:
        raise DTypeError(f"elements in indices should be type int64 but got: {indices.dtype}")
    if indices.shape != input.shape:
        raise ShapeError(f"Expected shape of indices to be same as that of the input tensor ({input.shape}) but got "
                         f"indices tensor with shape: {indices.shape}")
    size = _output_size(n, input, kernel, stride, padding, output_size)
    plane = math.prod(size)
    if indices.node is None and indices.numel():  # known now: PyTorch's check; others are checked at run time
        values = indices._array()
        bad = values[(values < 0) | (values >= plane)]
        if bad.size:
            raise IndexRangeError(f"Found an invalid max index: {bad.flat[0]} (output volumes are of size "
                                  f"{'x'.join(map(str, size if n > 1 else (*size, 1)))}")
    lead = (-1, input.shape[-n - 1]) if input.dim() == n + 2 else (input.shape[0],)  # -1: a symbolic batch dim
    length = math.prod(input.shape[-n:])
    flat, where = input.reshape(*lead, length), indices.reshape(*lead, length)
    empty = pad(flat, (0, plane))[..., length:]  # zeros shaped from the input: a symbolic batch dim stays one
    summed = empty.scatter_add(-1, where, flat)
    out = summed + (empty.scatter(-1, where, flat) - summed).detach()
    return out.reshape(*lead, *size)


def max_unpool1d(input: Tensor, indices: Tensor, kernel_size, stride=None, padding=0,
                 output_size: Sequence[int] | None = None) -> Tensor:
    return max_unpooling(1, input, indices, kernel_size, stride, padding, output_size)


def max_unpool2d(input: Tensor, indices: Tensor, kernel_size, stride=None, padding=0,
                 output_size: Sequence[int] | None = None) -> Tensor:
    """Each value of ``input`` placed where ``max_pool2d(return_indices=True)`` found it, zeros elsewhere.

    >>> x = sn.tensor([[[[1., 2.], [3., 4.]]]])  # doctest: +SKIP
    >>> out, idx = F.max_pool2d(x, 2, return_indices=True)  # doctest: +SKIP
    >>> F.max_unpool2d(out, idx, 2).numpy()  # doctest: +SKIP
    array([[[[0., 0.], [0., 4.]]]], dtype=float32)
    """
    return max_unpooling(2, input, indices, kernel_size, stride, padding, output_size)


def max_unpool3d(input: Tensor, indices: Tensor, kernel_size, stride=None, padding=0,
                 output_size: Sequence[int] | None = None) -> Tensor:
    return max_unpooling(3, input, indices, kernel_size, stride, padding, output_size)


class _MaxUnpoolNd(Module):
    """Shared by MaxUnpool1d/2d/3d: ``forward(input, indices, output_size=None)``."""

    n = 0

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        kind = type(self).__name__
        self.kernel_size = ntuple(kernel_size, self.n, f"{kind} kernel_size")
        self.stride = self.kernel_size if stride is None else ntuple(stride, self.n, f"{kind} stride")
        self.padding = ntuple(padding, self.n, f"{kind} padding")

    def forward(self, input: Tensor, indices: Tensor, output_size: Sequence[int] | None = None) -> Tensor:
        return max_unpooling(self.n, input, indices, self.kernel_size, self.stride, self.padding, output_size)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxUnpool1d(_MaxUnpoolNd):
    n = 1


class MaxUnpool2d(_MaxUnpoolNd):
    n = 2


class MaxUnpool3d(_MaxUnpoolNd):
    n = 3
