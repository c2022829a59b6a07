"""``symnet.accelerator``: PyTorch's device-agnostic accelerator API, answered for the host CPU that symnet compiles
for: no accelerator (``device = torch.accelerator.current_accelerator() or "cpu"`` runs unchanged)."""

from __future__ import annotations

from .cuda import memory_allocated as memory_allocated
from .frontend.device import DeviceError


def is_available() -> bool:
    return False


def current_accelerator(check_available: bool = False) -> None:  # noqa: ARG001 - torch's signature
    """None: the CPU is not an accelerator."""
    return None


def device_count() -> int:
    return 0


max_memory_allocated = memory_reserved = max_memory_reserved = memory_allocated


def empty_cache() -> None:
    """Nothing cached: there is no accelerator memory."""


def _no_accelerator(*args, **kwargs):
    raise DeviceError("symnet runs on the CPU only: there is no accelerator; check "
                      "symnet.accelerator.is_available() first")


synchronize = current_device_index = current_device_idx = set_device_index = set_device_idx = _no_accelerator
