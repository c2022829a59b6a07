"""Epochs and minibatches in the driver's terms: which rows of the data each step reads.

The native driver knows only "iteration s reads rows ``index[starts[s mod P]:starts[s mod P + 1]]``"; here
an epoch is one pass over a permutation of the samples, cut into batches (the last one short).
"""

from __future__ import annotations

import numpy as np


def batch_starts(samples: int, batch: int) -> np.ndarray:
    """Where each batch of one epoch starts in its permutation, and the end: ``[0, b, 2b, …, samples]``."""
    return np.append(np.arange(0, samples, batch, dtype=np.int64), np.int64(samples))


def epochs_schedule(orders: list[np.ndarray], batch: int) -> tuple[np.ndarray, np.ndarray]:
    """``index`` and ``starts`` for one epoch per order, one after another (a single order repeats)."""
    samples = len(orders[0])
    one = batch_starts(samples, batch)
    index = np.concatenate(orders).astype(np.int64, copy=False)
    starts = np.concatenate([one[:-1] + e * samples for e in range(len(orders))] + [[len(orders) * samples]])
    return np.ascontiguousarray(index), starts.astype(np.int64)
