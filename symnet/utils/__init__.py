"""``symnet.utils``, as ``torch.utils``: the data pipeline lives in ``symnet.utils.data`` (also ``symnet.data``);
``checkpoint`` runs a segment as PyTorch's activation checkpointing does, with the same numbers."""

from . import checkpoint, data

__all__ = ["checkpoint", "data"]
