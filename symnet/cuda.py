"""``symnet.cuda``: CUDA's API as a CPU-only PyTorch answers it, so the first line of most PyTorch programs
(``device = "cuda" if torch.cuda.is_available() else "cpu"``) runs unchanged. symnet compiles native code for the
host CPU: there is no CUDA device, and what needs one raises ``DeviceError``."""

from __future__ import annotations

from .frontend.device import DeviceError


def is_available() -> bool:
    return False


def device_count() -> int:
    return 0


def is_initialized() -> bool:
    return False


def is_bf16_supported(including_emulation: bool = True) -> bool:  # noqa: ARG001 - torch's signature
    return False


def manual_seed(seed: int) -> None:  # noqa: ARG001 - without CUDA, PyTorch ignores it silently too
    """No CUDA generator to seed (``symnet.manual_seed`` seeds symnet's)."""


manual_seed_all = manual_seed


def empty_cache() -> None:
    """Nothing cached: there is no CUDA memory."""


def memory_allocated(device=None) -> int:  # noqa: ARG001 - torch's signature
    return 0


max_memory_allocated = memory_reserved = max_memory_reserved = memory_allocated


def _no_cuda(*args, **kwargs):
    raise DeviceError("symnet runs on the CPU only (it compiles native code for this machine's processor): "
                      "there is no CUDA device; check symnet.cuda.is_available() first")


synchronize = current_device = set_device = get_device_name = get_device_properties = get_device_capability = \
    reset_peak_memory_stats = _no_cuda
