"""Epochs, minibatches and learning rates in the driver's terms: which rows of the data each step reads, and the
rate it steps with.

The native driver knows only "iteration s reads rows ``index[starts[s mod P]:starts[s mod P + 1]]``"; here
an epoch is one pass over a permutation of the samples, cut into batches (the last one short). A learning rate is
a series: element s is step s's.
"""

from __future__ import annotations

import functools

import numpy as np


def epochs_schedule(orders: list[np.ndarray], batch: int) -> tuple[np.ndarray, np.ndarray]:
    """``index`` and ``starts`` for one epoch per order, one after another (a single order repeats)."""
    samples, epochs = len(orders[0]), len(orders)
    index = orders[0] if epochs == 1 else np.concatenate(orders)
    starts = np.empty(epochs * -(-samples // batch) + 1, dtype=np.int64)
    starts[:-1] = (np.arange(0, samples, batch, dtype=np.int64) + samples * np.arange(epochs)[:, None]).ravel()
    starts[-1] = epochs * samples
    return np.ascontiguousarray(index, dtype=np.int64), starts


def constant_series(total: int, lr) -> np.ndarray:
    """A learning rate held for ``total`` steps (a nonzero float's series is shared by fit calls of that length and
    rate: a cache would take 0.0 and -0.0 for one)."""
    return _shared_series(total, lr) if type(lr) is float and lr else np.full(total, lr, dtype=np.float64)


@functools.lru_cache(maxsize=8)
def _shared_series(total: int, lr: float) -> np.ndarray:
    series = np.full(total, lr, dtype=np.float64)
    series.flags.writeable = False  # the driver only reads it
    return series
