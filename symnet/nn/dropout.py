"""Dropout layers and their functional forms, with PyTorch's names, arguments, defaults and edge cases.

A mask is ``symnet.core.random.BernoulliMask``: counter-based draws from a key, so native code and the NumPy
reference agree exactly and a compiled step needs no generator state. Every call draws a fresh key from the
generator ``sn.manual_seed`` seeds (``RandomKey``, a leaf the compiled step recognizes: it adds the step count
to it, so each step draws a new mask while a seed reproduces the whole run). The masks are not PyTorch's
(different generator); their keep rate and scaling are.
"""

from __future__ import annotations

import math
import warnings

from ..core import dtypes
from ..core.random import BernoulliMask
from ..frontend.creation import RandomKey
from ..frontend.tensor import Tensor
from .module import Module

#: SELU's α·λ pair fixes alpha dropout's affine correction (Klambauer et al., 2017), as PyTorch's
_SELU_ALPHA = 1.7580993408473766


def _check_p(p: float) -> None:
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def _dropout(input: Tensor, p: float, training: bool, inplace: bool, shared: tuple[int, ...],
             alpha: bool = False) -> Tensor:
    """``input·mask/(1 − p)`` (alpha: SELU's affine correction instead), the mask shared along ``shared``."""
    _check_p(p)
    if not training or p == 0:
        return input
    if p == 1:  # all zeros, as PyTorch: never a division by 1 − p = 0
        out = input * 0.0
    else:
        keep = input._apply(BernoulliMask(p, shared), [input, RandomKey()], dtypes.bool_).to(input.dtype)
        if alpha:
            a = 1.0 / math.sqrt((_SELU_ALPHA**2 * p + 1) * (1 - p))
            out = input * (keep * a) + ((keep - 1.0) * (_SELU_ALPHA * a) + _SELU_ALPHA * a * p)
        else:
            out = input * (keep * (1.0 / (1.0 - p)))
    if inplace and input.node is None:
        return input.copy_(out)
    return out


def _feature_dims(input: Tensor, batched: bool) -> tuple[int, ...]:
    """The dimensions a channel-wise mask is shared along: all after the channel's."""
    channel = 1 if batched else 0
    return tuple(range(channel + 1, input.dim()))


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by 1/(1 − p); the identity unless training.

    >>> dropout(sn.ones(4), p=0.0)  # doctest: +SKIP
    tensor([1., 1., 1., 1.])
    """
    return _dropout(input, p, training, inplace, ())


def alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False) -> Tensor:
    """Dropout for SELU networks: dropped elements take SELU's negative saturation and an affine correction
    keeps the mean and variance (PyTorch's formula)."""
    return _dropout(input, p, training, inplace, (), alpha=True)


def feature_alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False) -> Tensor:
    """Alpha dropout of whole channels: one draw per (sample, channel) of (N, C, *), shared along the rest."""
    _check_p(p)
    if training and 0 < p < 1 and input.dim() < 2:
        raise ValueError("Feature dropout requires at least 2 dimensions in the input")
    return _dropout(input, p, training, inplace, _feature_dims(input, batched=True), alpha=True)


def _channel_dropout(name: str, spatial: int, input: Tensor, p: float, training: bool, inplace: bool) -> Tensor:
    """Whole channels zeroed: inputs with ``spatial`` spatial dims after (N, C) or C."""
    _check_p(p)
    rank = input.dim()
    if spatial == 1 and rank not in (2, 3):
        raise ValueError(f"dropout1d: Expected 2D or 3D input, but received a {rank}D input. Note that dropout1d "
                         "exists to provide channel-wise dropout on inputs with 1 spatial dimension, a channel "
                         "dimension, and an optional batch dimension (i.e. 2D or 3D inputs).")
    if spatial > 1 and rank not in (spatial + 1, spatial + 2):
        warnings.warn(f"{name}: Received a {rank}-D input to {name}, which is deprecated and will result in an "
                      f"error in a future release. To retain the behavior and silence this warning, please use "
                      f"dropout instead. Note that {name} exists to provide channel-wise dropout on inputs with "
                      f"{spatial} spatial dimensions, a channel dimension, and an optional batch dimension "
                      f"(i.e. {spatial + 1}D or {spatial + 2}D inputs).", UserWarning, stacklevel=3)
    batched = rank == spatial + 2 or (spatial > 1 and rank not in (spatial + 1, spatial + 2))
    if spatial == 2 and rank == 3:
        warnings.warn("dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D dropout "
                      "behavior is desired - input is interpreted as shape (N, C, L), where C is the channel dim. "
                      "This behavior will change in a future release to interpret the input as one without a batch "
                      "dimension, i.e. shape (C, H, W). To maintain the 1D channel-wise dropout behavior, please "
                      "switch to using dropout1d instead.", UserWarning, stacklevel=3)
        batched = True
    return _dropout(input, p, training, inplace, _feature_dims(input, batched))


def dropout1d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero whole channels of (N, C, L) or (C, L) inputs with probability ``p``, as ``F.dropout1d``."""
    return _channel_dropout("dropout1d", 1, input, p, training, inplace)


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero whole channels of (N, C, H, W) or (C, H, W) inputs with probability ``p``, as ``F.dropout2d``."""
    return _channel_dropout("dropout2d", 2, input, p, training, inplace)


def dropout3d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero whole channels of (N, C, D, H, W) or (C, D, H, W) inputs with probability ``p``."""
    return _channel_dropout("dropout3d", 3, input, p, training, inplace)


class _DropoutNd(Module):
    """What every dropout module holds: ``p`` (checked at construction, as PyTorch) and ``inplace``."""

    def __init__(self, p: float = 0.5, inplace: bool = False):
        super().__init__()
        _check_p(p)
        self.p, self.inplace = p, inplace

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout(_DropoutNd):
    """``F.dropout`` in training mode, the identity in eval mode."""

    def forward(self, input: Tensor) -> Tensor:
        return dropout(input, self.p, self.training, self.inplace)


class Dropout1d(_DropoutNd):
    def forward(self, input: Tensor) -> Tensor:
        return dropout1d(input, self.p, self.training, self.inplace)


class Dropout2d(_DropoutNd):
    def forward(self, input: Tensor) -> Tensor:
        return dropout2d(input, self.p, self.training, self.inplace)


class Dropout3d(_DropoutNd):
    def forward(self, input: Tensor) -> Tensor:
        return dropout3d(input, self.p, self.training, self.inplace)


class AlphaDropout(_DropoutNd):
    def forward(self, input: Tensor) -> Tensor:
        return alpha_dropout(input, self.p, self.training)


class FeatureAlphaDropout(_DropoutNd):
    """``F.feature_alpha_dropout`` in training mode (``inplace`` is ignored, as in PyTorch's module)."""

    def forward(self, input: Tensor) -> Tensor:
        return feature_alpha_dropout(input, self.p, self.training)
