"""Datasets (``torch.utils.data.dataset``): map-style (``__getitem__`` and ``__len__``) and iterable-style
(``__iter__``), with PyTorch's combinators and ``random_split``."""

from __future__ import annotations

import bisect
import math
import warnings
from collections.abc import Iterable, Iterator, Sequence

import numpy as np

from ..errors import ShapeError
from ..frontend.creation import tensor
from ..frontend.tensor import Tensor
from .sampler import draw_from, numpy_generator


class Dataset:
    """A map from keys (usually 0 … len − 1) to samples; ``a + b`` concatenates."""

    def __getitem__(self, index):
        raise NotImplementedError("Subclasses of Dataset should implement __getitem__.")

    def __add__(self, other: Dataset) -> ConcatDataset:
        return ConcatDataset([self, other])


class IterableDataset(Dataset):
    """A stream of samples: ``__iter__``. With loader workers, each worker iterates its own copy of the whole
    stream unless ``__iter__`` splits it with ``get_worker_info()``; ``a + b`` chains."""

    def __iter__(self) -> Iterator:
        raise NotImplementedError("Subclasses of IterableDataset should implement __iter__.")

    def __add__(self, other: Dataset) -> ChainDataset:
        return ChainDataset([self, other])


class TensorDataset(Dataset):
    """Samples are rows of tensors (symnet tensors or NumPy arrays) sharing their first dimension."""

    def __init__(self, *tensors: Tensor | np.ndarray) -> None:
        if not tensors:
            raise ValueError("TensorDataset needs at least one tensor")
        for t in tensors:
            if not isinstance(t, Tensor | np.ndarray):
                raise TypeError(f"TensorDataset takes tensors or NumPy arrays, got {type(t).__name__}")
        tensors = tuple(t if isinstance(t, Tensor) else tensor(t) for t in tensors)
        sizes = {t.shape[0] if t.shape else None for t in tensors}
        if len(sizes) != 1 or None in sizes:
            raise ShapeError(f"TensorDataset: Size mismatch between tensors: they must share their first "
                             f"dimension, got {[t.shape for t in tensors]}")
        self.tensors = tensors

    def __len__(self) -> int:
        return self.tensors[0].shape[0]

    def __getitem__(self, index) -> tuple[Tensor, ...]:
        return tuple(_take(t, index) for t in self.tensors)


def _take(t: Tensor, index) -> Tensor:
    if t.requires_grad:  # a row of a tensor that needs gradients stays in its graph
        return t[index]
    value = np.array(t._array()[index])  # a copy, 0-d for an integer index
    return Tensor(value, value.shape, t.dtype)


class StackDataset(Dataset):
    """Samples of several equally long datasets side by side: a tuple (positional) or a dict (keywords)."""

    def __init__(self, *args: Dataset, **kwargs: Dataset) -> None:
        if args and kwargs:
            raise ValueError("Supported either ``tuple``- (via ``args``) or``dict``- (via ``kwargs``) like "
                             "input/output, but both types are given.")
        if not args and not kwargs:
            raise ValueError("At least one dataset should be passed")
        self.datasets = args or kwargs
        parts = args or tuple(kwargs.values())
        self._length = len(parts[0])
        if any(len(d) != self._length for d in parts):
            raise ValueError("Size mismatch between datasets")

    def __getitem__(self, index):
        if isinstance(self.datasets, dict):
            return {k: d[index] for k, d in self.datasets.items()}
        return tuple(d[index] for d in self.datasets)

    def __len__(self) -> int:
        return self._length


class ConcatDataset(Dataset):
    """Datasets one after another; ``cumulative_sizes[k]`` is where dataset k ends."""

    def __init__(self, datasets: Iterable[Dataset]) -> None:
        self.datasets = list(datasets)
        if not self.datasets:
            raise AssertionError("datasets should not be an empty iterable")
        if any(isinstance(d, IterableDataset) for d in self.datasets):
            raise AssertionError("ConcatDataset does not support IterableDataset")
        self.cumulative_sizes = np.cumsum([len(d) for d in self.datasets]).tolist()

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, index: int):
        if index < 0:
            if -index > len(self):
                raise ValueError("absolute value of index should not exceed dataset length")
            index += len(self)
        which = bisect.bisect_right(self.cumulative_sizes, index)
        if which == len(self.datasets):
            raise IndexError(f"index {index} is out of range for a ConcatDataset of length {len(self)}")
        return self.datasets[which][index - (self.cumulative_sizes[which - 1] if which else 0)]


class ChainDataset(IterableDataset):
    """Iterable datasets one after another, chained as they stream."""

    def __init__(self, datasets: Iterable[Dataset]) -> None:
        self.datasets = datasets

    def __iter__(self) -> Iterator:
        for d in self.datasets:
            if not isinstance(d, IterableDataset):
                raise AssertionError("ChainDataset only supports IterableDataset")
            yield from d

    def __len__(self) -> int:
        return sum(len(d) for d in self.datasets)


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``."""

    def __init__(self, dataset: Dataset, indices: Sequence[int]) -> None:
        self.dataset, self.indices = dataset, indices

    def __getitem__(self, index):
        if isinstance(index, list | np.ndarray):
            return self.dataset[np.asarray(self.indices)[np.asarray(index, dtype=np.int64)]]
        return self.dataset[self.indices[index]]

    def __getitems__(self, indices: list[int]) -> list:
        inner = [self.indices[k] for k in indices]
        getitems = getattr(self.dataset, "__getitems__", None)
        return getitems(inner) if callable(getitems) else [self.dataset[k] for k in inner]

    def __len__(self) -> int:
        return len(self.indices)


def random_split(dataset: Dataset, lengths: Sequence[int | float], generator=None) -> list[Subset]:
    """Non-overlapping random subsets of the given lengths, or of fractions summing to 1 (each gets
    ``floor(fraction · len)``, the remainder handed out one by one, round-robin from the first)."""
    n = len(dataset)
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        counts = []
        for k, fraction in enumerate(lengths):
            if not 0 <= fraction <= 1:
                raise ValueError(f"Fraction at index {k} is not between 0 and 1")
            counts.append(math.floor(n * fraction))
        for k in range(n - sum(counts)):
            counts[k % len(counts)] += 1
        for k, count in enumerate(counts):
            if count == 0:
                warnings.warn(f"Length of split at index {k} is 0. This might result in an empty dataset.",
                              stacklevel=2)
    else:
        counts = list(lengths)
    if sum(counts) != n:
        raise ValueError("Sum of input lengths does not equal the length of the input dataset!")
    order = draw_from(numpy_generator(generator)).permutation(n).tolist()
    bounds = np.cumsum([0, *counts]).tolist()
    return [Subset(dataset, order[a:b]) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
