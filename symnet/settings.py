"""The process-wide switches PyTorch scripts set before training (``torch.use_deterministic_algorithms(True)``,
``torch.set_float32_matmul_precision("high")``, …), with what each means for symnet: its compiled kernels are
deterministic already (a thread count fixes every summation order), float32 matrix products are computed in
float32, and there is no inter-op pool. The switches are kept and read back as PyTorch's; a wrong value is
PyTorch's error or warning."""

from __future__ import annotations

import builtins
import warnings

from .frontend.tensor import Tensor

_deterministic = {"mode": False, "warn_only": False}
_matmul_precision = ["highest"]
_interop_threads = [1]
_warn_always = [False]
_DEBUG_MODES = {"default": 0, "warn": 1, "error": 2}


def use_deterministic_algorithms(mode: bool, *, warn_only: bool = False) -> None:
    """Ask for deterministic algorithms: symnet's are (the same inputs, thread count and machine give the same
    bits), so nothing changes but the flag ``are_deterministic_algorithms_enabled`` reads."""
    for position, (name, value) in enumerate((("mode", mode), ("warn_only", warn_only)), 1):
        if not isinstance(value, builtins.bool):
            raise TypeError(f"_set_deterministic_algorithms(): argument '{name}' (position {position}) must be bool, "
                            f"not {type(value).__name__}")
    _deterministic.update(mode=mode, warn_only=warn_only)


def are_deterministic_algorithms_enabled() -> bool:
    return _deterministic["mode"]


def is_deterministic_algorithms_warn_only_enabled() -> bool:
    return _deterministic["warn_only"]


def set_deterministic_debug_mode(debug_mode: str | int) -> None:
    """``"default"``/0 (off), ``"warn"``/1, ``"error"``/2, as PyTorch's."""
    if isinstance(debug_mode, str):
        if debug_mode not in _DEBUG_MODES:
            raise RuntimeError(f"invalid value of debug_mode, expected one of `default`, `warn`, `error`, but got "
                               f"{debug_mode}")
        debug_mode = _DEBUG_MODES[debug_mode]
    elif not isinstance(debug_mode, builtins.int) or isinstance(debug_mode, builtins.bool):
        raise TypeError(f"debug_mode must be str or int, but got {type(debug_mode).__name__}")
    if debug_mode not in (0, 1, 2):
        raise RuntimeError(f"invalid value of debug_mode, expected 0, 1, or 2, but got {debug_mode}")
    use_deterministic_algorithms(debug_mode > 0, warn_only=debug_mode == 1)


def get_deterministic_debug_mode() -> int:
    if not _deterministic["mode"]:
        return 0
    return 1 if _deterministic["warn_only"] else 2


def set_float32_matmul_precision(precision: str) -> None:
    """``"highest"``, ``"high"`` or ``"medium"``: symnet computes float32 products in float32 whatever is asked
    (the looser precisions allow TF32 or bfloat16 units it does not use)."""
    if precision not in ("highest", "high", "medium"):
        warnings.warn(f"{precision} is not one of 'highest', 'high', or 'medium'; the current "
                      "setFloat32MatmulPrecision call has no effect.", UserWarning, stacklevel=2)
        return
    _matmul_precision[0] = precision


def get_float32_matmul_precision() -> str:
    return _matmul_precision[0]


def set_num_interop_threads(n: int) -> None:
    """The inter-op pool's size: symnet runs one program at a time per caller, so it only records it."""
    if not isinstance(n, builtins.int) or isinstance(n, builtins.bool) or n <= 0:
        raise RuntimeError("set_num_interop_threads expects a positive integer")
    _interop_threads[0] = n


def get_num_interop_threads() -> int:
    return _interop_threads[0]


def set_flush_denormal(mode: bool) -> bool:
    """Whether flushing denormals is supported: symnet's kernels keep IEEE subnormals (PyTorch's results), so
    asking to flush returns False; asking not to is what happens."""
    return not mode


def set_warn_always(b: bool) -> None:
    _warn_always[0] = builtins.bool(b)


def is_warn_always_enabled() -> bool:
    return _warn_always[0]


def typename(obj) -> str:
    """``torch.typename``: a tensor's type name (``symnet.FloatTensor``), else the object's class's full name."""
    if isinstance(obj, Tensor):
        return obj.type()
    module = getattr(obj, "__module__", "") or ""
    if hasattr(obj, "__qualname__"):
        name = obj.__qualname__
    elif hasattr(obj, "__name__"):
        name = obj.__name__
    else:
        module, name = type(obj).__module__ or "", type(obj).__qualname__
    return name if module in ("", "builtins") else f"{module}.{name}"

__all__ = ["are_deterministic_algorithms_enabled", "get_deterministic_debug_mode", "get_float32_matmul_precision",
           "get_num_interop_threads", "is_deterministic_algorithms_warn_only_enabled", "is_warn_always_enabled",
           "set_deterministic_debug_mode", "set_float32_matmul_precision", "set_flush_denormal",
           "set_num_interop_threads", "set_warn_always", "typename", "use_deterministic_algorithms"]
