"""Activations and losses, named and defaulted as in ``torch.nn.functional``.

Every one is a composition of tensor ops, so its gradient is derived, printed and compiled like any other.
"""

from __future__ import annotations

import functools
import inspect
import math
import warnings
from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np

from ..core import dtypes
from ..core.ops import Reduce
from ..errors import ArgumentError, DTypeError, IndexRangeError, NotSupportedError, ShapeError
from ..frontend import creation
from ..frontend.batch import depends_on_batch, is_batch_data
from ..frontend.shaping import one_hot  # noqa: F401 - torch.nn.functional.one_hot
from ..frontend.tensor import Tensor
from ..frontend.trace import shown
from .attention import multi_head_attention_forward, scaled_dot_product_attention  # noqa: F401 - … attention
from .batchnorm import batch_norm  # noqa: F401 - torch.nn.functional's normalization
from .ctc import ctc_loss  # noqa: F401 - … connectionist temporal classification loss
from .distance import cosine_similarity, pairwise_distance  # noqa: F401 - … distances
from .dropout import (  # noqa: F401 - … dropout
    alpha_dropout,
    dropout,
    dropout1d,
    dropout2d,
    dropout3d,
    feature_alpha_dropout,
)
from .grid_sampling import affine_grid, grid_sample  # noqa: F401 - … spatial transformers' sampling
from .layers import bilinear, linear  # noqa: F401 - … linear maps
from .normalization import (  # noqa: F401 - … normalization
    group_norm,
    instance_norm,
    layer_norm,
    local_response_norm,
    normalize,
    rms_norm,
)
from .pixelshuffle import channel_shuffle, pixel_shuffle, pixel_unshuffle  # noqa: F401 - … rearranging
from .sliding import (  # noqa: F401 - torch.nn.functional's convolution, pooling and padding
    adaptive_avg_pool1d,
    adaptive_avg_pool2d,
    adaptive_avg_pool3d,
    adaptive_max_pool1d,
    adaptive_max_pool1d_with_indices,
    adaptive_max_pool2d,
    adaptive_max_pool2d_with_indices,
    adaptive_max_pool3d,
    adaptive_max_pool3d_with_indices,
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
    lp_pool3d,
    max_pool1d,
    max_pool1d_with_indices,
    max_pool2d,
    max_pool2d_with_indices,
    max_pool3d,
    max_pool3d_with_indices,
    pad,
    unfold,
)
from .sparse import embedding, embedding_bag  # noqa: F401 - … embeddings
from .unpooling import max_unpool1d, max_unpool2d, max_unpool3d  # noqa: F401 - … max unpooling
from .upsampling import interpolate  # noqa: F401 - … and resampling

#: SELU's α and scale (Klambauer et al. 2017), as PyTorch rounds them
SELU_ALPHA, SELU_SCALE = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946


def _activation(input: Tensor, fn: str, *params, inplace: bool = False, integers: bool = False) -> Tensor:
    """The element function ``fn`` of the op table; ``inplace`` writes the result back as PyTorch's does. Like
    PyTorch's kernels, only the clamping ones (``integers``) take integer tensors, and keep them integer."""
    if dtypes.is_float(input.dtype):
        out = input._map(fn, *params, result="float")
    elif integers:
        out = input._map(fn, *(int(p) for p in params))
    else:
        raise DTypeError(f'"{fn}" is not implemented for {input.dtype} tensors (as in PyTorch)')
    return input.copy_(out) if inplace else out


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    return input.copy_(input.relu()) if inplace else input.relu()


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    return _activation(input, "leaky_relu", float(negative_slope), inplace=inplace)


def sigmoid(input: Tensor) -> Tensor:
    return input.sigmoid()


def tanh(input: Tensor) -> Tensor:
    return input.tanh()


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    return input.softplus(beta, threshold)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """x·Φ(x) (``approximate='none'``, through erf) or its tanh form (``approximate='tanh'``), as in PyTorch."""
    if approximate not in ("none", "tanh"):
        raise ArgumentError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return _activation(input, "gelu" if approximate == "none" else "gelu_tanh")


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x for x > 0, else α·(eˣ − 1); the gradient at 0 is α (PyTorch's side of the kink)."""
    return _activation(input, "elu", alpha, 1, 1, inplace=inplace)


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """scale·elu(x, α) with the self-normalizing constants."""
    return _activation(input, "elu", SELU_ALPHA, SELU_SCALE, 1, inplace=inplace)


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x for x > 0, else α·(e^(x/α) − 1)."""
    if alpha == 0:
        raise ArgumentError("ZeroDivisionError in celu: alpha cannot be 0")
    return _activation(input, "elu", alpha, 1, 1 / alpha, inplace=inplace)


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> Tensor:
    """x clamped to [min_val, max_val]; the gradient is 0 at both ends (unlike clamp's)."""
    if min_val > max_val:
        raise ArgumentError("min_val cannot be greater than max_val")
    return _activation(input, "hardtanh", min_val, max_val, inplace=inplace, integers=True)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    return hardtanh(input, 0.0, 6.0, inplace)


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """0 below −3, 1 above 3, x/6 + 1/2 between."""
    return _activation(input, "hardsigmoid", inplace=inplace)


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """x·hardsigmoid(x)."""
    return _activation(input, "hardswish", inplace=inplace)


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """x·σ(x)."""
    return _activation(input, "silu", inplace=inplace)


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """x·tanh(softplus(x))."""
    return _activation(input, "mish", inplace=inplace)


def logsigmoid(input: Tensor) -> Tensor:
    """log σ(x) = −softplus(−x): finite for any x."""
    return _activation(input, "logsigmoid")


def softsign(input: Tensor) -> Tensor:
    """x/(1 + |x|)."""
    return input._map("softsign", result="float")


def tanhshrink(input: Tensor) -> Tensor:
    """x − tanh(x)."""
    return input._map("tanhshrink", result="float")


def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """x where x > threshold, else value."""
    return _activation(input, "threshold", threshold, value, inplace=inplace, integers=True)


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """0 on [−λ, λ], x outside (``Tensor.hardshrink``)."""
    return input.hardshrink(lambd)


def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """0 on [−λ, λ], x ∓ λ outside."""
    if lambd < 0:
        raise ArgumentError(f"lambda must be greater or equal to 0, but found to be {lambd}.")
    return _activation(input, "softshrink", lambd)


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """x for x > 0, else weight·x, one weight per channel or one for all (``Tensor.prelu``)."""
    return input.prelu(weight)


def rrelu(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False,
          inplace: bool = False) -> Tensor:
    """x where x ≥ 0, else a·x: in training a slope a ~ U(lower, upper) per element (``rand_like``: drawn anew every
    step in a compiled step; its gradient is a, as PyTorch's), in evaluation the mean slope (lower + upper)/2."""
    if not training:
        return leaky_relu(input, (lower + upper) / 2, inplace)
    if not dtypes.is_float(input.dtype):
        raise DTypeError(f"rrelu: expected a floating point input, got {input.dtype}")
    slope = lower + (upper - lower) * creation.rand_like(input)
    out = input.where(input >= 0, input * slope)
    return input.copy_(out) if inplace and input.node is None else out


def _inplace_form(function: Callable[..., Tensor]) -> Callable[..., Tensor]:
    """PyTorch's ``<function>_``: ``function`` with ``inplace=True``, whose result ``Tensor.copy_`` writes into
    ``input`` (refusing, as PyTorch, a leaf that requires grad outside ``no_grad``)."""
    full = inspect.signature(function)
    signature = full.replace(parameters=[p for p in full.parameters.values() if p.name != "inplace"])

    @functools.wraps(function)
    def inplace(*args, **kwargs) -> Tensor:
        bound = signature.bind(*args, **kwargs)
        return function(*bound.args, **bound.kwargs, inplace=True)

    inplace.__name__ = inplace.__qualname__ = f"{function.__name__}_"
    inplace.__doc__ = f"In-place version of ``{function.__name__}``."
    inplace.__signature__ = signature
    return inplace


relu_, elu_, celu_, selu_, hardtanh_, leaky_relu_, threshold_, rrelu_ = map(
    _inplace_form, (relu, elu, celu, selu, hardtanh, leaky_relu, threshold, rrelu))


def softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    return input.softmax(_softmax_dim(input, dim, "softmax"), dtype)


def log_softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    return input.log_softmax(_softmax_dim(input, dim, "log_softmax"), dtype)


def softmin(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """softmax(−x)."""
    return (-input).softmax(_softmax_dim(input, dim, "softmin"), dtype)


def _softmax_dim(input: Tensor, dim: int | None, op: str) -> int:
    """PyTorch's implicit choice when ``dim`` is None (deprecated there): 0 for 0-, 1- and 3-d input, else 1."""
    if dim is not None:
        return dim
    warnings.warn(f"Implicit dimension choice for {op} has been deprecated. Change the call to include dim=X "
                  "as an argument.", stacklevel=3)
    return 0 if input.dim() in (0, 1, 3) else 1


def glu(input: Tensor, dim: int = -1) -> Tensor:
    """a·σ(b) for the halves a, b of ``input`` along ``dim``."""
    if input.dim() == 0:
        raise ShapeError("glu does not support scalars because halving size must be even")
    dim = dim % input.dim()
    size = input.shape[dim]
    if not isinstance(size, int) or size % 2:
        raise ShapeError(f"Halving dimension must be even, but dimension {dim} is size {size}")
    before = (slice(None),) * dim
    return input[(*before, slice(0, size // 2))] * input[(*before, slice(size // 2, size))].sigmoid()


def gumbel_softmax(logits: Tensor, tau: float = 1.0, hard: bool = False, eps: float = 1e-10,
                   dim: int = -1) -> Tensor:
    """softmax((logits + g)/τ) along ``dim``, g = −log(−log(1 − u)) ~ Gumbel(0, 1) from u = ``rand_like`` (symnet's
    generator eagerly; drawn anew every step in a compiled step); ``hard``: the argmax's one-hot forward with the
    soft sample's gradient (straight through, y_hard − y_soft.detach() + y_soft)."""
    if eps != 1e-10:
        warnings.warn("`eps` parameter is deprecated and has no effect.", stacklevel=2)
    if not dtypes.is_float(logits.dtype):
        raise DTypeError(f"Exponential distribution is a continuous probability distribution. dtype must be a "
                         f"floating point but you specified {logits.dtype}")
    gumbels = -(-(1.0 - creation.rand_like(logits)).log()).log()
    y_soft = ((logits + gumbels) / tau).softmax(dim)
    if not hard:
        return y_soft
    y_hard = creation.zeros_like(logits).scatter(dim, y_soft.argmax(dim, keepdim=True), value=1.0)
    return y_hard - y_soft.detach() + y_soft


def pdist(input: Tensor, p: float = 2.0) -> Tensor:
    """‖x_i − x_j‖_p for each pair of rows i < j of an (N, M) input, pairs in row-major order: N(N − 1)/2 values
    (the upper triangle of ``cdist(input, input)``)."""
    if input.dim() != 2:
        raise ShapeError(f"pdist only supports 2D tensors, got: {input.dim()}D")
    if not dtypes.is_float(input.dtype):
        raise DTypeError("pdist only supports floating-point dtypes")
    if p < 0:
        raise ArgumentError("pdist only supports non-negative p values")
    first, second = np.triu_indices(input.shape[0], 1)
    return pairwise_distance(input[creation.tensor(first)], input[creation.tensor(second)], p, eps=0.0)


def _deprecated(name: str) -> None:
    warnings.warn(f"`nn.functional.{name}` is deprecated. Use `nn.functional.interpolate` instead.", stacklevel=3)


def upsample(input: Tensor, size: int | Sequence[int] | None = None,
             scale_factor: float | Sequence[float] | None = None, mode: str = "nearest",
             align_corners: bool | None = None) -> Tensor:
    """Deprecated (as in PyTorch): ``interpolate``."""
    _deprecated("upsample")
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input: Tensor, size: int | Sequence[int] | None = None,
                     scale_factor: float | Sequence[float] | None = None) -> Tensor:
    """Deprecated (as in PyTorch): ``interpolate(mode='nearest')``."""
    _deprecated("upsample_nearest")
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input: Tensor, size: int | Sequence[int] | None = None,
                      scale_factor: float | Sequence[float] | None = None) -> Tensor:
    """Deprecated (as in PyTorch): ``interpolate(mode='bilinear', align_corners=True)``."""
    _deprecated("upsample_bilinear")
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


def _legacy_reduction(size_average: bool | None, reduce: bool | None, reduction: str) -> str:
    """PyTorch's deprecated ``size_average``/``reduce`` pair as a ``reduction`` (with a warning); either left
    None counts as True, and ``reduce=False`` wins."""
    if size_average is None and reduce is None:
        return reduction
    warnings.warn("size_average and reduce are deprecated; use reduction='none'|'mean'|'sum'",
                  DeprecationWarning, stacklevel=3)
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    return "none" if not reduce else ("mean" if size_average else "sum")


def _check_reduction(reduction: str, allowed: tuple[str, ...] = ("none", "mean", "sum")) -> None:
    if reduction not in allowed:
        raise ArgumentError(f"{reduction} is not a valid value for reduction: reduction must be "
                            f"{', '.join(repr(r) for r in allowed)}")


def _reduce(loss: Tensor, reduction: str, weight: Tensor | None = None) -> Tensor:
    """``loss`` reduced; with a ``weight`` per element, PyTorch's weighted mean Σ w·ℓ / Σ w (NaN when every
    weight is 0, as in PyTorch)."""
    _check_reduction(reduction)
    if weight is not None:
        loss = loss * weight
    if reduction == "mean" and not dtypes.is_float(loss.dtype):
        raise DTypeError(f"mean(): could not infer output dtype. Input dtype must be either a floating point or "
                         f"complex dtype. Got: {loss.dtype} (a loss of integer tensors)")
    if reduction == "mean":
        return loss.mean() if weight is None else loss.sum() / weight.expand(loss.shape).sum()
    return loss.sum() if reduction == "sum" else loss


def _same_shape(input: Tensor, target: Tensor, op: str) -> None:
    if input.shape != target.shape:
        raise ShapeError(f"{op}: input shape {input.shape} and target shape {target.shape} differ (Using a "
                         f"target size ({list(target.shape)}) that is different to the input size "
                         f"({list(input.shape)}))")


def _element_weight(input: Tensor, weight: Tensor | None, op: str) -> None:
    if weight is not None and weight.shape != input.shape:
        raise ShapeError(f"{op}: Weights and input must have the same size.")


@functools.lru_cache(maxsize=64)
def _mean_square(rank: int, mean: bool) -> Reduce:
    """The op of Σ (x − y)² (or its mean) over every dimension of inputs of this rank (made once per rank)."""
    return Reduce("sum", tuple(range(rank)), False, mean, fn="squared_difference")


@shown("MseLossBackward0")
def mse_loss(input: Tensor, target: Tensor, size_average: bool | None = None, reduce: bool | None = None,
             reduction: str = "mean", weight: Tensor | None = None) -> Tensor:
    """(input − target)², averaged (or summed) over all elements; with ``weight``, Σ w·d² / Σ w."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _same_shape(input, target, "mse_loss")
    _element_weight(input, weight, "mse_loss")
    if isinstance(input, Tensor) and isinstance(target, Tensor) and input.dtype == target.dtype and \
            dtypes.is_float(input.dtype):
        if reduction in ("mean", "sum") and weight is None and input.numel():  # one op, as PyTorch's
            return input._apply(_mean_square(input.dim(), reduction == "mean"), [input, target], input.dtype)
        return _reduce(input._map("squared_difference", target), reduction, weight)
    diff = input - target
    return _reduce(diff * diff, reduction, weight)


def l1_loss(input: Tensor, target: Tensor, size_average: bool | None = None, reduce: bool | None = None,
            reduction: str = "mean", weight: Tensor | None = None) -> Tensor:
    """|input − target|, averaged (or summed) over all elements; with ``weight``, Σ w·|d| / Σ w."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _same_shape(input, target, "l1_loss")
    _element_weight(input, weight, "l1_loss")
    return _reduce((input - target).abs(), reduction, weight)


def _smooth_l1(input: Tensor, target: Tensor, beta: float) -> Tensor:
    """0.5·d²/β where |d| < β, else |d| − 0.5·β (d = input − target); written with m = min(|d|, β) as
    0.5·m²/β + (|d| − m), so no branch squares a huge |d| (finite wherever PyTorch is)."""
    d = (input - target).abs()
    if beta <= 0:
        return d
    m = d.clamp(max=beta)
    return 0.5 * m * m / beta + (d - m)


@shown("SmoothL1LossBackward0")
def smooth_l1_loss(input: Tensor, target: Tensor, size_average: bool | None = None, reduce: bool | None = None,
                   reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """Quadratic below |d| = β, linear above (l1_loss for β = 0)."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _same_shape(input, target, "smooth_l1_loss")
    if beta < 0:
        raise ArgumentError("smooth_l1_loss does not support negative values for beta.")
    return _reduce(_smooth_l1(input, target, beta), reduction)


@shown("HuberLossBackward0")
def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean", delta: float = 1.0,
               weight: Tensor | None = None) -> Tensor:
    """0.5·d² where |d| < δ, else δ·(|d| − 0.5·δ): δ·smooth_l1 with β = δ."""
    _same_shape(input, target, "huber_loss")
    _element_weight(input, weight, "huber_loss")
    if delta <= 0:
        raise ArgumentError("huber_loss does not support non-positive values for delta.")
    loss = _smooth_l1(input, target, delta) * delta
    return _reduce(loss if weight is None else loss * weight, reduction)  # a plain mean, as PyTorch's


@shown("BinaryCrossEntropyBackward0")
def binary_cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                         size_average: bool | None = None, reduce: bool | None = None,
                         reduction: str = "mean") -> Tensor:
    """−w·(t·log p + (1 − t)·log(1 − p)), each log clamped at −100, with PyTorch's gradient (finite at 0 and
    1); ``weight`` broadcasts to the input."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    if input.shape != target.shape:
        raise ShapeError(f"binary_cross_entropy: Using a target size ({list(target.shape)}) that is different "
                         f"to the input size ({list(input.shape)}) is deprecated. Please ensure they have the "
                         "same size.")
    if input.dtype != target.dtype:
        raise DTypeError(f"binary_cross_entropy: Found dtype {_TORCH_NAMES.get(target.dtype, target.dtype)} but "
                         f"expected {_TORCH_NAMES.get(input.dtype, input.dtype)} (input and target dtypes differ)")
    for name, t in (("input", input), ("target", target)):
        if not depends_on_batch(t):  # a compiled step's batch: no value yet
            values = t._array()
            if not ((values >= 0) & (values <= 1)).all():
                raise RuntimeError(f"binary_cross_entropy: all elements of {name} should be between 0 and 1")
    loss = input._map("binary_cross_entropy", target, result="float")
    return _reduce(loss if weight is None else loss * weight, reduction)


@shown("BinaryCrossEntropyWithLogitsBackward0")
def binary_cross_entropy_with_logits(input: Tensor, target: Tensor, weight: Tensor | None = None,
                                     size_average: bool | None = None, reduce: bool | None = None,
                                     reduction: str = "mean", pos_weight: Tensor | None = None) -> Tensor:
    """w·((1 − t)·x + (1 + (pw − 1)·t)·softplus(−x)): stable for any logit; ``pos_weight`` weighs the positive
    term per class (broadcast along the last dim), ``weight`` each element."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    if input.shape != target.shape:
        raise ShapeError(f"binary_cross_entropy_with_logits: Target size ({list(target.shape)}) must be the "
                         f"same as input size ({list(input.shape)})")
    if not dtypes.is_float(target.dtype):
        raise DTypeError(f"binary_cross_entropy_with_logits: result type Double can't be cast to the desired "
                         f"output type {target.dtype}: the target must be a float tensor")
    loss = _logistic(input, target, pos_weight)
    return _reduce(loss if weight is None else loss * weight, reduction)


def _logistic(input: Tensor, target: Tensor, pos_weight: Tensor | None = None) -> Tensor:
    """−(pw·t·log σ(x) + (1 − t)·log σ(−x)) = (1 − t)·x + (1 + (pw − 1)·t)·softplus(−x), finite for any x."""
    log_sigmoid = (-input).softplus(threshold=float("inf"))
    if pos_weight is not None:
        log_sigmoid = (1 + (pos_weight - 1) * target) * log_sigmoid
    return (1 - target) * input + log_sigmoid


def _class_dim(input: Tensor) -> int:
    """The classes are dim 1 of (N, C, d1, …) and dim 0 of an unbatched (C,)."""
    return 1 if input.dim() >= 2 else 0


def _check_labels(input: Tensor, target: Tensor, ignore_index: int, op: str) -> None:
    """Class-index targets: int64, the input's shape without its class dim, each in [0, C) or ignore_index
    (a leaf's values are checked now; computed ones by the gather's range check when the step runs)."""
    if input.dim() == 0:
        raise ShapeError(f"{op}: input tensor should be 1D, 2D or more (N, C, d1, …), got a 0-d tensor")
    if target.dtype != dtypes.int64:
        raise DTypeError(f"{op}: target must hold integer class indices (int64), got dtype {target.dtype} "
                         "(expected scalar type Long)")
    cdim = _class_dim(input)
    expected = input.shape[:cdim] + input.shape[cdim + 1:]
    if target.shape != expected:
        raise ShapeError(f"{op}: input of shape {input.shape} needs a target of shape {expected}, got "
                         f"{target.shape}" + (f" (Expected input batch_size ({input.shape[0]}) to match target "
                                              f"batch_size ({target.shape[0]}).)" if target.dim() and cdim else ""))
    bad = _out_of_range(target, input.shape[cdim], ignore_index)
    if bad is not None:
        raise IndexRangeError(f"{op}: target {bad} is out of bounds for {input.shape[cdim]} classes (Target {bad} "
                              "is out of bounds.)")


def _out_of_range(target: Tensor, classes: int, allowed: int) -> int | None:
    """The first label of a leaf ``target`` outside [0, classes) that is not ``allowed``; a computed target
    is checked by its gather when the step runs."""
    if target.node is not None or not target.numel():
        return None
    labels = target._array()
    bad = labels[((labels < 0) | (labels >= classes)) & (labels != allowed)]
    return int(bad.flat[0]) if bad.size else None


#: PyTorch's names of the float dtypes in its messages
_TORCH_NAMES = {dtypes.float64: "Double", dtypes.float32: "Float", dtypes.int64: "Long"}


def _class_weight(input: Tensor, weight: Tensor | None, op: str) -> None:
    if weight is None:
        return
    classes = input.shape[_class_dim(input)]
    if weight.dim() != 1 or weight.shape[0] != classes:
        raise ShapeError(f"{op}: weight tensor should be defined either for all {classes} classes or no classes "
                         f"but got weight tensor of shape: {list(weight.shape)}")
    if weight.dtype != input.dtype:
        raise DTypeError(f"{op}: expected scalar type {_TORCH_NAMES.get(input.dtype, input.dtype)} but found "
                         f"{_TORCH_NAMES.get(weight.dtype, weight.dtype)} (the weight's dtype must be the input's)")


class _Labels(NamedTuple):
    """Class-index targets and their weights; ``kept`` (target ≠ ignore_index) is None when no target can be
    ignored: values fixed for this call (a leaf outside a compiled step's batch) that hold no ignore_index."""

    kept: Tensor | None
    safe: Tensor  # the target, 0 where ignored (a valid index to gather with)
    weight: Tensor | None  # weight[target], 0 where ignored; None without class weights

    @classmethod
    def of(cls, input: Tensor, target: Tensor, weight: Tensor | None, ignore_index: int) -> _Labels:
        if target.node is None and not is_batch_data(target) and not (target._array() == ignore_index).any():
            return cls(None, target, None if weight is None else weight.take(target))
        kept = target != ignore_index
        safe = target.where(kept, 0)
        return cls(kept, safe, None if weight is None else weight.take(safe).where(kept, 0.0))

    def reduce(self, loss: Tensor, reduction: str) -> Tensor:
        """``loss`` (per target) 0 where ignored; 'mean' divides by Σ weight[target] over the targets kept.
        With every target ignored the mean is NaN and the gradient 0, as in PyTorch: the division is by a safe
        divisor (a plain 0/0 would send δ·∞·0 = NaN back) and the NaN is added apart, as 0/Σ w."""
        if self.kept is None:
            if reduction == "mean" and self.weight is not None:
                return loss.sum() / self.weight.sum()
            return _reduce(loss, reduction)
        loss = loss.where(self.kept, 0.0)
        if reduction != "mean":
            return _reduce(loss, reduction)
        total = (self.kept.to(loss.dtype) if self.weight is None else self.weight).sum()
        return loss.sum() / total.where(total != 0, 1.0) + 0.0 / total


def _nll(logp: Tensor, labels: _Labels, reduction: str) -> Tensor:
    """−w[t]·logp[b, t, …]."""
    cdim = _class_dim(logp)
    picked = -logp.gather(cdim, labels.safe.unsqueeze(cdim)).squeeze(cdim)
    return labels.reduce(picked if labels.weight is None else picked * labels.weight, reduction)


@shown("NllLossBackward0")
def nll_loss(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average: bool | None = None,
             ignore_index: int = -100, reduce: bool | None = None, reduction: str = "mean") -> Tensor:
    """−weight[t]·input[b, t, …] for t = target[b, …]: the loss on log-probabilities."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    _check_labels(input, target, ignore_index, "nll_loss")
    _class_weight(input, weight, "nll_loss")
    return _nll(input, _Labels.of(input, target, weight, ignore_index), reduction)


def _along_classes(weight: Tensor, input: Tensor) -> Tensor:
    """A per-class weight shaped to broadcast along the input's class dim."""
    return weight.reshape(-1, *(1,) * (input.dim() - _class_dim(input) - 1))


def _cross_entropy_name(input: Tensor, target: Tensor, *args, **kwargs) -> str | None:
    """Cross entropy of class indices is PyTorch's ``nll_loss`` of a log-softmax; of probabilities, a composite."""
    return None if dtypes.is_float(target.dtype) else "NllLossBackward0"


@shown(_cross_entropy_name)
def cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average: bool | None = None,
                  ignore_index: int = -100, reduce: bool | None = None, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Tensor:
    """−log_softmax(input)[b, t, …] for class indices (its gradient comes out as softmax − onehot), or
    −Σ_c t_c·log_softmax(input)_c for class probabilities (a float target of the input's shape). With
    ``label_smoothing`` ε: (1 − ε)·that + ε/C·(−Σ_c w_c·log_softmax_c), each mean over the same weights."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ArgumentError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    _class_weight(input, weight, "cross_entropy")
    if not dtypes.is_float(input.dtype):
        raise NotSupportedError(f'cross_entropy: "log_softmax" not implemented for {input.dtype} input')
    probabilities = dtypes.is_float(target.dtype) and target.shape == input.shape and input.dim() > 0
    if not probabilities:
        _check_labels(input, target, ignore_index, "cross_entropy")
    cdim = _class_dim(input)
    classes = input.shape[cdim]
    logp = input.log_softmax(cdim)
    weighted = logp if weight is None else logp * _along_classes(weight, input)
    if probabilities:
        if label_smoothing:
            target = target * (1 - label_smoothing) + label_smoothing / classes
        loss = -(weighted * target).sum(cdim)
        if reduction == "mean":
            return loss.sum() / (input.numel() // classes if input.numel() else 0.0)
        return _reduce(loss, reduction)
    labels = _Labels.of(input, target, weight, ignore_index)
    loss = _nll(logp, labels, reduction)
    if not label_smoothing:
        return loss
    smooth = labels.reduce(-weighted.sum(cdim), reduction)
    return (1 - label_smoothing) * loss + smooth * (label_smoothing / classes)


def _xlogy(x: Tensor, y: Tensor) -> Tensor:
    """x·log y, and 0 where x = 0 (torch.xlogy)."""
    return (x * y.log()).where(x != 0, 0.0)


def kl_div(input: Tensor, target: Tensor, size_average: bool | None = None, reduce: bool | None = None,
           reduction: str = "mean", log_target: bool = False) -> Tensor:
    """t·(log t − input) pointwise, input being log-probabilities (0 where t = 0); with ``log_target``,
    eᵗ·(t − input). ``'batchmean'`` divides the sum by the batch size (KL's definition); ``'mean'`` (the
    default, with PyTorch's warning) by the element count."""
    if size_average is not None or reduce is not None:
        reduction = _legacy_reduction(size_average, reduce, reduction)
    elif reduction == "mean":
        warnings.warn("reduction: 'mean' divides the total loss by both the batch size and the support size."
                      "'batchmean' divides only by the batch size, and aligns with the KL div math definition."
                      "'mean' will be changed to behave the same as 'batchmean' in the next major release.",
                      stacklevel=2)
    _check_reduction(reduction, ("none", "mean", "sum", "batchmean"))
    loss = target.exp() * (target - input) if log_target else _xlogy(target, target) - target * input
    if reduction == "batchmean":
        return loss.sum() / input.shape[0] if input.dim() else loss.sum()
    return _reduce(loss, reduction)


def poisson_nll_loss(input: Tensor, target: Tensor, log_input: bool = True, full: bool = False,
                     size_average: bool | None = None, eps: float = 1e-8, reduce: bool | None = None,
                     reduction: str = "mean") -> Tensor:
    """eˣ − t·x for a log rate x (``log_input``), else x − t·log(x + eps); ``full`` adds Stirling's
    t·log t − t + ½·log(2πt) where t > 1."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    loss = input.exp() - target * input if log_input else input - target * (input + eps).log()
    if full:
        stirling = _xlogy(target, target) - target + 0.5 * (2 * math.pi * target).log()
        loss = loss + stirling.where(target > 1, 0.0)
    return _reduce(loss, reduction)


def _gaussian_var(input: Tensor, var: Tensor | float) -> Tensor:
    """``var`` shaped against ``input`` by PyTorch's rules: the same shape, one dim short (homoscedastic),
    or the same rank with exactly one dim of size 1 where the input's differs."""
    if isinstance(var, int | float):
        if var < 0:
            raise ArgumentError("var has negative entry/entries")
        return creation.full_like(input, float(var))
    if var.node is None and var.numel() and (var._array() < 0).any():
        raise ArgumentError("var has negative entry/entries")
    if var.shape == input.shape:
        return var
    if input.shape[:-1] == var.shape:
        return var.unsqueeze(-1)
    if input.dim() == var.dim() and sum(v for i, v in zip(input.shape, var.shape, strict=True) if i != v) == 1:
        return var
    raise ShapeError("var is of incorrect size")


def gaussian_nll_loss(input: Tensor, target: Tensor, var: Tensor | float, full: bool = False, eps: float = 1e-6,
                      reduction: str = "mean") -> Tensor:
    """½·(log v + (input − target)²/v), v = max(var, eps) with the clamp outside the graph (the gradient
    reaches var as if unclamped, as PyTorch's no_grad clamp); ``full`` adds ½·log 2π."""
    var = _gaussian_var(input, var)
    _check_reduction(reduction)
    var = var + (var.clamp(min=eps) - var)._map("stop_gradient")
    diff = input - target
    loss = 0.5 * (var.log() + diff * diff / var)
    return _reduce(loss + 0.5 * math.log(2 * math.pi) if full else loss, reduction)


def margin_ranking_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0,
                        size_average: bool | None = None, reduce: bool | None = None,
                        reduction: str = "mean") -> Tensor:
    """max(0, −y·(x1 − x2) + margin), y = ±1 saying which input should rank higher."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    if not input1.dim() == input2.dim() == target.dim():
        raise ShapeError(f"margin_ranking_loss : All input tensors should have same dimension but got sizes: "
                         f"input1: {list(input1.shape)}, input2: {list(input2.shape)}, target: "
                         f"{list(target.shape)} ")
    return _reduce((-target * (input1 - input2) + margin).clamp(min=0), reduction)


def hinge_embedding_loss(input: Tensor, target: Tensor, margin: float = 1.0, size_average: bool | None = None,
                         reduce: bool | None = None, reduction: str = "mean") -> Tensor:
    """x where y = 1, max(0, margin − x) where y = −1 (x a distance, y = ±1)."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    margin_term = (margin - input).clamp(min=0).where(target != 1, 0.0)
    return _reduce(margin_term + input.where(target != -1, 0.0), reduction)


def soft_margin_loss(input: Tensor, target: Tensor, size_average: bool | None = None, reduce: bool | None = None,
                     reduction: str = "mean") -> Tensor:
    """log(1 + e^(−y·x)) = softplus(−y·x): the logistic loss of a ±1 target."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    return _reduce((-target * input).softplus(threshold=float("inf")), reduction)


def multilabel_soft_margin_loss(input: Tensor, target: Tensor, weight: Tensor | None = None,
                                size_average: bool | None = None, reduce: bool | None = None,
                                reduction: str = "mean") -> Tensor:
    """−(t·log σ(x) + (1 − t)·log σ(−x)), weighted, averaged over the classes (the last dim)."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    loss = _logistic(input, target)
    if weight is not None:
        loss = loss * weight
    dim = input.dim() - 1
    return _reduce(loss.sum(dim) / input.shape[dim], reduction)


def _check_multi_target(input: Tensor, target: Tensor, op: str) -> None:
    if input.dim() > 2 or (input.dim() == 2 and input.shape[1] == 0):
        raise ShapeError(f"{op}: Expected non-empty vector or matrix with optional 0-dim batch size, but got: "
                         f"{list(input.shape)}")
    if target.dtype != dtypes.int64:
        raise DTypeError(f"{op}: expected scalar type Long but found {target.dtype}")


def multi_margin_loss(input: Tensor, target: Tensor, p: int = 1, margin: float = 1.0,
                      weight: Tensor | None = None, size_average: bool | None = None, reduce: bool | None = None,
                      reduction: str = "mean") -> Tensor:
    """Σ_{i ≠ y} w[y]·max(0, margin − x[y] + x[i])^p / C: the multi-class hinge loss (p 1 or 2)."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    if p not in (1, 2):
        raise ArgumentError("only p == 1 and p == 2 supported")
    _check_multi_target(input, target, "multi_margin_loss")
    vector = input.reshape(1) if input.dim() == 0 else input
    dim = vector.dim() - 1
    classes = vector.shape[dim]
    if target.shape != vector.shape[:dim]:
        raise ShapeError(f"multi_margin_loss: target tensor should be 1-D with size equal to the number of input "
                         f"samples (batch size). Expected target size {list(vector.shape[:dim])}, but got "
                         f"{list(target.shape)}. Input has shape {list(input.shape)}.")
    if _out_of_range(target, classes, 0) is not None:
        raise IndexRangeError(f"multi_margin_loss: target out of range for {classes} classes")
    if weight is not None and (weight.dim() != 1 or weight.shape[0] != classes):
        raise ShapeError(f"multi_margin_loss: inconsistent weight size, expected {classes} but got "
                         f"{list(weight.shape)}")
    picked = vector.gather(dim, target.unsqueeze(dim))
    hinge = (margin - picked + vector).relu()  # PyTorch's kernel counts z > 0 only: no gradient at z = 0
    if p == 2:
        hinge = hinge * hinge
    others = target.unsqueeze(dim) != creation.arange(classes)
    loss = (hinge * others.to(input.dtype)).sum(dim) / classes
    return _reduce(loss if weight is None else loss * weight.take(target), reduction)


def multilabel_margin_loss(input: Tensor, target: Tensor, size_average: bool | None = None,
                           reduce: bool | None = None, reduction: str = "mean") -> Tensor:
    """Σ_{j target} Σ_{i not target} max(0, 1 − (x[j] − x[i])) / C, the targets being the class indices of
    ``target``'s row up to its first −1."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    _check_multi_target(input, target, "multilabel_margin_loss")
    if target.shape != input.shape:
        raise ShapeError(f"multilabel_margin_loss: inconsistent target size: {list(target.shape)} for input of "
                         f"size: {list(input.shape)}")
    if input.dim() == 0:
        input, target = input.reshape(1), target.reshape(1)
    classes = input.shape[-1]
    if _out_of_range(target, classes, -1) is not None:
        raise IndexRangeError(f"multilabel_margin_loss: argument #2 'target' is out of range for {classes} "
                              "classes")
    listed = (target < 0).to(dtypes.int64).cumsum(-1) == 0  # before the first −1
    safe = target.masked_fill(~listed, 0)
    is_target = ((safe.unsqueeze(-1) == creation.arange(classes)) & listed.unsqueeze(-1)).any(-2)
    picked = input.gather(-1, safe)
    hinge = (1 - picked.unsqueeze(-1) + input.unsqueeze(-2)).relu()  # [j, i]; no gradient at 0, as PyTorch
    pairs = (listed.unsqueeze(-1) & ~is_target.unsqueeze(-2)).to(input.dtype)
    return _reduce((hinge * pairs).sum((-2, -1)) / classes, reduction)


def cosine_embedding_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0,
                          size_average: bool | None = None, reduce: bool | None = None,
                          reduction: str = "mean") -> Tensor:
    """1 − cos(x1, x2) where y = 1, max(0, cos − margin) where y = −1; cos = Σ x1·x2 / √((‖x1‖² + ε)(‖x2‖² + ε))
    with PyTorch's ε = 10⁻¹²."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    if target.dim() > 1:
        raise ShapeError("cosine_embedding_loss: 0D or 1D target tensor expected, multi-target not supported")
    if input1.dim() != target.dim() + 1 or input2.dim() != input1.dim():
        raise ShapeError(f"cosine_embedding_loss: 1D target tensor expects 2D input tensors, 0D target tensor "
                         f"expects 1D input tensors, but found inputs with sizes {list(input1.shape)} and "
                         f"{list(input2.shape)} and target with size {list(target.shape)}")
    dim = input1.dim() - 1
    epsilon = 1e-12
    cos = (input1 * input2).sum(dim) / (((input1 * input1).sum(dim) + epsilon)
                                        * ((input2 * input2).sum(dim) + epsilon)).sqrt()
    loss = (1 - cos).where(target == 1, 0.0) + (cos - margin).clamp(min=0).where(target == -1, 0.0)
    return _reduce(loss, reduction)


def _triplet(dist_pos: Tensor, dist_neg: Tensor, dist_swap: Tensor | None, margin: float,
             reduction: str) -> Tensor:
    if dist_swap is not None:
        dist_neg = dist_neg.minimum(dist_swap)
    return _reduce((margin + dist_pos - dist_neg).clamp(min=0), reduction)


def _check_triplet(anchor: Tensor, positive: Tensor, negative: Tensor) -> None:
    if not anchor.dim() == positive.dim() == negative.dim():
        raise ShapeError(f"The anchor, positive, and negative tensors are expected to have the same number of "
                         f"dimensions, but got: anchor {anchor.dim()}D, positive {positive.dim()}D, and "
                         f"negative {negative.dim()}D inputs")


def triplet_margin_loss(anchor: Tensor, positive: Tensor, negative: Tensor, margin: float = 1.0, p: float = 2,
                        eps: float = 1e-6, swap: bool = False, size_average: bool | None = None,
                        reduce: bool | None = None, reduction: str = "mean") -> Tensor:
    """max(0, margin + d(a, p) − d(a, n)), d the p-norm pairwise distance; ``swap`` uses min(d(a, n), d(p, n))."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    _check_triplet(anchor, positive, negative)
    swapped = pairwise_distance(positive, negative, p, eps) if swap else None
    return _triplet(pairwise_distance(anchor, positive, p, eps), pairwise_distance(anchor, negative, p, eps),
                    swapped, margin, reduction)


def triplet_margin_with_distance_loss(anchor: Tensor, positive: Tensor, negative: Tensor, *,
                                      distance_function: Callable[[Tensor, Tensor], Tensor] | None = None,
                                      margin: float = 1.0, swap: bool = False, reduction: str = "mean") -> Tensor:
    """triplet_margin_loss with any distance (pairwise_distance by default)."""
    _check_reduction(reduction)
    if margin <= 0:
        raise ArgumentError(f"triplet_margin_with_distance_loss: margin must be greater than 0, got {margin}")
    _check_triplet(anchor, positive, negative)
    distance = pairwise_distance if distance_function is None else distance_function
    swapped = distance(positive, negative) if swap else None
    return _triplet(distance(anchor, positive), distance(anchor, negative), swapped, margin, reduction)


#: the functions, PyTorch's names (helpers and imported modules are not part of the surface)
__all__ = [name for name, value in globals().items() if not name.startswith("_") and inspect.isfunction(value)]
