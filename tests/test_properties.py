"""Property-based: random expression graphs of three or more ops, checked against finite differences (20 graphs
a run; 100 with SYMNET_DEEP=1)."""

import os

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import symnet as sn

UNARY = {
    "tanh": lambda t: t.tanh(),
    "sigmoid": lambda t: t.sigmoid(),
    "sin": lambda t: t.sin(),
    "softplus": lambda t: t.softplus(),
    "square": lambda t: t * t,
    "scale": lambda t: t * 0.7 - 0.2,
    "exp_small": lambda t: (t * 0.3).exp(),
    "softmax": lambda t: t.softmax(-1),
}
BINARY = {
    "add": lambda a, b: a + b,
    "mul": lambda a, b: a * b,
    "sub": lambda a, b: a - b,
    "div_pos": lambda a, b: a / (b * b + 1),
}
REDUCE = {
    "sum": lambda t: t.sum(),
    "mean_rows_then_sum": lambda t: t.mean(1).sum(),
    "logsumexp": lambda t: t.logsumexp(1).sum(),
    "matmul_trace": lambda t: (t @ t.T).sum(),
}

def graph_function(steps, reduce):
    """The random graph as a function of x (rows × cols), a row vector and a column vector."""
    def fn(x, row, col):
        operand = {"x": x, "row": row, "col": col}
        t = x
        for s in steps:
            t = UNARY[s[1]](t) if s[0] == "u" else BINARY[s[1]](t, operand[s[2]])
        return REDUCE[reduce](t)

    return fn


step = st.one_of(
    st.tuples(st.just("u"), st.sampled_from(sorted(UNARY))),
    st.tuples(st.just("b"), st.sampled_from(sorted(BINARY)), st.sampled_from(["x", "row", "col"])),
)


@settings(max_examples=100 if os.environ.get("SYMNET_DEEP") else 20, deadline=None)  # (~0.8 s each)
@given(steps=st.lists(step, min_size=2, max_size=5), reduce=st.sampled_from(sorted(REDUCE)),
       rows=st.integers(1, 3), cols=st.integers(1, 4), seed=st.integers(0, 2**16))
def test_random_graphs_match_finite_differences(steps, reduce, rows, cols, seed):
    rng = np.random.default_rng(seed)
    inputs = [sn.tensor(rng.standard_normal(s), dtype=sn.float64) for s in [(rows, cols), (cols,), (rows, 1)]]
    sn.check_grads(graph_function(steps, reduce), inputs, order=2, rtol=1e-6, atol=1e-7)
