"""Sweep throughput: the optimizers sweep (5 optimizers × 3 learning rates × 3 seeds) as a plain Python loop in
this process and on a Dask LocalCluster of 1 and 2 worker processes, each from an empty object cache.

    python benchmarks/sweep_bench.py [--epochs 5] [--repeat 2]

Per run: trials per second (cluster start-up apart), the objects compiled and reused from the cache (each of the
5 structures should be compiled once per machine), and a check that every run's losses equal the loop's. The
second pass of each (``warm``) runs again in the same workers: compiled steps come from the object cache.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import _common  # noqa: F401 - sets single-threaded BLAS before NumPy loads
import numpy as np
from _common import table

sys.path.append(str(Path(__file__).resolve().parent.parent / "examples"))  # after ours: both have _common

from optimizers_sweep import LEARNING_RATES, OPTIMIZERS, SEEDS, train  # noqa: E402

from symnet.sweep import compile_stats, grid, run_trial, sweep, trial_seed  # noqa: E402


def loop(configs: list[dict]) -> tuple[float, list, dict]:
    """The plain loop: each trial in this process, one after the other."""
    began = time.perf_counter()
    trials = [run_trial(train, c, trial_seed(c), k) for k, c in enumerate(configs)]
    return time.perf_counter() - began, trials, compile_stats(trials, len(OPTIMIZERS), {})


def on_cluster(configs: list[dict], workers: int, passes: int) -> list[tuple[float, list, dict, float]]:
    from distributed import Client, LocalCluster

    began = time.perf_counter()
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster, \
            Client(cluster) as client:
        client.wait_for_workers(workers)
        client.run(lambda: __import__("symnet"))  # workers import symnet before the clock starts
        startup = time.perf_counter() - began
        runs = []
        for _ in range(passes):
            clock = time.perf_counter()
            result = sweep(train, configs, client=client, progress=False)
            runs.append((time.perf_counter() - clock, result.trials, result.compile_stats, startup))
        return runs


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=5, help="epochs per trial (default: 5)")
    p.add_argument("--repeat", type=int, default=2, help="passes per cluster: the first cold (default: 2)")
    args = p.parse_args()
    configs = grid(optimizer=list(OPTIMIZERS), lr=list(LEARNING_RATES), seed=list(SEEDS), epochs=[args.epochs])
    rows, reference = [], None
    with tempfile.TemporaryDirectory() as scratch:
        os.environ["SYMNET_CACHE_DIR"] = str(Path(scratch) / "loop")
        runs = [("plain loop, this process", *loop(configs), 0.0)]
        for workers in (1, 2):
            os.environ["SYMNET_CACHE_DIR"] = str(Path(scratch) / f"workers{workers}")  # inherited by the workers
            for k, run in enumerate(on_cluster(configs, workers, args.repeat)):
                runs.append((f"LocalCluster, {workers} worker{'s' * (workers > 1)}, {'warm' if k else 'cold'}",
                              *run))
        for name, seconds, trials, stats, startup in runs:
            losses = [t.history.losses for t in trials]
            if reference is None:
                reference = losses
            same = all(np.array_equal(a, b) for a, b in zip(losses, reference, strict=True))
            rows.append([name, f"{len(trials) / seconds:.1f}", f"{seconds:.2f}", f"{startup:.1f}",
                         f"{stats['objects_compiled']} ({stats['objects_distinct']} distinct)",
                         str(stats["objects_reused"]), "yes" if same else "NO"])
    table(f"{len(configs)} trials of the optimizers sweep, {args.epochs} epochs each ({os.cpu_count()} cores)",
          ["run", "trials/s", "seconds", "start-up s", "objects compiled", "reused", "= loop"], rows)


if __name__ == "__main__":
    main()
