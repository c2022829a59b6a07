"""``symnet.utils``, as ``torch.utils``: the data pipeline lives in ``symnet.utils.data`` (also ``symnet.data``)."""

from . import data

__all__ = ["data"]
