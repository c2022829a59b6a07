"""Convolution, pooling, padding, unfold and fold as in ``torch.nn.functional``: argument checks, PyTorch's
geometry (``'same'`` padding, ``ceil_mode``, average-pool counts, adaptive windows), groups, and the unbatched
form — then the op rows of ``symnet.core.windows``, whose gradients are derived."""

from __future__ import annotations

import functools
import inspect
import math
from collections.abc import Sequence

from ..core.dtypes import int64, is_float
from ..core.windows import AdaptiveIndex, AdaptivePool, Conv, ConvTranspose, Fold, Pad, Pool, Unfold, WindowIndex
from ..errors import ArgumentError, DTypeError, NotSupportedError, ShapeError
from ..frontend.shaping import cat
from ..frontend.tensor import Tensor
from ..frontend.trace import shown


def ntuple(value, n: int, name: str) -> tuple[int, ...]:
    """An int or a sequence of n ints, as n ints."""
    if isinstance(value, int) and not isinstance(value, bool):
        return (value,) * n
    if isinstance(value, Sequence) and len(value) == n and all(isinstance(v, int) for v in value):
        return tuple(value)
    if isinstance(value, Sequence) and len(value) == 1 and isinstance(value[0], int):
        return (value[0],) * n
    raise ArgumentError(f"{name} must be an int or a tuple of {n} ints, got {value!r}")


def _batched(input: Tensor, n: int, op: str) -> tuple[Tensor, bool]:
    """The input with a batch dimension, and whether one was added (PyTorch's unbatched form)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: input must be a Tensor, got {type(input).__name__}")
    if input.dim() == n + 1:
        return input.unsqueeze(0), True
    if input.dim() == n + 2:
        return input, False
    raise ShapeError(f"{op}: expected a {n + 1}-d (unbatched) or {n + 2}-d (batched) input, got shape {input.shape}")


def _unbatch(out: Tensor, unbatched: bool) -> Tensor:
    return out.squeeze(0) if unbatched else out


def _floats(op: str, *tensors: Tensor | None) -> None:
    """PyTorch's convolutions take float tensors of one dtype."""
    present = [t for t in tensors if t is not None]
    for t in present:
        if not is_float(t.dtype):
            raise DTypeError(f"{op}: expected float tensors, got dtype {t.dtype}")
    if any(t.dtype != present[0].dtype for t in present):
        raise DTypeError(f"{op}: input, weight and bias must have the same dtype, got "
                         f"{', '.join(str(t.dtype) for t in present)}")


def _pad_op(x: Tensor, pads: Sequence[tuple[int, int]], mode: str = "constant", value: float = 0.0) -> Tensor:
    if all(p == (0, 0) for p in pads):
        return x
    return x._apply(Pad(tuple(pads), mode, value), [x], x.dtype)


# ---------------------------------------------------------------- convolution
def conv_padding(padding, kernel: tuple[int, ...], stride: tuple[int, ...], dilation: tuple[int, ...],
                 op: str) -> tuple[tuple[int, int], ...]:
    """(before, after) per dimension: ``'valid'`` none, ``'same'`` the output's size (extra on the right)."""
    n = len(kernel)
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * n
        if padding != "same":
            raise ArgumentError(f"{op}: padding must be 'valid', 'same', an int or a tuple, got {padding!r}")
        if any(s != 1 for s in stride):
            raise ArgumentError(f"{op}: padding='same' is not supported for strided convolutions")
        totals = [d * (k - 1) for k, d in zip(kernel, dilation, strict=True)]
        return tuple((t // 2, t - t // 2) for t in totals)
    pads = ntuple(padding, n, f"{op} padding")
    if any(p < 0 for p in pads):
        raise ArgumentError(f"{op}: negative padding {pads}")
    return tuple((p, p) for p in pads)


def _groups(groups: int, channels: int, out_channels: int, op: str, weight_shape: tuple) -> None:
    if not isinstance(groups, int) or groups < 1:
        raise ArgumentError(f"{op}: groups must be a positive int, got {groups!r}")
    if channels % groups or out_channels % groups:
        raise ShapeError(f"{op}: groups={groups} must divide both the input channels ({channels}) and the output "
                         f"channels ({out_channels}) of the weight of shape {weight_shape}")


def _operands(n: int, op: str, input: Tensor, weight: Tensor, bias: Tensor | None, stride, dilation):
    """A (transposed) convolution's checked operands: the batched input, whether a batch dimension was added,
    and stride and dilation as n positive ints."""
    _floats(op, input, weight, bias)
    x, unbatched = _batched(input, n, op)
    if weight.dim() != n + 2:
        raise ShapeError(f"{op}: weight of shape {weight.shape} must have {n + 2} dims")
    stride, dilation = ntuple(stride, n, f"{op} stride"), ntuple(dilation, n, f"{op} dilation")
    if any(s < 1 for s in stride) or any(d < 1 for d in dilation):
        raise ArgumentError(f"{op}: stride {stride} and dilation {dilation} must be positive")
    return x, unbatched, stride, dilation


def _grouped(rule, x: Tensor, weight: Tensor, groups: int) -> Tensor:
    """``rule`` over each group: its slice of the input channels and of the weight's first dimension, joined."""
    if groups == 1:
        return x._apply(rule, [x, weight], x.dtype)
    per_in, per_weight = x.shape[1] // groups, weight.shape[0] // groups
    parts = [(x[:, g * per_in:(g + 1) * per_in], weight[g * per_weight:(g + 1) * per_weight]) for g in range(groups)]
    return cat([x._apply(rule, list(part), x.dtype) for part in parts], 1)


def _with_bias(out: Tensor, bias: Tensor | None, n: int, op: str) -> Tensor:
    if bias is None:
        return out
    channels = out.shape[1]
    if bias.shape != (channels,):
        raise ShapeError(f"{op}: bias of shape {bias.shape} does not match {channels} output channels")
    return out + bias.reshape(channels, *(1,) * n)


def convolution(n: int, input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
                dilation=1, groups: int = 1, padding_mode: str = "zeros") -> Tensor:
    op = f"conv{n}d"
    x, unbatched, stride, dilation = _operands(n, op, input, weight, bias, stride, dilation)
    out_channels, group_channels = weight.shape[:2]
    if x.shape[1] != group_channels * groups:
        raise ShapeError(f"{op}: input of shape {input.shape} has {x.shape[1]} channels, but the weight of shape "
                         f"{weight.shape} with groups={groups} expects {group_channels * groups}")
    _groups(groups, x.shape[1], out_channels, op, weight.shape)
    pads = conv_padding(padding, tuple(weight.shape[2:]), stride, dilation, op)
    for size, (lo, hi), k, d in zip(x.shape[2:], pads, weight.shape[2:], dilation, strict=True):
        if d * (k - 1) + 1 > size + lo + hi:
            raise ShapeError(f"{op}: kernel size {k} (dilated to {d * (k - 1) + 1}) is larger than the padded input "
                             f"size {size + lo + hi} (input shape {input.shape}, padding {(lo, hi)}, weight shape "
                             f"{weight.shape})")
    x = _pad_op(x, pads, {"zeros": "constant"}.get(padding_mode, padding_mode))
    out = _grouped(Conv(stride, dilation), x, weight, groups)
    return _unbatch(_with_bias(out, bias, n, op), unbatched)


@shown("ConvolutionBackward0")
def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1) -> Tensor:
    return convolution(1, input, weight, bias, stride, padding, dilation, groups)


@shown("ConvolutionBackward0")
def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1) -> Tensor:
    """``out[b,o,y,x] = Σ_{c,i,j} W[o,c,i,j]·X[b,c,s·y+d·i−p, s·x+d·j−p] + bias[o]`` (a cross-correlation, as in
    PyTorch); its input gradient is derived as the correlation with the flipped kernel."""
    return convolution(2, input, weight, bias, stride, padding, dilation, groups)


@shown("ConvolutionBackward0")
def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1) -> Tensor:
    return convolution(3, input, weight, bias, stride, padding, dilation, groups)


def transposed_convolution(n: int, input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1,
                           padding=0, output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    op = f"conv_transpose{n}d"
    x, unbatched, stride, dilation = _operands(n, op, input, weight, bias, stride, dilation)
    padding, extra = ntuple(padding, n, f"{op} padding"), ntuple(output_padding, n, f"{op} output_padding")
    if any(e >= max(s, d) for e, s, d in zip(extra, stride, dilation, strict=True)):
        raise ArgumentError(f"{op}: output_padding {extra} must be smaller than either stride {stride} or dilation "
                            f"{dilation}")
    in_channels, per_out = weight.shape[:2]
    if x.shape[1] != in_channels:
        raise ShapeError(f"{op}: input of shape {input.shape} has {x.shape[1]} channels, but the weight of shape "
                         f"{weight.shape} expects {in_channels}")
    _groups(groups, in_channels, per_out * groups, op, weight.shape)
    out = _grouped(ConvTranspose(stride, dilation, padding, extra), x, weight, groups)
    return _unbatch(_with_bias(out, bias, n, op), unbatched)


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    return transposed_convolution(1, input, weight, bias, stride, padding, output_padding, groups, dilation)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    return transposed_convolution(2, input, weight, bias, stride, padding, output_padding, groups, dilation)


def conv_transpose3d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    return transposed_convolution(3, input, weight, bias, stride, padding, output_padding, groups, dilation)


# ---------------------------------------------------------------- pooling
def pool_geometry(sizes: Sequence[int], kernel, stride, padding, dilation, ceil_mode: bool, op: str,
                  pad_limit: str = "dilated") -> tuple[tuple, tuple, tuple, tuple, tuple[int, ...]]:
    """kernel, stride, dilation, (before, after) padding — the after side extended for ``ceil_mode``'s last
    window — and the output size, with PyTorch's rules and errors."""
    n = len(sizes)
    kernel = ntuple(kernel, n, f"{op} kernel_size")
    stride = kernel if stride is None or stride == [] or stride == () else ntuple(stride, n, f"{op} stride")
    padding, dilation = ntuple(padding, n, f"{op} padding"), ntuple(dilation, n, f"{op} dilation")
    if any(v < 1 for v in (*kernel, *stride, *dilation)) or any(p < 0 for p in padding):
        raise ArgumentError(f"{op}: kernel {kernel}, stride {stride} and dilation {dilation} must be positive, "
                            f"padding {padding} non-negative")
    pads, out = [], []
    for size, k, s, p, d in zip(sizes, kernel, stride, padding, dilation, strict=True):
        limit = (d * (k - 1) + 1) // 2 if pad_limit == "dilated" else k // 2
        if p > limit:
            raise ArgumentError(f"{op}: padding {p} should be at most half of the kernel size {k}")
        span = d * (k - 1) + 1
        room = size + 2 * p - span
        count = (-(-room // s) if ceil_mode else room // s) + 1
        if ceil_mode and (count - 1) * s >= size + p:
            count -= 1
        if room < 0 or count < 1:
            raise ShapeError(f"{op}: input of spatial size {tuple(sizes)} is too small for kernel {kernel} "
                             f"(dilation {dilation}, padding {padding})")
        extra = max(0, (count - 1) * s + span - (size + 2 * p))
        pads.append((p, p + extra))
        out.append(count)
    return kernel, stride, dilation, tuple(pads), tuple(out)


def max_pooling(n: int, input: Tensor, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False,
                return_indices: bool = False):
    op = f"max_pool{n}d"
    _floats(op, input)
    x, unbatched = _batched(input, n, op)
    kernel, stride, dilation, pads, _ = pool_geometry(x.shape[2:], kernel_size, stride, padding, dilation,
                                                      ceil_mode, op)
    window = Pool("max", kernel, stride, dilation, padding=pads)
    out = _unbatch(x._apply(window, [x], x.dtype), unbatched)
    if not return_indices:
        return out
    position = x._apply(window._replace(combine="argmax"), [x], int64)
    rule = WindowIndex(kernel, stride, dilation, tuple(p for p, _ in pads), tuple(x.shape[2:]))
    return out, _unbatch(position._apply(rule, [position], int64), unbatched)


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    return max_pooling(1, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


@shown("MaxPool2DWithIndicesBackward0")
def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """The maximum of each window; the gradient goes to the first maximal element in the window's row-major
    order, as in PyTorch."""
    return max_pooling(2, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


@shown("MaxPool3DWithIndicesBackward0")
def max_pool3d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    return max_pooling(3, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def avg_pooling(n: int, input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
                count_include_pad: bool = True, divisor_override: int | None = None) -> Tensor:
    op = f"avg_pool{n}d"
    _floats(op, input)
    x, unbatched = _batched(input, n, op)
    kernel, stride, dilation, pads, _ = pool_geometry(x.shape[2:], kernel_size, stride, padding, 1, ceil_mode, op,
                                                      pad_limit="kernel")
    if divisor_override is not None:
        if not isinstance(divisor_override, int) or divisor_override == 0:
            raise ArgumentError(f"{op}: divisor_override must be a non-zero int, got {divisor_override!r}")
        divisor = divisor_override
    else:
        divisor = tuple((p, size, bool(count_include_pad)) for (p, _), size in zip(pads, x.shape[2:], strict=True))
    padded = _pad_op(x, pads)
    return _unbatch(padded._apply(Pool("sum", kernel, stride, dilation, divisor), [padded], x.dtype), unbatched)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True) -> Tensor:
    return avg_pooling(1, input, kernel_size, stride, padding, ceil_mode, count_include_pad)


@shown("AvgPool2DBackward0")
def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None) -> Tensor:
    return avg_pooling(2, input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)


@shown("AvgPool3DBackward0")
def avg_pool3d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None) -> Tensor:
    return avg_pooling(3, input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)


def lp_pooling(n: int, input: Tensor, norm_type: float, kernel_size, stride=None, ceil_mode: bool = False) -> Tensor:
    """(Σ xᵖ)^(1/p) over each window, computed as PyTorch does (an average pool of xᵖ times the window size)."""
    kernel = ntuple(kernel_size, n, f"lp_pool{n}d kernel_size")
    if norm_type in (math.inf, -math.inf):  # the limits, as PyTorch computes them
        sign = 1 if norm_type > 0 else -1
        return sign * max_pooling(n, sign * input.abs(), kernel, stride, 0, 1, ceil_mode)
    out = avg_pooling(n, input.pow(norm_type), kernel, stride, 0, ceil_mode)
    return (out.sign() * out.abs().relu() * math.prod(kernel)).pow(1.0 / norm_type)


def lp_pool1d(input, norm_type, kernel_size, stride=None, ceil_mode=False) -> Tensor:
    return lp_pooling(1, input, norm_type, kernel_size, stride, ceil_mode)


def lp_pool2d(input, norm_type, kernel_size, stride=None, ceil_mode=False) -> Tensor:
    return lp_pooling(2, input, norm_type, kernel_size, stride, ceil_mode)


def lp_pool3d(input, norm_type, kernel_size, stride=None, ceil_mode=False) -> Tensor:
    return lp_pooling(3, input, norm_type, kernel_size, stride, ceil_mode)


def _adaptive_size(output_size, sizes: Sequence[int], op: str) -> tuple[int, ...]:
    n = len(sizes)
    if isinstance(output_size, int) or output_size is None:
        output_size = (output_size,) * n
    if len(output_size) != n:
        raise ArgumentError(f"{op}: output_size must be an int or a tuple of {n}, got {output_size!r}")
    out = tuple(size if o is None else o for o, size in zip(output_size, sizes, strict=True))
    if any(not isinstance(o, int) or o < 0 for o in out):
        raise ArgumentError(f"{op}: output_size must hold non-negative ints, got {output_size!r}")
    return out


def adaptive_pooling(n: int, combine: str, input: Tensor, output_size, return_indices: bool = False):
    op = f"adaptive_{'avg' if combine == 'sum' else 'max'}_pool{n}d"
    _floats(op, input)
    x, unbatched = _batched(input, n, op)
    sizes = tuple(x.shape[2:])
    out_size = _adaptive_size(output_size, sizes, op)
    if any(s == 0 for s in sizes) or any(o == 0 for o in out_size):
        raise ShapeError(f"{op}: cannot pool an input of shape {input.shape} to {out_size}")
    if all(s % o == 0 for s, o in zip(sizes, out_size, strict=True)):
        kernel = tuple(s // o for s, o in zip(sizes, out_size, strict=True))
        if combine == "sum":
            out = avg_pooling(n, x, kernel, kernel)
        else:
            out = max_pooling(n, x, kernel, kernel, return_indices=return_indices)
            if return_indices:
                return _unbatch(out[0], unbatched), _unbatch(out[1], unbatched)
        return _unbatch(out, unbatched)
    out = _unbatch(x._apply(AdaptivePool(combine, out_size), [x], x.dtype), unbatched)
    if not return_indices:
        return out
    position = x._apply(AdaptivePool("argmax", out_size), [x], int64)
    return out, _unbatch(position._apply(AdaptiveIndex(out_size, sizes), [position], int64), unbatched)


def adaptive_avg_pool1d(input, output_size) -> Tensor:
    return adaptive_pooling(1, "sum", input, output_size)


def adaptive_avg_pool2d(input, output_size) -> Tensor:
    return adaptive_pooling(2, "sum", input, output_size)


def adaptive_avg_pool3d(input, output_size) -> Tensor:
    return adaptive_pooling(3, "sum", input, output_size)


def adaptive_max_pool1d(input, output_size, return_indices=False):
    return adaptive_pooling(1, "max", input, output_size, return_indices)


def adaptive_max_pool2d(input, output_size, return_indices=False):
    return adaptive_pooling(2, "max", input, output_size, return_indices)


def adaptive_max_pool3d(input, output_size, return_indices=False):
    return adaptive_pooling(3, "max", input, output_size, return_indices)


def _with_indices(pool):
    """PyTorch's ``<pool>_with_indices``: ``pool`` returning (values, indices) whatever ``return_indices`` says
    (the argument stays in the signature, as there)."""
    signature = inspect.signature(pool)

    @functools.wraps(pool)
    def with_indices(*args, **kwargs) -> tuple[Tensor, Tensor]:
        bound = signature.bind(*args, **kwargs)
        bound.arguments["return_indices"] = True
        return pool(*bound.args, **bound.kwargs)

    with_indices.__name__ = with_indices.__qualname__ = f"{pool.__name__}_with_indices"
    return with_indices


max_pool1d_with_indices, max_pool2d_with_indices, max_pool3d_with_indices, adaptive_max_pool1d_with_indices, \
    adaptive_max_pool2d_with_indices, adaptive_max_pool3d_with_indices = map(_with_indices, (
        max_pool1d, max_pool2d, max_pool3d, adaptive_max_pool1d, adaptive_max_pool2d, adaptive_max_pool3d))


# ---------------------------------------------------------------- padding, unfold, fold
@shown(lambda input, pad, mode="constant", value=None: "ConstantPadNdBackward0" if mode == "constant" else None)
def pad(input: Tensor, pad: Sequence[int], mode: str = "constant", value: float | None = None) -> Tensor:
    """``pad`` lists (before, after) from the last dimension backwards, as in PyTorch; negative values crop
    (constant mode). Modes: constant, reflect, replicate, circular."""
    if not isinstance(pad, Sequence) or len(pad) % 2 or not all(isinstance(p, int) for p in pad):
        raise ArgumentError(f"pad: padding must be a sequence of an even number of ints, got {pad!r}")
    if len(pad) // 2 > input.dim():
        raise ShapeError(f"pad: {len(pad) // 2} padded dims for an input of shape {input.shape}")
    if mode not in ("constant", "reflect", "replicate", "circular"):
        raise ArgumentError(f"pad: mode must be 'constant', 'reflect', 'replicate' or 'circular', got {mode!r}")
    if mode != "constant":
        if value not in (None, 0):
            raise ArgumentError(f"pad: padding mode {mode!r} doesn't take in value argument")
        if any(p < 0 for p in pad) and mode != "circular":
            raise ArgumentError(f"pad: negative padding {tuple(pad)} needs mode 'constant' or 'circular'")
        padded = len(pad) // 2
        if padded > 3 or input.dim() not in (padded + 1, padded + 2):
            raise NotSupportedError(f"pad: padding size {len(pad)} is not supported for {input.dim()}D input tensors "
                                    f"in mode {mode!r} (as in PyTorch: n padded dims need an (n+1)- or (n+2)-d "
                                    "input, n ≤ 3)")
    pairs = [(pad[2 * k], pad[2 * k + 1]) for k in range(len(pad) // 2)][::-1]
    fill = 0.0 if value is None else value
    return _pad_op(input, pairs, mode, fill)


def unfold(input: Tensor, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """Sliding local blocks as columns: (N, C, H, W) → (N, C·kh·kw, L)."""
    x, unbatched = _batched(input, 2, "unfold")
    kernel, dilation = ntuple(kernel_size, 2, "unfold kernel_size"), ntuple(dilation, 2, "unfold dilation")
    padding, stride = ntuple(padding, 2, "unfold padding"), ntuple(stride, 2, "unfold stride")
    x = _pad_op(x, [(p, p) for p in padding])
    return _unbatch(x._apply(Unfold(kernel, stride, dilation), [x], x.dtype), unbatched)


def fold(input: Tensor, output_size, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """Columns summed into an image: (N, C·kh·kw, L) → (N, C, *output_size), the adjoint of unfold."""
    x, unbatched = _batched(input, 1, "fold")
    size, kernel = ntuple(output_size, 2, "fold output_size"), ntuple(kernel_size, 2, "fold kernel_size")
    rule = Fold(size, kernel, ntuple(stride, 2, "fold stride"), ntuple(dilation, 2, "fold dilation"),
                ntuple(padding, 2, "fold padding"))
    return _unbatch(x._apply(rule, [x], x.dtype), unbatched)


__all__ = [
    "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "max_pool1d",
    "max_pool2d", "max_pool3d", "max_pool1d_with_indices", "max_pool2d_with_indices", "max_pool3d_with_indices",
    "avg_pool1d", "avg_pool2d", "avg_pool3d", "lp_pool1d", "lp_pool2d", "lp_pool3d", "adaptive_avg_pool1d",
    "adaptive_avg_pool2d", "adaptive_avg_pool3d", "adaptive_max_pool1d", "adaptive_max_pool2d", "adaptive_max_pool3d",
    "adaptive_max_pool1d_with_indices", "adaptive_max_pool2d_with_indices", "adaptive_max_pool3d_with_indices",
    "pad", "unfold", "fold",
]
