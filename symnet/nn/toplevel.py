"""torch's top-level forms of ``torch.nn.functional``'s functions (``torch.conv2d`` is ``F.conv2d``), as one table.

Most are F's function itself. Where torch's top-level signature differs (it is ATen's schema, not F's Python
wrapper), a small adapter gives torch's: no defaults for dropout's ``p, train`` or batch_norm's arguments, the
normalizations' ignored ``cudnn_enable(d)``, max pooling without ``return_indices`` (and ``stride=()`` for the
kernel size), ``adaptive_max_pool1d`` returning (values, indices), ``embedding(weight, indices, padding_idx=-1)``,
no ``inplace`` flags, and losses whose ``reduction`` is ATen's int enum (0 none, 1 mean, 2 sum; ATen reduces
any other int as none). Every adapter calls F, so values and gradients are F's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ..frontend.tensor import Tensor
from . import functional as F

#: ATen's ``at::Reduction`` codes of the losses' ``reduction`` argument
_MEAN, _SUM = 1, 2


def _reduced(loss: Tensor, reduction: int, op: str) -> Tensor:
    """An unreduced loss reduced by ATen's int code, as ``apply_loss_reduction`` does."""
    if isinstance(reduction, bool) or not isinstance(reduction, int):
        raise TypeError(f"{op}(): argument 'reduction' must be int (0 none, 1 mean, 2 sum), not "
                        f"{type(reduction).__name__}")
    return loss.mean() if reduction == _MEAN else loss.sum() if reduction == _SUM else loss


def _stride(stride) -> Sequence[int] | int | None:
    """ATen's empty stride means the kernel size (F's None)."""
    return None if stride is None or (isinstance(stride, Sequence) and not len(stride)) else stride


def _max_pool(pool: Callable) -> Callable:
    def fn(input: Tensor, kernel_size, stride=(), padding=0, dilation=1, ceil_mode: bool = False):  # noqa: A002
        return pool(input, kernel_size, _stride(stride), padding, dilation, ceil_mode)

    fn.__name__ = fn.__qualname__ = pool.__name__
    fn.__doc__ = f"``torch.{pool.__name__}``: F's, without ``return_indices``; ``stride=()`` is the kernel size."
    return fn


def avg_pool1d(input: Tensor, kernel_size, stride=(), padding=0, ceil_mode: bool = False,  # noqa: A002
               count_include_pad: bool = True) -> Tensor:
    """``F.avg_pool1d``; ``stride=()`` is the kernel size."""
    return F.avg_pool1d(input, kernel_size, _stride(stride), padding, ceil_mode, count_include_pad)


def adaptive_max_pool1d(input: Tensor, output_size) -> tuple[Tensor, Tensor]:  # noqa: A002
    """(values, indices): torch's top-level form always returns both."""
    return F.adaptive_max_pool1d(input, output_size, return_indices=True)


def batch_norm(input: Tensor, weight: Tensor | None, bias: Tensor | None, running_mean: Tensor | None,  # noqa: A002
               running_var: Tensor | None, training: bool, momentum: float, eps: float,
               cudnn_enabled: bool) -> Tensor:  # noqa: ARG001 - ATen's, no effect on the CPU
    """``F.batch_norm`` with ATen's argument order (weight and bias first) and no defaults."""
    return F.batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)


def instance_norm(input: Tensor, weight: Tensor | None, bias: Tensor | None,  # noqa: A002
                  running_mean: Tensor | None, running_var: Tensor | None, use_input_stats: bool, momentum: float,
                  eps: float, cudnn_enabled: bool) -> Tensor:  # noqa: ARG001 - ATen's, no effect on the CPU
    """``F.instance_norm`` with ATen's argument order and no defaults."""
    return F.instance_norm(input, running_mean, running_var, weight, bias, use_input_stats, momentum, eps)


def layer_norm(input: Tensor, normalized_shape: Sequence[int], weight: Tensor | None = None,  # noqa: A002
               bias: Tensor | None = None, eps: float = 1e-5,
               cudnn_enable: bool = True) -> Tensor:  # noqa: ARG001 - ATen's, no effect on the CPU
    """``F.layer_norm`` (ATen's extra ``cudnn_enable`` is accepted)."""
    return F.layer_norm(input, normalized_shape, weight, bias, eps)


def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None, bias: Tensor | None = None,  # noqa: A002
               eps: float = 1e-5, cudnn_enabled: bool = True) -> Tensor:  # noqa: ARG001 - ATen's, no effect
    """``F.group_norm`` (ATen's extra ``cudnn_enabled`` is accepted)."""
    return F.group_norm(input, num_groups, weight, bias, eps)


def _dropout(dropout: Callable, inplace: bool) -> Callable:
    """ATen's ``dropout(input, p, train)`` (no defaults) and its in-place ``dropout_``."""
    def fn(input: Tensor, p: float, train: bool) -> Tensor:  # noqa: A002 - torch's name
        return dropout(input, p, train, inplace)

    fn.__name__ = fn.__qualname__ = dropout.__name__ + "_" * inplace
    fn.__doc__ = f"``F.{dropout.__name__}(input, p, train{', inplace=True' * inplace})``: ATen's signature."
    return fn


def embedding(weight: Tensor, indices: Tensor, padding_idx: int = -1, scale_grad_by_freq: bool = False,
              sparse: bool = False) -> Tensor:
    """``F.embedding`` with ATen's order (weight first); a ``padding_idx`` outside [0, rows) means none, as ATen's
    backward reads it (F has already made a negative one positive when it calls ATen)."""
    padding = padding_idx if 0 <= padding_idx < weight.shape[0] else None
    return F.embedding(indices, weight, padding, scale_grad_by_freq=scale_grad_by_freq, sparse=sparse)


def selu(input: Tensor) -> Tensor:  # noqa: A002 - torch's name
    return F.selu(input)


def celu(input: Tensor, alpha: float = 1.0) -> Tensor:  # noqa: A002 - torch's name
    return F.celu(input, alpha)


def threshold(input: Tensor, threshold: float, value: float) -> Tensor:  # noqa: A002 - torch's name
    return F.threshold(input, threshold, value)


def rrelu(input: Tensor, lower: float = 1 / 8, upper: float = 1 / 3, training: bool = False,  # noqa: A002
          generator=None) -> Tensor:  # noqa: ARG001 - the slopes come from symnet's generator
    return F.rrelu(input, lower, upper, training)


def rrelu_(input: Tensor, lower: float = 1 / 8, upper: float = 1 / 3, training: bool = False,  # noqa: A002
           generator=None) -> Tensor:  # noqa: ARG001 - the slopes come from symnet's generator
    return F.rrelu_(input, lower, upper, training)


def constant_pad_nd(input: Tensor, pad: Sequence[int], value: float = 0) -> Tensor:  # noqa: A002
    """``F.pad(input, pad, 'constant', value)``."""
    return F.pad(input, pad, "constant", value)


def kl_div(input: Tensor, target: Tensor, reduction: int = _MEAN, *,  # noqa: A002 - torch's name
           log_target: bool = False) -> Tensor:
    """``F.kl_div`` with the int reduction (its 1 is the element mean, without F's warning)."""
    return _reduced(F.kl_div(input, target, reduction="none", log_target=log_target), reduction, "kl_div")


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor, weight: Tensor | None = None,  # noqa: A002
                                     pos_weight: Tensor | None = None, reduction: int = _MEAN) -> Tensor:
    loss = F.binary_cross_entropy_with_logits(input, target, weight, reduction="none", pos_weight=pos_weight)
    return _reduced(loss, reduction, "binary_cross_entropy_with_logits")


def margin_ranking_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0.0,
                        reduction: int = _MEAN) -> Tensor:
    loss = F.margin_ranking_loss(input1, input2, target, margin, reduction="none")
    return _reduced(loss, reduction, "margin_ranking_loss")


def hinge_embedding_loss(input: Tensor, target: Tensor, margin: float = 1.0,  # noqa: A002 - torch's name
                         reduction: int = _MEAN) -> Tensor:
    return _reduced(F.hinge_embedding_loss(input, target, margin, reduction="none"), reduction,
                    "hinge_embedding_loss")


def cosine_embedding_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0.0,
                          reduction: int = _MEAN) -> Tensor:
    loss = F.cosine_embedding_loss(input1, input2, target, margin, reduction="none")
    return _reduced(loss, reduction, "cosine_embedding_loss")


def triplet_margin_loss(anchor: Tensor, positive: Tensor, negative: Tensor, margin: float = 1.0, p: float = 2.0,
                        eps: float = 1e-6, swap: bool = False, reduction: int = _MEAN) -> Tensor:
    loss = F.triplet_margin_loss(anchor, positive, negative, margin, p, eps, swap, reduction="none")
    return _reduced(loss, reduction, "triplet_margin_loss")


def poisson_nll_loss(input: Tensor, target: Tensor, log_input: bool, full: bool, eps: float,  # noqa: A002
                     reduction: int) -> Tensor:
    """``F.poisson_nll_loss`` with ATen's signature: every argument required, the int reduction."""
    loss = F.poisson_nll_loss(input, target, log_input, full, eps=eps, reduction="none")
    return _reduced(loss, reduction, "poisson_nll_loss")


#: every top-level name and what it is: F's own function where torch's signature is F's, else the adapter
FUNCTIONS: dict[str, Callable] = {
    **{f.__name__: f for f in (F.conv1d, F.conv2d, F.conv3d, F.conv_transpose1d, F.conv_transpose2d,
                               F.conv_transpose3d, F.adaptive_avg_pool1d, F.pixel_shuffle, F.pixel_unshuffle,
                               F.channel_shuffle, F.cosine_similarity, F.pairwise_distance, F.pdist, F.bilinear,
                               F.rms_norm, F.selu_, F.celu_, F.threshold_)},
    "native_channel_shuffle": F.channel_shuffle,
    **{f.__name__: _max_pool(f) for f in (F.max_pool1d, F.max_pool2d, F.max_pool3d, F.max_pool1d_with_indices)},
    **{fn.__name__: fn for fn in (_dropout(f, inplace) for f in (F.dropout, F.alpha_dropout, F.feature_alpha_dropout)
                                  for inplace in (False, True))},
    **{f.__name__: f for f in (avg_pool1d, adaptive_max_pool1d, batch_norm, instance_norm, layer_norm, group_norm,
                               embedding, selu, celu, threshold, rrelu, rrelu_, constant_pad_nd, kl_div,
                               binary_cross_entropy_with_logits, margin_ranking_loss, hinge_embedding_loss,
                               cosine_embedding_loss, triplet_margin_loss, poisson_nll_loss)},
}
