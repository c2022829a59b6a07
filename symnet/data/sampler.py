"""Samplers: the order in which a loader reads a map-style dataset (``torch.utils.data.sampler``).

Random samplers draw from symnet's generator (``symnet.manual_seed``) or from a ``generator`` given as a
``numpy.random.Generator`` or an int seed. The distributions are PyTorch's; the draws are not (PyTorch's
``randperm``, ``randint`` and ``multinomial`` streams cannot be reproduced), so a shuffled order matches
PyTorch only through an order recorded in a fixture.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence, Sized

import numpy as np

from ..frontend.creation import random_generator
from ..frontend.tensor import Tensor


def numpy_generator(generator) -> np.random.Generator | None:
    """A sampler's ``generator`` argument as a NumPy generator, resolved once (an int seeds a new one, so that
    successive epochs still differ); None stays None: symnet's generator, looked up at each draw because
    ``manual_seed`` replaces it."""
    if generator is None or isinstance(generator, np.random.Generator):
        return generator
    if isinstance(generator, int | np.integer) and not isinstance(generator, bool):
        return np.random.default_rng(int(generator))
    raise TypeError(f"generator must be a numpy.random.Generator, an int seed or None, got {type(generator).__name__}")


def draw_from(generator: np.random.Generator | None) -> np.random.Generator:
    return random_generator() if generator is None else generator


def _positive_int(name: str, value) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{name} should be a positive integer value, but got {name}={value}")


class Sampler:
    """Base class of samplers: an iterable of dataset indices (or of index lists, for batch samplers)."""

    def __iter__(self) -> Iterator:
        raise NotImplementedError


class SequentialSampler(Sampler):
    """0, 1, …, len(data_source) − 1, every epoch."""

    def __init__(self, data_source: Sized) -> None:
        self.data_source = data_source

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.data_source)))

    def indices(self) -> np.ndarray:
        """One epoch's indices as one array (what iterating yields)."""
        return np.arange(len(self.data_source), dtype=np.int64)

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(Sampler):
    """A fresh permutation each epoch (``num_samples`` beyond the length chains permutations), or
    ``num_samples`` uniform draws with ``replacement``."""

    def __init__(self, data_source: Sized, replacement: bool = False, num_samples: int | None = None,
                 generator=None) -> None:
        self.data_source, self.replacement, self._num_samples = data_source, replacement, num_samples
        self.generator = numpy_generator(generator)
        if not isinstance(replacement, bool):
            raise TypeError(f"replacement should be a boolean value, but got replacement={replacement}")
        _positive_int("num_samples", self.num_samples)

    @property
    def num_samples(self) -> int:
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self) -> Iterator[int]:
        for chunk in self._draws():
            yield from chunk.tolist()

    def indices(self) -> np.ndarray:
        """One epoch's indices as one array, drawn as iterating draws them."""
        n = len(self.data_source)
        if not self.replacement and self._num_samples in (None, n):  # one permutation (a fit's every epoch)
            return draw_from(self.generator).permutation(n)
        return np.concatenate(list(self._draws())).astype(np.int64, copy=False)

    def _draws(self) -> Iterator[np.ndarray]:
        n, rng = len(self.data_source), draw_from(self.generator)
        if self.replacement:
            yield rng.integers(0, n, size=self.num_samples)
            return
        for _ in range(self.num_samples // n):
            yield rng.permutation(n)
        if self.num_samples % n:  # PyTorch draws a permutation to slice even when nothing is left: no need
            yield rng.permutation(n)[:self.num_samples % n]

    def __len__(self) -> int:
        return self.num_samples


def indices_of(sampler: Sampler) -> np.ndarray | None:
    """An epoch of ``sampler`` as one array when it is symnet's sequential or random sampler, iterated as
    defined here (a subclass that iterates its own way is not), else None."""
    for own in (SequentialSampler, RandomSampler):
        if isinstance(sampler, own) and type(sampler).__iter__ is own.__iter__ and \
                type(sampler).indices is own.indices:
            return sampler.indices()
    return None


class SubsetRandomSampler(Sampler):
    """The given indices, in a fresh random order each epoch."""

    def __init__(self, indices: Sequence[int], generator=None) -> None:
        self.indices, self.generator = indices, numpy_generator(generator)

    def __iter__(self) -> Iterator[int]:
        for k in draw_from(self.generator).permutation(len(self.indices)).tolist():
            yield self.indices[k]

    def __len__(self) -> int:
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """``num_samples`` indices drawn with probabilities proportional to ``weights`` (``torch.multinomial``):
    with ``replacement``, independent draws; without, a weighted draw without replacement (exponential race,
    so zero weights come last, as in PyTorch)."""

    def __init__(self, weights: Sequence[float], num_samples: int, replacement: bool = True,
                 generator=None) -> None:
        _positive_int("num_samples", num_samples)
        if not isinstance(replacement, bool):
            raise ValueError(f"replacement should be a boolean value, but got replacement={replacement}")
        w = np.asarray(weights._array() if isinstance(weights, Tensor) else weights, dtype=np.float64)
        if w.ndim != 1:
            raise ValueError(f"weights should be a 1d sequence but given weights have shape {w.shape}")
        self.weights, self.num_samples, self.replacement = w, num_samples, replacement
        self.generator = numpy_generator(generator)

    def __iter__(self) -> Iterator[int]:
        w, rng = self.weights, draw_from(self.generator)
        if not np.isfinite(w).all() or (w < 0).any():
            raise RuntimeError("invalid multinomial distribution (encountering probability entry < 0)")
        if w.sum() <= 0:
            raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
        if self.replacement:
            yield from rng.choice(len(w), size=self.num_samples, p=w / w.sum()).tolist()
            return
        if self.num_samples > len(w):
            raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without replacement")
        with np.errstate(divide="ignore"):
            keys = rng.exponential(size=len(w)) / w
        yield from np.argsort(keys, kind="stable")[:self.num_samples].tolist()

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler(Sampler):
    """Lists of ``batch_size`` indices from ``sampler``; the short last one is dropped with ``drop_last``."""

    def __init__(self, sampler: Sampler | Iterable[int], batch_size: int, drop_last: bool) -> None:
        _positive_int("batch_size", batch_size)
        if not isinstance(drop_last, bool):
            raise ValueError(f"drop_last should be a boolean value, but got drop_last={drop_last}")
        self.sampler, self.batch_size, self.drop_last = sampler, batch_size, drop_last

    def __iter__(self) -> Iterator[list[int]]:
        indices = iter(self.sampler)
        while batch := list(itertools.islice(indices, self.batch_size)):
            if len(batch) < self.batch_size and self.drop_last:
                return
            yield batch

    def __len__(self) -> int:
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)


class CallableSampler(Sampler):
    """symnet's extension: ``sampler=`` a function returning one epoch's indices, called once per epoch."""

    def __init__(self, function, data_source: Sized) -> None:
        self.function, self.data_source = function, data_source

    def __iter__(self) -> Iterator[int]:
        return iter(np.asarray(self.function(), dtype=np.int64).tolist())

    def __len__(self) -> int:
        return len(self.data_source)


class InfiniteConstantSampler(Sampler):
    """An iterable dataset's placeholder indices: None forever (the dataset decides where the stream ends)."""

    def __iter__(self) -> Iterator[None]:
        return itertools.repeat(None)
