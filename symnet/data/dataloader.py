"""``DataLoader``: batches of a dataset, in the calling process or from a pool of worker processes, with
``torch.utils.data.DataLoader``'s arguments, defaults, argument checks and errors."""

from __future__ import annotations

import itertools
import os
import warnings
from collections.abc import Callable, Iterable, Iterator

import numpy as np

from .collate import default_collate, default_convert
from .dataset import IterableDataset, TensorDataset
from .fetch import make_fetcher
from .sampler import (
    BatchSampler,
    CallableSampler,
    InfiniteConstantSampler,
    RandomSampler,
    SequentialSampler,
    draw_from,
    indices_of,
    numpy_generator,
)

#: attributes PyTorch refuses to change once a loader is built
_FROZEN = ("batch_size", "batch_sampler", "sampler", "drop_last", "dataset", "persistent_workers")


class DataLoader:
    """Batches of ``dataset``, as ``torch.utils.data.DataLoader``.

    A map-style dataset is read in the order of ``sampler`` (sequential, or a fresh permutation each epoch with
    ``shuffle``), ``batch_size`` indices at a time (or as ``batch_sampler`` groups them; ``batch_size=None``
    loads single samples), and each batch's samples are collated by ``collate_fn``. An ``IterableDataset`` is
    batched as it streams. ``num_workers > 0`` makes the batches in worker processes (PyTorch's semantics:
    ``worker_init_fn``, ``persistent_workers``, ``prefetch_factor``, ``timeout``, ``in_order``; each worker
    iterates an iterable dataset's whole stream unless the dataset splits it with ``get_worker_info()``);
    the batches are the same as in-process. ``pin_memory`` changes nothing on the CPU.

    Random orders come from ``generator`` (a ``numpy.random.Generator`` or an int seed) or symnet's generator
    (``symnet.manual_seed``); PyTorch's permutations themselves cannot be reproduced. symnet also takes a
    function as ``sampler``, called once per epoch for that epoch's indices.

    >>> x = symnet.arange(6.0).reshape(3, 2)
    >>> [b[0].shape for b in DataLoader(TensorDataset(x, x.sum(1)), batch_size=2)]
    [(2, 2), (1, 2)]
    """

    def __init__(self, dataset, batch_size: int | None = 1, shuffle: bool | None = None, sampler=None,
                 batch_sampler=None, num_workers: int = 0, collate_fn: Callable | None = None,
                 pin_memory: bool = False, drop_last: bool = False, timeout: float = 0,
                 worker_init_fn: Callable | None = None, multiprocessing_context=None, generator=None, *,
                 prefetch_factor: int | None = None, persistent_workers: bool = False, pin_memory_device: str = "",
                 in_order: bool = True) -> None:
        prefetch_factor = _worker_options(num_workers, timeout, prefetch_factor, persistent_workers)
        self.num_workers, self.prefetch_factor, self.timeout = num_workers, prefetch_factor, timeout
        self.pin_memory, self.pin_memory_device, self.in_order = pin_memory, pin_memory_device, in_order
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = _context(multiprocessing_context, num_workers)

        self._iterable = isinstance(dataset, IterableDataset)
        if self._iterable:
            for name, given in (("shuffle", shuffle), ("sampler", sampler), ("batch_sampler", batch_sampler)):
                if given not in (None, False):
                    raise ValueError(f"DataLoader with IterableDataset: expected unspecified {name} option, but "
                                     f"got {name}={given}")
        else:
            shuffle = bool(shuffle)
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        self._auto_batch = batch_sampler is None and batch_size is not None
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, shuffle, sampler, "
                                 "and drop_last")
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually exclusive with "
                             "drop_last")
        self._generator = numpy_generator(generator)
        if sampler is None:
            if self._iterable:
                sampler = InfiniteConstantSampler()
            else:
                sampler = RandomSampler(dataset, generator=self._generator) if shuffle else SequentialSampler(dataset)
        elif callable(sampler) and not isinstance(sampler, Iterable):
            sampler = CallableSampler(sampler, dataset)
        if self._auto_batch:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.dataset, self.batch_size, self.drop_last = dataset, batch_size, drop_last
        self.sampler, self.batch_sampler, self.generator = sampler, batch_sampler, generator
        self.collate_fn = collate_fn if collate_fn is not None else (
            default_collate if batch_sampler is not None else default_convert)
        self.persistent_workers = persistent_workers
        self._pool = None  # persistent workers' WorkerPool, once started
        self._initialized = True
        _check_worker_number(num_workers)

    def __setattr__(self, name: str, value) -> None:
        if name in _FROZEN and getattr(self, "_initialized", False):
            raise ValueError(f"{name} attribute should not be set after {type(self).__name__} is initialized")
        super().__setattr__(name, value)

    @property
    def index_sampler(self):
        """What each fetch's index comes from: the batch sampler when batching, else the sampler."""
        return self.batch_sampler if self.batch_sampler is not None else self.sampler

    def __iter__(self) -> Iterator:
        if self.num_workers == 0:
            if self.timeout != 0:
                raise AssertionError("_SingleProcessDataLoaderIter requires timeout == 0: a timeout needs workers")
            return self._in_process()
        if self.prefetch_factor <= 0:
            raise AssertionError("prefetch_factor must be greater than 0 for MultiProcessingDataLoaderIter")
        from .pool import WorkerPool  # worker processes (and multiprocessing) only when asked for

        if not self.persistent_workers:
            return WorkerPool(self, draw_from(self._generator))
        if self._pool is None or self._pool.closed:
            self._pool = WorkerPool(self, draw_from(self._generator))
        else:
            self._pool.reset(self)
        return self._pool

    def _in_process(self) -> Iterator:
        fetcher = make_fetcher(self.dataset, self.batch_sampler is not None, self.collate_fn, self.drop_last)
        for index in self.index_sampler:
            try:
                batch = fetcher.fetch(index)
            except StopIteration:  # an iterable dataset's stream ended
                return
            yield batch

    def __len__(self) -> int:
        if self._iterable:
            n = len(self.dataset)
            if self.batch_size is None:
                return n
            return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
        return len(self.index_sampler)

    def order(self) -> np.ndarray:
        """One epoch's sample indices in the order the batches read them (a fresh draw when shuffling)."""
        if self._iterable:
            raise TypeError("order(): an IterableDataset is read as a stream and has no index order")
        if self._auto_batch or self.batch_sampler is None:
            whole = indices_of(self.sampler)  # one draw, not an int at a time
            if whole is not None:
                return whole
            return np.fromiter(iter(self.sampler), dtype=np.int64)
        return np.fromiter(itertools.chain.from_iterable(self.batch_sampler), dtype=np.int64)

    def fast_path(self) -> bool:
        """True when every batch is a plain slice of a TensorDataset's tensors at a contiguous run of
        ``order()`` (``batch_size`` rows each; the short last one dropped with ``drop_last``): the default
        collate and batching, no custom batch sampler, not an iterable dataset. The compiled ``fit`` can then
        gather the batches itself, without iterating the loader."""
        return not self._iterable and self._auto_batch and self.collate_fn is default_collate and \
            isinstance(self.dataset, TensorDataset) and type(self.dataset).__getitem__ is TensorDataset.__getitem__

    def __del__(self) -> None:
        pool = self.__dict__.get("_pool")
        if pool is not None:
            pool.shutdown()


def _worker_options(num_workers: int, timeout: float, prefetch_factor: int | None, persistent: bool) -> int | None:
    """The worker options checked as PyTorch checks them; the prefetch factor with its default (2 with workers)."""
    if num_workers < 0:
        raise ValueError("num_workers option should be non-negative; use num_workers=0 to disable multiprocessing.")
    if timeout < 0:
        raise ValueError("timeout option should be non-negative")
    if num_workers == 0 and prefetch_factor is not None:
        raise ValueError("prefetch_factor option could only be specified in multiprocessing.let num_workers > 0 to "
                         "enable multiprocessing, otherwise set prefetch_factor to None.")
    if prefetch_factor is not None and prefetch_factor < 0:
        raise ValueError("prefetch_factor option should be non-negative")
    if persistent and num_workers == 0:
        raise ValueError("persistent_workers option needs num_workers > 0")
    return 2 if num_workers > 0 and prefetch_factor is None else prefetch_factor


def _check_worker_number(num_workers: int) -> None:
    """PyTorch's warning when a loader would start more workers than the process may use cores."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    if num_workers and cores is not None and num_workers > cores:
        warnings.warn(f"This DataLoader will create {num_workers} worker processes in total. Our suggested max "
                      f"number of worker in current system is {cores}, which is smaller than what this DataLoader "
                      "is going to create. Please be aware that excessive worker creation might get DataLoader "
                      "running slow or even freeze, lower the worker number to avoid potential slowness/freeze if "
                      "necessary.", stacklevel=3)


def _context(context, num_workers: int):
    """``multiprocessing_context`` checked as PyTorch checks it: a start method's name or a context object,
    only with workers."""
    if context is None:
        return None
    if num_workers == 0:
        raise ValueError(f"multiprocessing_context can only be used with multi-process loading (num_workers > 0), "
                         f"but got num_workers={num_workers}")
    import multiprocessing  # here: a process that loads in-process never pays for it
    if isinstance(context, str):
        methods = multiprocessing.get_all_start_methods()
        if context not in methods:
            raise ValueError(f"multiprocessing_context option should specify a valid start method in {methods!r}, "
                             f"but got multiprocessing_context={context!r}")
        context = multiprocessing.get_context(context)
    if not isinstance(context, multiprocessing.context.BaseContext):
        raise TypeError(f"multiprocessing_context option should be a valid context object or a string specifying "
                        f"the start method, but got multiprocessing_context={context}")
    return context

