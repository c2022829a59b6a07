"""Differential tests: every op and every adjoint, compiled in float32 and float64, against the reference."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import symnet as sn
from codegen import compile_graph
from symnet import trace
from symnet.core.reference import evaluate
from symnet.pipeline import gradient_program
from tests.test_grad_ops import OPS, draw
from tests.test_properties import BINARY, REDUCE, UNARY, graph_function


def programs(fn, inputs):
    """The forward-and-adjoint graph of fn's output (made scalar by fixed weights), with its input arrays."""
    y = fn(*inputs)
    if y.numel() != 1:
        y = (y * np.linspace(0.5, 1.5, y.numel()).reshape(y.shape).astype(y.dtype)).sum()
    traced = trace([y])
    specs, nodes = traced.specs, traced.tensors
    wrt = tuple(p for p, t in enumerate(nodes) if t.node is None and t.requires_grad)
    prog = gradient_program(specs, len(specs) - 1, wrt, seeded=False)
    arrays = {prog.names[p]: t.numpy() for p, t in enumerate(nodes) if t.node is None}
    return prog.graph, arrays


def reduction_length(graph) -> int:
    longest = 1
    for d in graph.defs:
        n = 1
        for r in d.reduced:
            n *= int(d.extents[r])
        longest = max(longest, n)
    return longest


def assert_matches(graph, arrays, dtype):
    native = compile_graph(graph)(arrays)
    reference = evaluate(graph, arrays)
    for name in graph.outputs:
        ref = reference[name].astype(np.float64)
        if dtype == np.float64:
            np.testing.assert_allclose(native[name], ref, rtol=1e-10, atol=1e-12, err_msg=name)
        else:
            scale = np.abs(ref).max(initial=1.0) * reduction_length(graph)
            np.testing.assert_allclose(native[name], ref, rtol=1e-5, atol=1e-6 * scale, err_msg=name)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("name", sorted(OPS))
def test_op_and_adjoint_compiled_match_reference(name, dtype, rng):
    fn, shapes, kind = OPS[name]
    inputs = [sn.tensor(draw(rng, s, kind), dtype=dtype, requires_grad=True) for s in shapes]
    graph, arrays = programs(fn, inputs)
    assert_matches(graph, arrays, dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("n", [1, 3, 17, 257])
def test_odd_sizes_exercise_vector_remainders(n, dtype, rng):
    def fn(x, w, b):
        return ((x @ w.T + b).tanh() @ w).sigmoid().logsumexp(1)

    inputs = [sn.tensor(rng.standard_normal(s), dtype=dtype, requires_grad=True)
              for s in [(n, 5), (n if n < 20 else 7, 5), (n if n < 20 else 7,)]]
    graph, arrays = programs(fn, inputs)
    assert_matches(graph, arrays, dtype)


def test_one_compiled_function_serves_every_batch_size(rng):
    from symnet.core.ir import BATCH
    from symnet.core.simplify import simplify
    from symnet.pipeline import lower

    x = sn.tensor(rng.standard_normal((4, 3)), dtype=sn.float32, name="X")
    w = sn.tensor(rng.standard_normal((2, 3)), dtype=sn.float32, requires_grad=True, name="W")
    traced = trace([(x @ w.T).relu().sum()])
    specs = tuple(s._replace(shape=(BATCH, 3)) if s.name == "X" else s for s in traced.specs)
    graph = simplify(lower(specs, (len(specs) - 1,)).graph)
    compiled = compile_graph(graph)
    for batch in (1, 5, 64):
        arrays = {"X": rng.standard_normal((batch, 3)).astype(np.float32), "W": w.numpy()}
        np.testing.assert_allclose(compiled(arrays)[graph.outputs[0]], evaluate(graph, arrays)[graph.outputs[0]],
                                   rtol=1e-5)


@settings(max_examples=25, deadline=None)
@given(steps=st.lists(st.one_of(st.tuples(st.just("u"), st.sampled_from(sorted(UNARY))),
                                st.tuples(st.just("b"), st.sampled_from(sorted(BINARY)),
                                          st.sampled_from(["x", "row", "col"]))), min_size=2, max_size=5),
       reduce=st.sampled_from(sorted(REDUCE)), rows=st.integers(1, 5), cols=st.integers(1, 17),
       dtype=st.sampled_from([np.float32, np.float64]), seed=st.integers(0, 2**16))
def test_random_graphs_compiled_match_reference(steps, reduce, rows, cols, dtype, seed):
    rng = np.random.default_rng(seed)
    inputs = [sn.tensor(rng.standard_normal(s), dtype=dtype, requires_grad=True)
              for s in [(rows, cols), (cols,), (rows, 1)]]
    graph, arrays = programs(graph_function(steps, reduce), inputs)
    assert_matches(graph, arrays, dtype)


def test_sum_over_indices_no_factor_reads():
    """Found by hypothesis: Σ_{i,j} 2·B[k] counts every (i, j) — in the reference and in native code."""
    from symnet.core.ir import Def, Graph, Input, access, fresh_indices

    i, j, k = fresh_indices((2, 3, 1))
    b = Input("B", (1,), np.dtype(np.float64))
    d = Def("S", (1,), np.dtype(np.float64), ((i, 2), (j, 3), (k, 1)), (k,), 2 * access("B", (k,)), "sum")
    graph = Graph([b], [d], ["S"])
    arrays = {"B": np.array([0.5])}
    assert evaluate(graph, arrays)["S"][0] == 6.0
    assert compile_graph(graph)(arrays)["S"][0] == 6.0
