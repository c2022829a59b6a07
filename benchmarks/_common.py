"""Shared helpers of the benchmark scripts: every peer on the same threads, timing, tables.

``BENCH_THREADS`` (default 1) is the thread count of every peer in a run: symnet's pool, NumPy's BLAS,
PyTorch's intra-op threads and XLA's.
"""

from __future__ import annotations

import os

THREADS = int(os.environ.get("BENCH_THREADS", "1"))
# set before NumPy (and PyTorch) load their BLAS, and before symnet starts its pool
for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "SYMNET_NUM_THREADS"):
    os.environ.setdefault(var, str(THREADS))

import statistics  # noqa: E402
import time  # noqa: E402


def samples(fn, repeats: int, number: int) -> list[float]:
    """Seconds per call of ``repeats`` runs, each the mean over ``number`` calls."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        times.append((time.perf_counter() - start) / number)
    return times


def best_of(fn, repeats: int = 5, number: int = 1) -> float:
    """Seconds per call: the minimum over repeats of the mean over ``number`` calls."""
    return min(samples(fn, repeats, number))


def median_of(samples: list[float]) -> float:
    return statistics.median(samples)


def measure(fn, repeats: int, number: int = 1) -> float:
    """Seconds per call: the median over ``repeats`` of the mean over ``number`` calls, after one warm call."""
    fn()
    return statistics.median(samples(fn, repeats, number))


def torch_or_none():
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(THREADS)
    return torch


def jax_or_none(x64: bool, one_thread: bool = False):
    """JAX on the CPU (pinned to one thread if asked: that must be set before JAX is imported; otherwise XLA's own
    default, every core), or None when it is not installed."""
    if one_thread:
        flags = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
        os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {flags}".strip()
    try:
        import jax
    except ImportError:
        return None
    jax.config.update("jax_platforms", "cpu")
    jax.config.update("jax_enable_x64", x64)
    return jax


def table(title: str, header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=True)]
    print(f"\n{title}")
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(str(x).ljust(w) for x, w in zip(row, widths, strict=True)))


def mlp_problem():
    """The 784-256-10 MLP with cross entropy on one batch of 256: inputs, labels, parameters and the loss."""
    import numpy as np

    import symnet as sn

    rng = np.random.default_rng(0)
    X = sn.tensor(rng.standard_normal((256, 784)), name="X")
    Y = sn.tensor(rng.integers(0, 10, 256), name="Y")
    params = [sn.tensor(rng.standard_normal(s) * 0.01, requires_grad=True, name=n)
              for n, s in [("W1", (256, 784)), ("b1", (256,)), ("W2", (10, 256)), ("b2", (10,))]]

    def loss():
        W1, b1, W2, b2 = params
        return sn.nn.functional.cross_entropy((X @ W1.T + b1).relu() @ W2.T + b2, Y)

    return X, Y, params, loss
