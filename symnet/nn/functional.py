"""Activations and losses, named and defaulted as in ``torch.nn.functional``.

Every one is a composition of tensor ops, so its gradient is derived, printed and compiled like any other.
"""

from __future__ import annotations

from ..core import dtypes
from ..errors import DTypeError, IndexRangeError, ShapeError
from ..frontend.tensor import Tensor
from .sliding import (  # noqa: F401 - torch.nn.functional's convolution, pooling and padding
    adaptive_avg_pool1d,
    adaptive_avg_pool2d,
    adaptive_avg_pool3d,
    adaptive_max_pool1d,
    adaptive_max_pool2d,
    avg_pool1d,
    avg_pool2d,
    avg_pool3d,
    conv1d,
    conv2d,
    conv3d,
    conv_transpose1d,
    conv_transpose2d,
    conv_transpose3d,
    fold,
    lp_pool1d,
    lp_pool2d,
    max_pool1d,
    max_pool2d,
    max_pool3d,
    pad,
    unfold,
)


def relu(input: Tensor) -> Tensor:
    return input.relu()


def leaky_relu(input: Tensor, negative_slope: float = 0.01) -> Tensor:
    return input.leaky_relu(negative_slope)


def sigmoid(input: Tensor) -> Tensor:
    return input.sigmoid()


def tanh(input: Tensor) -> Tensor:
    return input.tanh()


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    return input.softplus(beta, threshold)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """x·Φ(x) (``approximate='none'``, through erf) or its tanh form (``approximate='tanh'``), as in PyTorch."""
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return input._map("gelu" if approximate == "none" else "gelu_tanh", result="float")


def softmax(input: Tensor, dim: int) -> Tensor:
    return input.softmax(dim)


def log_softmax(input: Tensor, dim: int) -> Tensor:
    return input.log_softmax(dim)


def _reduce(loss: Tensor, reduction: str, op: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"{op}: reduction must be 'none', 'mean' or 'sum', got {reduction!r}")


def _same_shape(input: Tensor, target: Tensor, op: str) -> None:
    if input.shape != target.shape:
        raise ShapeError(f"{op}: input shape {input.shape} and target shape {target.shape} differ")


def mse_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    """(input − target)², averaged (or summed) over all elements."""
    _same_shape(input, target, "mse_loss")
    diff = input - target
    return _reduce(diff * diff, reduction, "mse_loss")


def l1_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    """|input − target|, averaged (or summed) over all elements."""
    _same_shape(input, target, "l1_loss")
    return _reduce((input - target).abs(), reduction, "l1_loss")


def smooth_l1_loss(input: Tensor, target: Tensor, reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """0.5·d²/β where |d| < β, else |d| − 0.5·β (d = input − target); written with m = min(|d|, β) as
    0.5·m²/β + (|d| − m), so no branch squares a huge |d| (finite wherever PyTorch is)."""
    _same_shape(input, target, "smooth_l1_loss")
    if beta <= 0:
        return l1_loss(input, target, reduction)
    d = (input - target).abs()
    m = d.clamp(max=beta)
    return _reduce(0.5 * m * m / beta + (d - m), reduction, "smooth_l1_loss")


def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean", delta: float = 1.0) -> Tensor:
    """0.5·d² where |d| < δ, else δ·(|d| − 0.5·δ)."""
    _same_shape(input, target, "huber_loss")
    return smooth_l1_loss(input, target, reduction, beta=delta) * delta


def binary_cross_entropy(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    """−(t·log p + (1 − t)·log(1 − p)), each log clamped at −100, with PyTorch's gradient (finite at 0 and 1)."""
    _same_shape(input, target, "binary_cross_entropy")
    return _reduce(input._map("binary_cross_entropy", target, result="float"), reduction, "binary_cross_entropy")


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    """(1 − t)·x + softplus(−x): stable for any logit."""
    _same_shape(input, target, "binary_cross_entropy_with_logits")
    return _reduce((1 - target) * input + (-input).softplus(threshold=float("inf")), reduction,
                   "binary_cross_entropy_with_logits")


def _check_labels(input: Tensor, target: Tensor, op: str) -> None:
    if target.dtype != dtypes.int64:
        raise DTypeError(f"{op}: target must hold integer class indices (int64), got dtype {target.dtype}")
    batch = input.shape[:1] if input.dim() == 2 else ()
    if input.dim() not in (1, 2) or target.shape != batch:
        raise ShapeError(f"{op}: input of shape {input.shape} needs a target of shape {batch}, "
                         f"got {target.shape}")
    if target.is_leaf and target.numel():
        classes, labels = input.shape[-1], target.numpy()
        bad = labels[(labels < 0) | (labels >= classes)]
        if bad.size:
            raise IndexRangeError(f"{op}: target {bad.flat[0]} is out of bounds for {classes} classes")


def _pick(input: Tensor, target: Tensor) -> Tensor:
    """input[b, target[b]] (input[target] for one sample): a data-dependent gather."""
    dim = input.dim() - 1
    return input.gather(dim, target.unsqueeze(dim)).squeeze(dim)


def nll_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    """−input[b, target[b]]: the loss on log-probabilities."""
    _check_labels(input, target, "nll_loss")
    return _reduce(-_pick(input, target), reduction, "nll_loss")


def cross_entropy(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    """−log_softmax(input)[b, target[b]]; its gradient comes out as softmax − onehot."""
    _check_labels(input, target, "cross_entropy")
    return _reduce(-_pick(input.log_softmax(input.dim() - 1), target), reduction, "cross_entropy")


__all__ = [name for name in dir() if not name.startswith("_") and name != "annotations"]
