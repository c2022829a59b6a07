"""Identical internal functions are merged before LLVM: fewer definitions, the same numbers bit for bit."""

from __future__ import annotations

import numpy as np

import symnet as sn
from codegen import compile_graph, merge
from symnet import trace
from symnet.pipeline import gradient_program

TWINS = '''define internal i32 @"k_a"(ptr %".1") noinline
{
entry:
  ret i32 0
}

define internal i32 @"k_b"(ptr %".1") noinline
{
entry:
  ret i32 0
}

define internal i32 @"l_a"(ptr %".1")
{
entry:
  %".3" = call i32 @"k_a"(ptr %".1")
  ret i32 %".3"
}

define internal i32 @"l_b"(ptr %".1")
{
entry:
  %".3" = call i32 @"k_b"(ptr %".1")
  ret i32 %".3"
}

define i32 @"sn_entry"(ptr %".1")
{
entry:
  %".3" = call i32 @"l_a"(ptr %".1")
  %".4" = call i32 @"l_b"(ptr %".1")
  ret i32 %".4"
}
'''


def test_twins_and_their_callers_merge_until_nothing_changes():
    merged = merge.merge_identical_functions(TWINS)
    assert merged.count("define ") == 3
    assert '@"k_b"' not in merged and '@"l_b"' not in merged
    assert merged.count('call i32 @"l_a"') == 2
    assert merge.merge_identical_functions(merged) == merged


def test_different_bodies_and_external_functions_stay():
    different = TWINS.replace('@"k_b"(ptr %".1") noinline', '@"k_b"(ptr %".1") noinline optsize')
    assert merge.merge_identical_functions(different).count("define ") == 5
    external = TWINS.replace("define internal i32 @\"l_", "define i32 @\"l_")
    assert merge.merge_identical_functions(external).count("define ") == 4  # only k_b goes


def deep_graph():
    """Three layers of one width: the same matrix products, activations and their adjoints."""
    rng = np.random.default_rng(0)
    X = sn.tensor(rng.standard_normal((64, 40)).astype(np.float32), name="X")
    weights = [sn.tensor(rng.standard_normal((40, 40)).astype(np.float32) / 7, requires_grad=True, name=f"W{k}")
               for k in range(3)]
    h = X
    for W in weights:
        h = (h @ W).tanh()
    traced = trace([(h * h).sum()])
    positions = tuple(p for p, t in enumerate(traced.tensors) if any(t is W for W in weights))
    return gradient_program(traced.specs, len(traced.specs) - 1, positions, seeded=False).graph


def test_a_deep_graph_compiles_each_body_once_with_the_same_numbers(monkeypatch):
    graph = deep_graph()
    inputs = [np.asarray(v) for v in _inputs(graph)]
    merged = compile_graph(graph, use_cache=False)
    functions = merged.llvm_ir().count("define ")
    monkeypatch.setattr(merge, "merge_identical_functions", lambda text: text)
    whole = compile_graph(graph, use_cache=False)
    assert functions < whole.llvm_ir().count("define ")
    for a, b in zip(merged.call(inputs), whole.call(inputs), strict=True):
        assert a.dtype == b.dtype and np.array_equal(a, b)


def _inputs(graph):
    rng = np.random.default_rng(1)
    return [rng.standard_normal(tuple(int(n) for n in t.shape)).astype(t.dtype) for t in graph.inputs]
