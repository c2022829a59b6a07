"""``fit`` called again on the same batch: its arguments bound once, one native step per call.

A short fit (the seed's linear regression: 100 epochs of a 3-sample batch) is a few microseconds of native work, so
its fixed costs decide its time. ``fit`` takes the general path (trace, compile, full validation) until it meets the
same x and y objects a second time; then it binds them in a ``BoundFit``, which the next ``fit`` on them uses while
what the program was chosen by holds: the modules' training flags and the optimizer's hyperparameters. What
changes between calls is checked natively, in the marshal's step: every input's dtype, shape and contiguity, and
that x holds no NaN or infinity; the driver finds the first NaN or infinite loss. On any mismatch nothing has run,
and the general path takes the call (and words its error).
"""

from __future__ import annotations

import operator
import threading
import time
import weakref
from typing import TYPE_CHECKING

import numpy as np

from ..errors import IndexRangeError
from ..frontend.tensor import Tensor
from .history import History
from .schedule import constant_series

if TYPE_CHECKING:
    from .step import CompiledStep

#: a repeat expected to take at most this long runs holding the GIL (Python's own switch interval is 5 ms):
#: releasing and taking it again would cost more than other threads wait
HOLD_SECONDS = 1e-3


class BoundFit:
    """The arrays and the program of one fit's batch, bound for the next fit on the same objects (held weakly: the
    binding keeps no data alive)."""

    def __init__(self, step: CompiledStep, x, y, xa: np.ndarray, ya: np.ndarray):
        self.step, self.x, self.y = step, weakref.ref(x), weakref.ref(y)
        self.program, self.slots = step._step, step._slots
        self.mode = step._mode()
        optimizer = step.optimizer
        #: each parameter group and its hyperparameters when bound (the program's rules read them)
        self.options = [(group, optimizer.option_values(group)) for group in optimizer.param_groups]
        #: the last call's epochs and learning rates (Python floats, compared by value; else None), and the rates'
        #: series
        self.lr_groups = [g for g, _ in self.slots.lrs]
        self.rates: list | None = None
        self.series: tuple[np.ndarray, ...] = ()
        inputs = step._inputs(0, xa, ya)
        finite = (self.slots.x,) if xa.dtype.kind == "f" else ()
        self.repeat = self.program.bind_repeat(inputs, finite)

    @staticmethod
    def binds(step: CompiledStep, x, y, xa: np.ndarray, ya: np.ndarray) -> bool:
        """Whether a fit on ``x`` and ``y`` (whose arrays it used were ``xa`` and ``ya``) can be bound: the
        arrays are theirs (not conversions, which every call would redo) and the program's repeat binds."""
        return all(isinstance(d, Tensor) or a is d for d, a in ((x, xa), (y, ya))) and step._step.binds_repeat

    def fit(self, x, y, epochs: int) -> History | None:
        """``epochs`` epochs on the bound batch, as ``CompiledStep.fit`` runs them; None, nothing done, when the
        call is not the bound one's."""
        step = self.step
        if x is not self.x() or y is not self.y() or step._mode() != self.mode or not self._same_options():
            return None
        xa = x._array() if type(x) is not np.ndarray else x
        ya = y._array() if type(y) is not np.ndarray else y
        step._step, step._slots = self.program, self.slots
        groups = step.optimizer.param_groups
        rates = [epochs] + [groups[g]["lr"] for g in self.lr_groups]
        if rates != self.rates:
            self.series = tuple(constant_series(epochs, lr) for lr in rates[1:])  # (a new one: checked on its run)
            self.rates = rates if all(type(lr) is float for lr in rates[1:]) else None  # a tensor may change
        hold = step._seconds_per_step is not None and step._seconds_per_step * epochs <= HOLD_SECONDS
        began = time.perf_counter()
        inputs = step._inputs(epochs, xa, ya, in_place=True)
        try:
            records = self.repeat.run(inputs, epochs, self.series, hold)
        except IndexRangeError as exc:
            raise step._stopped(exc, epochs, 1, None) from exc
        if records is None:  # x not finite, or an array not as bound: the general path decides
            step._count_steps(-epochs)
            return None
        seconds = (time.perf_counter() - began) / epochs
        step._seconds_per_step = seconds
        flat = records[:, 0].tolist()
        if self.repeat.first_nonfinite >= 0:
            step._warn_if_diverging(flat, len(step.history), 0, 1)
        step.history.take(records[:, 0])
        return History(flat, flat, [seconds] * epochs)  # (its list is a copy) one step an epoch: the epoch's mean

    def _same_options(self) -> bool:
        """The optimizer's groups are the bound ones, each holding the same hyperparameter objects."""
        optimizer = self.step.optimizer
        groups = optimizer.param_groups
        if len(groups) != len(self.options):
            return False
        for (group, values), now in zip(self.options, groups):  # noqa: B905 - lengths compared above
            if group is not now or not all(map(operator.is_, optimizer.option_values(now), values)):
                return False
        return True


class Bindings(threading.local):
    """A compiled step's bound fit in each thread (its block and workspace are the thread's), and the batch of the
    last fit that took the general path: bound when the next does too, so fits on ever new batches bind nothing."""

    fit: BoundFit | None = None
    last: tuple[weakref.ref, weakref.ref] | None = None

    def after_general_fit(self, step: CompiledStep, x, y, xa: np.ndarray, ya: np.ndarray) -> None:
        if self.last is not None and self.last[0]() is x and self.last[1]() is y \
                and BoundFit.binds(step, x, y, xa, ya):
            self.fit, self.last = BoundFit(step, x, y, xa, ya), None
        else:
            self.last = weakref.ref(x), weakref.ref(y)
