"""Convolution, pooling, padding, unfold and fold modules with PyTorch's names, arguments, defaults, initial
values and ``state_dict`` keys; the lazy variants learn their input channels at the first call."""

from __future__ import annotations

import math

from ..errors import ArgumentError
from ..frontend.creation import zeros
from ..frontend.device import check_device
from ..frontend.tensor import Tensor
from . import init
from . import sliding as S
from .layers import Linear
from .module import Module, Parameter

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


class _ConvNd(Module):
    """Shared by Conv1d/2d/3d and ConvTranspose1d/2d/3d: weight (out, in/groups, *k) — (in, out/groups, *k) when
    transposed — drawn like PyTorch's (kaiming_uniform, a = √5), bias U(−1/√fan_in, 1/√fan_in)."""

    n = 0
    transposed = False

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, dilation=1,
                 groups: int = 1, bias: bool = True, padding_mode: str = "zeros", output_padding=0,
                 device=None, dtype=None):
        super().__init__()
        n, kind = self.n, type(self).__name__
        if groups < 1 or in_channels % groups:
            raise ArgumentError(f"{kind}: in_channels ({in_channels}) must be divisible by groups ({groups})")
        if out_channels % groups:
            raise ArgumentError(f"{kind}: out_channels ({out_channels}) must be divisible by groups ({groups})")
        if padding_mode not in PADDING_MODES:
            raise ArgumentError(f"{kind}: padding_mode must be one of {PADDING_MODES}, got {padding_mode!r}")
        if self.transposed and padding_mode != "zeros":
            raise ArgumentError(f"{kind}: only 'zeros' padding mode is supported")
        check_device(device)
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = S.ntuple(kernel_size, n, f"{kind} kernel_size")
        self.stride, self.dilation = S.ntuple(stride, n, f"{kind} stride"), S.ntuple(dilation, n, f"{kind} dilation")
        self.padding = padding if isinstance(padding, str) else S.ntuple(padding, n, f"{kind} padding")
        if isinstance(padding, str):
            S.conv_padding(padding, self.kernel_size, self.stride, self.dilation, kind)
        self.output_padding = S.ntuple(output_padding, n, f"{kind} output_padding")
        self.padding_mode = padding_mode
        shape = (in_channels, out_channels // groups) if self.transposed else (out_channels, in_channels // groups)
        self.weight = Parameter(zeros(*shape, *self.kernel_size, dtype=dtype))
        self.bias = Parameter(zeros(out_channels, dtype=dtype)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = self.weight.shape[1] * math.prod(self.kernel_size)
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input: Tensor) -> Tensor:
        if self.padding_mode == "zeros":
            return S.convolution(self.n, input, self.weight, self.bias, self.stride, self.padding, self.dilation,
                                 self.groups)
        pads = S.conv_padding(self.padding, self.kernel_size, self.stride, self.dilation, type(self).__name__)
        flat = [p for pair in reversed(pads) for p in pair]
        padded = S.pad(input, flat, mode=self.padding_mode)
        return S.convolution(self.n, padded, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)

    def extra_repr(self) -> str:
        text = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0,) * self.n:
            text += f", padding={self.padding}"  # a string unquoted, as PyTorch prints padding=same
        if self.dilation != (1,) * self.n:
            text += f", dilation={self.dilation}"
        if self.output_padding != (0,) * self.n:
            text += f", output_padding={self.output_padding}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        if self.padding_mode != "zeros":
            text += f", padding_mode={self.padding_mode}"
        return text


class _ConvTransposeNd(_ConvNd):
    transposed = True

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, output_padding=0,
                 groups: int = 1, bias: bool = True, dilation=1, padding_mode: str = "zeros", device=None,
                 dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, output_padding, device, dtype)

    def forward(self, input: Tensor, output_size=None) -> Tensor:
        extra = self.output_padding
        if output_size is not None:
            extra = self._output_padding(input, output_size)
        return S.transposed_convolution(self.n, input, self.weight, self.bias, self.stride, self.padding, extra,
                                        self.groups, self.dilation)

    def _output_padding(self, input: Tensor, output_size) -> tuple[int, ...]:
        """The output_padding that gives ``output_size`` (PyTorch's rule: within one stride of the smallest)."""
        n = self.n
        size = list(output_size)[-n:]
        extra = []
        for p, want in enumerate(size):
            smallest = ((input.shape[input.dim() - n + p] - 1) * self.stride[p] - 2 * self.padding[p]
                        + self.dilation[p] * (self.kernel_size[p] - 1) + 1)
            if not smallest <= want < smallest + self.stride[p]:
                raise ArgumentError(f"{type(self).__name__}: requested output size {tuple(size)} is not reachable: "
                                    f"dim {p} must lie in [{smallest}, {smallest + self.stride[p] - 1}]")
            extra.append(want - smallest)
        return tuple(extra)


class Conv1d(_ConvNd):
    n = 1


class Conv2d(_ConvNd):
    """``out[b,o,y,x] = Σ_{c,i,j} W[o,c,i,j]·X[b,c,s·y+d·i−p, s·x+d·j−p] + bias[o]``, as ``torch.nn.Conv2d``."""

    n = 2


class Conv3d(_ConvNd):
    n = 3


class ConvTranspose1d(_ConvTransposeNd):
    n = 1


class ConvTranspose2d(_ConvTransposeNd):
    """The adjoint of Conv2d (its input gradient as a layer); output size (H−1)·s − 2p + d·(k−1) + output_padding
    + 1."""

    n = 2


class ConvTranspose3d(_ConvTransposeNd):
    n = 3


class LazyModule(Module):
    """A layer whose input size is read off its first input; it then becomes the layer it stands for (PyTorch's
    ``cls_to_become``), with parameters drawn as that layer's."""

    becomes: type[Module] = Module

    def __init__(self, *args, **kwargs):
        super().__init__()
        object.__setattr__(self, "_pending", (args, kwargs))

    def in_size(self, input: Tensor) -> int:
        raise NotImplementedError

    def forward(self, input: Tensor, *args) -> Tensor:
        layer_args, kwargs = self._pending
        layer = self.becomes(self.in_size(input), *layer_args, **kwargs)
        object.__setattr__(self, "__class__", self.becomes)
        self.__dict__.pop("_pending")
        kept = ("_parameters", "_modules", "training")  # the mode set before the first call stays
        self.__dict__.update({k: v for k, v in layer.__dict__.items() if k not in kept})
        for name, p in layer._parameters.items():
            setattr(self, name, p)
        if "bias" in layer.__dict__ and layer.bias is None:
            object.__setattr__(self, "bias", None)
        return self.forward(input, *args)

    def to(self, dtype) -> Module:
        """The dtype the parameters will be made in (PyTorch's lazy modules convert before their first call)."""
        self._pending[1]["dtype"] = dtype
        return self

    def state_dict(self):
        raise RuntimeError(f"{type(self).__name__} has no parameters until its first call (its input size is "
                           "not known yet)")


class _LazyConv(LazyModule):
    def in_size(self, input: Tensor) -> int:
        if input.dim() not in (self.becomes.n + 1, self.becomes.n + 2):
            raise ArgumentError(f"{type(self).__name__}: expected a {self.becomes.n + 1}-d or {self.becomes.n + 2}-d "
                                f"input, got shape {input.shape}")
        return input.shape[0] if input.dim() == self.becomes.n + 1 else input.shape[1]


class LazyConv1d(_LazyConv):
    becomes = Conv1d


class LazyConv2d(_LazyConv):
    becomes = Conv2d


class LazyConv3d(_LazyConv):
    becomes = Conv3d


class LazyConvTranspose1d(_LazyConv):
    becomes = ConvTranspose1d


class LazyConvTranspose2d(_LazyConv):
    becomes = ConvTranspose2d


class LazyConvTranspose3d(_LazyConv):
    becomes = ConvTranspose3d


class LazyLinear(LazyModule):
    becomes = Linear

    def in_size(self, input: Tensor) -> int:
        if input.dim() == 0:
            raise ArgumentError("LazyLinear: the input needs at least one dimension")
        return input.shape[-1]


# ---------------------------------------------------------------- pooling
class _MaxPoolNd(Module):
    n = 0

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices: bool = False,
                 ceil_mode: bool = False):
        super().__init__()
        # PyTorch's rule: None (not 0, which the pooling refuses) means the kernel size
        self.kernel_size, self.stride, self.padding, self.dilation = kernel_size, \
            kernel_size if stride is None else stride, padding, dilation
        self.return_indices, self.ceil_mode = return_indices, ceil_mode

    def forward(self, input: Tensor):
        return S.max_pooling(self.n, input, self.kernel_size, self.stride, self.padding, self.dilation,
                             self.ceil_mode, self.return_indices)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class MaxPool1d(_MaxPoolNd):
    n = 1


class MaxPool2d(_MaxPoolNd):
    """The maximum over each window; the gradient goes to the window's first maximal element, as in PyTorch."""

    n = 2


class MaxPool3d(_MaxPoolNd):
    n = 3


class _AvgPoolNd(Module):
    n = 0

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False, count_include_pad: bool = True,
                 divisor_override: int | None = None):
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, kernel_size if stride is None else stride, padding
        self.ceil_mode, self.count_include_pad, self.divisor_override = ceil_mode, count_include_pad, \
            divisor_override

    def forward(self, input: Tensor) -> Tensor:
        return S.avg_pooling(self.n, input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                             self.count_include_pad, self.divisor_override)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool1d(_AvgPoolNd):
    n = 1

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False, count_include_pad: bool = True):
        super().__init__(kernel_size, stride, padding, ceil_mode, count_include_pad)


class AvgPool2d(_AvgPoolNd):
    n = 2


class AvgPool3d(_AvgPoolNd):
    n = 3


class _LPPoolNd(Module):
    n = 0

    def __init__(self, norm_type: float, kernel_size, stride=None, ceil_mode: bool = False):
        super().__init__()
        self.norm_type, self.kernel_size, self.stride, self.ceil_mode = norm_type, kernel_size, stride, ceil_mode

    def forward(self, input: Tensor) -> Tensor:
        return S.lp_pooling(self.n, input, self.norm_type, self.kernel_size, self.stride, self.ceil_mode)

    def extra_repr(self) -> str:
        return (f"norm_type={self.norm_type}, kernel_size={self.kernel_size}, stride={self.stride}, "
                f"ceil_mode={self.ceil_mode}")


class LPPool1d(_LPPoolNd):
    n = 1


class LPPool2d(_LPPoolNd):
    n = 2


class LPPool3d(_LPPoolNd):
    n = 3


class _AdaptivePoolNd(Module):
    n, combine = 0, "sum"

    def __init__(self, output_size, return_indices: bool = False):
        super().__init__()
        self.output_size, self.return_indices = output_size, return_indices

    def forward(self, input: Tensor):
        return S.adaptive_pooling(self.n, self.combine, input, self.output_size, self.return_indices)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveAvgPool1d(_AdaptivePoolNd):
    n = 1

    def __init__(self, output_size):
        super().__init__(output_size)


class AdaptiveAvgPool2d(AdaptiveAvgPool1d):
    n = 2


class AdaptiveAvgPool3d(AdaptiveAvgPool1d):
    n = 3


class AdaptiveMaxPool1d(_AdaptivePoolNd):
    n, combine = 1, "max"


class AdaptiveMaxPool2d(AdaptiveMaxPool1d):
    n = 2


class AdaptiveMaxPool3d(AdaptiveMaxPool1d):
    n = 3


# ---------------------------------------------------------------- padding
class _PadNd(Module):
    n, mode, takes_value = 0, "constant", False

    def __init__(self, padding, value: float = 0.0):
        super().__init__()
        if isinstance(padding, int):
            padding = (padding,) * (2 * self.n)
        if len(padding) != 2 * self.n or not all(isinstance(p, int) for p in padding):
            raise ArgumentError(f"{type(self).__name__}: padding must be an int or a tuple of {2 * self.n} ints, got "
                                f"{padding!r}")
        self.padding, self.value = tuple(padding), value

    def forward(self, input: Tensor) -> Tensor:
        if input.dim() not in (self.n + 1, self.n + 2):
            raise ArgumentError(f"{type(self).__name__}: expected a {self.n + 1}-d or {self.n + 2}-d input, got shape "
                                f"{input.shape}")
        return S.pad(input, self.padding, self.mode, self.value if self.mode == "constant" else None)

    def extra_repr(self) -> str:  # PyTorch's: ConstantPad names its two options, the others show the padding alone
        return f"padding={self.padding}, value={self.value}" if self.takes_value else f"{self.padding}"


def _pad_class(name: str, n: int, mode: str, takes_value: bool = False) -> type[_PadNd]:
    """A padding module: ``ConstantPad`` takes a fill value; the others take the padding alone."""
    namespace = {"n": n, "mode": mode, "takes_value": takes_value, "__module__": __name__}
    if not takes_value:
        namespace["__init__"] = lambda self, padding: _PadNd.__init__(self, padding)
    return type(name, (_PadNd,), namespace)


ConstantPad1d, ConstantPad2d, ConstantPad3d = (_pad_class(f"ConstantPad{n}d", n, "constant", True) for n in (1, 2, 3))
ZeroPad1d, ZeroPad2d, ZeroPad3d = (_pad_class(f"ZeroPad{n}d", n, "constant") for n in (1, 2, 3))
ReflectionPad1d, ReflectionPad2d, ReflectionPad3d = (_pad_class(f"ReflectionPad{n}d", n, "reflect") for n in (1, 2, 3))
ReplicationPad1d, ReplicationPad2d, ReplicationPad3d = (_pad_class(f"ReplicationPad{n}d", n, "replicate")
                                                        for n in (1, 2, 3))
CircularPad1d, CircularPad2d, CircularPad3d = (_pad_class(f"CircularPad{n}d", n, "circular") for n in (1, 2, 3))


# ---------------------------------------------------------------- unfold, fold
class Unfold(Module):
    def __init__(self, kernel_size, dilation=1, padding=0, stride=1):
        super().__init__()
        self.kernel_size, self.dilation, self.padding, self.stride = kernel_size, dilation, padding, stride

    def forward(self, input: Tensor) -> Tensor:
        return S.unfold(input, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, dilation={self.dilation}, padding={self.padding}, "
                f"stride={self.stride}")


class Fold(Unfold):
    def __init__(self, output_size, kernel_size, dilation=1, padding=0, stride=1):
        super().__init__(kernel_size, dilation, padding, stride)
        self.output_size = output_size

    def forward(self, input: Tensor) -> Tensor:
        return S.fold(input, self.output_size, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}, " + super().extra_repr()
