"""``torch.nn.utils.rnn``: variable-length sequences padded into one batch, or packed (``PackedSequence``: the
valid steps of every sequence, time step by time step, longest sequences first), and back.

Packing and unpacking are gathers through row indices computed from the lengths, so gradients flow through both;
the recurrent layers run a packed batch as its padded form with each sequence's state held after its last step.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from ...core import dtypes
from ...errors import ArgumentError, ShapeError
from ...frontend.creation import full, tensor
from ...frontend.shaping import cat, stack
from ...frontend.tensor import Tensor
from ..sliding import pad


def pad_sequence(sequences: Sequence[Tensor], batch_first: bool = False, padding_value: float = 0.0,
                 padding_side: str = "right") -> Tensor:
    """Sequences of shapes (Lᵢ, *) padded to the longest and stacked: (L, B, *), or (B, L, *) with ``batch_first``;
    differentiable in each sequence (the padding gets no gradient)."""
    if padding_side not in ("left", "right"):
        raise ArgumentError(f"Expected padding_side to be one of left or right, but got {padding_side}.")
    sequences = list(sequences)
    if not sequences:
        raise ArgumentError("received an empty list of sequences")
    trailing = sequences[0].shape[1:]
    for s in sequences:
        if s.dim() < 1 or s.shape[1:] != trailing:
            raise ShapeError(f"pad_sequence: every sequence must have the trailing shape {tuple(trailing)}, got "
                             f"{tuple(s.shape)}")
    longest = max(s.shape[0] for s in sequences)
    padded = []
    for s in sequences:
        missing = longest - s.shape[0]
        pads = [0, 0] * len(trailing) + ([missing, 0] if padding_side == "left" else [0, missing])
        padded.append(pad(s, pads, value=padding_value) if missing else s)
    return stack(padded, 0 if batch_first else 1)


class PackedSequence(NamedTuple):
    """PyTorch's packed batch: ``data`` holds the valid steps, time step by time step (of the sorted batch);
    ``batch_sizes[t]`` how many sequences have a step t; ``sorted_indices`` the batch's order by decreasing length
    and ``unsorted_indices`` its inverse (None when the batch was given sorted)."""

    data: Tensor
    batch_sizes: Tensor
    sorted_indices: Tensor | None = None
    unsorted_indices: Tensor | None = None

    def lengths(self) -> np.ndarray:
        """Each sequence's length, in the packed (sorted) order."""
        sizes = self.batch_sizes.numpy()
        return (np.arange(int(sizes[0]))[:, None] < sizes[None, :]).sum(1) if len(sizes) else np.zeros(0, np.int64)

    def to(self, *args, **kwargs) -> PackedSequence:
        return self._replace(data=self.data.to(*args, **kwargs))

    def float(self) -> PackedSequence:  # noqa: A003 - PyTorch's name
        return self._replace(data=self.data.float())

    def double(self) -> PackedSequence:
        return self._replace(data=self.data.double())

    def cpu(self) -> PackedSequence:
        return self

    @property
    def is_cuda(self) -> bool:
        return False


def _lengths(lengths, batch: int, steps: int) -> np.ndarray:
    """The lengths as int64 (a list or a tensor), checked: one per sequence, each in 1..steps."""
    values = np.asarray(lengths.numpy() if isinstance(lengths, Tensor) else lengths)
    if values.ndim != 1 or values.dtype.kind not in "iub" or len(values) != batch:
        raise ShapeError(f"pack_padded_sequence: expected {batch} integer lengths, one per sequence, got "
                         f"{values.tolist()}")
    values = values.astype(np.int64)
    if (values <= 0).any():
        raise ArgumentError("Length of all samples has to be greater than 0, but found an element in 'lengths' that "
                            "is <= 0")
    if (values > steps).any():
        raise ShapeError(f"pack_padded_sequence: a length ({int(values.max())}) exceeds the {steps} steps of the "
                         "padded input")
    return values


def _rows(lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For lengths sorted in decreasing order: each packed row's (step, sequence), step by step."""
    steps = np.arange(int(lengths[0]))
    valid = steps[:, None] < lengths[None, :]
    return np.nonzero(valid)


def _packed_data(padded: Tensor, lengths: np.ndarray) -> tuple[Tensor, np.ndarray]:
    """The valid rows of a padded (T, B, *) batch whose sequences have ``lengths`` (decreasing), step by step, and
    each row's step."""
    steps, sequences = _rows(lengths)
    flat = padded.reshape(padded.shape[0] * padded.shape[1], *padded.shape[2:])
    return flat.index_select(0, tensor(steps * padded.shape[1] + sequences)), steps


def pack_padded_sequence(input: Tensor, lengths, batch_first: bool = False,  # noqa: A002 - PyTorch's name
                         enforce_sorted: bool = True) -> PackedSequence:
    """The valid steps of a padded batch ((T, B, *), or (B, T, *) with ``batch_first``) given each sequence's
    length; unless ``enforce_sorted``, the batch is first ordered by decreasing length (a stable order, as
    PyTorch's sort gives)."""
    if input.dim() < 2:
        raise ShapeError(f"pack_padded_sequence: expected a padded batch of at least 2 dims, got {input.dim()}")
    if batch_first:
        input = input.transpose(0, 1)
    values = _lengths(lengths, input.shape[1], input.shape[0])
    sorted_indices = unsorted_indices = None
    if enforce_sorted:
        if (np.diff(values) > 0).any():
            raise ArgumentError("`lengths` array must be sorted in decreasing order when `enforce_sorted` is True. "
                                "You can pass `enforce_sorted=False` to pack_padded_sequence and/or pack_sequence to "
                                "sidestep this requirement if you do not need ONNX exportability.")
    else:
        order = np.argsort(-values, kind="stable")
        sorted_indices, unsorted_indices = tensor(order), tensor(np.argsort(order, kind="stable"))
        values, input = values[order], input.index_select(1, sorted_indices)
    data, steps = _packed_data(input, values)
    return PackedSequence(data, tensor(np.bincount(steps)), sorted_indices, unsorted_indices)


def pad_packed_sequence(sequence: PackedSequence, batch_first: bool = False, padding_value: float = 0.0,
                        total_length: int | None = None) -> tuple[Tensor, Tensor]:
    """The padded batch ((T, B, *), or (B, T, *) with ``batch_first``) in the original order, and the lengths;
    ``total_length`` pads to that many steps (at least the longest)."""
    if not isinstance(sequence, PackedSequence):
        raise TypeError(f"pad_packed_sequence: expected a PackedSequence, got {type(sequence).__name__}")
    lengths = sequence.lengths()
    longest = int(lengths[0])
    if total_length is not None:
        if total_length < longest:
            raise ArgumentError(f"Expected total_length to be at least the length of the longest sequence in input, "
                                f"but got total_length={total_length} and max sequence length being {longest}")
        longest = total_length
    data, batch = sequence.data, len(lengths)
    steps, sequences = _rows(lengths)
    where = np.full((longest, batch), len(steps), np.int64)  # the padding row, after the data's rows
    where[steps, sequences] = np.arange(len(steps))
    filler = full((1, *data.shape[1:]), padding_value, dtype=data.dtype)
    padded = cat([data, filler], 0).index_select(0, tensor(where.reshape(-1))).reshape(longest, batch,
                                                                                      *data.shape[1:])
    lengths_out = tensor(lengths, dtype=dtypes.int64)
    if sequence.unsorted_indices is not None:
        padded = padded.index_select(1, sequence.unsorted_indices)
        lengths_out = lengths_out.index_select(0, sequence.unsorted_indices)
    return (padded.transpose(0, 1) if batch_first else padded), lengths_out


def packed_like(padded: Tensor, like: PackedSequence) -> PackedSequence:
    """A padded batch (T, B, *) in the original order packed as ``like`` is: its order, lengths and steps (how a
    recurrent layer returns a packed input's output)."""
    if like.sorted_indices is not None:
        padded = padded.index_select(1, like.sorted_indices)
    return like._replace(data=_packed_data(padded, like.lengths())[0])


def pack_sequence(sequences: Sequence[Tensor], enforce_sorted: bool = True) -> PackedSequence:
    """Sequences of shapes (Lᵢ, *) packed: ``pad_sequence`` then ``pack_padded_sequence``."""
    sequences = list(sequences)
    return pack_padded_sequence(pad_sequence(sequences), [s.shape[0] for s in sequences],
                                enforce_sorted=enforce_sorted)


def unpad_sequence(padded_sequences: Tensor, lengths, batch_first: bool = False) -> list[Tensor]:
    """The sequences of a padded batch, each cut to its length."""
    if not batch_first:
        padded_sequences = padded_sequences.transpose(0, 1)
    values = _lengths(lengths, padded_sequences.shape[0], padded_sequences.shape[1])
    return [padded_sequences[k, :int(n)] for k, n in enumerate(values)]


def unpack_sequence(packed_sequences: PackedSequence) -> list[Tensor]:
    """The sequences of a packed batch, in the original order."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)


__all__ = ["PackedSequence", "pack_padded_sequence", "pack_sequence", "pad_packed_sequence", "pad_sequence",
           "unpack_sequence", "unpad_sequence"]
