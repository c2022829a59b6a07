"""``affine_grid`` and ``grid_sample`` (a spatial transformer's two halves), in 2-D, composed of symnet's ops with
PyTorch's formulas: the grid is ``base · θᵀ`` over PyTorch's normalized pixel centres, and a sample is the
bilinear mix of the four pixels around its source point (each read by a gather, outside the image a zero), or the
nearest pixel. Gradients reach the image (the gathers' adjoints) and the grid (through the bilinear weights), and
the ops work inside a compiled step."""

from __future__ import annotations

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


def _spatial_only(what: str, rank: int) -> None:
    if rank == 5:
        raise NotSupportedError(f"{what}: volumetric (5-D) sampling is not supported yet; symnet samples 4-D "
                                "(N, C, H, W) images")


def _positions(n: int, like: Tensor, align_corners: bool) -> Tensor:
    """PyTorch's normalized coordinates of n pixel centres (or corners, ``align_corners``)."""
    if n <= 1:
        return linspace(0.0, 0.0, 1, dtype=like.dtype)
    steps = linspace(-1.0, 1.0, n, dtype=like.dtype)
    return steps if align_corners else steps * ((n - 1) / n)


def affine_grid(theta: Tensor, size: Sequence[int], align_corners: bool | None = None) -> Tensor:
    """The sampling grid (N, H, W, 2) of the affine maps ``theta`` (N, 2, 3) for an output of ``size`` (N, C, H,
    W): each output pixel's normalized (x, y) mapped by θ."""
    align = _align_corners(align_corners)
    size = [int(s) for s in size]
    _spatial_only("affine_grid", len(size))
    if not is_float(theta.dtype):
        raise DTypeError(f"Expected theta to have floating point type, but got {theta.dtype}")
    if len(size) != 4:
        raise NotSupportedError(f"affine_grid only supports 4D and 5D sizes, for 2D and 3D affine transforms, "
                                f"respectively. Got size {size}.")
    n, _, h, w = size
    if theta.dim() != 3 or tuple(theta.shape[1:]) != (2, 3) or theta.shape[0] != n:
        raise ShapeError(f"Expected a batch of 2D affine matrices of shape Nx2x3 for size {size}. Got "
                         f"{list(theta.shape)}.")
    if min(size) <= 0:
        raise ValueError(f"Expected non-zero, positive output size. Got {size}")
    xs = _positions(w, theta, align).reshape(1, w).expand(h, w)
    ys = _positions(h, theta, align).reshape(h, 1).expand(h, w)
    base = stack([xs, ys, ones(h, w, dtype=theta.dtype)], dim=-1).reshape(1, h * w, 3).expand(n, h * w, 3)
    return base.bmm(theta.transpose(1, 2)).reshape(n, h, w, 2)


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
    Wₒ) image, as ``torch.nn.functional.grid_sample``."""
    align = _align_corners(align_corners)
    if mode not in MODES:
        if mode == "bicubic":
            raise NotSupportedError("grid_sample: mode 'bicubic' is not supported yet; use 'bilinear' or 'nearest'")
        raise ValueError(f"nn.functional.grid_sample(): expected mode to be 'bilinear', 'nearest' or 'bicubic', "
                         f"but got: '{mode}'")
    if padding_mode not in PADDING:
        raise ValueError(f"nn.functional.grid_sample(): expected padding_mode to be 'zeros', 'border', or "
                         f"'reflection', but got: '{padding_mode}'")
    _spatial_only("grid_sample", input.dim())
    if input.dim() != 4 or grid.dim() != 4:
        raise ShapeError(f"grid_sampler(): expected 4D input and grid with same number of dimensions, but got "
                         f"input with sizes {list(input.shape)} and grid with sizes {list(grid.shape)}")
    if input.dtype != grid.dtype or not is_float(input.dtype):
        raise DTypeError(f"grid_sampler(): expected input and grid to have the same floating dtype, but input has "
                         f"{input.dtype} and grid has {grid.dtype}")
    n, c, h, w = input.shape
    if grid.shape[0] != n or grid.shape[3] != 2:
        raise ShapeError(f"grid_sampler(): expected grid to have size 2 in last dimension and the input's batch "
                         f"size, but got grid with sizes {list(grid.shape)} for input {list(input.shape)}")
    out_h, out_w = grid.shape[1], grid.shape[2]
    x = _source(grid[..., 0], w, padding_mode, align)
    y = _source(grid[..., 1], h, padding_mode, align)
    flat = input.reshape(n, c, h * w)

    def pixels(column: Tensor, row: Tensor) -> Tensor:
        """The pixels at integer positions (N, Hₒ, Wₒ) for every channel; zero outside the image."""
        inside = ((column >= 0) & (column < w) & (row >= 0) & (row < h)).unsqueeze(1)
        at = (row.clamp(0, h - 1) * w + column.clamp(0, w - 1)).reshape(n, 1, out_h * out_w)
        values = flat.gather(2, at.expand(n, c, out_h * out_w)).reshape(n, c, out_h, out_w)
        return where(inside, values, values.new_zeros(()))

    # far outside, any corner is outside: the positions are bounded first so an integer holds them
    if mode == "nearest":
        return pixels(x.clamp(-2, w + 1).round().long(), y.clamp(-2, h + 1).round().long())
    left, top = x.clamp(-2, w + 1).floor(), y.clamp(-2, h + 1).floor()
    column, row = left.long(), top.long()
    east, south = x - left, y - top
    west, north = left + 1 - x, top + 1 - y
    return (pixels(column, row) * (west * north).unsqueeze(1) + pixels(column + 1, row) * (east * north).unsqueeze(1)
            + pixels(column, row + 1) * (west * south).unsqueeze(1)
            + pixels(column + 1, row + 1) * (east * south).unsqueeze(1))
