"""What happens after each epoch of ``fit``: the History, the metrics, the callbacks, and the progress bar a
person watches (epoch, loss, rate), shown when a fit will take more than about two seconds."""

from __future__ import annotations

import contextlib
import io
import time
from collections.abc import Callable, Iterable, Mapping

import numpy as np

from .history import History

#: a fit expected to take longer than this gets a bar (progress=None)
BAR_AFTER_SECONDS = 2.0


class Watch:
    """The epoch loop's observer. The loop asks ``needs_every_epoch`` (callbacks and metrics see each epoch, so
    the native loop returns after each) and ``chunk(epoch_seconds)`` (how many epochs one native call may run),
    then reports each finished epoch with ``epoch_done``."""

    def __init__(self, step, epochs: int, steps_per_epoch: int | None, progress: bool | None,
                 callbacks: Iterable[Callable] = (), metrics: Mapping[str, Callable] | None = None,
                 seconds_per_epoch: float | None = None):
        self.step, self.epochs, self.steps_per_epoch = step, epochs, steps_per_epoch
        self.progress, self.callbacks, self.metrics = progress, list(callbacks), dict(metrics or {})
        for name, metric in self.metrics.items():
            if not callable(metric):
                raise TypeError(f"fit: metric {name!r} must be a function of the compiled step, got {metric!r}")
        self.history = History()
        #: an earlier fit's pace decides the bar at once; without one, the first epoch runs alone and decides
        self.undecided = progress is None and seconds_per_epoch is None
        long = seconds_per_epoch is not None and seconds_per_epoch * epochs > BAR_AFTER_SECONDS
        self.bar = self._open_bar(0) if progress or (progress is None and long) else None
        self.began = self.last = time.perf_counter()
        self.epoch = 0

    @property
    def needs_every_epoch(self) -> bool:
        return bool(self.callbacks or self.metrics)

    def chunk(self) -> int:
        """Epochs the next native call may run: all that remain, unless something must happen between epochs (a
        bar moves about four times a second). Undecided (no pace known), the first epoch runs alone and decides."""
        remaining = self.epochs - self.epoch
        if self.needs_every_epoch or (self.undecided and self.epoch == 0):
            return 1
        if self.bar is None:
            return remaining
        per_epoch = max(self.history.epoch_seconds[-1], 1e-9) if self.history.epoch_seconds else 1.0
        return max(1, min(remaining, int(0.25 / per_epoch)))

    def epoch_done(self, losses: list[float], seconds: float | None = None) -> None:
        """One epoch finished with these losses, in ``seconds`` (measured since the last report when None)."""
        now = time.perf_counter()
        seconds = now - self.last if seconds is None else seconds
        self.last = now
        with self._printing():
            values = {name: metric(self.step) for name, metric in self.metrics.items()}
            self.history.add_epoch(losses, seconds, values)
            for callback in self.callbacks:
                callback(self.step, self.epoch, losses)
        self.epoch += 1
        if self.undecided and self.epoch == 1 and seconds * (self.epochs - 1) > BAR_AFTER_SECONDS:
            self.bar = self._open_bar(len(losses))
        if self.bar is not None:
            self.bar.update(len(losses) if self.steps_per_epoch else 1)
            shown = {"epoch": f"{self.epoch}/{self.epochs}", "loss": f"{self.history.epoch_loss[-1]:.4g}"}
            shown.update((k, f"{v[-1]:.4g}") for k, v in self.history.metrics.items())
            self.bar.set_postfix(shown, refresh=False)

    def epochs_done(self, losses: np.ndarray, seconds: float, flat: list[float]) -> None:
        """Several epochs finished in one native call: ``losses`` has a row per epoch, ``flat`` is them as a list;
        ``seconds`` each."""
        if self.needs_every_epoch or self.undecided:
            steps = losses.shape[1]
            for k in range(len(losses)):
                self.epoch_done(flat[k * steps:(k + 1) * steps], seconds)
            return
        self.history.add_epochs(losses, seconds, flat)
        self.epoch += len(losses)
        self.last = time.perf_counter()
        if self.bar is not None:
            self.bar.update(losses.size if self.steps_per_epoch else len(losses))
            self.bar.set_postfix({"epoch": f"{self.epoch}/{self.epochs}",
                                  "loss": f"{self.history.epoch_loss[-1]:.4g}"}, refresh=False)

    def step_done(self) -> None:
        """For loops that report each step (a loader symnet cannot run natively)."""
        if self.bar is not None and self.steps_per_epoch:
            self.bar.update(1)

    def close(self) -> History:
        if self.bar is not None:
            self.bar.close()
        return self.history

    def _open_bar(self, done: int):
        try:
            from tqdm import tqdm
        except ImportError:  # pragma: no cover - tqdm is a dependency
            return None
        total = self.epochs * self.steps_per_epoch if self.steps_per_epoch else self.epochs
        return tqdm(total=total, initial=done, unit="step" if self.steps_per_epoch else "epoch", leave=False,
                    dynamic_ncols=True, desc="fit")

    @contextlib.contextmanager
    def _printing(self):
        """What callbacks and metrics print goes above the bar, not through it."""
        if self.bar is None:
            yield
            return
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            yield
        text = buffer.getvalue().rstrip("\n")
        if text:
            self.bar.write(text)

