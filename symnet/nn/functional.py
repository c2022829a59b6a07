"""Activations and losses, named and defaulted as in ``torch.nn.functional``.

Every one is a composition of tensor ops, so its gradient is derived, printed and compiled like any other.
"""

from __future__ import annotations

import functools
import inspect
import warnings
from collections.abc import Callable, Sequence

import numpy as np

from ..core import dtypes
from ..errors import DTypeError, IndexRangeError, NotSupportedError, ShapeError
from ..frontend import creation
from ..frontend.shaping import one_hot  # noqa: F401 - torch.nn.functional.one_hot
from ..frontend.tensor import Tensor
from .batchnorm import batch_norm  # noqa: F401 - torch.nn.functional's normalization
from .distance import cosine_similarity, pairwise_distance  # noqa: F401 - … distances
from .dropout import (  # noqa: F401 - … dropout
    alpha_dropout,
    dropout,
    dropout1d,
    dropout2d,
    dropout3d,
    feature_alpha_dropout,
)
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
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
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
        raise ValueError("ZeroDivisionError in celu: alpha cannot be 0")
    return _activation(input, "elu", alpha, 1, 1 / alpha, inplace=inplace)


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> Tensor:
    """x clamped to [min_val, max_val]; the gradient is 0 at both ends (unlike clamp's)."""
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
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
    """0 on [−λ, λ], x outside."""
    return _activation(input, "hardshrink", lambd)


def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """0 on [−λ, λ], x ∓ λ outside."""
    if lambd < 0:
        raise ValueError(f"lambda must be greater or equal to 0, but found to be {lambd}.")
    return _activation(input, "softshrink", lambd)


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """x for x > 0, else weight·x, with one weight per channel (dim 1) or one for all."""
    if input.dtype != weight.dtype:
        raise DTypeError(f"prelu: Type promoting not supported. Got {input.dtype} and {weight.dtype}")
    if weight.numel() != 1:
        channels = input.shape[1] if input.dim() > 1 else input.shape[0] if input.dim() else 1
        if weight.dim() != 1 or weight.numel() != channels:
            raise ShapeError(f"prelu: mismatch of parameter numbers and input channel size: {weight.numel()} "
                             f"weights for {channels} channels")
        if input.dim() > 1:
            weight = weight.reshape(channels, *([1] * (input.dim() - 2)))
    elif input.dim():
        weight = weight.reshape(*([1] * input.dim()))
    return input._map("prelu", weight, result="float")


def rrelu(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False,
          inplace: bool = False) -> Tensor:
    """In evaluation, leaky_relu with the mean slope (lower + upper)/2; random slopes (training) are not
    supported yet."""
    if training:
        raise NotSupportedError("rrelu in training mode draws a random slope per element, which symnet does "
                                "not support yet; call it with training=False (or the module in eval())")
    return leaky_relu(input, (lower + upper) / 2, inplace)


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


def softmax(input: Tensor, dim: int | None = None) -> Tensor:
    return input.softmax(_softmax_dim(input, dim, "softmax"))


def log_softmax(input: Tensor, dim: int | None = None) -> Tensor:
    return input.log_softmax(_softmax_dim(input, dim, "log_softmax"))


def softmin(input: Tensor, dim: int | None = None) -> Tensor:
    """softmax(−x)."""
    return (-input).softmax(_softmax_dim(input, dim, "softmin"))


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
    """softmax((logits + g)/τ) along ``dim``, g ~ Gumbel(0, 1) from symnet's generator (``sn.manual_seed``);
    ``hard``: the argmax's one-hot forward with the soft sample's gradient (straight through,
    y_hard − y_soft.detach() + y_soft). The noise is drawn when the call runs, so a compiled step binds one
    draw for all its steps (a per-step draw needs a uniform op row beside ``core.random.BernoulliMask``)."""
    if eps != 1e-10:
        warnings.warn("`eps` parameter is deprecated and has no effect.", stacklevel=2)
    if not dtypes.is_float(logits.dtype):
        raise DTypeError(f"Exponential distribution is a continuous probability distribution. dtype must be a "
                         f"floating point but you specified {logits.dtype}")
    exponential = creation.random_generator().standard_exponential(logits.shape)
    gumbels = creation.tensor(-np.log(exponential), dtype=logits.dtype)
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
        raise ValueError("pdist only supports non-negative p values")
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


#: the functions, PyTorch's names (helpers and imported modules are not part of the surface)
__all__ = [name for name, value in globals().items() if not name.startswith("_") and inspect.isfunction(value)]
