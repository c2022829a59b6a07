"""Datasets and loaders shaped like ``torch.utils.data``: nothing is downloaded, ever."""

from __future__ import annotations

import gzip
import math
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from .errors import ShapeError
from .frontend.creation import random_generator, tensor
from .frontend.tensor import Tensor


class TensorDataset:
    """Samples are rows of tensors sharing their first dimension."""

    def __init__(self, *tensors: Tensor):
        if not tensors:
            raise ValueError("TensorDataset needs at least one tensor")
        sizes = {t.shape[0] if t.shape else None for t in tensors}
        if len(sizes) != 1 or None in sizes:
            raise ShapeError(f"TensorDataset: tensors must share their first dimension, got "
                             f"{[t.shape for t in tensors]}")
        self.tensors = tensors

    def __len__(self) -> int:
        return self.tensors[0].shape[0]

    def __getitem__(self, index) -> tuple[Tensor, ...]:
        return tuple(_take(t, index) for t in self.tensors)


class Subset:
    def __init__(self, dataset, indices: Sequence[int]):
        self.dataset, self.indices = dataset, np.asarray(indices, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index):
        return self.dataset[self.indices[index]]


def _take(t: Tensor, index) -> Tensor:
    value = t.numpy()[index]
    return Tensor(np.ascontiguousarray(value), value.shape, t.dtype)


def _generator(generator) -> np.random.Generator:
    if generator is None:
        return random_generator()
    if isinstance(generator, np.random.Generator):
        return generator
    return np.random.default_rng(generator)


def random_split(dataset, lengths: Sequence[float], generator=None) -> list[Subset]:
    """Split into non-overlapping subsets of the given lengths (or fractions summing to 1)."""
    n = len(dataset)
    if all(0 <= x <= 1 for x in lengths) and math.isclose(sum(lengths), 1) and sum(lengths) != n:
        counts = [int(math.floor(n * f)) for f in lengths]
        for k in range(n - sum(counts)):
            counts[k % len(counts)] += 1
    else:
        counts = [int(x) for x in lengths]
    if sum(counts) != n:
        raise ValueError(f"random_split: lengths {list(lengths)} do not add up to the dataset size {n}")
    order = _generator(generator).permutation(n)
    bounds = np.cumsum([0, *counts])
    return [Subset(dataset, order[a:b]) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


class DataLoader:
    """Minibatches of a dataset: ``batch_size``, ``shuffle`` (a fresh permutation each epoch from ``generator``,
    an int seed or symnet's ``manual_seed`` generator), ``drop_last``; the last batch may be short.
    ``sampler`` (an iterable of indices, or a callable giving one per epoch) fixes the order instead.
    PyTorch's loading-performance options (``num_workers``, ``pin_memory``, ``prefetch_factor``, …) are
    accepted and change nothing: batches of in-memory tensors are slices, made in the calling thread."""

    def __init__(self, dataset, batch_size: int = 1, shuffle: bool = False, sampler=None, batch_sampler=None,
                 num_workers: int = 0, collate_fn=None, pin_memory: bool = False, drop_last: bool = False,
                 timeout: float = 0, worker_init_fn=None, multiprocessing_context=None, generator=None, *,
                 prefetch_factor: int | None = None, persistent_workers: bool = False, pin_memory_device: str = "",
                 in_order: bool = True):
        for name, given in (("batch_sampler", batch_sampler), ("collate_fn", collate_fn)):
            if given is not None:
                raise NotImplementedError(f"DataLoader: {name} is not supported yet; batches are slices of the "
                                          "dataset in sampler order")
        if batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be positive, got {batch_size}")
        if num_workers < 0:
            raise ValueError("num_workers option should be non-negative; use num_workers=0 to disable "
                             "multiprocessing.")
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        self.dataset, self.batch_size, self.shuffle, self.drop_last = dataset, batch_size, shuffle, drop_last
        self.generator, self.sampler = generator, sampler

    def order(self) -> np.ndarray:
        if self.sampler is not None:
            return np.asarray(list(self.sampler() if callable(self.sampler) else self.sampler), dtype=np.int64)
        n = len(self.dataset)
        return _generator(self.generator).permutation(n) if self.shuffle else np.arange(n)

    def __iter__(self) -> Iterator[tuple[Tensor, ...]]:
        order = self.order()
        for start in range(0, len(order), self.batch_size):
            index = order[start:start + self.batch_size]
            if len(index) < self.batch_size and self.drop_last:
                return
            yield self.dataset[index]

    def __len__(self) -> int:
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)


def load_idx(path: str | Path) -> np.ndarray:
    """An IDX file (MNIST, Fashion-MNIST), raw or ``.gz``, as an array; the header is validated."""
    path = Path(path)
    raw = gzip.open(path, "rb").read() if path.suffix == ".gz" else path.read_bytes()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"{path}: not an IDX file (bad magic number)")
    dtypes = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
    if raw[2] not in dtypes:
        raise ValueError(f"{path}: unknown IDX element type {raw[2]:#x}")
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * k: 8 + 4 * k], "big") for k in range(ndim))
    data = np.frombuffer(raw, dtype=dtypes[raw[2]], offset=4 + 4 * ndim)
    if data.size != math.prod(shape):
        raise ValueError(f"{path}: header says {shape} but the file holds {data.size} elements")
    return data.reshape(shape)


def mnist(folder: str | Path, train: bool = True) -> TensorDataset:
    """MNIST or Fashion-MNIST from the four IDX files in a local folder: images scaled to [0, 1], labels."""
    folder = Path(folder)
    prefix = "train" if train else "t10k"

    def find(kind: str) -> Path:
        for name in (f"{prefix}-{kind}-idx{3 if kind == 'images' else 1}-ubyte", f"{prefix}-{kind}.idx"):
            for candidate in (folder / name, folder / f"{name}.gz"):
                if candidate.exists():
                    return candidate
        raise FileNotFoundError(f"no {prefix} {kind} IDX file in {folder}")

    images = load_idx(find("images")).astype(np.float32) / 255
    labels = load_idx(find("labels")).astype(np.int64)
    return TensorDataset(tensor(images), tensor(labels))


def digits(train: bool = True, test_fraction: float = 0.25, seed: int = 0) -> TensorDataset:
    """scikit-learn's bundled 8×8 digits (1797 images, offline), split deterministically; needs the
    ``symnet[examples]`` extra."""
    try:
        from sklearn.datasets import load_digits
    except ImportError as exc:
        raise ImportError("digits() needs scikit-learn: pip install 'symnet[examples]'") from exc
    bunch = load_digits()
    order = np.random.default_rng(seed).permutation(len(bunch.target))
    cut = int(round(len(order) * (1 - test_fraction)))
    index = order[:cut] if train else order[cut:]
    return TensorDataset(tensor(bunch.images[index].astype(np.float32) / 16), tensor(bunch.target[index]))


__all__ = ["TensorDataset", "Subset", "DataLoader", "random_split", "load_idx", "mnist", "digits"]
