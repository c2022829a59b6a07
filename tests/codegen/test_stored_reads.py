"""A sum of what an earlier elementwise definition stores reads the stored values (``loops.reads_stored``): a
max-pooled convolution's bias gradient sums its output gradient instead of computing it again."""

import numpy as np
import sympy as sp

import symnet as sn
from codegen import compile_graph
from codegen.loops import Reduce, lower_graph
from symnet import pipeline, trace
from symnet.core.ir import Def, Graph, Input, access, fresh_indices
from symnet.core.reference import evaluate

F64 = np.dtype(np.float64)


def pooled_graph(pair: int):
    """``e[b, n, p] = X[b, ⌊n/2⌋, ⌊p/2⌋]·Y[b, n, p]`` and sums of ``X[b, j, k]·Y[b, 2j + u, 2k + v]`` over u, v in
    [0, pair) and j, k in [0, 4) (e's first 8 × 8, a vector of float64 a row): with pair 2 the first sum is e's,
    with pair 3 (windows that overlap) it is not."""
    b, n, p = fresh_indices((2, 12, 12))
    e = Def("e", (2, 12, 12), F64, ((b, 2), (n, 12), (p, 12)), (b, n, p),
            access("X", (b, sp.floor(n / 2), sp.floor(p / 2))) * access("Y", (b, n, p)))
    b, j, k, u, v = fresh_indices((2, 4, 4, pair, pair))
    product = access("X", (b, j, k)) * access("Y", (b, 2 * j + u, 2 * k + v))
    domain = ((b, 2), (j, 4), (k, 4), (u, pair), (v, pair))
    sums = [Def("s", (2,), F64, domain, (b,), product, "sum"),
            Def("t", (2,), F64, domain, (b,), product * access("Y", (b, 2 * j + u, 2 * k + v)), "sum")]
    return Graph([Input("X", (2, 6, 6), F64), Input("Y", (2, 12, 12), F64)], [e, *sums], ["e", "s", "t"])


def kernel(kernels, name):
    return next(k for k in kernels if name in {w.name for w in k.writes})


def test_a_sum_of_stored_values_reads_them(rng):
    graph = pooled_graph(2)
    kernels = lower_graph(graph)
    summed = kernel(kernels, "s")
    assert summed.reads == ["e"]
    (reduce,) = [s for s in summed.body[0].body if isinstance(s, Reduce)]
    assert [loop.extent for loop in (reduce.loops[0], reduce.loops[0].body[0])] == [8, 8]  # 2·4 each, merged
    assert kernel(kernels, "t").reads == ["X", "Y"]  # another body: computed as it is
    arrays = {"X": rng.standard_normal((2, 6, 6)), "Y": rng.standard_normal((2, 12, 12))}
    got, expected = compile_graph(graph)(arrays), evaluate(graph, arrays)
    for name in graph.outputs:
        np.testing.assert_allclose(got[name], expected[name], rtol=1e-12)


def test_overlapping_windows_are_not_the_stored_values():
    assert kernel(lower_graph(pooled_graph(3)), "s").reads == ["X", "Y"]


def test_rows_shorter_than_a_vector_are_computed_as_they_were():
    """Windows over e's first 2·3 columns: float64's 8 lanes would not fill."""
    graph = pooled_graph(2)
    short = [d if d.name != "s" else Def(d.name, d.shape, d.dtype, tuple((s, 3 if n == 4 else n) for s, n in d.domain),
                                         d.out, d.body, d.combine) for d in graph.defs]
    assert kernel(lower_graph(Graph(graph.inputs, short, graph.outputs)), "s").reads == ["X", "Y"]


def test_a_pooled_convolutions_bias_gradient_sums_its_output_gradient(rng):
    """17 × 17 outputs pooled by 2: the output gradient's range guards hold where the pooled windows read it."""
    X = sn.tensor(rng.standard_normal((3, 2, 19, 19)), dtype=sn.float64, requires_grad=True)
    conv = sn.nn.Conv2d(2, 4, 3).double()
    loss = sn.nn.functional.max_pool2d(sn.nn.functional.relu(conv(X)), 2).sum()
    traced = trace([loss])
    specs, nodes = traced.specs, traced.tensors
    wrt = tuple(p for p, t in enumerate(nodes) if t.node is None and t.requires_grad)
    program = pipeline.gradient_program(specs, len(specs) - 1, wrt, seeded=False)
    graph = program.graph
    bias = next(d for d in graph.defs if d.combine == "sum" and len(d.shape) == 1 and d.shape[0] == 4)
    reads = kernel(lower_graph(graph), bias.name).reads
    assert len(reads) == 1 and any(d.name == reads[0] and d.combine == "assign" for d in graph.defs)
    leaves = {program.names[p]: t.numpy() for p, t in enumerate(nodes) if t.node is None}
    arrays = {t.name: leaves[t.name] for t in graph.inputs}
    got, expected = compile_graph(graph)(arrays), evaluate(graph, arrays)
    for name in graph.outputs:
        np.testing.assert_allclose(got[name], expected[name], rtol=1e-9, atol=1e-12)
