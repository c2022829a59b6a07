"""Resizing as in ``torch.nn.functional.interpolate`` and the ``Upsample`` modules.

Nearest, (bi/tri)linear and bicubic interpolation are separable: along each spatial dim the output is
``out[…, o] = Σ_i x[…, i]·M[o, i]`` with a fixed matrix M of at most two (bicubic: four) non-zeros per row,
computed when the call is traced with PyTorch's source-index rules (in the input's dtype, so the weights are
PyTorch's to the bit). A contraction with a constant keeps the formula readable, its gradient is derived
(``dx = dout·M``), and it serves any batch size.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ..core.dtypes import is_float
from ..errors import DTypeError, ShapeError
from ..frontend.creation import tensor
from ..frontend.tensor import Tensor
from . import sliding
from .module import Module

#: the interpolating modes and the number of spatial dims each one takes
INTERPOLATING = {"linear": 1, "bilinear": 2, "bicubic": 2, "trilinear": 3}
MODES = ("nearest", "nearest-exact", "area", *INTERPOLATING)
CUBIC_A = -0.75  # PyTorch's cubic convolution coefficient


def _output_size(input: Tensor, size, scale_factor, recompute_scale_factor) -> tuple[list[int], list]:
    """Each spatial dim's output size, and the scale PyTorch's kernels are given for it (None: in/out)."""
    n = input.dim() - 2
    if (size is None) == (scale_factor is None):
        raise ValueError("interpolate: either size or scale_factor should be defined, and only one of them")
    if size is not None:
        sizes = [size] * n if isinstance(size, int) else list(size)
        if len(sizes) != n:
            raise ValueError(f"Input and output must have the same number of spatial dimensions, but got input with "
                             f"spatial dimensions of {list(input.shape[2:])} and output size of {size}.")
        return sizes, [None] * n
    scales = [float(scale_factor)] * n if not isinstance(scale_factor, Sequence) else [float(s) for s in scale_factor]
    if len(scales) != n:
        raise ValueError(f"Input and scale_factor must have the same number of spatial dimensions, but got input "
                         f"with spatial dimensions of {list(input.shape[2:])} and scale_factor of {scale_factor}.")
    sizes = [math.floor(float(d) * s) for d, s in zip(input.shape[2:], scales, strict=True)]
    return sizes, [None] * n if recompute_scale_factor else scales


def _matrix(mode: str, n_in: int, n_out: int, scale: float | None, align_corners: bool, dtype) -> np.ndarray:
    """M (n_out, n_in): row o holds the weights of the source elements of output o, by PyTorch's rules."""
    matrix = np.zeros((n_out, n_in), dtype=dtype)
    out = np.arange(n_out)
    if mode in ("nearest", "nearest-exact"):
        step = np.float32(1.0 / scale if scale else n_in / n_out)  # PyTorch computes these in float
        if mode == "nearest-exact":
            source = np.floor(np.float32((out + 0.5) * step))
        else:
            source = out if n_out == n_in else out // 2 if n_out == 2 * n_in else np.floor(out * step)
        matrix[out, np.minimum(source.astype(np.int64), n_in - 1)] = 1
        return matrix
    dt = np.dtype(dtype).type
    if align_corners:
        step = dt(n_in - 1) / dt(n_out - 1) if n_out > 1 else dt(0)
        source = step * out.astype(dtype)
    else:
        step = dt(1.0 / scale) if scale else dt(n_in) / dt(n_out)
        source = step * (out.astype(dtype) + dt(0.5)) - dt(0.5)
        if mode != "bicubic":  # PyTorch clamps a linear source index at 0, not a cubic one
            source = np.maximum(source, dt(0))
    first = np.minimum(np.floor(source).astype(np.int64), n_in - 1)
    weight = np.clip(source - first.astype(dtype), 0, 1).astype(dtype)
    if mode == "bicubic":  # four taps about the source, the outer ones clamped to the edge
        for tap, w in enumerate(_cubic_weights(weight, dt)):
            np.add.at(matrix, (out, np.clip(first + tap - 1, 0, n_in - 1)), w)
        return matrix
    np.add.at(matrix, (out, first), 1 - weight)
    np.add.at(matrix, (out, first + (first < n_in - 1)), weight)
    return matrix


def _cubic_weights(t: np.ndarray, dt: type) -> list[np.ndarray]:
    """The weights of the four taps at offsets −1, 0, 1, 2 from the source's floor, at fraction ``t``: Keys' cubic
    convolution with a = −0.75, in PyTorch's order of operations."""
    a = dt(CUBIC_A)

    def near(x):  # |x| ≤ 1
        return ((a + dt(2)) * x - (a + dt(3))) * x * x + dt(1)

    def far(x):  # 1 < |x| < 2
        return ((a * x - dt(5) * a) * x + dt(8) * a) * x - dt(4) * a

    return [far(t + dt(1)), near(t), near(dt(1) - t), far(dt(2) - t)]


def interpolate(input: Tensor, size: int | Sequence[int] | None = None,
                scale_factor: float | Sequence[float] | None = None, mode: str = "nearest",
                align_corners: bool | None = None, recompute_scale_factor: bool | None = None,
                antialias: bool = False) -> Tensor:
    """Resize the spatial dims of (N, C, *spatial) to ``size`` or by ``scale_factor``. Modes: nearest,
    nearest-exact, area, and linear/bilinear(bicubic)/trilinear for 1/2/3 spatial dims (``align_corners``: the
    corner pixels' centres are aligned instead of their edges)."""
    n = input.dim() - 2
    if not 1 <= n <= 3:
        raise ShapeError(f"interpolate: only 3D, 4D and 5D input tensors are supported (got {input.dim()}D) "
                         f"for the modes: {' | '.join(MODES)}")
    if mode not in MODES:
        raise NotImplementedError(f"interpolate: mode {mode!r} is not supported; use one of {', '.join(MODES)}")
    if mode in INTERPOLATING and INTERPOLATING[mode] != n:
        raise NotImplementedError(f"Got {input.dim()}D input, but {mode} mode needs {INTERPOLATING[mode] + 2}D "
                                  "input")
    if mode not in INTERPOLATING and align_corners is not None:
        raise ValueError("align_corners option can only be set with the interpolating modes: "
                         "linear | bilinear | bicubic | trilinear")
    if antialias:
        raise NotImplementedError("interpolate: antialias=True is not supported yet")
    if not is_float(input.dtype):
        raise DTypeError(f"interpolate: expected a float input, got dtype {input.dtype}")
    sizes, scales = _output_size(input, size, scale_factor, recompute_scale_factor)
    if any(s <= 0 for s in sizes):
        raise ShapeError(f"interpolate: input {input.shape} would give the empty output size {sizes}")
    if mode == "area":
        return sliding.adaptive_pooling(n, "sum", input, tuple(sizes))
    out = input
    for k, (n_out, scale) in enumerate(zip(sizes, scales, strict=True)):
        dim = 2 + k
        weights = tensor(_matrix(mode, input.shape[dim], n_out, scale, bool(align_corners), input.dtype),
                         dtype=input.dtype)
        out = (out.transpose(dim, -1) @ weights.T).transpose(dim, -1)
    return out


class Upsample(Module):
    """``interpolate`` as a module: ``Upsample(scale_factor=2, mode='bilinear')``."""

    def __init__(self, size: int | Sequence[int] | None = None, scale_factor: float | Sequence[float] | None = None,
                 mode: str = "nearest", align_corners: bool | None = None,
                 recompute_scale_factor: bool | None = None):
        super().__init__()
        self.size, self.mode, self.align_corners = size, mode, align_corners
        self.recompute_scale_factor = recompute_scale_factor
        self.scale_factor = tuple(float(s) for s in scale_factor) if isinstance(scale_factor, Sequence) else \
            float(scale_factor) if scale_factor else None

    def forward(self, input: Tensor) -> Tensor:
        return interpolate(input, self.size, self.scale_factor, self.mode, self.align_corners,
                           self.recompute_scale_factor)

    def extra_repr(self) -> str:
        info = f"scale_factor={self.scale_factor!r}" if self.scale_factor is not None else f"size={self.size!r}"
        return info + f", mode={self.mode!r}"


class UpsamplingNearest2d(Upsample):
    def __init__(self, size: int | Sequence[int] | None = None, scale_factor: float | Sequence[float] | None = None):
        super().__init__(size, scale_factor, mode="nearest")


class UpsamplingBilinear2d(Upsample):
    """Bilinear with ``align_corners=True``, as PyTorch's."""

    def __init__(self, size: int | Sequence[int] | None = None, scale_factor: float | Sequence[float] | None = None):
        super().__init__(size, scale_factor, mode="bilinear", align_corners=True)
