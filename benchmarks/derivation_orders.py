"""Derivation cost by derivative order: ∂ⁿu/∂x₀ⁿ of a 2-32-32-1 tanh MLP inside one compiled training step.

    python benchmarks/derivation_orders.py [max_order [repeats [methods]]]   (defaults 6, 2, taylor,nested)

For n = 1…max_order, an ``@sn.objective`` reads ∂ⁿu/∂x₀ⁿ in a PINN-shaped loss — by Taylor mode
(``sn.autograd.derivatives``, one pass carrying n coefficients) and by n nested ``sn.autograd.grad(...,
create_graph=True)`` of the summed component (the batched sum trick) — mean((∂ⁿu/∂x₀ⁿ − f)² + b·u²), and
``sn.compile`` builds it with Adam; the first ``step.step`` traces, derives the n input derivatives and the
parameters' gradient, simplifies and compiles to native code. Printed per n: the IR size of the compiled
step (definitions of its graph and the SymPy operation count of their bodies), the seconds of that first step
by pipeline stage (``pipeline.timings()``: differentiate, simplify, LLVM compilation and the rest), a later
step's time, and sizes and times as ratios to n = 1. The claim under test: the cost grows at most linearly in
n (ratio to n = 1 at most n); the script says where it does not.

The on-disk object cache points at a fresh, empty temporary folder for every order (``SYMNET_CACHE_DIR``) and
the in-memory caches are cleared before each, so every compile is real. The orders run in turn in one process,
once per repeat, and the table keeps each column's fastest; absolute times vary ±50% between runs here.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time

import _common  # noqa: F401 - sets single-threaded BLAS before NumPy loads
import numpy as np
import sympy as sp
from _common import best_of, table

import symnet as sn
from symnet import pipeline
from symnet.core.cache import clear_all

WIDTHS = (2, 32, 32, 1)
POINTS = 256


def nth_derivative(u, x, order: int, method: str):
    """∂ⁿu/∂x₀ⁿ per row: n nested ``grad`` of the summed component (the sum trick), or one Taylor-mode pass
    (``sn.autograd.derivatives`` along e₀)."""
    if method == "taylor":
        return sn.autograd.derivatives(u, x, sn.tensor([1.0, 0.0], dtype=x.dtype), order=order,
                                       create_graph=True)[-1][:, 0]
    g = u
    for _ in range(order):
        (g,) = sn.autograd.grad(g.sum(), x, create_graph=True)
        g = g[:, 0]
    return g


def objective_of(order: int, method: str) -> sn.train.objective.Objective:
    """mean((∂ⁿu/∂x₀ⁿ − f)² + b·u²): the derivative's residual, and a boundary-like term that keeps every
    parameter (the last bias too) in the loss."""

    def fn(model, x, y):
        u = model(x)
        g = nth_derivative(u, x, order, method)
        return ((g - y[:, 0]) ** 2 + y[:, 1] * u[:, 0] ** 2).mean()

    fn.__qualname__ = f"d{order}u_dx{order}_{method}"
    return sn.objective(fn)


def model_of(seed: int = 0) -> sn.nn.Module:
    sn.manual_seed(seed)
    layers = []
    for k, (a, b) in enumerate(zip(WIDTHS[:-1], WIDTHS[1:], strict=True)):
        layers += [sn.nn.Linear(a, b)] + ([sn.nn.Tanh()] if k < len(WIDTHS) - 2 else [])
    return sn.nn.Sequential(*layers).to(sn.float64)


def batch(seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, (POINTS, 2))
    y = np.stack([np.sin(3 * x[:, 0]), (rng.random(POINTS) < 0.25).astype(np.float64)], 1)
    return x, y


def ir_size(step) -> tuple[int, int]:
    """Definitions of the compiled step's graph and the SymPy operation count of their bodies. No public
    accessor holds the compiled graph (``formulas()`` is text, before the optimizer's update): read the
    executable's ``graph``."""
    graph = step._step.graph
    return len(graph.defs), sum(int(sp.count_ops(d.body)) for d in graph.defs)


def measure(order: int, method: str, cache: str) -> dict[str, float]:
    """Build and run the order's step from cold caches; sizes, the first step's seconds by pipeline stage, and a
    later step's seconds."""
    os.environ["SYMNET_CACHE_DIR"] = tempfile.mkdtemp(prefix=f"n{order}-", dir=cache)  # empty: no object to reuse
    clear_all()
    pipeline.cache_clear()
    model = model_of()
    step = sn.compile(model, objective_of(order, method), sn.optim.Adam(model.parameters(), lr=1e-3))
    x, y = batch()
    before = pipeline.timings()
    start = time.perf_counter()
    step.step(x, y)
    first = time.perf_counter() - start
    after = pipeline.timings()
    spent = {s: after[s][1] - before[s][1] for s in after}
    defs, ops = ir_size(step)
    later = best_of(lambda: step.step(x, y), repeats=5, number=3)
    return {"defs": defs, "ops": ops, "first": first, "simplify": spent["simplify"],
            "differentiate": spent["differentiate"], "native": spent["compile"],
            "other": first - spent["simplify"] - spent["differentiate"] - spent["compile"], "step": later,
            "lines": len(step.formulas().splitlines())}


def main() -> None:
    top = int(sys.argv[1]) if len(sys.argv) > 1 else 6
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    methods = sys.argv[3].split(",") if len(sys.argv) > 3 else ["taylor", "nested"]
    with tempfile.TemporaryDirectory(prefix="symnet-orders-") as cache:
        measure(1, methods[0], cache)  # warm imports and lazily built tables, so n = 1 is not charged for them
        for method in methods:
            report(method, {n: best(n, method, cache, repeats) for n in range(1, top + 1)}, repeats)


def best(order: int, method: str, cache: str, repeats: int) -> dict[str, float]:
    """Each column's fastest over the repeats."""
    runs = [measure(order, method, cache) for _ in range(repeats)]
    print(f"{method} n = {order}: first step {min(r['first'] for r in runs):.2f} s", file=sys.stderr, flush=True)
    return {k: min(r[k] for r in runs) for k in runs[0]}


def report(method: str, results: dict[int, dict[str, float]], repeats: int) -> None:
    orders = list(results)
    base = results[1]
    rows = [[str(n), str(r["defs"]), str(r["ops"]), str(r["lines"]), f"{r['differentiate']:.2f}",
             f"{r['simplify']:.2f}", f"{r['native']:.2f}", f"{r['other']:.2f}", f"{r['first']:.2f}",
             f"{r['step'] * 1e3:.2f}", f"{r['defs'] / base['defs']:.2f}", f"{r['ops'] / base['ops']:.2f}",
             f"{r['first'] / base['first']:.2f}", f"{r['step'] / base['step']:.2f}"]
            for n, r in results.items()]
    how = ("Taylor mode, sn.autograd.derivatives" if method == "taylor" else
           "nested sn.autograd.grad (the sum trick)")
    table(f"∂ⁿu/∂x₀ⁿ of a {'-'.join(map(str, WIDTHS))} tanh MLP in one Adam step, batch {POINTS}, float64, "
          f"{how} (best of {repeats})",
          ["n", "defs", "ops", "formula lines", "differentiate s", "simplify s", "LLVM s", "other s",
           "first step s", "later step ms", "defs/n=1", "ops/n=1", "first/n=1", "step/n=1"], rows)
    print("\ndefs, ops: definitions of the compiled step's graph, SymPy count_ops of their bodies; formula lines: "
          "step.formulas(). differentiate, simplify, LLVM (the compile stage): the first step's seconds in "
          "those pipeline stages; other: the rest of it (tracing the objective and deriving its input "
          "derivatives, lowering, the optimizer's update); later step: best of 5×3 native calls.")
    worse = [n for n in orders if n > 1 and any(results[n][k] / base[k] > n * 1.1 for k in ("defs", "ops", "first"))]
    if worse:
        print(f"{method}: growth is WORSE than linear in n at n = {', '.join(map(str, worse))} (a ratio to n = 1 "
              "above n, by more than 10%)")
    else:
        print(f"{method}: growth is at most linear in n up to n = {orders[-1]} (every ratio to n = 1 within n, "
              "+10%)")
    for key, what in (("defs", "defs"), ("ops", "ops"), ("first", "first-step time"), ("step", "later step")):
        ratios = [results[n][key] / results[n - 1][key] for n in orders if n > 1]
        print(f"  {what}: successive ratios (n / n-1) {', '.join(f'{q:.2f}' for q in ratios)}")


if __name__ == "__main__":
    main()
