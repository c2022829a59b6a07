"""Epochs and minibatches in the driver's terms: which rows of the data each step reads.

The native driver knows only "iteration s reads rows ``index[starts[s mod P]:starts[s mod P + 1]]``"; here
an epoch is one pass over a permutation of the samples, cut into batches (the last one short).
"""

from __future__ import annotations

import numpy as np


def epochs_schedule(orders: list[np.ndarray], batch: int) -> tuple[np.ndarray, np.ndarray]:
    """``index`` and ``starts`` for one epoch per order, one after another (a single order repeats)."""
    samples, epochs = len(orders[0]), len(orders)
    index = orders[0] if epochs == 1 else np.concatenate(orders)
    starts = np.empty(epochs * -(-samples // batch) + 1, dtype=np.int64)
    starts[:-1] = (np.arange(0, samples, batch, dtype=np.int64) + samples * np.arange(epochs)[:, None]).ravel()
    starts[-1] = epochs * samples
    return np.ascontiguousarray(index, dtype=np.int64), starts
