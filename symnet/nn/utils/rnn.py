"""``torch.nn.utils.rnn``'s padding of variable-length sequences into one batch (``PackedSequence`` and its packing
are not supported: a clear error names them)."""

from __future__ import annotations

from collections.abc import Sequence

from ...errors import ArgumentError, NotSupportedError, ShapeError
from ...frontend.shaping import stack
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


def _packing(name: str):
    def refuse(*args, **kwargs):
        raise NotSupportedError(f"{name}: PackedSequence is not supported; pad the batch (pad_sequence) and mask the "
                                "padded steps, or run the sequences one length at a time")

    refuse.__name__ = refuse.__qualname__ = name
    return refuse


pack_padded_sequence = _packing("pack_padded_sequence")
pack_sequence = _packing("pack_sequence")
pad_packed_sequence = _packing("pad_packed_sequence")

__all__ = ["pack_padded_sequence", "pack_sequence", "pad_packed_sequence", "pad_sequence"]
