"""The direct-convolution kernel and its sliding variant, and the dot-product kernel (``codegen.direct``,
``codegen.dots``): convolutions with fewer channels than a GEMM tile has rows, their input and weight gradients —
odd sizes, both precisions, padding, dilation, more than one k-block, a symbolic batch summed over calls, one and
two threads — equal the reference evaluator, and take the kernels."""

import numpy as np
import pytest
import sympy as sp

import symnet as sn
from codegen import compile_graph
from codegen.loops import Contraction
from symnet import pipeline, trace
from symnet.core.functions import eq
from symnet.core.ir import Def, Graph, Input, access, fresh_indices
from symnet.core.reference import evaluate

F64 = np.dtype(np.float64)

#: batch, in and out channels, kernel, (H, W), stride, padding, dilation; and the kernels of the forward, the
#: input gradient (none when stride 2 makes it a scatter) and the weight gradient in float32 and in float64 (half
#: the lanes: a GEMM tile of fewer rows past 8 columns)
CASES = [
    ((2, 1, 6, 5, (28, 28), 1, 2, 1), "SSd", "SSd"),  # LeNet's conv1; the input gradient's [c = 0] holds: a row of A
    ((3, 1, 3, 3, (7, 9), 1, 0, 1), "DSD", "DSD"),  # 7 rows: a sliding tile of 7
    ((3, 2, 5, 3, (17, 23), 1, 1, 1), "DDd", "DDd"),  # 23 columns, 18 weights a channel: partial tiles everywhere
    ((1, 2, 5, 3, (13, 33), 1, 1, 2), "DDg", "DDd"),  # dilated (taps 2 rows apart: not sliding); two panels
    ((2, 12, 3, 5, (9, 11), 1, 2, 1), "SSS", "SgS"),  # K = 300: two k-blocks
    ((2, 6, 16, 5, (14, 14), 1, 0, 1), "gSg", "gSg"),  # LeNet's conv2: the input gradient (6 channels)
    ((2, 3, 4, 3, (11, 10), 2, 1, 1), "gD", "gD"),  # strided: the forward reads B with stride 2, not as rows
]
KINDS = {"D": "direct", "S": "sliding", "d": "dots", "g": "gemm"}


def conv_graph(rng, dtype, case):
    batch, channels, outs, k, size, stride, padding, dilation = case
    X = sn.tensor(rng.standard_normal((batch, channels, *size)), dtype=dtype, requires_grad=True, name="X")
    W = sn.tensor(rng.standard_normal((outs, channels, k, k)), dtype=dtype, requires_grad=True, name="W")
    out = sn.nn.functional.conv2d(X, W, None, stride, padding, dilation)
    G = sn.tensor(rng.standard_normal(tuple(out.shape)), dtype=dtype, name="G")
    traced = trace([(out * G).sum()])
    specs, nodes = traced.specs, traced.tensors
    wrt = tuple(p for p, t in enumerate(nodes) if t.node is None and t.requires_grad)
    program = pipeline.gradient_program(specs, len(specs) - 1, wrt, seeded=False)
    leaves = {program.names[p]: t.numpy() for p, t in enumerate(nodes) if t.node is None}
    return program.graph, {t.name: leaves[t.name] for t in program.graph.inputs}


def kinds(compiled) -> list[str]:
    """Per contraction, the kernel it takes."""
    return ["sliding" if c.row_tap is not None else "direct" if c.rows else "dots" if c.lanes_along is not None
            else "gemm" for k in compiled.kernels if isinstance(c := k.body[0], Contraction)]


def assert_close(got, expected, dtype):
    tol = 1e-9 if dtype == sn.float64 else 1e-4
    np.testing.assert_allclose(got, expected, rtol=tol, atol=tol * max(np.abs(expected).max(), 1.0))


@pytest.mark.parametrize("dtype", [sn.float32, sn.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("case,single,double", CASES,
                         ids=["conv1", "one-channel", "odd", "dilated", "blocks", "conv2", "strided"])
def test_convolution_and_its_gradients_match_the_reference(case, single, double, dtype, rng):
    graph, arrays = conv_graph(rng, dtype, case)
    compiled = compile_graph(graph)
    assert kinds(compiled) == [KINDS[c] for c in (double if dtype == sn.float64 else single)]
    got, expected = compiled(arrays), evaluate(graph, arrays)
    for name in graph.outputs:
        assert_close(got[name], expected[name], dtype)


def test_the_taps_in_the_padding_are_known(rng):
    """A conv2-like input gradient over 17 rows of 24 (no sliding tile of two vectors divides 17) reads its output
    gradient padded by 4: the direct kernel is told where the rows are zeros (and skips the k steps a tile needs
    none of); the numbers equal the reference's."""
    graph, arrays = conv_graph(rng, sn.float32, (2, 6, 16, 5, (17, 24), 1, 0, 1))
    compiled = compile_graph(graph)
    (direct,) = [c for k in compiled.kernels if isinstance(c := k.body[0], Contraction) and c.rows]
    assert direct.row_tap is None and direct.b_zero is not None and direct.b_zero.args[1:] == (0, 12)
    assert {s for s in direct.b_zero.free_symbols} & set(direct.rows) and \
        {s for s in direct.b_zero.free_symbols} & set(direct.k)
    got, expected = compiled(arrays), evaluate(graph, arrays)
    for name in graph.outputs:
        assert_close(got[name], expected[name], sn.float32)


@pytest.mark.parametrize("dtype", [sn.float32, sn.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("case,name,zeros", [
    ((2, 6, 16, 5, (14, 14), 1, 0, 1), "dX", (0, 9)),  # LeNet's conv2 input gradient: taps down the rows
    ((1, 1, 3, 5, (7, 9), 1, 4, 1), "conv1", (0, 6)),  # a forward padded by 4: taps up the rows
    ((1, 1, 3, 5, (7, 9), 1, 4, 1), "dW", (0, 6)),  # its weight gradient: the taps are the image rows
], ids=["down", "up", "weights"])
def test_the_sliding_kernel_skips_lines_of_zeros(case, name, zeros, dtype, rng):
    """A sliding tile over a padded copy is told where its lines are zeros and skips them."""
    graph, arrays = conv_graph(rng, dtype, case)
    compiled = compile_graph(graph)
    (c,) = [k.body[0] for k in compiled.kernels if k.definition.name == name]
    assert c.row_tap is not None and c.b_zero is not None and c.b_zero.args[1:] == zeros
    got, expected = compiled(arrays), evaluate(graph, arrays)
    for output in graph.outputs:
        assert_close(got[output], expected[output], dtype)


@pytest.mark.parametrize("dtype", [sn.float32, sn.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("case", [(3, 2, 3, 3, (9, 7), 1, 1, 1), (1, 3, 2, 5, (7, 9), 1, 2, 1),
                                  (2, 6, 16, 5, (14, 14), 1, 0, 1)], ids=["9x7", "7x9", "conv2"])
def test_the_sliding_kernel_reads_a_guarded_operand_in_place(case, dtype, rng):
    """An input gradient's guarded read of the output gradient is no padded copy: lines outside its rows are
    skipped, lanes outside its columns masked."""
    graph, arrays = conv_graph(rng, dtype, case)
    compiled = compile_graph(graph)
    assert not [d for d in compiled.graph.defs if d.name.endswith("_pad")]
    (c,) = [k.body[0] for k in compiled.kernels if k.definition.name == "dX"]
    assert c.row_tap is not None and c.b_zero is not None and c.b_columns is not None and str(c.b.base.label) == "G"
    got, expected = compiled(arrays), evaluate(graph, arrays)
    for output in graph.outputs:
        assert_close(got[output], expected[output], dtype)


@pytest.mark.parametrize("case,expected", [((3, 2, 5, 3, (21, 19), 1, 1, 1), ["direct", "sliding", "dots"]),
                                           ((2, 6, 16, 5, (14, 14), 1, 0, 1), ["gemm", "sliding", "gemm"])],
                         ids=["odd", "skips"])
def test_two_threads_compute_what_one_computes(case, expected, rng):
    graph, arrays = conv_graph(rng, sn.float64, case)
    compiled = compile_graph(graph)
    assert kinds(compiled) == expected
    before = sn.get_num_threads()
    try:
        results = []
        for threads in (1, 2):
            sn.set_num_threads(threads)
            results.append(compiled(arrays))
    finally:
        sn.set_num_threads(before)
    for name in graph.outputs:
        assert np.array_equal(results[0][name], results[1][name])


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("height,kind", [(6, "direct"), (20, "dots")])
def test_a_symbolic_batch_is_summed_over_calls(height, kind, dtype, rng):
    """``dW[o, i, j] = ½·Σ_{b,y,x} G[b, o, y, x]·X[b, y + i, x + j]`` with the batch's extent a dimension: one call
    per image, the first storing and the others adding."""
    N = sp.Symbol("N", integer=True, positive=True)
    outs, W, k = 4, 17, 3
    b, o, y, x, i, j = fresh_indices((N, outs, height, W, k, k))
    body = sp.Rational(1, 2) * access("G", (b, o, y, x)) * access("X", (b, y + i, x + j))
    d = Def("dW", (outs, k, k), np.dtype(dtype), ((b, N), (o, outs), (y, height), (x, W), (i, k), (j, k)),
            (o, i, j), body, "sum")
    graph = Graph([Input("G", (N, outs, height, W), np.dtype(dtype)),
                   Input("X", (N, height + k - 1, W + k - 1), np.dtype(dtype))], [d], ["dW"])
    compiled = compile_graph(graph)
    assert kinds(compiled) == [kind]
    for batch in (1, 3):
        arrays = {"G": rng.standard_normal((batch, outs, height, W)).astype(dtype),
                  "X": rng.standard_normal((batch, height + k - 1, W + k - 1)).astype(dtype)}
        assert_close(compiled(arrays)["dW"], evaluate(graph, arrays)["dW"],
                     sn.float64 if dtype == np.float64 else sn.float32)


def test_a_value_equal_to_itself_is_not_an_index_condition():
    """Dropping conditions that hold over the domain (``[c = 0]`` over one channel) leaves ``[x = x]`` alone: it is
    0 where x is NaN."""
    (i,) = fresh_indices((3,))
    d = Def("same", (3,), np.dtype(np.bool_), ((i, 3),), (i,), eq(access("X", (i,)), access("X", (i,))))
    graph = Graph([Input("X", (3,), F64)], [d], ["same"])
    got = compile_graph(graph)({"X": np.array([np.nan, 1.0, -np.inf])})["same"]
    assert got.tolist() == [False, True, True]
