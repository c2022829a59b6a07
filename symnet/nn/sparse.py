"""Embedding lookups as in ``torch.nn``: ``Embedding``, ``EmbeddingBag`` and their functional forms.

A lookup is a data-dependent gather along dim 0 of the weight, ``out[m, d] = W[idx[m], d]``, so its gradient is
derived like any other (a Kronecker factor ``[v = idx[m]]``: repeated indices accumulate). An index outside the
table is an ``IndexRangeError`` (checked at the call for given indices, by the gather at run time otherwise),
never a wrong read.
"""

from __future__ import annotations

import numpy as np

from ..core import dtypes
from ..errors import ArgumentError, DTypeError, IndexRangeError, ShapeError
from ..frontend.autograd import no_grad
from ..frontend.creation import tensor, zeros
from ..frontend.tensor import Tensor
from ..frontend.trace import shown
from . import init
from .module import Module, Parameter

MODES = ("sum", "mean", "max")


def _check_indices(input: Tensor, rows: int, op: str) -> None:
    if not isinstance(input, Tensor) or input.dtype != dtypes.int64:
        raise DTypeError(f"{op}: expected indices of dtype int64, got {getattr(input, 'dtype', type(input))}")
    if input.node is None and input.numel():  # values at hand (a computed index is checked by the kernel)
        values = input._array()
        bad = values[(values < 0) | (values >= rows)]
        if bad.size:
            raise IndexRangeError(f"{op}: index {bad.flat[0]} is out of range for a table of {rows} rows")


def _padding_idx(padding_idx: int | None, rows: int) -> int | None:
    if padding_idx is None:
        return None
    if not -rows <= padding_idx < rows:
        raise ArgumentError(f"padding_idx ({padding_idx}) must be within num_embeddings ({rows})")
    return padding_idx % rows


def _check_weight(weight: Tensor, op: str) -> None:
    if weight.dim() != 2:
        raise ShapeError(f"{op}: 'weight' must be 2-D, got shape {weight.shape}")


def _renorm_(weight: Tensor, input: Tensor, max_norm: float, norm_type: float) -> None:
    """Rows of ``weight`` that ``input`` looks up and whose ``norm_type``-norm exceeds ``max_norm`` scaled
    in place to ``max_norm/(norm + 1e-7)``, outside the graph, as PyTorch's ``embedding_renorm_`` does."""
    rows = np.unique(input._array())
    with no_grad():
        values = weight._array().copy()
        norms = np.linalg.norm(values[rows], ord=norm_type, axis=1)
        scale = np.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0)
        values[rows] *= scale[:, None].astype(values.dtype)
        weight.set_(values)


def _gather_rows(weight: Tensor, indices: Tensor) -> Tensor:
    """``weight[indices]``: rows for indices of any shape, out of shape (*indices.shape, D)."""
    flat = indices.reshape(-1)
    width = weight.shape[1]
    rows = weight.gather(0, flat.unsqueeze(1) + zeros(1, width, dtype=dtypes.int64))
    if indices.dim() == 1:
        return rows
    lead = (-1,) if indices.dim() and indices.numel() else indices.shape[:1]  # -1: the batch may be symbolic
    return rows.reshape(*lead, *indices.shape[1:], width)


@shown("EmbeddingBackward0")
def embedding(input: Tensor, weight: Tensor, padding_idx: int | None = None, max_norm: float | None = None,
              norm_type: float = 2.0, scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """Rows of ``weight`` picked by the int64 ``input`` (any shape): out shape (*input.shape, D).

    ``padding_idx``'s entries read their row but pass it no gradient; ``max_norm`` renorms the rows read, in
    place, first. ``sparse`` is accepted (the gradient is dense, with the same values)."""
    _check_weight(weight, "embedding")
    _check_indices(input, weight.shape[0], "embedding")
    padding_idx = _padding_idx(padding_idx, weight.shape[0])
    if scale_grad_by_freq:
        raise NotImplementedError("embedding: scale_grad_by_freq=True is not supported yet")
    if max_norm is not None:
        _renorm_(weight, input, max_norm, norm_type)
    rows = _gather_rows(weight, input)
    if padding_idx is None:
        return rows
    keep = (input != padding_idx).unsqueeze(-1).to(weight.dtype)
    return rows * keep + rows._map("stop_gradient") * (1 - keep)  # the same value, no gradient at padding


def _bag_layout(input: Tensor, offsets: Tensor, include_last_offset: bool) -> tuple[Tensor, np.ndarray]:
    """A 1-D input cut into bags at ``offsets`` as a (bags, longest) table of positions in ``input``, and its
    mask of real entries; offsets are read when the call is traced."""
    if not isinstance(offsets, Tensor) or offsets.dim() != 1 or offsets.dtype != dtypes.int64:
        raise ArgumentError("embedding_bag: offsets has to be a 1D int64 Tensor")
    starts, length = offsets._array(), input.shape[0]
    if starts.size and starts[0] != 0:
        raise ArgumentError(f"embedding_bag: offsets[0] has to be 0, i.e., the first sequence in the mini-batch has "
                            f"to start from position 0. However, got {starts[0]}")
    ends = np.append(starts[1:], length)
    if include_last_offset:
        starts, ends = starts[:-1], starts[1:]
    if np.any(ends < starts) or (ends.size and ends.max() > length):
        raise ArgumentError(f"embedding_bag: offsets {starts.tolist()} must be non-decreasing and within the "
                            f"input's length {length}")
    longest = int((ends - starts).max(initial=0))
    span = np.arange(longest)
    valid = span < (ends - starts)[:, None]
    return tensor(np.where(valid, starts[:, None] + span, 0)), valid


def embedding_bag(input: Tensor, weight: Tensor, offsets: Tensor | None = None, max_norm: float | None = None,
                  norm_type: float = 2, scale_grad_by_freq: bool = False, mode: str = "mean", sparse: bool = False,
                  per_sample_weights: Tensor | None = None, include_last_offset: bool = False,
                  padding_idx: int | None = None) -> Tensor:
    """Sums, means or maxima of bags of embeddings: the rows of a 2-D ``input`` (B, L), or the pieces of a 1-D
    ``input`` starting at ``offsets``. ``padding_idx`` entries are left out (an empty bag gives zeros);
    ``per_sample_weights`` (mode ``'sum'``) scale each entry."""
    if mode not in MODES:
        raise ArgumentError("embedding_bag: mode has to be one of sum, mean or max")
    _check_weight(weight, "embedding_bag")
    _check_indices(input, weight.shape[0], "embedding_bag")
    padding_idx = _padding_idx(padding_idx, weight.shape[0])
    if per_sample_weights is not None and per_sample_weights.shape != input.shape:
        raise ArgumentError(f"embedding_bag: If per_sample_weights ({per_sample_weights.shape}) is not None, then it "
                            f"must have the same shape as the input ({input.shape})")
    if per_sample_weights is not None and mode != "sum":
        raise NotImplementedError(f"embedding_bag: per_sample_weights was not None. per_sample_weights is only "
                                  f"supported for mode='sum' (got mode='{mode}').")
    if scale_grad_by_freq:
        raise NotImplementedError("embedding_bag: scale_grad_by_freq=True is not supported yet")
    if input.dim() == 2:
        if offsets is not None:
            raise ArgumentError("embedding_bag: if input is 2D, then offsets has to be None, as input is treated is a "
                                "mini-batch of fixed length sequences")
        indices, keep = input, None
    elif input.dim() == 1:
        if offsets is None:
            raise ArgumentError("embedding_bag: offsets has to be a 1D Tensor but got None")
        positions, valid = _bag_layout(input, offsets, include_last_offset)
        if not input.numel() or not valid.size:
            return zeros(valid.shape[0], weight.shape[1], dtype=weight.dtype)
        indices = input.gather(0, positions.reshape(-1)).reshape(positions.shape)
        if per_sample_weights is not None:
            per_sample_weights = per_sample_weights.gather(0, positions.reshape(-1)).reshape(positions.shape)
        keep = tensor(valid, dtype=weight.dtype)
    else:
        raise ArgumentError(f"embedding_bag: input has to be 1D or 2D Tensor, but got Tensor of dimension "
                            f"{input.dim()}")
    if max_norm is not None:
        _renorm_(weight, input, max_norm, norm_type)
    if padding_idx is not None:
        not_padding = (indices != padding_idx).to(weight.dtype)
        keep = not_padding if keep is None else keep * not_padding
    return _reduce_bags(_gather_rows(weight, indices), keep, per_sample_weights, mode)


def _reduce_bags(rows: Tensor, keep: Tensor | None, per_sample_weights: Tensor | None, mode: str) -> Tensor:
    """(B, L, D) rows → (B, D): entries with ``keep`` 0 (padding, or past a bag's end) count for nothing."""
    if mode == "max":
        if keep is None:
            return rows.max(1).values
        mask = keep.unsqueeze(-1)
        lowest = float(np.finfo(rows.dtype).max)
        best = (rows * mask + (mask - 1) * lowest).max(1).values  # dropped entries read −max, never win
        return best * (keep.sum(1, keepdim=True) > 0).to(rows.dtype)
    scale = keep if per_sample_weights is None else (
        per_sample_weights if keep is None else per_sample_weights * keep)
    total = (rows if scale is None else rows * scale.unsqueeze(-1)).sum(1)
    if mode == "sum":
        return total
    count = keep.sum(1, keepdim=True).clamp(min=1) if keep is not None else rows.shape[1]
    return total / count


class _Table(Module):
    """The lookup table both embedding modules hold: ``weight`` (num_embeddings, embedding_dim) drawn from
    N(0, 1), with the ``padding_idx`` row zeroed, as PyTorch does (``_weight`` given: used as is)."""

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None, max_norm: float | None,
                 norm_type: float, scale_grad_by_freq: bool, sparse: bool, _weight: Tensor | None,
                 _freeze: bool, dtype):
        super().__init__()
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.padding_idx = _padding_idx(padding_idx, num_embeddings)
        self.max_norm, self.norm_type = max_norm, norm_type
        self.scale_grad_by_freq, self.sparse = scale_grad_by_freq, sparse
        if _weight is None:
            self.weight = Parameter(zeros(num_embeddings, embedding_dim, dtype=dtype), requires_grad=not _freeze)
            self.reset_parameters()
        else:
            if tuple(_weight.shape) != (num_embeddings, embedding_dim):
                raise ShapeError("Shape of weight does not match num_embeddings and embedding_dim")
            self.weight = Parameter(_weight, requires_grad=not _freeze)

    def reset_parameters(self) -> None:
        init.normal_(self.weight)
        if self.padding_idx is not None:
            values = self.weight._array().copy()
            values[self.padding_idx] = 0
            self.weight.set_(values)

    @classmethod
    def from_pretrained(cls, embeddings: Tensor, freeze: bool = True, **kwargs):
        """A module whose table is ``embeddings`` (2-D), frozen (no gradient) by default."""
        if embeddings.dim() != 2:
            raise ShapeError("Embeddings parameter is expected to be 2-dimensional")
        return cls(*embeddings.shape, _weight=embeddings, _freeze=freeze, **kwargs)

    def _repr_options(self) -> str:
        text = f", max_norm={self.max_norm}" if self.max_norm is not None else ""
        text += f", norm_type={self.norm_type}" if self.norm_type != 2 else ""
        text += f", scale_grad_by_freq={self.scale_grad_by_freq}" if self.scale_grad_by_freq else ""
        return text


class Embedding(_Table):
    """A lookup table: ``Embedding(10, 3)(idx)`` has shape (*idx.shape, 3)."""

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None,
                 max_norm: float | None = None, norm_type: float = 2.0, scale_grad_by_freq: bool = False,
                 sparse: bool = False, _weight: Tensor | None = None, _freeze: bool = False, device=None,
                 dtype=None):
        super().__init__(num_embeddings, embedding_dim, padding_idx, max_norm, norm_type, scale_grad_by_freq,
                         sparse, _weight, _freeze, dtype)

    def forward(self, input: Tensor) -> Tensor:
        return embedding(input, self.weight, self.padding_idx, self.max_norm, self.norm_type,
                         self.scale_grad_by_freq, self.sparse)

    def extra_repr(self) -> str:
        text = f"{self.num_embeddings}, {self.embedding_dim}"
        text += f", padding_idx={self.padding_idx}" if self.padding_idx is not None else ""
        return text + self._repr_options() + (", sparse=True" if self.sparse else "")


class EmbeddingBag(_Table):
    """Sums, means or maxima of bags of embeddings, without materializing the looked-up rows per bag."""

    def __init__(self, num_embeddings: int, embedding_dim: int, max_norm: float | None = None,
                 norm_type: float = 2.0, scale_grad_by_freq: bool = False, mode: str = "mean", sparse: bool = False,
                 _weight: Tensor | None = None, include_last_offset: bool = False, padding_idx: int | None = None,
                 device=None, dtype=None, _freeze: bool = False):
        if mode not in MODES:
            raise ArgumentError("mode has to be one of sum, mean or max")
        super().__init__(num_embeddings, embedding_dim, padding_idx, max_norm, norm_type, scale_grad_by_freq,
                         sparse, _weight, _freeze, dtype)
        self.mode, self.include_last_offset = mode, include_last_offset

    def forward(self, input: Tensor, offsets: Tensor | None = None,
                per_sample_weights: Tensor | None = None) -> Tensor:
        return embedding_bag(input, self.weight, offsets, self.max_norm, self.norm_type, self.scale_grad_by_freq,
                             self.mode, self.sparse, per_sample_weights, self.include_last_offset,
                             self.padding_idx)

    def extra_repr(self) -> str:
        text = f"{self.num_embeddings}, {self.embedding_dim}" + self._repr_options() + f", mode={self.mode!r}"
        return text + (f", padding_idx={self.padding_idx}" if self.padding_idx is not None else "")

