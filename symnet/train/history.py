"""The losses of a training run, kept compactly: float64 chunks, not a Python float per step forever."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np


class LossHistory:
    """Per-step losses in order; reads like a list of floats (``len``, indexing, slicing, iteration).

    >>> h = LossHistory(); h.extend([0.5, 0.25]); h.append(0.125)
    >>> len(h), h[-1], h.tolist()
    (3, 0.125, [0.5, 0.25, 0.125])
    """

    def __init__(self):
        self._chunks: list[np.ndarray] = []
        self._pending: list[float] = []
        self._length = 0

    def append(self, loss: float) -> None:
        self._pending.append(float(loss))
        self._length += 1
        if len(self._pending) >= 4096:
            self._flush()

    def extend(self, losses) -> None:
        self._flush()
        chunk = np.array(losses, dtype=np.float64).ravel()
        if chunk.size:
            self._chunks.append(chunk)
            self._length += chunk.size

    def _flush(self) -> None:
        if self._pending:
            self._chunks.append(np.array(self._pending, dtype=np.float64))
            self._pending = []

    def numpy(self) -> np.ndarray:
        """All losses as one float64 array."""
        self._flush()
        if len(self._chunks) > 1:
            self._chunks = [np.concatenate(self._chunks)]
        return self._chunks[0] if self._chunks else np.zeros(0)

    def tolist(self) -> list[float]:
        return self.numpy().tolist()

    def __len__(self) -> int:
        return self._length

    def __getitem__(self, index):
        value = self.numpy()[index]
        return float(value) if np.ndim(value) == 0 else value

    def __iter__(self) -> Iterator[float]:
        return iter(self.tolist())

    def __repr__(self) -> str:
        return f"LossHistory({len(self)} steps" + (f", last {self[-1]:.6g})" if len(self) else ")")
