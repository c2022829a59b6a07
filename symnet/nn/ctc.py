"""The connectionist temporal classification loss (Graves et al. 2006) as tensor ops: the forward recursion in log
space, so its value is computed, differentiated and compiled like any other loss's.

A target l of length L is read as its extended sequence l' = (blank, l₁, blank, l₂, …, l_L, blank) of 2L + 1
states. With y_t the log-probabilities at time t, α_t(s) (the log-probability of every path prefix ending in state s
at time t) is

    α_t(s) = logsumexp(α_{t−1}(s), α_{t−1}(s − 1), α_{t−1}(s − 2) if s is a label and l'_s ≠ l'_{s−2}) + y_t(l'_s)

from α_{−1} = (0, −∞, −∞, …), and the loss is −logsumexp(α_{T−1}(2L), α_{T−1}(2L − 1)) (the last label or the
blank after it). The batch runs together: targets padded to the longest, a sample keeping its α once its input
has ended, states past its 2L + 1 computed and never read. Unreachable states are −∞, and every log-sum-exp of
them is taken without a NaN in value or gradient (``_log_add``).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

import numpy as np

from ..core import dtypes
from ..errors import ArgumentError, DTypeError, IndexRangeError, NotSupportedError, ShapeError
from ..frontend import creation
from ..frontend.batch import varies_per_step
from ..frontend.shaping import cat
from ..frontend.tensor import Tensor
from ..frontend.trace import shown
from .module import Module

Lengths = Tensor | Sequence[int]


def ctc_loss(log_probs: Tensor, targets: Tensor, input_lengths: Lengths, target_lengths: Lengths, blank: int = 0,
             reduction: str = "mean", zero_infinity: bool = False) -> Tensor:
    """−log p(target | input) summed over every alignment; ``log_probs`` (T, N, C) or unbatched (T, C),
    ``targets`` padded (N, S) or concatenated (Σ target_lengths,). 'mean' divides each loss by its target length
    (at least 1) before the batch mean; ``zero_infinity`` makes an impossible alignment's infinite loss and its
    gradient 0.

    The gradient is PyTorch's: the loss's derivative plus exp(log_probs) for each time step inside the input, which
    sums to 0 over the classes — the same gradient once it passes through a log_softmax, which is what log_probs
    are meant to be.

    >>> lp = sn.randn(6, 2, 4).log_softmax(2)                                       # doctest: +SKIP
    >>> F.ctc_loss(lp, sn.tensor([[1, 2], [3, 3]]), [6, 5], [2, 2])                # doctest: +SKIP
    """
    if reduction not in ("none", "mean", "sum"):
        raise ArgumentError(f"{reduction} is not a valid value for reduction: reduction must be 'none', 'mean' or "
                            "'sum'")
    batched = log_probs.dim() == 3
    if log_probs.dim() not in (2, 3):
        raise ShapeError(f"ctc_loss: expected log_probs of shape (T, N, C) or (T, C), got {log_probs.dim()}-d "
                         f"{list(log_probs.shape)}")
    if not dtypes.is_float(log_probs.dtype):
        raise NotSupportedError(f'"ctc_loss_cpu" not implemented for {log_probs.dtype} log_probs')
    if not batched:
        log_probs = log_probs.unsqueeze(1)
    steps, batch, classes = log_probs.shape
    if steps == 0 or batch == 0:
        raise ShapeError("ctc_loss: log_probs tensor must not be empty")
    if not 0 <= blank < classes:
        raise ArgumentError(f"ctc_loss: blank must be in label range (0 ≤ blank < {classes}), got {blank}")
    if isinstance(input_lengths, Tensor) != isinstance(target_lengths, Tensor):
        raise TypeError("ctc_loss: input_lengths and target_lengths must both be tensors or both be tuples or "
                        "lists of ints")
    input_lengths = _lengths(input_lengths, "input_lengths", batch, steps)
    target_lengths = _lengths(target_lengths, "target_lengths", batch)
    labels = _labels(targets, target_lengths, batch, classes)
    loss = _negative_log_likelihood(log_probs, labels, input_lengths, target_lengths, blank)
    if zero_infinity:
        loss = loss.where(~loss.isinf(), 0.0)
    if reduction == "mean":
        return (loss / target_lengths.clamp(min=1).to(loss.dtype)).mean()
    if reduction == "sum":
        return loss.sum()
    return loss if batched else loss.squeeze(0)


class CTCLoss(Module):
    """``ctc_loss`` as a module: ``forward(log_probs, targets, input_lengths, target_lengths)``."""

    def __init__(self, blank: int = 0, reduction: str = "mean", zero_infinity: bool = False):
        super().__init__()
        self.blank, self.reduction, self.zero_infinity = blank, reduction, zero_infinity

    def forward(self, log_probs: Tensor, targets: Tensor, input_lengths: Lengths, target_lengths: Lengths) -> Tensor:
        return ctc_loss(log_probs, targets, input_lengths, target_lengths, self.blank, self.reduction,
                        self.zero_infinity)


def _known(t: Tensor) -> np.ndarray | None:
    """``t``'s values when they are fixed (not a compiled step's batch or computed from it), else None."""
    return None if varies_per_step(t) else t.numpy()


def _lengths(lengths: Lengths, name: str, batch: int, most: int | None = None) -> Tensor:
    """Lengths as an int64 tensor of shape (N,), each checked (when known) to be in [0, most]."""
    if isinstance(lengths, Tensor):
        if lengths.dtype != dtypes.int64:
            raise DTypeError(f"ctc_loss: {name} must be integral, got {lengths.dtype}")
    elif not isinstance(lengths, Sequence) or not all(_is_int(n) for n in lengths):
        raise TypeError(f"ctc_loss: {name} must be a tensor, or a tuple or list of ints, got {lengths!r}")
    else:
        lengths = creation.tensor([int(n) for n in lengths], dtype=dtypes.int64)
    if lengths.numel() != batch:
        raise ShapeError(f"ctc_loss: {name} must be of size batch_size ({batch}), got {lengths.numel()} values")
    values = _known(lengths)
    if values is not None and (values < 0).any():
        raise ArgumentError(f"ctc_loss: Expected {name} to have value at least 0, but got value {values.min()}")
    if values is not None and most is not None and (values > most).any():
        raise ArgumentError(f"ctc_loss: Expected {name} to have value at most {most}, but got value {values.max()}")
    return lengths if lengths.shape == (batch,) else lengths.reshape(batch)


def _is_int(n) -> bool:
    """A Python or NumPy int, or a 0-d integer tensor (PyTorch's int list takes each)."""
    if isinstance(n, Tensor):
        return n.dim() == 0 and n.dtype == dtypes.int64
    return isinstance(n, int | np.integer) and not isinstance(n, bool)


def _labels(targets: Tensor, target_lengths: Tensor, batch: int, classes: int) -> Tensor:
    """The targets as (N, S) int64 class indices, S the padded width (or the longest concatenated target), and 0
    past each target's length, where padding may hold any value."""
    if not isinstance(targets, Tensor):
        raise TypeError(f"ctc_loss: targets must be a tensor, got {type(targets).__name__}")
    lengths = _known(target_lengths)
    if targets.dim() == 2:
        if targets.shape[0] != batch:
            raise ShapeError(f"ctc_loss: Expected targets to have size {batch} at dimension 0 (the batch), but got "
                             f"size {targets.shape[0]}")
        if lengths is not None and lengths.max() > targets.shape[1]:
            raise ShapeError(f"ctc_loss: Expected targets to have size at least {lengths.max()} at dimension 1, "
                             f"but got size {targets.shape[1]}")
    elif targets.dim() == 1:
        if lengths is None:
            raise NotSupportedError("ctc_loss: concatenated (1-d) targets need target_lengths whose values are "
                                    "known when the loss is traced, and in a compiled step they come from the "
                                    "batch: pass padded (N, S) targets instead")
        if lengths.sum() != targets.shape[0]:
            raise ShapeError(f"ctc_loss: Expected targets to have size {lengths.sum()} at dimension 0 (the sum of "
                             f"target_lengths), but got size {targets.shape[0]}")
    else:
        raise ShapeError(f"ctc_loss: Expected targets of 1 to 2 dimensions, but got a {targets.dim()}-d tensor")
    values = _known(targets)
    if values is not None and lengths is not None:
        _check_labels(values if targets.dim() == 1 else values[np.arange(values.shape[1]) < lengths[:, None]],
                      classes)
    labels = targets if targets.dtype == dtypes.int64 else targets.to(dtypes.int64)
    if targets.dim() == 1:
        labels = _split(labels, lengths)
    return labels.where(creation.arange(labels.shape[1]) < target_lengths.unsqueeze(1), 0)


def _check_labels(used: np.ndarray, classes: int) -> None:
    """Labels inside the targets' lengths: PyTorch also takes float and bool targets (and casts them), but would
    truncate a fractional one to another class and read one outside [0, C) out of bounds; symnet refuses both."""
    fractional = used[used != np.trunc(used)]
    if fractional.size:
        raise DTypeError(f"ctc_loss: targets must be integer class indices, got the value {fractional[0]}")
    outside = used[(used < 0) | (used >= classes)]
    if outside.size:
        raise IndexRangeError(f"ctc_loss: target {outside[0]:g} is out of bounds for {classes} classes")


def _split(labels: Tensor, lengths: np.ndarray) -> Tensor:
    """Concatenated labels as (N, longest), each row read from its start (past its length: a neighbour's)."""
    if not labels.numel():
        return creation.zeros(len(lengths), 0, dtype=dtypes.int64)
    starts = np.cumsum(lengths) - lengths
    positions = np.minimum(starts[:, None] + np.arange(lengths.max()), labels.shape[0] - 1)
    return labels[creation.tensor(positions)]


@shown("CtcLossBackward0")
def _negative_log_likelihood(log_probs: Tensor, labels: Tensor, input_lengths: Tensor, target_lengths: Tensor,
                             blank: int) -> Tensor:
    """−log p(l | x) per sample: the α recursion (the module docstring) over padded (N, S) labels."""
    steps, batch, _ = log_probs.shape
    states = 2 * labels.shape[1] + 1
    extended = cat([creation.full_like(labels, blank).unsqueeze(2), labels.unsqueeze(2)], 2)
    extended = cat([extended.reshape(batch, states - 1), creation.full_like(labels[:, :1], blank)], 1)
    emitted = log_probs.gather(2, extended.unsqueeze(0).expand(steps, batch, states))  # y_t(l'_s): (T, N, S')
    s = creation.arange(states)
    skips = cat([creation.full_like(extended[:, :2], False, dtype=dtypes.bool_),
                 extended[:, 2:] != extended[:, :-2]], 1) & (s % 2 == 1)
    never = -math.inf
    alpha = creation.full_like(emitted[0], never).masked_fill(s == 0, 0.0)  # α_{−1}
    gap = creation.full_like(emitted[0][:, :2], never)
    for t in range(steps):
        one = cat([gap[:, :1], alpha[:, :-1]], 1)  # α_{t−1}(s − 1)
        two = cat([gap, alpha[:, :-2]], 1).masked_fill(~skips, never)  # α_{t−1}(s − 2), where a skip is allowed
        alpha = (_log_add(alpha, one, two) + emitted[t]).where((input_lengths > t).unsqueeze(1), alpha)
    last = alpha.gather(1, (2 * target_lengths).unsqueeze(1)).squeeze(1)
    before = alpha.gather(1, (2 * target_lengths - 1).clamp(min=0).unsqueeze(1)).squeeze(1)
    loss = -_log_add(last, before.masked_fill(target_lengths == 0, never))
    return loss + _pytorch_gradient(log_probs, input_lengths)


def _log_add(*terms: Tensor) -> Tensor:
    """log Σ exp(terms), elementwise: shifted by their max (a stop-gradient), and −∞ where every term is, with
    neither value nor gradient NaN there (a plain log Σ exp would send 0/0 back)."""
    top = functools.reduce(Tensor.maximum, terms)
    dead = top.isneginf()
    shift = top.masked_fill(dead, 0.0)._map("stop_gradient")
    exps = [(x - shift).exp() for x in terms]
    total = sum(exps[1:], exps[0])
    return (total.masked_fill(dead, 1.0).log() + shift).masked_fill(dead, -math.inf)


def _pytorch_gradient(log_probs: Tensor, input_lengths: Tensor) -> Tensor:
    """0 in value, with the gradient exp(log_probs) where t < input_length: PyTorch's CTC backward returns the
    loss's derivative plus that term (its kernel assumes a log_softmax follows), and symnet gives the same."""
    inside = (creation.arange(log_probs.shape[0]).unsqueeze(1) < input_lengths).unsqueeze(2)
    probabilities = log_probs.exp()
    return (probabilities - probabilities._map("stop_gradient")).where(inside, 0.0).sum((0, 2))
