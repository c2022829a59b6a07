"""Normalization layers and their functional forms, with PyTorch's names, arguments, defaults and initial values:
LayerNorm, GroupNorm, InstanceNorm1d/2d/3d, LocalResponseNorm, RMSNorm, and ``normalize``.

Each is written with tensor ops — the mean, the biased variance ``mean((x − mean)²)`` and ``(var + ε)^(−1/2)`` —
so its gradient is derived and printed like any other formula, not hand-written.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np

from ..core.dtypes import is_float
from ..errors import DTypeError, ShapeError
from ..frontend.creation import ones, zeros
from ..frontend.tensor import Tensor
from ..frontend.trace import shown
from . import sliding
from .batchnorm import LazyNorm, NormBase
from .distance import abs_power
from .module import Module, Parameter, update_buffer


def _moments(input: Tensor, dims: tuple[int, ...]) -> tuple[Tensor, Tensor, Tensor]:
    """The mean over ``dims`` (kept), x − mean and its square: the pieces of every norm layer's statistics."""
    if not is_float(input.dtype):
        raise DTypeError(f"normalization needs a float input, got dtype {input.dtype}")
    mean = input.mean(dims, keepdim=True)
    centered = input - mean
    return mean, centered, centered * centered


def _standardize(input: Tensor, dims: tuple[int, ...], eps: float) -> Tensor:
    """(x − mean)·(var + ε)^(−1/2) over ``dims``, the variance biased (divided by n), as every norm layer uses."""
    _, centered, squares = _moments(input, dims)
    return centered * (squares.mean(dims, keepdim=True) + eps) ** -0.5


def _affine(out: Tensor, weight: Tensor | None, bias: Tensor | None) -> Tensor:
    if weight is not None:
        out = out * weight
    return out if bias is None else out + bias


def _trailing(input: Tensor, normalized_shape, op: str) -> tuple[int, ...]:
    """The dims ``normalized_shape`` (a sequence: the modules accept an int, the functions don't) covers, the
    last ones, checked as PyTorch does."""
    if not isinstance(normalized_shape, Sequence):
        raise TypeError(f"{op}: normalized_shape must be a tuple of ints, not {type(normalized_shape).__name__}")
    shape = tuple(normalized_shape)
    if not shape or input.shape[input.dim() - len(shape):] != shape or input.dim() < len(shape):
        raise ShapeError(f"{op}: given normalized_shape={list(shape)}, expected input with shape "
                         f"[*, {', '.join(map(str, shape))}], but got input of size {list(input.shape)}")
    return tuple(range(input.dim() - len(shape), input.dim()))


def _channel_view(param: Tensor | None, input: Tensor) -> Tensor | None:
    """A per-channel (C,) weight or bias shaped (C, 1, …, 1) to broadcast against (N, C, *)."""
    return None if param is None else param.reshape(-1, *(1,) * (input.dim() - 2))


@shown("NativeLayerNormBackward0")
def layer_norm(input: Tensor, normalized_shape: Sequence[int], weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """Standardize over the last ``len(normalized_shape)`` dims, then scale by ``weight`` and shift by ``bias``."""
    return _affine(_standardize(input, _trailing(input, normalized_shape, "layer_norm"), eps), weight, bias)


def rms_norm(input: Tensor, normalized_shape: Sequence[int], weight: Tensor | None = None,
             eps: float | None = None) -> Tensor:
    """x·(mean(x²) + ε)^(−1/2) over the trailing dims, times ``weight``; ε None is the dtype's machine epsilon,
    as in PyTorch."""
    dims = _trailing(input, normalized_shape, "rms_norm")
    if not is_float(input.dtype):
        raise DTypeError(f"rms_norm needs a float input, got dtype {input.dtype}")
    eps = float(np.finfo(input.dtype).eps) if eps is None else eps
    return _affine(input * ((input * input).mean(dims, keepdim=True) + eps) ** -0.5, weight, None)


@shown("NativeGroupNormBackward0")
def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None, bias: Tensor | None = None,
               eps: float = 1e-5) -> Tensor:
    """(N, C, *) in ``num_groups`` groups of C/num_groups channels, each standardized over its channels and
    positions; then a per-channel affine."""
    if input.dim() < 2:
        raise ShapeError(f"group_norm: expected an input of shape (N, C, *), got {input.shape}")
    channels = input.shape[1]
    if num_groups <= 0 or channels % num_groups:
        raise ShapeError(f"group_norm: expected number of channels in input ({channels}) to be divisible by "
                         f"num_groups ({num_groups})")
    grouped = input.reshape(-1, num_groups, math.prod(input.shape[1:]) // num_groups)
    out = _standardize(grouped, (2,), eps).reshape(-1, *input.shape[1:])
    return _affine(out, _channel_view(weight, input), _channel_view(bias, input))


def instance_norm(input: Tensor, running_mean: Tensor | None = None, running_var: Tensor | None = None,
                  weight: Tensor | None = None, bias: Tensor | None = None, use_input_stats: bool = True,
                  momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Each (sample, channel) of (N, C, *) standardized over its positions, then a per-channel affine.

    With ``use_input_stats`` each instance uses its own statistics, and the running ones (if given) move by
    ``momentum`` toward their batch averages — PyTorch's rule: the instances' means, and their unbiased
    variances, averaged over N. Without it, the running statistics normalize."""
    if input.dim() < 3:
        raise ShapeError(f"instance_norm: expected an input of shape (N, C, *) with spatial dims, got {input.shape}")
    if not use_input_stats and (running_mean is None or running_var is None):
        raise ValueError("Expected running_mean and running_var to be defined when use_input_stats is false")
    batch, channels = input.shape[:2]
    for name, t in (("running_mean", running_mean), ("running_var", running_var)):
        if t is not None and t.numel() != channels:  # PyTorch checks the stats repeated over the batch
            raise ShapeError(f"{name} should contain {batch * channels} elements not {t.numel() * batch}")
    dims, positions = tuple(range(2, input.dim())), math.prod(input.shape[2:])
    if use_input_stats:
        if positions <= 1:
            raise ValueError(f"Expected more than 1 spatial element when training, got input size "
                             f"{list(input.shape)}")
        mean, centered, squares = _moments(input, dims)
        var = squares.mean(dims, keepdim=True)
        if running_mean is not None:
            update_buffer(running_mean, running_mean * (1.0 - momentum) + mean.mean((0, *dims)) * momentum)
        if running_var is not None:
            unbiased = squares.sum(dims) / (positions - 1)
            update_buffer(running_var, running_var * (1.0 - momentum) + unbiased.mean(0) * momentum)
    else:
        centered = input - _channel_view(running_mean, input)
        var = _channel_view(running_var, input)
    out = centered * (var + eps) ** -0.5
    return _affine(out, _channel_view(weight, input), _channel_view(bias, input))


def local_response_norm(input: Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0) -> Tensor:
    """x / (k + α/n·Σ x²)^β, the sum over a window of ``size`` neighbouring channels (zero-padded)."""
    if input.dim() < 3:
        raise ShapeError(f"local_response_norm: expected 3D or higher dimensionality input (got {input.dim()} "
                         "dimensions)")
    channels = input.shape[1]
    padded = sliding.pad(input * input, [0, 0] * (input.dim() - 2) + [size // 2, (size - 1) // 2])
    window = padded[:, :channels]
    for j in range(1, size):
        window = window + padded[:, j:j + channels]
    return input / (window * (alpha / size) + k) ** beta


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12) -> Tensor:
    """x / max(‖x‖_p, ε) along ``dim``; written as max(Σ|x|^p, ε^p)^(1/p) so a zero vector has gradient 1/ε,
    not NaN."""
    return input / abs_power(input, p).sum(dim, keepdim=True).clamp(min=eps**p) ** (1 / p)


class LayerNorm(Module):
    """Standardize over the trailing ``normalized_shape`` dims; ``weight`` starts at 1, ``bias`` at 0."""

    def __init__(self, normalized_shape: int | Sequence[int], eps: float = 1e-5, elementwise_affine: bool = True,
                 bias: bool = True, device=None, dtype=None):
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
        self.normalized_shape, self.eps, self.elementwise_affine = shape, eps, elementwise_affine
        self.weight = Parameter(ones(shape, dtype=dtype)) if elementwise_affine else None
        self.bias = Parameter(zeros(shape, dtype=dtype)) if elementwise_affine and bias else None

    def forward(self, input: Tensor) -> Tensor:
        return layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}, "
                f"bias={self.bias is not None}")


class RMSNorm(Module):
    """x·(mean(x²) + ε)^(−1/2) over the trailing dims, times ``weight`` (starts at 1); no bias."""

    def __init__(self, normalized_shape: int | Sequence[int], eps: float | None = None,
                 elementwise_affine: bool = True, device=None, dtype=None):
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
        self.normalized_shape, self.eps, self.elementwise_affine = shape, eps, elementwise_affine
        self.weight = Parameter(ones(shape, dtype=dtype)) if elementwise_affine else None

    def forward(self, input: Tensor) -> Tensor:
        return rms_norm(input, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


class GroupNorm(Module):
    """Standardize groups of channels of (N, C, *); per-channel ``weight`` starts at 1, ``bias`` at 0."""

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5, affine: bool = True, device=None,
                 dtype=None, *, bias: bool = True):
        super().__init__()
        if num_channels % num_groups:
            raise ValueError("num_channels must be divisible by num_groups")
        self.num_groups, self.num_channels, self.eps, self.affine = num_groups, num_channels, eps, affine
        self.weight = Parameter(ones(num_channels, dtype=dtype)) if affine else None
        self.bias = Parameter(zeros(num_channels, dtype=dtype)) if affine and bias else None

    def forward(self, input: Tensor) -> Tensor:
        return group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
                f"bias={self.bias is not None}")


class _InstanceNorm(NormBase):
    """InstanceNorm1d/2d/3d: (N, C, *spatial) or unbatched (C, *spatial) with ``n`` spatial dims; with
    ``track_running_stats`` the running statistics are updated in training and normalize in eval, as in
    PyTorch (``num_batches_tracked`` is kept for the state_dict but, as there, never counts)."""

    n = 0

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = False,
                 track_running_stats: bool = False, device=None, dtype=None, *, bias: bool = True):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype, bias=bias)

    def forward(self, input: Tensor) -> Tensor:
        if input.dim() not in (self.n + 1, self.n + 2):
            raise ShapeError(f"expected {self.n + 1}D (unbatched) or {self.n + 2}D input (got {input.dim()}D input)")
        unbatched = input.dim() == self.n + 1
        if input.shape[1 - unbatched] != self.num_features:
            if self.affine:
                raise ShapeError(f"expected input's size at dim={1 - unbatched} to match num_features "
                                 f"({self.num_features}), but got: {input.shape[1 - unbatched]}.")
            warnings.warn(f"input's size at dim={1 - unbatched} does not match num_features. You can silence this "
                          "warning by not passing in num_features, which is not used because affine=False",
                          stacklevel=2)
        x = input.unsqueeze(0) if unbatched else input
        out = instance_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                            self.training or not self.track_running_stats,
                            0.0 if self.momentum is None else self.momentum, self.eps)
        return out.squeeze(0) if unbatched else out


class InstanceNorm1d(_InstanceNorm):
    n = 1


class InstanceNorm2d(_InstanceNorm):
    n = 2


class InstanceNorm3d(_InstanceNorm):
    n = 3


class LazyInstanceNorm1d(LazyNorm):
    becomes = InstanceNorm1d


class LazyInstanceNorm2d(LazyNorm):
    becomes = InstanceNorm2d


class LazyInstanceNorm3d(LazyNorm):
    becomes = InstanceNorm3d


class LocalResponseNorm(Module):
    """x / (k + α/n·Σ x²)^β over ``size`` neighbouring channels."""

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0):
        super().__init__()
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def forward(self, input: Tensor) -> Tensor:
        return local_response_norm(input, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"
