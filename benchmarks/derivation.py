"""Derivation speed: trace, lower, differentiate and simplify a 784-256-10 MLP with cross entropy.

Run by hand: ``python benchmarks/derivation.py``. Prints the cold derivation time (structural cache cleared)
and the cache-hit time (what every later step of a training loop pays to find its derived program).
"""

from __future__ import annotations

import statistics
import time

from _common import mlp_problem

from symnet import pipeline, trace


def main() -> None:
    _, _, _, loss = mlp_problem()

    def derive() -> None:
        traced = trace([loss()])
        specs, nodes = traced.specs, traced.tensors
        wrt = tuple(p for p, t in enumerate(nodes) if t.is_leaf and t.requires_grad)
        pipeline.gradient_program(specs, len(specs) - 1, wrt, seeded=False)

    derive()  # warm imports
    cold = []
    for _ in range(5):
        pipeline.cache_clear()
        start = time.perf_counter()
        derive()
        cold.append(time.perf_counter() - start)
    hits = []
    for _ in range(200):
        start = time.perf_counter()
        derive()
        hits.append(time.perf_counter() - start)
    print("symnet derivation, 784-256-10 MLP + cross entropy (trace → IR → autodiff → simplify)")
    print(f"{'what':<44}{'median':>12}{'min':>12}")
    print(f"{'cold (cache cleared), per derivation':<44}{statistics.median(cold) * 1e3:>10.1f}ms"
          f"{min(cold) * 1e3:>10.1f}ms")
    print(f"{'cache hit (trace + structural key + lookup)':<44}{statistics.median(hits) * 1e6:>10.1f}µs"
          f"{min(hits) * 1e6:>10.1f}µs")


if __name__ == "__main__":
    main()
