"""The worker side of a loader's process pool (``torch.utils.data._utils.worker``).

A worker seeds its generators, runs ``worker_init_fn``, then serves tasks from its own index queue: each
result goes to the shared data queue as ``(epoch, task, pickled payload)``, the payload being the batch, an
``ExceptionWrapper`` carrying the worker's traceback text, or ``StreamEnded`` when an iterable dataset's copy
in this worker is exhausted. Pickling happens here, so an unpicklable batch is an error the main process
sees rather than a lost message. The worker exits on ``None`` or when its parent process is gone.
"""

from __future__ import annotations

import os
import pickle
import queue
import random
import sys
import traceback
from dataclasses import dataclass

import numpy as np

from ..frontend.creation import manual_seed
from .fetch import IterableFetcher, make_fetcher

#: how often a waiting worker checks that its parent is still alive (seconds)
PARENT_CHECK_INTERVAL = 1.0


@dataclass(frozen=True)
class WorkerInfo:
    """What ``get_worker_info()`` tells code running in a worker: its id, the number of workers, its seed and
    its own copy of the dataset."""

    id: int
    num_workers: int
    seed: int
    dataset: object


_worker_info: WorkerInfo | None = None


def get_worker_info() -> WorkerInfo | None:
    """The current loader worker's ``WorkerInfo``; None in the main process."""
    return _worker_info


class ExceptionWrapper:
    """An exception raised in a worker, carried to the main process with its traceback as text."""

    def __init__(self, where: str) -> None:
        kind, value, tb = sys.exc_info()
        self.exc_type = kind if _picklable(kind) else RuntimeError
        self.exc_name = kind.__name__
        self.exc_msg = "".join(traceback.format_exception(kind, value, tb))
        self.where = where

    def reraise(self):
        """Raise an exception of the worker's type whose message holds the worker's traceback."""
        message = f"Caught {self.exc_name} {self.where}.\nOriginal {self.exc_msg}"
        if self.exc_type is KeyError:  # KeyError's str() is its repr: keep the traceback readable
            message = _KeyErrorMessage(message)
        try:
            exception = self.exc_type(message)
        except Exception:
            raise RuntimeError(message) from None
        raise exception


class _KeyErrorMessage(str):
    def __repr__(self) -> str:
        return str(self)


def _picklable(obj) -> bool:
    try:
        pickle.dumps(obj)
    except Exception:
        return False
    return True


@dataclass(frozen=True)
class StreamEnded:
    """An iterable dataset's copy in worker ``worker_id`` has no more samples."""

    worker_id: int


@dataclass(frozen=True)
class Task:
    epoch: int
    number: int
    index: object


@dataclass(frozen=True)
class Resume:
    """A persistent worker starts a new epoch: its fetcher (and an iterable dataset's stream) begins again."""

    epoch: int


def _seed(seed: int, worker_id: int) -> None:
    random.seed(seed)
    manual_seed(seed)
    np.random.seed(np.random.SeedSequence([seed, worker_id]).generate_state(4))


def worker_loop(dataset, index_queue, data_queue, done_event, auto_collation: bool, collate_fn, drop_last: bool,
                base_seed: int, init_fn, worker_id: int, num_workers: int) -> None:
    """A worker process's main function."""
    global _worker_info
    seed = base_seed + worker_id
    _seed(seed, worker_id)
    _worker_info = WorkerInfo(id=worker_id, num_workers=num_workers, seed=seed, dataset=dataset)
    where = f"in DataLoader worker process {worker_id}"

    def start(init_fn) -> tuple:
        """The fetcher of an epoch, or the error that prevents it, reported with the first task."""
        try:
            if init_fn is not None:
                init_fn(worker_id)
            return make_fetcher(dataset, auto_collation, collate_fn, drop_last), None
        except Exception:
            return None, ExceptionWrapper(where)

    (fetcher, error), parent, ended = start(init_fn), os.getppid(), False
    while os.getppid() == parent:
        try:
            message = index_queue.get(timeout=PARENT_CHECK_INTERVAL)
        except queue.Empty:
            continue
        if message is None:
            break
        if isinstance(message, Resume):
            ended = False
            if error is None:
                fetcher, error = start(None)
            continue
        if done_event.is_set() or ended:
            continue
        if error is not None:
            data, error = error, None
        else:
            try:
                data = fetcher.fetch(message.index)
            except Exception as exc:  # a map-style dataset's StopIteration is an error like any other
                ended = isinstance(exc, StopIteration) and isinstance(fetcher, IterableFetcher)
                data = StreamEnded(worker_id) if ended else ExceptionWrapper(where)
        try:
            payload = pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:
            payload = pickle.dumps(ExceptionWrapper(where))
        data_queue.put((message.epoch, message.number, payload))
    if done_event.is_set():
        data_queue.cancel_join_thread()
