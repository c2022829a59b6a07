"""Linear layers and shape modules (Linear, Bilinear, Flatten, Unflatten, Identity), with PyTorch's names, arguments
and default initialization."""

from __future__ import annotations

import math
from collections.abc import Sequence

from ..errors import ShapeError
from ..frontend.creation import zeros
from ..frontend.device import check_device
from ..frontend.dims import normalize_dim
from ..frontend.tensor import Tensor
from ..frontend.trace import show_as
from . import init
from .module import Module, Parameter


class Linear(Module):
    """y = x·Wᵀ + b; W and b drawn from U(−1/√in, 1/√in), PyTorch's default (kaiming_uniform, a = √5)."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True, device=None, dtype=None):
        super().__init__()
        check_device(device)
        self.in_features, self.out_features = in_features, out_features
        self.weight = Parameter(zeros(out_features, in_features, dtype=dtype))
        self.bias = Parameter(zeros(out_features, dtype=dtype)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_features) if self.in_features > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input: Tensor) -> Tensor:
        return linear(input, self.weight, self.bias)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``input @ weight.T + bias`` (``torch.nn.functional.linear``): ``Z[b, j] = Σ_k X[b, k]·W[j, k] + B[j]``.
    On a batch of rows its ``grad_fn`` is PyTorch's ``addmm`` (``mm`` without a bias), whose inputs come bias
    first."""
    if isinstance(input, Tensor) and isinstance(weight, Tensor) and weight.dim() == 2:
        out = input._matmul(weight, other_transposed=True)  # one op, as PyTorch's addmm: no transposed view
    else:
        out = input @ weight.T
    if bias is None:
        return show_as(out, "MmBackward0" if input.dim() == 2 else None, input, weight)
    return show_as(out + bias, "AddmmBackward0" if input.dim() == 2 else None, bias, input, weight)


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``y[…, o] = Σ_ij x1[…, i]·W[o, i, j]·x2[…, j] + b[o]`` (``torch.nn.functional.bilinear``): a batched
    contraction ``x1 @ W`` then a dot product with ``x2``, so no (…, o, i, j) product is materialized."""
    if weight.dim() != 3:
        raise ShapeError(f"bilinear: weight must be 3-d (out, in1, in2), got shape {weight.shape}")
    _, in1, in2 = weight.shape
    if input1.dim() == 0 or input1.shape[-1] != in1 or input2.dim() == 0 or input2.shape[-1] != in2:
        raise ShapeError(f"bilinear: inputs of shapes {input1.shape} and {input2.shape} do not end in the "
                         f"weight's in1 = {in1} and in2 = {in2}")
    if input1.shape[:-1] != input2.shape[:-1]:
        raise ShapeError(f"bilinear: inputs must have the same leading dims, got {input1.shape} and {input2.shape}")
    left = (input1.unsqueeze(-2).unsqueeze(-2) @ weight).squeeze(-2)  # (…, out, in2)
    out = (left * input2.unsqueeze(-2)).sum(-1)
    return out if bias is None else out + bias


class Bilinear(Module):
    """y = x1ᵀ·A·x2 + b; A and b drawn from U(−1/√in1, 1/√in1), as PyTorch does."""

    def __init__(self, in1_features: int, in2_features: int, out_features: int, bias: bool = True, device=None,
                 dtype=None):
        super().__init__()
        self.in1_features, self.in2_features, self.out_features = in1_features, in2_features, out_features
        self.weight = Parameter(zeros(out_features, in1_features, in2_features, dtype=dtype))
        self.bias = Parameter(zeros(out_features, dtype=dtype)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1 / math.sqrt(self.weight.shape[1])
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input1: Tensor, input2: Tensor) -> Tensor:
        return bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
                f"out_features={self.out_features}, bias={self.bias is not None}")


class Flatten(Module):
    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, input: Tensor) -> Tensor:
        return input.flatten(self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Dimension ``dim`` split into ``unflattened_size`` (which may hold one -1), the inverse of ``Flatten``."""

    def __init__(self, dim: int, unflattened_size: Sequence[int]):
        super().__init__()
        if not isinstance(unflattened_size, Sequence) or not all(isinstance(d, int) for d in unflattened_size):
            raise TypeError(f"Unflatten: unflattened_size must be a tuple of ints, got {unflattened_size!r}")
        self.dim, self.unflattened_size = dim, tuple(unflattened_size)

    def forward(self, input: Tensor) -> Tensor:
        dim = normalize_dim(self.dim, input.dim(), "unflatten")
        sizes = list(self.unflattened_size)
        if sizes.count(-1) == 1 and dim:  # resolved here, so the leading dim can stay -1 (a symbolic batch)
            known = math.prod(d for d in sizes if d != -1)
            sizes[sizes.index(-1)] = input.shape[dim] // known if known else -1
        if math.prod(sizes) != input.shape[dim] and -1 not in sizes:
            raise ShapeError(f"unflatten: sizes {tuple(sizes)} don't multiply up to the size of dim {self.dim} "
                             f"({input.shape[dim]}) of input {input.shape}")
        rest = (-1, *input.shape[1:dim]) if dim else ()
        return input.reshape(*rest, *sizes, *input.shape[dim + 1:])

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"


class Identity(Module):
    """Returns its input; the constructor accepts and ignores any arguments, as PyTorch's does."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, input: Tensor) -> Tensor:
        return input
