"""Rearranging channels and pixels, as in ``torch.nn``: ``pixel_shuffle``, ``pixel_unshuffle`` and
``channel_shuffle`` and their modules. Each is a reshape, a permutation and a reshape back, so the gradient
is the inverse rearrangement (derived, not written) and any dtype works, as in PyTorch.

>>> pixel_shuffle(sn.arange(8.0).reshape(8, 1, 1), 2).shape  # doctest: +SKIP
(2, 2, 2)
"""

from __future__ import annotations

from ..errors import ShapeError
from ..frontend.tensor import Tensor
from .module import Module


def _at_least_3d(input: Tensor, op: str) -> None:
    if input.dim() < 3:
        raise ShapeError(f"{op} expects input to have at least 3 dimensions, but got input with {input.dim()} "
                         "dimension(s)")


def _positive(factor: int, op: str, name: str) -> None:
    if factor <= 0:
        raise ValueError(f"{op} expects a positive {name}, but got {factor}")


def _lead(input: Tensor, trailing: int) -> tuple[int, ...]:
    """The dims before the last ``trailing`` ones, the first as -1: a compiled step's batch stays symbolic."""
    lead = tuple(input.shape[:input.dim() - trailing])
    return (-1, *lead[1:]) if lead else ()


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    """(*, C·r², H, W) → (*, C, H·r, W·r): ``out[…, c, h·r + i, w·r + j] = in[…, c·r² + i·r + j, h, w]``."""
    _at_least_3d(input, "pixel_shuffle")
    _positive(upscale_factor, "pixel_shuffle", "upscale_factor")
    r, lead, (channels, h, w) = upscale_factor, _lead(input, 3), tuple(input.shape[-3:])
    if channels % (r * r):
        raise ShapeError(f"pixel_shuffle expects its input's 'channel' dimension to be divisible by the square of "
                         f"upscale_factor, but input.size(-3)={channels} is not divisible by {r * r}")
    k = len(lead)
    split = input.reshape(*lead, channels // (r * r), r, r, h, w)
    moved = split.permute(*range(k), k, k + 3, k + 1, k + 4, k + 2)
    return moved.reshape(*lead, channels // (r * r), h * r, w * r)


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    """(*, C, H·r, W·r) → (*, C·r², H, W), the inverse of ``pixel_shuffle``."""
    _at_least_3d(input, "pixel_unshuffle")
    _positive(downscale_factor, "pixel_unshuffle", "downscale_factor")
    r, lead, (channels, h, w) = downscale_factor, _lead(input, 3), tuple(input.shape[-3:])
    for name, dim, size in (("height", -2, h), ("width", -1, w)):
        if size % r:
            raise ShapeError(f"pixel_unshuffle expects {name} to be divisible by downscale_factor, but "
                             f"input.size({dim})={size} is not divisible by {r}")
    k = len(lead)
    split = input.reshape(*lead, channels, h // r, r, w // r, r)
    moved = split.permute(*range(k), k, k + 2, k + 4, k + 1, k + 3)
    return moved.reshape(*lead, channels * r * r, h // r, w // r)


def channel_shuffle(input: Tensor, groups: int) -> Tensor:
    """(N, C, *) with the channels read as a (groups, C/groups) grid and written out transposed (ShuffleNet)."""
    if input.dim() <= 2:
        raise ShapeError(f"channel_shuffle expects input with > 2 dims, but got input with sizes "
                         f"{list(input.shape)}")
    if groups <= 0:
        raise ValueError(f"Number of groups to divide channels in must be positive. Value of groups:{groups}")
    channels, rest = input.shape[1], tuple(input.shape[2:])
    if channels % groups:
        raise ShapeError(f"Number of channels must be divisible by groups. Got {channels} channels and {groups} "
                         "groups.")
    grid = input.reshape(*_lead(input, input.dim() - 1), groups, channels // groups, *rest)
    return grid.transpose(1, 2).reshape(-1, channels, *rest)


class PixelShuffle(Module):
    def __init__(self, upscale_factor: int):
        super().__init__()
        self.upscale_factor = upscale_factor

    def forward(self, input: Tensor) -> Tensor:
        return pixel_shuffle(input, self.upscale_factor)

    def extra_repr(self) -> str:
        return f"upscale_factor={self.upscale_factor}"


class PixelUnshuffle(Module):
    def __init__(self, downscale_factor: int):
        super().__init__()
        self.downscale_factor = downscale_factor

    def forward(self, input: Tensor) -> Tensor:
        return pixel_unshuffle(input, self.downscale_factor)

    def extra_repr(self) -> str:
        return f"downscale_factor={self.downscale_factor}"


class ChannelShuffle(Module):
    def __init__(self, groups: int):
        super().__init__()
        self.groups = groups

    def forward(self, input: Tensor) -> Tensor:
        return channel_shuffle(input, self.groups)

    def extra_repr(self) -> str:
        return f"groups={self.groups}"
