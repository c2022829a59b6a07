"""``torch.amp``: ``autocast`` and ``GradScaler``, as far as symnet's dtypes reach.

Autocast runs ops in a lower precision (bfloat16 or float16), which symnet does not store: asking for it is a
clear error rather than float32 numbers presented as bfloat16 ones. Turned off (``enabled=False``) or asked for
float32/float64 it changes nothing, as PyTorch's CPU autocast (which warns for the latter). ``GradScaler`` is
PyTorch's: the loss scaled, the gradients unscaled before the step, a step with an inf or NaN gradient skipped
and the scale backed off, grown after ``growth_interval`` clean steps — on float32 gradients the scaling by a
power of two is exact, so the numbers are those of the unscaled loop."""

from __future__ import annotations

import warnings
from collections.abc import Iterable

import numpy as np

from .core import dtypes
from .errors import ArgumentError, NotSupportedError
from .frontend.tensor import Tensor
from .optim.optimizer import Optimizer


class autocast:  # noqa: N801 - torch's name
    """``torch.autocast(device_type, dtype=None, enabled=True, cache_enabled=None)``, as a context manager or a
    decorator."""

    def __init__(self, device_type: str = "cpu", dtype=None, enabled: bool = True, cache_enabled: bool | None = None):
        if str(device_type) not in ("cpu", "cuda"):
            raise ArgumentError(f"autocast: unsupported device_type {device_type!r}")
        self.device_type, self.enabled = str(device_type), bool(enabled)
        name = "bfloat16" if dtype is None else getattr(dtype, "name", str(dtype))
        if self.enabled and name in ("float32", "float64"):
            warnings.warn("In CPU autocast, but the target dtype is not supported. Disabling autocast.\nCPU Autocast "
                          "only supports dtypes of torch.bfloat16, torch.float16 currently.", UserWarning, stacklevel=2)
            self.enabled = False
        if self.enabled:
            raise NotSupportedError(f"autocast to {name}: symnet computes in float32 and float64 only, so it cannot "
                                    "run ops in a lower precision; leave autocast out (or pass enabled=False) and "
                                    "train in float32")

    def __enter__(self) -> autocast:
        return self

    def __exit__(self, *exc) -> None:
        return None

    def __call__(self, fn):
        def run(*args, **kwargs):
            with self:
                return fn(*args, **kwargs)

        return run


class GradScaler:
    """``torch.amp.GradScaler(device, init_scale, growth_factor, backoff_factor, growth_interval, enabled)``."""

    def __init__(self, device: str = "cuda", init_scale: float = 2.0**16, growth_factor: float = 2.0,
                 backoff_factor: float = 0.5, growth_interval: int = 2000, enabled: bool = True):
        if growth_factor <= 1.0:
            raise ArgumentError("The growth factor must be > 1.0.")
        if backoff_factor >= 1.0:
            raise ArgumentError("The backoff factor must be < 1.0.")
        self._scale, self._growth_factor, self._backoff_factor = float(init_scale), growth_factor, backoff_factor
        self._growth_interval, self._growth_tracker, self._enabled = growth_interval, 0, bool(enabled)
        self._unscaled: dict[int, bool] = {}  # per optimizer (by id) this step: whether a gradient was not finite

    def is_enabled(self) -> bool:
        return self._enabled

    def get_scale(self) -> float:
        return self._scale if self._enabled else 1.0

    def scale(self, outputs):
        """``outputs`` (a tensor, or nested lists and tuples of them) times the scale."""
        if not self._enabled:
            return outputs
        if isinstance(outputs, Tensor):
            return outputs * self._scale
        if isinstance(outputs, list | tuple):
            return type(outputs)(self.scale(o) for o in outputs)
        raise ValueError("outputs must be a Tensor or an iterable of Tensors")

    def unscale_(self, optimizer: Optimizer) -> None:
        """Divide the optimizer's gradients by the scale (once per step), noting whether any is inf or NaN."""
        if not self._enabled:
            return
        if id(optimizer) in self._unscaled:
            raise RuntimeError("unscale_() has already been called on this optimizer since the last update().")
        found_inf = False
        for p in _grads(optimizer):
            values = p.grad._array() * np.asarray(1.0 / self._scale, p.grad.dtype)
            found_inf = found_inf or not np.isfinite(values).all()
            p.grad._update(values)
        self._unscaled[id(optimizer)] = found_inf

    def step(self, optimizer: Optimizer, *args, **kwargs):
        """The optimizer's step on unscaled gradients, skipped when one of them is inf or NaN."""
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        if id(optimizer) not in self._unscaled:
            self.unscale_(optimizer)
        return None if self._unscaled[id(optimizer)] else optimizer.step(*args, **kwargs)

    def update(self, new_scale: float | Tensor | None = None) -> None:
        """Back the scale off after a skipped step, grow it after ``growth_interval`` steps in a row without."""
        if not self._enabled:
            return
        if new_scale is not None:
            self._scale = float(new_scale)
        elif any(self._unscaled.values()):
            self._scale *= self._backoff_factor
            self._growth_tracker = 0
        else:
            self._growth_tracker += 1
            if self._growth_tracker == self._growth_interval:
                self._scale *= self._growth_factor
                self._growth_tracker = 0
        self._unscaled.clear()

    def state_dict(self) -> dict:
        if not self._enabled:
            return {}
        return {"scale": self._scale, "growth_factor": self._growth_factor, "backoff_factor": self._backoff_factor,
                "growth_interval": self._growth_interval, "_growth_tracker": self._growth_tracker}

    def load_state_dict(self, state_dict: dict) -> None:
        if not self._enabled:
            return
        if not state_dict:
            raise RuntimeError("The source state dict is empty, possibly because it was saved from a disabled "
                               "instance of GradScaler.")
        self._scale, self._growth_factor = float(state_dict["scale"]), float(state_dict["growth_factor"])
        self._backoff_factor, self._growth_interval = float(state_dict["backoff_factor"]), int(
            state_dict["growth_interval"])
        self._growth_tracker = int(state_dict["_growth_tracker"])


def _grads(optimizer: Optimizer) -> Iterable[Tensor]:
    for group in optimizer.param_groups:
        for p in group["params"]:
            if p.grad is not None and dtypes.is_float(p.grad.dtype):
                yield p


def is_autocast_available(device_type: str) -> bool:
    """Whether autocast can run on ``device_type``: never here (symnet has no lower precision to cast to)."""
    return False


__all__ = ["GradScaler", "autocast", "is_autocast_available"]
