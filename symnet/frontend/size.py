"""``symnet.Size``: PyTorch's ``torch.Size``, the tuple ``size()`` returns — it prints as PyTorch's does
(``symnet.Size([3, 784])``) and counts its elements."""

from __future__ import annotations

import math
import operator
from collections.abc import Iterable

from .batch import BatchSize


class Size(tuple):
    """A tuple of ints (``Size([2, 3]) == (2, 3)``); slices stay sizes."""

    __slots__ = ()

    def __new__(cls, sizes: Iterable[int] = ()) -> Size:
        # a compiled step's batch size stays marked (``batch.BatchSize``); operator.index would unmark it
        return super().__new__(cls, [s if type(s) is BatchSize else operator.index(s) for s in sizes])

    def __repr__(self) -> str:
        return f"symnet.Size({list(self)})"

    def __getitem__(self, key):
        item = super().__getitem__(key)
        return Size(item) if isinstance(key, slice) else item

    def numel(self) -> int:
        """The number of elements a tensor of this size holds."""
        return math.prod(self)
