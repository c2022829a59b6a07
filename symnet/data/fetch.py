"""Fetchers (``torch.utils.data._utils.fetch``): what a loader does with one entry of its index sampler, in
the main process or in a worker. A map-style fetch reads the samples at the indices and collates them; an
iterable-style fetch takes the next samples of the stream and raises StopIteration where it ends."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .collate import default_collate
from .dataset import IterableDataset, Subset, TensorDataset


def rows(dataset, index: list[int]):
    """Batch ``index`` of a TensorDataset (or a Subset of one) as default_collate would make it from the single
    samples (a list of stacked tensors), read as one slice per tensor; None for any other dataset."""
    if isinstance(dataset, Subset) and type(dataset).__getitem__ is Subset.__getitem__:
        return rows(dataset.dataset, np.asarray(dataset.indices)[np.asarray(index, dtype=np.int64)].tolist())
    if isinstance(dataset, TensorDataset) and type(dataset).__getitem__ is TensorDataset.__getitem__:
        return list(dataset[np.asarray(index, dtype=np.int64)])
    return None


class MapFetcher:
    def __init__(self, dataset, auto_collation: bool, collate_fn: Callable, drop_last: bool) -> None:
        self.dataset, self.auto_collation, self.collate_fn = dataset, auto_collation, collate_fn

    def fetch(self, index):
        if not self.auto_collation:
            return self.collate_fn(self.dataset[index])
        if self.collate_fn is default_collate and (batch := rows(self.dataset, index)) is not None:
            return batch
        getitems = getattr(self.dataset, "__getitems__", None)
        samples = getitems(index) if callable(getitems) else [self.dataset[k] for k in index]
        return self.collate_fn(samples)


class IterableFetcher:
    def __init__(self, dataset, auto_collation: bool, collate_fn: Callable, drop_last: bool) -> None:
        self.stream, self.auto_collation, self.collate_fn = iter(dataset), auto_collation, collate_fn
        self.drop_last, self.ended = drop_last, False

    def fetch(self, index):
        if self.ended:
            raise StopIteration
        if not self.auto_collation:
            return self.collate_fn(next(self.stream))
        samples = []
        for _ in index:
            try:
                samples.append(next(self.stream))
            except StopIteration:
                self.ended = True
                break
        if not samples or (self.drop_last and len(samples) < len(index)):
            raise StopIteration
        return self.collate_fn(samples)


def make_fetcher(dataset, auto_collation: bool, collate_fn: Callable, drop_last: bool) -> MapFetcher | IterableFetcher:
    kind = IterableFetcher if isinstance(dataset, IterableDataset) else MapFetcher
    return kind(dataset, auto_collation, collate_fn, drop_last)
