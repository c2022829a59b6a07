"""Running test work in several threads at once: each thread's result, or the first error any raised."""

import threading
from collections.abc import Callable, Iterable


def in_threads(work: Callable, args: Iterable) -> list:
    """``work(arg)`` for each of ``args``, each in its own thread, started together; their results in order."""
    args = list(args)
    results, errors = [None] * len(args), []

    def run(k):
        try:
            results[k] = work(args[k])
        except BaseException as exc:  # re-raised below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(k,)) for k in range(len(args))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return results
