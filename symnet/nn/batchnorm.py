"""Batch normalization with PyTorch's names, arguments, defaults, shape checks and running statistics.

Training normalizes with the batch's statistics (biased variance) and moves the running ones toward them
(unbiased variance), eval normalizes with the running ones. The running update is an ordinary tensor
expression handed to ``module.update_buffer``: applied at once eagerly, and computed inside the native step
(fed back like optimizer state) when the model is compiled.
"""

from __future__ import annotations

import math

from ..core import dtypes
from ..errors import ShapeError
from ..frontend.creation import ones, tensor, zeros
from ..frontend.device import check_device
from ..frontend.tensor import Tensor
from ..frontend.trace import shown
from .conv import LazyModule
from .module import Module, Parameter, update_buffer


def _count(input: Tensor, dims: tuple[int, ...]) -> Tensor:
    """The number of values per channel as a tensor: its body folds to Σ 1, so a compiled step's symbolic
    batch size counts (a Python number would freeze the first batch's size)."""
    return (input * 0.0 + 1.0).sum(dims)


@shown("NativeBatchNormBackward0")
def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None, weight: Tensor | None = None,
               bias: Tensor | None = None, training: bool = False, momentum: float | Tensor = 0.1,
               eps: float = 1e-5) -> Tensor:
    """Normalize each channel (dim 1) of ``input``, as ``torch.nn.functional.batch_norm``: with the batch's
    statistics when ``training`` (then the running statistics, if given, move by ``momentum``, which may be a
    0-d tensor), else with the running ones."""
    if input.dim() < 2:
        raise ValueError(f"batch_norm: expected an input with a batch and a channel dimension, got shape "
                         f"{input.shape}")
    channels = input.shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var), ("weight", weight),
                    ("bias", bias)):
        if t is not None and t.numel() != channels:
            raise ShapeError(f"{name} should contain {channels} elements not {t.numel()}")
    dims = (0, *range(2, input.dim()))
    if training and math.prod(input.shape[d] for d in dims) == 1:
        raise ValueError(f"Expected more than 1 value per channel when training, got input size {input.shape}")
    shape = (1, channels) + (1,) * (input.dim() - 2)
    if training or running_mean is None or running_var is None:
        mean = input.mean(dims, keepdim=True)
        centered = input - mean
        squares = centered * centered
        var = squares.mean(dims, keepdim=True)
        if training and running_mean is not None and running_var is not None:
            unbiased = squares.sum(dims) / (_count(input, dims) - 1.0)
            update_buffer(running_mean, running_mean * (1.0 - momentum) + mean.reshape(channels) * momentum)
            update_buffer(running_var, running_var * (1.0 - momentum) + unbiased * momentum)
    else:
        centered, var = input - running_mean.reshape(shape), running_var.reshape(shape)
    out = centered * (1.0 / (var + eps).sqrt())
    if weight is not None:
        out = out * weight.reshape(shape)
    if bias is not None:
        out = out + bias.reshape(shape)
    return out


class NormBase(Module):
    """What batch and instance norm share (PyTorch's ``_NormBase``): a per-channel ``weight`` (ones) and
    ``bias`` (zeros) when ``affine``, and the buffers ``running_mean`` (zeros), ``running_var`` (ones) and
    ``num_batches_tracked`` when ``track_running_stats`` (None otherwise, so ``state_dict`` keys match)."""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, device=None, dtype=None, *, bias: bool = True):
        super().__init__()
        check_device(device)
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        self.register_parameter("weight", Parameter(ones(num_features, dtype=dtype)) if affine else None)
        self.register_parameter("bias", Parameter(zeros(num_features, dtype=dtype)) if affine and bias else None)
        tracked = {"running_mean": zeros(num_features, dtype=dtype), "running_var": ones(num_features, dtype=dtype),
                   "num_batches_tracked": tensor(0, dtype=dtypes.int64)}
        for name, buffer in tracked.items():
            self.register_buffer(name, buffer if track_running_stats else None)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"bias={self.bias is not None}, track_running_stats={self.track_running_stats}")

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            self.running_mean.zero_()
            self.running_var.fill_(1)
            self.num_batches_tracked.zero_()

    def reset_parameters(self) -> None:
        self.reset_running_stats()
        if self.weight is not None:
            self.weight.data.fill_(1)
        if self.bias is not None:
            self.bias.data.zero_()


class _BatchNorm(NormBase):
    """What BatchNorm1d/2d/3d share; each checks its own input rank."""

    #: the ranks of input accepted, and how PyTorch names them in its error
    ranks: tuple[int, ...] = ()

    def _check_input_dim(self, input: Tensor) -> None:
        if input.dim() not in self.ranks:
            wanted = " or ".join(f"{r}D" for r in self.ranks)
            raise ValueError(f"expected {wanted} input (got {input.dim()}D input)")

    def forward(self, input: Tensor) -> Tensor:
        self._check_input_dim(input)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            count = self.num_batches_tracked + 1
            update_buffer(self.num_batches_tracked, count)
            if self.momentum is None:  # a cumulative average: the factor is 1/count, a tensor of the step
                factor = 1.0 / count.to(self.running_mean.dtype)
        batch_stats = self.training or self.running_mean is None
        tracked = not self.training or self.track_running_stats
        return batch_norm(input, self.running_mean if tracked else None, self.running_var if tracked else None,
                          self.weight, self.bias, batch_stats, factor, self.eps)


class BatchNorm1d(_BatchNorm):
    """Over (N, C) or (N, C, L) inputs."""

    ranks = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Over (N, C, H, W) inputs."""

    ranks = (4,)


class BatchNorm3d(_BatchNorm):
    """Over (N, C, D, H, W) inputs."""

    ranks = (5,)


class LazyNorm(LazyModule):
    """A norm layer whose ``num_features`` is read off dim 1 of its first input (PyTorch's ``_LazyNormBase``,
    with its defaults: affine and tracked running statistics)."""

    def __init__(self, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, device=None, dtype=None, *, bias: bool = True):
        super().__init__(eps=eps, momentum=momentum, affine=affine, track_running_stats=track_running_stats,
                         device=device, dtype=dtype, bias=bias)

    def in_size(self, input: Tensor) -> int:
        if input.dim() < 2:
            raise ValueError(f"{type(self).__name__}: expected an input with a channel dimension, got shape "
                             f"{input.shape}")
        return input.shape[1]  # dim 1 even for an unbatched instance-norm input, as PyTorch reads it


class LazyBatchNorm1d(LazyNorm):
    becomes = BatchNorm1d


class LazyBatchNorm2d(LazyNorm):
    becomes = BatchNorm2d


class LazyBatchNorm3d(LazyNorm):
    becomes = BatchNorm3d
