"""The losses of training: the compiled step's whole record (float64 chunks, not a Python float per step forever)
and the History one ``fit`` call returns."""

from __future__ import annotations

import math
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
        chunk = np.array(losses, dtype=np.float64).ravel()  # a copy: the caller's array may change
        if chunk.size:
            self._chunks.append(chunk)
            self._length += chunk.size

    def take(self, losses: np.ndarray) -> None:
        """Append a float64 array of losses that nothing else will write (a fresh array of records): kept
        without a copy."""
        if self._pending:
            self._flush()
        if losses.size:
            self._chunks.append(losses)
            self._length += losses.size

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


class History(list):
    """What ``fit`` returns: the per-step losses of the call (a list of floats, so code that treated the old
    return value as a list still works; ``losses`` gives them as NumPy), and per epoch the mean loss, the
    metrics asked for and the wall time. ``plot()`` draws them."""

    __slots__ = ("epoch_loss", "metrics", "epoch_seconds")

    def __init__(self, losses=(), epoch_loss: list[float] | None = None, epoch_seconds: list[float] | None = None):
        super().__init__(losses)
        self.epoch_loss: list[float] = [] if epoch_loss is None else epoch_loss
        self.metrics: dict[str, list[float]] = {}
        self.epoch_seconds: list[float] = [] if epoch_seconds is None else epoch_seconds

    @property
    def losses(self) -> np.ndarray:
        return np.array(self, dtype=np.float64)

    @property
    def seconds(self) -> float:
        """Wall time of the epochs (a first call's compilation is not in it)."""
        return float(sum(self.epoch_seconds))

    def add_epoch(self, losses: list[float], seconds: float, metrics: dict[str, float]) -> None:
        self.extend(losses)
        self.epoch_loss.append(float(np.mean(losses)) if losses else math.nan)
        self.epoch_seconds.append(seconds)
        for name, value in metrics.items():
            self.metrics.setdefault(name, []).append(float(value))

    def add_epochs(self, losses: np.ndarray, seconds: float, flat: list[float]) -> None:
        """Several epochs at once (a row of ``losses`` each, ``flat`` the same as a list; ``seconds`` each), with no
        metrics."""
        self.extend(flat)
        if losses.shape[1] == 1:  # one step per epoch: its loss is the epoch's mean
            self.epoch_loss.extend(flat)
        else:  # np.mean's own sum and division, without its per-call dispatch
            self.epoch_loss.extend((np.add.reduce(losses, axis=1) / losses.shape[1]).tolist())
        self.epoch_seconds.extend([seconds] * len(losses))

    def plot(self, ax=None, title: str = "training loss"):
        """The per-step losses (faint), their running mean over about an epoch, the epoch means as points, and
        each metric on its own right-hand axis; returns the Axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            ax = plt.subplots(figsize=(7, 4))[1]
        steps = np.arange(1, len(self) + 1)
        epochs = len(self.epoch_loss)
        per_epoch = max(1, len(self) // max(epochs, 1))
        ax.plot(steps, self.losses, color="tab:blue", alpha=0.3, lw=0.8, label="loss per step")
        if per_epoch > 1:
            ax.plot(steps, running_mean(self.losses, per_epoch), color="tab:blue", lw=1.5,
                    label=f"running mean ({per_epoch} steps)")
        ax.plot(per_epoch * np.arange(1, epochs + 1), self.epoch_loss, "o", color="tab:blue", ms=3,
                label="epoch mean")
        ax.set_xlabel("step")
        ax.set_ylabel("loss")
        if len(self) and np.nanmin(self.losses) > 0 and np.nanmax(self.losses) / np.nanmin(self.losses) > 100:
            ax.set_yscale("log")
        ax.set_title(title)
        handles, labels = ax.get_legend_handles_labels()
        for k, (name, values) in enumerate(self.metrics.items()):
            twin = ax.twinx()
            twin.spines["right"].set_position(("axes", 1 + 0.12 * k))
            color = f"C{k + 1}"
            twin.plot(per_epoch * np.arange(1, len(values) + 1), values, "s-", color=color, ms=3, label=name)
            twin.set_ylabel(name, color=color)
            more = twin.get_legend_handles_labels()
            handles, labels = handles + more[0], labels + more[1]
        ax.legend(handles, labels, loc="best", fontsize="small")
        return ax

    def __repr__(self) -> str:
        last = f", last loss {self[-1]:.6g}" if self else ""
        metrics = "".join(f", {k} {v[-1]:.4g}" for k, v in self.metrics.items() if v)
        return f"History({len(self)} steps, {len(self.epoch_loss)} epochs{last}{metrics})"


def running_mean(values: np.ndarray, window: int) -> np.ndarray:
    """The mean of the last ``window`` values at each position (fewer at the start); NaN-free input stays so."""
    cumulative = np.cumsum(np.insert(np.asarray(values, dtype=np.float64), 0, 0.0))
    ends = np.arange(1, len(values) + 1)
    starts = np.maximum(ends - window, 0)
    return (cumulative[ends] - cumulative[starts]) / (ends - starts)
