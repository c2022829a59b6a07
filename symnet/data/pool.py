"""The main-process side of a loader's worker pool (PyTorch's ``_MultiProcessingDataLoaderIter``).

Entries of the index sampler are numbered tasks, sent round-robin to the workers' own queues, at most
``prefetch_factor`` per worker ahead of the consumer; results come back on one queue and are delivered in
task order (``in_order``) or as they arrive. Every result carries its epoch, so a persistent pool restarted
in the middle of an epoch drops what was still in flight. A worker's exception is re-raised here with the
worker's traceback; a worker that dies or a ``timeout`` that expires is a RuntimeError, never a hang.
"""

from __future__ import annotations

import itertools
import multiprocessing
import pickle
import queue
import time

import numpy as np

from .worker import ExceptionWrapper, Resume, StreamEnded, Task, worker_loop

#: how often the main process checks its workers while it waits for a batch (seconds)
LIVENESS_INTERVAL = 0.1
#: how long shutting down waits for a worker to exit before terminating it (seconds): at the end of the
#: batches, and after an error (the other workers' tasks are not wanted any more)
JOIN_TIMEOUT, ERROR_JOIN_TIMEOUT = 5.0, 0.2


def _base_seed(generator: np.random.Generator) -> int:
    """The workers' base seed, reproducible from the loader's generator without drawing from it (a spawned
    child stream), so shuffled orders are the same with and without workers."""
    try:
        child = generator.spawn(1)[0]
    except TypeError:  # a generator without a seed sequence
        child = np.random.default_rng()
    return int(child.integers(2**62))


class WorkerPool:
    """An iterator over one epoch of batches made by worker processes; ``reset`` starts the next epoch."""

    def __init__(self, loader, generator: np.random.Generator) -> None:
        context = loader.multiprocessing_context or multiprocessing.get_context()
        self._num_workers, self._persistent = loader.num_workers, loader.persistent_workers
        self._prefetch, self._timeout, self._in_order = loader.prefetch_factor, loader.timeout, loader.in_order
        self._data_queue, self._done = context.Queue(), context.Event()
        self._index_queues, self._workers, self._closed = [], [], False
        seed = _base_seed(generator)
        try:
            for worker_id in range(self._num_workers):
                index_queue = context.Queue()
                index_queue.cancel_join_thread()
                worker = context.Process(target=worker_loop, daemon=True, args=(
                    loader.dataset, index_queue, self._data_queue, self._done, loader.batch_sampler is not None,
                    loader.collate_fn, loader.drop_last, seed, loader.worker_init_fn, worker_id, self._num_workers))
                self._index_queues.append(index_queue)
                worker.start()
                self._workers.append(worker)
        except BaseException:  # e.g. a dataset that cannot be pickled for the spawn start method
            self.shutdown()
            raise
        self._epoch = -1
        self.reset(loader)

    def reset(self, loader) -> None:
        """Start an epoch: a fresh pass of the index sampler; workers after the first epoch restart theirs."""
        self._epoch += 1
        if self._epoch:
            for index_queue in self._index_queues:
                index_queue.put(Resume(self._epoch))
        self._sampler = iter(loader.index_sampler)
        self._sent = self._next = 0
        self._tasks: dict[int, list] = {}  # task number -> [worker id] or [worker id, result]
        self._active = [True] * self._num_workers
        self._cycle = itertools.cycle(range(self._num_workers))
        for _ in range(self._prefetch * self._num_workers):
            self._send()

    def _send(self) -> None:
        if not any(self._active):
            return
        try:
            index = next(self._sampler)
        except StopIteration:
            return
        worker_id = next(w for w in self._cycle if self._active[w])
        self._index_queues[worker_id].put(Task(self._epoch, self._sent, index))
        self._tasks[self._sent] = [worker_id]
        self._sent += 1

    def __iter__(self) -> WorkerPool:
        return self

    def __next__(self):
        while True:
            # skip tasks already delivered out of order and tasks of workers whose stream has ended
            while self._next < self._sent and (self._next not in self._tasks or (
                    len(self._tasks[self._next]) == 1 and not self._active[self._tasks[self._next][0]])):
                self._tasks.pop(self._next, None)
                self._next += 1
            if self._next == self._sent:
                if not self._persistent:
                    self.shutdown()
                raise StopIteration
            if len(self._tasks[self._next]) == 2:
                return self._deliver(self._tasks.pop(self._next)[1], self._next)
            epoch, number, payload = self._receive()
            if epoch != self._epoch:
                continue
            data = pickle.loads(payload)
            if isinstance(data, StreamEnded):
                self._active[data.worker_id] = False
                self._tasks.pop(number, None)
                self._send()
            elif number == self._next or not self._in_order:
                return self._deliver(data, number)
            else:
                self._tasks[number].append(data)

    def _deliver(self, data, number: int):
        self._tasks.pop(number, None)
        if number == self._next:
            self._next += 1
        self._send()
        if isinstance(data, ExceptionWrapper):
            self.shutdown(ERROR_JOIN_TIMEOUT)
            data.reraise()
        return data

    def _receive(self) -> tuple:
        """The next result, checking the workers while waiting: a dead one or an expired timeout raises."""
        deadline = time.monotonic() + self._timeout if self._timeout > 0 else None
        while True:
            wait = LIVENESS_INTERVAL if deadline is None else max(0.0, min(LIVENESS_INTERVAL,
                                                                          deadline - time.monotonic()))
            try:
                return self._data_queue.get(timeout=wait)
            except queue.Empty:
                dead = [w.pid for w in self._workers if not w.is_alive()]
                if dead:
                    self.shutdown(ERROR_JOIN_TIMEOUT)
                    raise RuntimeError(f"DataLoader worker (pid(s) {', '.join(map(str, dead))}) exited "
                                       "unexpectedly") from None
                if deadline is not None and time.monotonic() >= deadline:
                    self.shutdown(ERROR_JOIN_TIMEOUT)
                    raise RuntimeError(f"DataLoader timed out after {self._timeout} seconds") from None

    def shutdown(self, wait: float = JOIN_TIMEOUT) -> None:
        """Stop the workers (terminating any that do not exit) and close the queues; idempotent."""
        if self._closed:
            return
        self._closed = True
        self._done.set()
        for index_queue in self._index_queues:
            index_queue.put(None)
        for worker in self._workers:
            worker.join(wait)
            if worker.is_alive():
                worker.terminate()
                worker.join()
        for q in [*self._index_queues, self._data_queue]:
            q.cancel_join_thread()
            q.close()

    @property
    def closed(self) -> bool:
        return self._closed

    def __del__(self) -> None:
        if hasattr(self, "_closed"):
            self.shutdown()
