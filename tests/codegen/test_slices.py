"""A sum only a shifted copy reads is summed where the copy reads it (``loops.sums_into_slices``): a padded
convolution's input gradient is computed over the input, not over the padded input and copied out. Odd sizes,
both precisions, stride, dilation, one and two threads equal the reference evaluator; sums read otherwise stay."""

import numpy as np
import pytest

import symnet as sn
from codegen import compile_graph
from codegen.loops import pad_guarded_reads, sums_into_slices
from symnet.core.ir import Def, Graph, Input, access, fresh_indices
from symnet.core.reference import evaluate

from .test_collapsed import on_one_and_two_threads
from .test_direct import assert_close, conv_graph

F64 = np.dtype(np.float64)

#: batch, in and out channels, kernel, (H, W), stride, padding, dilation; whether the input gradient reads the
#: output gradient in place (the sliding kernel under its bounds) or a padded copy
CASES = [((1, 1, 3, 3, (7, 9), 1, 1, 1), True), ((2, 2, 3, 5, (9, 7), 1, 2, 1), True),
         ((3, 1, 2, 3, (7, 9), 1, 2, 2), False), ((2, 2, 3, 3, (7, 9), 2, 1, 1), False),
         ((2, 1, 6, 5, (28, 28), 1, 2, 1), True)]


def input_gradient(graph: Graph) -> Def:
    return next(d for d in graph.defs if d.name == "dX")


@pytest.mark.parametrize("dtype", [sn.float32, sn.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("case,in_place", CASES, ids=["7x9", "5x5", "dilated", "strided", "lenet"])
def test_a_padded_convolutions_input_gradient_is_summed_over_the_input(case, in_place, dtype, rng):
    graph, arrays = conv_graph(rng, dtype, case)
    copied = input_gradient(graph)
    folded = sums_into_slices(graph)
    if case[5] == 1:  # stride 1: the padded input's gradient is a sum the copy alone reads
        assert copied.combine == "assign" and input_gradient(folded).combine == "sum"
        assert len(folded.defs) == len(graph.defs) - 1
        padded = [d for d in pad_guarded_reads(graph).defs if d.name.endswith("_pad")]
        _, _, _, k, _, _, padding, dilation = case
        assert [d.shape[2] - arrays["G"].shape[2] for d in padded] == \
            ([] if in_place else [2 * (dilation * (k - 1) - padding)])
    got, expected = compile_graph(graph)(arrays), evaluate(graph, arrays)
    for name in graph.outputs:
        assert_close(got[name], expected[name], dtype)


def test_two_threads_compute_what_one_computes(rng):
    graph, arrays = conv_graph(rng, sn.float64, CASES[1][0])
    one, two = on_one_and_two_threads(graph, arrays)
    for name in graph.outputs:
        assert np.array_equal(one[name], two[name])


def window_graph(index, outputs=("D",), second_reader: bool = False) -> Graph:
    """``S[i, j] = Σ_k A[i, k]·B[k, j]`` (6 × 5) and ``D[u, v] = S[index(u, v)]`` over 4 × 3."""
    i, j, k = fresh_indices((6, 5, 4))
    s = Def("S", (6, 5), F64, ((i, 6), (j, 5), (k, 4)), (i, j), access("A", (i, k)) * access("B", (k, j)), "sum")
    u, v = fresh_indices((4, 3))
    d = Def("D", (4, 3), F64, ((u, 4), (v, 3)), (u, v), access("S", index(u, v)))
    defs = [s, d]
    if second_reader:
        defs.append(Def("E", (6, 5), F64, ((i, 6), (j, 5)), (i, j), 2 * access("S", (i, j))))
    return Graph([Input("A", (6, 4), F64), Input("B", (4, 5), F64)], defs, list(outputs))


@pytest.mark.parametrize("index,outputs,second,folds", [
    (lambda u, v: (u + 2, v + 1), ("D",), False, True),
    (lambda u, v: (v + 1, u), ("D",), False, True),  # a transposed window: still each element once
    (lambda u, v: (u + v, v), ("D",), False, False),  # a skewed read: two symbols in one index
    (lambda u, v: (u + 2, v + 1), ("D", "S"), False, False),  # S is an output
    (lambda u, v: (u + 2, v + 1), ("D", "E"), True, False),  # S is read twice
    (lambda u, v: (u, u), ("D",), False, False),  # a diagonal: v unused
], ids=["window", "transposed", "skewed", "output", "read-twice", "diagonal"])
def test_only_a_sum_read_once_at_shifted_symbols_is_folded(index, outputs, second, folds, rng):
    graph = window_graph(index, outputs, second)
    folded = sums_into_slices(graph)
    assert ("S" not in {d.name for d in folded.defs}) == folds
    arrays = {"A": rng.standard_normal((6, 4)), "B": rng.standard_normal((4, 5))}
    got, expected = compile_graph(graph)(arrays), evaluate(graph, arrays)
    for name in graph.outputs:
        np.testing.assert_allclose(got[name], expected[name], rtol=1e-12)


def test_summed_symbols_are_renamed_apart_from_the_copys():
    """S sums over k; the copy's own symbols are named i, j, k too (k over one element)."""
    i, j, k = fresh_indices((6, 5, 4))
    s = Def("S", (6, 5), F64, ((i, 6), (j, 5), (k, 4)), (i, j), access("A", (i, k)) * access("B", (k, j)), "sum")
    d = Def("D", (4, 3, 1), F64, ((i, 4), (j, 3), (k, 1)), (i, j, k), access("S", (i + 2, j + 1)))
    graph = Graph([Input("A", (6, 4), F64), Input("B", (4, 5), F64)], [s, d], ["D"])
    (folded,) = sums_into_slices(graph).defs
    assert [x.name for x in folded.symbols] == ["i", "j", "k", "k_"]
    arrays = {"A": np.arange(24.0).reshape(6, 4), "B": np.arange(20.0).reshape(4, 5)}
    np.testing.assert_allclose(compile_graph(graph)(arrays)["D"], evaluate(graph, arrays)["D"], rtol=1e-12)
