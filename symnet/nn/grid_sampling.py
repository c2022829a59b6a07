"""``affine_grid`` and ``grid_sample`` (a spatial transformer's two halves), in 2-D and 3-D, composed of symnet's
ops with PyTorch's formulas: the grid is ``base · θᵀ`` over PyTorch's normalized pixel centres, and a sample is the
(bi/tri)linear mix of the 2ⁿ pixels around its source point (each read by a gather, outside the image a zero), or
the nearest pixel. Gradients reach the image (the gathers' adjoints) and the grid (through the weights), and the
ops work inside a compiled step."""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Sequence

from ..core.dtypes import is_float
from ..errors import DTypeError, NotSupportedError, ShapeError
from ..frontend.creation import linspace, ones
from ..frontend.pointwise import where
from ..frontend.shaping import stack
from ..frontend.tensor import Tensor

MODES = ("bilinear", "nearest")
PADDING = ("zeros", "border", "reflection")


def _align_corners(align_corners: bool | None) -> bool:
    if align_corners is None:
        warnings.warn("Default grid_sample and affine_grid behavior has changed to align_corners=False since "
                      "1.3.0. Please specify align_corners=True if the old behavior is desired. See the "
                      "documentation of grid_sample for details.", UserWarning, stacklevel=3)
        return False
    return bool(align_corners)


def _positions(n: int, like: Tensor, align_corners: bool) -> Tensor:
    """PyTorch's normalized coordinates of n pixel centres (or corners, ``align_corners``)."""
    if n <= 1:
        return linspace(0.0, 0.0, 1, dtype=like.dtype)
    steps = linspace(-1.0, 1.0, n, dtype=like.dtype)
    return steps if align_corners else steps * ((n - 1) / n)


def affine_grid(theta: Tensor, size: Sequence[int], align_corners: bool | None = None) -> Tensor:
    """The sampling grid (N, H, W, 2) of the affine maps ``theta`` (N, 2, 3) for an output of ``size`` (N, C, H,
    W) — or (N, D, H, W, 3) of θ (N, 3, 4) for (N, C, D, H, W): each output pixel's normalized (x, y[, z]) mapped
    by θ."""
    align = _align_corners(align_corners)
    size = [int(s) for s in size]
    if not is_float(theta.dtype):
        raise DTypeError(f"Expected theta to have floating point type, but got {theta.dtype}")
    if len(size) not in (4, 5):
        raise NotSupportedError(f"affine_grid only supports 4D and 5D sizes, for 2D and 3D affine transforms, "
                                f"respectively. Got size {size}.")
    n, spatial = size[0], size[2:]
    d = len(spatial)
    if theta.dim() != 3 or tuple(theta.shape[1:]) != (d, d + 1) or theta.shape[0] != n:
        raise ShapeError(f"Expected a batch of {d}D affine matrices of shape Nx{d}x{d + 1} for size {size}. Got "
                         f"{list(theta.shape)}.")
    if min(size) <= 0:
        raise ValueError(f"Expected non-zero, positive output size. Got {size}")
    axes = []  # x runs along the last spatial dim, y the one before, z the first
    for k, extent in enumerate(reversed(spatial)):
        view = [1] * d
        view[d - 1 - k] = extent
        axes.append(_positions(extent, theta, align).reshape(*view).expand(*spatial))
    points = math.prod(spatial)
    base = stack([*axes, ones(*spatial, dtype=theta.dtype)], dim=-1).reshape(1, points, d + 1)
    return base.expand(n, points, d + 1).bmm(theta.transpose(1, 2)).reshape(n, *spatial, d)


def _reflected(coordinate: Tensor, twice_low: int, twice_high: int) -> Tensor:
    """A coordinate reflected into [low, high] by the borders (PyTorch's ``reflect_coordinates``)."""
    if twice_low == twice_high:
        return coordinate * 0
    low, span = twice_low / 2, (twice_high - twice_low) / 2
    distance = (coordinate - low).abs()
    extra = distance.fmod(span)
    even = ((distance / span).floor() % 2) == 0
    return where(even, extra + low, span - extra + low)


def _source(coordinate: Tensor, size: int, padding_mode: str, align: bool) -> Tensor:
    """A normalized coordinate as a pixel position of an axis of ``size`` pixels, with the padding's rule."""
    position = ((coordinate + 1) / 2) * (size - 1) if align else ((coordinate + 1) * size - 1) / 2
    if padding_mode == "reflection":
        position = _reflected(position, 0, 2 * (size - 1)) if align else _reflected(position, -1, 2 * size - 1)
    if padding_mode != "zeros":
        position = position.clamp(0, size - 1)
    return position


def grid_sample(input: Tensor, grid: Tensor, mode: str = "bilinear", padding_mode: str = "zeros",
                align_corners: bool | None = None) -> Tensor:
    """``input`` (N, C, H, W) sampled at ``grid`` (N, Hₒ, Wₒ, 2; x then y, normalized to [-1, 1]): an (N, C, Hₒ,
    Wₒ) image, as ``torch.nn.functional.grid_sample`` — or a volume (N, C, D, H, W) at (N, Dₒ, Hₒ, Wₒ, 3), where
    ``bilinear`` is trilinear."""
    align = _align_corners(align_corners)
    if mode not in MODES:
        if mode == "bicubic":
            raise NotSupportedError("grid_sample: mode 'bicubic' is not supported yet; use 'bilinear' or 'nearest'")
        raise ValueError(f"nn.functional.grid_sample(): expected mode to be 'bilinear', 'nearest' or 'bicubic', "
                         f"but got: '{mode}'")
    if padding_mode not in PADDING:
        raise ValueError(f"nn.functional.grid_sample(): expected padding_mode to be 'zeros', 'border', or "
                         f"'reflection', but got: '{padding_mode}'")
    if input.dim() not in (4, 5) or grid.dim() != input.dim():
        raise ShapeError(f"grid_sampler(): expected 4D or 5D input and grid with same number of dimensions, but "
                         f"got input with sizes {list(input.shape)} and grid with sizes {list(grid.shape)}")
    if input.dtype != grid.dtype or not is_float(input.dtype):
        raise DTypeError(f"grid_sampler(): expected input and grid to have the same floating dtype, but input has "
                         f"{input.dtype} and grid has {grid.dtype}")
    n, c, *extents = input.shape
    d = len(extents)
    if grid.shape[0] != n or grid.shape[-1] != d:
        raise ShapeError(f"grid_sampler(): expected grid to have size {d} in last dimension and the input's batch "
                         f"size, but got grid with sizes {list(grid.shape)} for input {list(input.shape)}")
    out = tuple(grid.shape[1:-1])
    points = math.prod(out)
    # per spatial dim (the input's order: z, y, x), its position in pixels; the grid lists x first
    positions = [_source(grid[..., d - 1 - k], extent, padding_mode, align) for k, extent in enumerate(extents)]
    flat = input.reshape(n, c, math.prod(extents))

    def pixels(at: list[Tensor]) -> Tensor:
        """The pixels at integer positions (one (N, *out) tensor per dim) for every channel; zero outside."""
        inside, index = None, None
        for k, (i, extent) in enumerate(zip(at, extents, strict=True)):
            within = (i >= 0) & (i < extent)
            inside = within if inside is None else inside & within
            index = i.clamp(0, extent - 1) if k == 0 else index * extent + i.clamp(0, extent - 1)
        values = flat.gather(2, index.reshape(n, 1, points).expand(n, c, points)).reshape(n, c, *out)
        return where(inside.unsqueeze(1), values, values.new_zeros(()))

    # far outside, any corner is outside: the positions are bounded first so an integer holds them
    bounded = [p.clamp(-2, extent + 1) for p, extent in zip(positions, extents, strict=True)]
    if mode == "nearest":
        return pixels([b.round().long() for b in bounded])
    lows = [b.floor() for b in bounded]
    weights = [(low + 1 - p, p - low) for p, low in zip(positions, lows, strict=True)]  # (toward low, toward high)
    total = None
    for corner in itertools.product((0, 1), repeat=d):
        weight = None
        for k in reversed(range(d)):  # x's weight first, as PyTorch multiplies them
            weight = weights[k][corner[k]] if weight is None else weight * weights[k][corner[k]]
        term = pixels([low.long() + step for low, step in zip(lows, corner, strict=True)]) * weight.unsqueeze(1)
        total = term if total is None else total + term
    return total
