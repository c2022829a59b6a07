"""Summed loops that every read walks as one contiguous run are summed as one loop (``loops.collapsed``): a bias
gradient's image rows, a loss summed over a convolution's output. Odd sizes, both precisions, a broadcast operand,
reads that do not line up, a stored pooled gradient, one and two threads — equal the reference evaluator."""

import numpy as np
import pytest

import symnet as sn
from codegen import compile_graph
from codegen.loops import Reduce, lower_graph
from symnet.core.ir import Def, Graph, Input, access, fresh_indices
from symnet.core.reference import evaluate

from .test_stored_reads import kernel, pooled_graph


def sums_graph(batch: int, dtype: np.dtype) -> Graph:
    """Over X[b, c, h, w] (7 × 9 images): ``s[c] = Σ X``, ``t = Σ (B[c] + X)·Y`` (B constant along h and w),
    ``u[c] = Σ X[b, c, h, w]·Z[b, c, h, w]`` (Z's rows 10 long: they do not follow X's) and ``v[c, h] = Σ_b,w X``
    (one summed symbol beside the row)."""
    shape = (batch, 3, 7, 9)
    b, c, h, w = fresh_indices(shape)
    domain = tuple(zip((b, c, h, w), shape, strict=True))
    x, y = access("X", (b, c, h, w)), access("Y", (b, c, h, w))
    defs = [Def("s", (3,), dtype, domain, (c,), x, "sum"),
            Def("t", (), dtype, domain, (), (access("B", (c,)) + x) * y, "sum"),
            Def("u", (3,), dtype, domain, (c,), x * access("Z", (b, c, h, w)), "sum"),
            Def("v", (3, 7), dtype, domain, (c, h), x, "sum")]
    inputs = [Input("X", shape, dtype), Input("Y", shape, dtype), Input("B", (3,), dtype),
              Input("Z", (batch, 3, 7, 10), dtype)]
    return Graph(inputs, defs, ["s", "t", "u", "v"])


def summed_extents(kernels, name: str) -> list:
    """The extents of a register reduction's loops, outermost first."""
    stmts = kernel(kernels, name).body
    while not isinstance(stmts[0], Reduce):
        stmts = stmts[0].body
    extents, loops = [], stmts[0].loops
    while loops:
        extents.append(loops[0].extent)
        loops = loops[0].body
    return extents


def test_contiguous_rows_are_summed_as_one_loop():
    kernels = lower_graph(sums_graph(2, np.dtype(np.float32)))
    assert summed_extents(kernels, "s") == [2, 63]  # b, then h and w as one run of 63
    assert summed_extents(kernels, "t") == [2, 3, 63]  # c stays: B moves along it, X by 63
    assert summed_extents(kernels, "u") == [2, 7, 9]  # Z's address moves by 10 along h
    assert summed_extents(kernels, "v") == [2, 9]  # h is not summed


@pytest.mark.parametrize("batch", [1, 2, 3])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_collapsed_sums_match_the_reference(batch, dtype, rng):
    graph = sums_graph(batch, np.dtype(dtype))
    arrays = {t.name: rng.standard_normal(t.shape).astype(dtype) for t in graph.inputs}
    got, expected = compile_graph(graph)(arrays), evaluate(graph, arrays)
    tol = 1e-12 if dtype == np.float64 else 1e-5
    for name in graph.outputs:
        np.testing.assert_allclose(got[name], expected[name], rtol=tol, atol=tol * 10)


def on_one_and_two_threads(graph: Graph, arrays: dict) -> list[dict]:
    """The graph's outputs compiled and run on one thread, then on two."""
    before = sn.get_num_threads()
    results = []
    try:
        for threads in (1, 2):
            sn.set_num_threads(threads)
            results.append(compile_graph(graph, use_cache=False)(arrays))
    finally:
        sn.set_num_threads(before)
    return results


def test_two_threads_compute_what_one_computes(rng):
    graph = sums_graph(3, np.dtype(np.float64))
    one, two = on_one_and_two_threads(graph, {t.name: rng.standard_normal(t.shape) for t in graph.inputs})
    for name in graph.outputs:
        np.testing.assert_allclose(two[name], one[name], rtol=1e-13)


def test_a_stored_gradient_read_along_whole_rows_is_one_run(rng):
    """The pooled sum reads e's first 8 of 12 columns: its merged pairs are not one run, the rows stay apart."""
    graph = pooled_graph(2)
    assert summed_extents(lower_graph(graph), "s") == [8, 8]
    b, n, p = fresh_indices((2, 8, 8))
    whole = Def("w", (2,), graph.defs[0].dtype, ((b, 2), (n, 8), (p, 8)), (b,), access("e", (b, n, p)), "sum")
    graph = Graph([Input("e", (2, 8, 8), whole.dtype)], [whole], ["w"])
    assert summed_extents(lower_graph(graph), "w") == [64]
    arrays = {"e": rng.standard_normal((2, 8, 8))}
    np.testing.assert_allclose(compile_graph(graph)(arrays)["w"], arrays["e"].sum(axis=(1, 2)), rtol=1e-12)
