"""Native code next to NumPy (and PyTorch, when installed), single-threaded, in one run.

    python benchmarks/codegen_bench.py

Prints: contraction GFLOP/s; a fused 6-op elementwise chain on 1M elements; cold compile and cache-hit
times of a 784-256-10 MLP forward+backward; the seed's ``(x + w)(w + 1)`` + ``backward()`` loop.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
import time

import _common  # noqa: F401 - sets single-threaded BLAS before NumPy loads
import numpy as np
from _common import best_of, mlp_problem, table, torch_or_none

import symnet as sn
from codegen import compile_graph
from symnet import pipeline, trace
from symnet.core.ir import Def, Graph, Input, access, fresh_indices


def contraction_graph(m: int, k: int, n: int) -> Graph:
    i, j, r = fresh_indices((m, n, k))
    f32 = np.dtype(np.float32)
    c = Def("C", (m, n), f32, ((i, m), (j, n), (r, k)), (i, j), access("X", (i, r)) * access("W", (j, r)), "sum")
    return Graph([Input("X", (m, k), f32), Input("W", (n, k), f32)], [c], ["C"])


def contractions(torch) -> None:
    rows = []
    rng = np.random.default_rng(0)
    for m, k, n in [(256, 784, 256), (256, 256, 10), (1024, 1024, 1024)]:
        compiled = compile_graph(contraction_graph(m, k, n))
        X = rng.standard_normal((m, k)).astype(np.float32)
        W = rng.standard_normal((n, k)).astype(np.float32)
        flops = 2 * m * n * k
        number = 3 if m == 1024 else 50
        ours = best_of(lambda: compiled({"X": X, "W": W}), number=number)  # noqa: B023
        numpy = best_of(lambda: X @ W.T, number=number)  # noqa: B023
        row = [f"{m}×{k}×{n}", f"{flops / ours / 1e9:.1f}", f"{flops / numpy / 1e9:.1f}"]
        if torch is not None:
            tx, tw = torch.from_numpy(X), torch.from_numpy(W)
            row.append(f"{flops / best_of(lambda: tx @ tw.T, number=number) / 1e9:.1f}")  # noqa: B023
        rows.append(row)
    header = ["C = X·Wᵀ (float32, 1 thread)", "symnet GFLOP/s", "NumPy GFLOP/s"] + (["PyTorch"] if torch else [])
    table("Contraction", header, rows)


def elementwise_chain(torch) -> None:
    x = np.random.default_rng(0).standard_normal(1_000_000).astype(np.float32)
    t = sn.tensor(x[:8], name="x")
    chain = (((t.exp() - 1).tanh() * t) + 0.25).sigmoid()  # exp, sub, tanh, mul, add, sigmoid
    traced = trace([chain])
    specs = traced.specs
    graph = pipeline.forward_program(specs, (len(specs) - 1,)).graph
    graph = Graph([Input("x", (x.size,), np.dtype(np.float32))],
                  [dataclasses.replace(d, shape=(x.size,), domain=((d.symbols[0], x.size),)) for d in graph.defs],
                  graph.outputs)
    compiled = compile_graph(graph)
    ours = best_of(lambda: compiled({"x": x}), number=20)

    def numpy_chain():
        y = np.tanh(np.exp(x) - 1) * x + 0.25
        return 1 / (1 + np.exp(-y))

    numpy = best_of(numpy_chain, number=20)
    rows = [["symnet (one fused loop)", f"{ours * 1e3:.2f}"], ["NumPy (6 passes)", f"{numpy * 1e3:.2f}"]]
    if torch is not None:
        tx = torch.from_numpy(x)
        eager = best_of(lambda: ((tx.exp() - 1).tanh() * tx + 0.25).sigmoid(), number=20)
        rows.append(["PyTorch eager", f"{eager * 1e3:.2f}"])
    table("sigmoid(tanh(exp(x) − 1)·x + 0.25) on 1M float32", ["", "ms"], rows)


def mlp_compile() -> None:
    _, _, _, loss = mlp_problem()
    traced = trace([loss()])
    specs, nodes = traced.specs, traced.tensors
    wrt = tuple(p for p, t in enumerate(nodes) if t.is_leaf and t.requires_grad)
    with tempfile.TemporaryDirectory() as folder:
        os.environ["SYMNET_CACHE_DIR"] = folder
        pipeline.cache_clear()
        start = time.perf_counter()
        graph = pipeline.gradient_program(specs, len(specs) - 1, wrt, seeded=False).graph
        derive = time.perf_counter() - start
        start = time.perf_counter()
        compiled = compile_graph(graph)
        cold = time.perf_counter() - start
        start = time.perf_counter()
        again = compile_graph(graph)
        hit = time.perf_counter() - start
        assert again.cache_hit and not compiled.cache_hit
        arrays = {pipeline.lower(specs, (len(specs) - 1,)).names[p]: t.numpy() for p, t in enumerate(nodes)
                  if t.is_leaf}
        step = best_of(lambda: compiled(arrays), number=20)
    table("784-256-10 MLP, forward + backward, batch 256", ["", "ms"],
          [["derivation (trace → IR → autodiff → simplify)", f"{derive * 1e3:.1f}"],
           ["cold compile (emit + LLVM O3 + object)", f"{cold * 1e3:.1f}"],
           ["cache hit (load object, no IR emission)", f"{hit * 1e3:.1f}"],
           ["one forward+backward call", f"{step * 1e3:.2f}"]])


def seed_loop(torch) -> None:
    w = sn.tensor([1.0], requires_grad=True)
    x = sn.tensor([2.0], requires_grad=True)

    def ours():
        ((x + w) * (w + 1)).backward()

    ours()
    rows = [["symnet", f"{best_of(ours, number=2000) * 1e6:.1f}"]]
    if torch is not None:
        tw = torch.tensor([1.0], requires_grad=True)
        tx = torch.tensor([2.0], requires_grad=True)
        rows.append(["PyTorch eager", f"{best_of(lambda: ((tx + tw) * (tw + 1)).backward(), number=2000) * 1e6:.1f}"])
    table("(x + w)(w + 1) then backward(), per iteration of a Python loop", ["", "µs"], rows)


def main() -> None:
    torch = torch_or_none()
    contractions(torch)
    elementwise_chain(torch)
    mlp_compile()
    seed_loop(torch)


if __name__ == "__main__":
    main()
