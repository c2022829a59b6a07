"""Neural-network building blocks; ``symnet.nn.functional`` mirrors ``torch.nn.functional``."""

from . import functional

__all__ = ["functional"]
