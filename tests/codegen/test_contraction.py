"""The register-tiled contraction kernel: every operand layout of a Linear layer, edges and k-blocking."""

import numpy as np
import pytest

from codegen import compile_graph
from codegen.loops import Contraction, lower_graph
from symnet.core.ir import Def, Graph, Input, access, fresh_indices

LAYOUTS = {
    # name: (A shape, B shape, how C[i, j] reads them) — forward X·Wᵀ, backward δ·W and δᵀ·X
    "x_wT": lambda m, n, k: ((m, k), (n, k), lambda i, j, r: (("A", (i, r)), ("B", (j, r))),
                             lambda A, B: A @ B.T),
    "d_w": lambda m, n, k: ((m, k), (k, n), lambda i, j, r: (("A", (i, r)), ("B", (r, j))), lambda A, B: A @ B),
    "dT_x": lambda m, n, k: ((k, m), (k, n), lambda i, j, r: (("A", (r, i)), ("B", (r, j))),
                             lambda A, B: A.T @ B),
}


def graph(layout, m, n, k, dtype, scale=1):
    a_shape, b_shape, reads, _ = LAYOUTS[layout](m, n, k)
    i, j, r = fresh_indices((m, n, k))
    (a_name, a_idx), (b_name, b_idx) = reads(i, j, r)
    body = scale * access(a_name, a_idx) * access(b_name, b_idx)
    d = Def("C", (m, n), np.dtype(dtype), ((i, m), (j, n), (r, k)), (i, j), body, "sum")
    return Graph([Input("A", a_shape, np.dtype(dtype)), Input("B", b_shape, np.dtype(dtype))], [d], ["C"])


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("layout", sorted(LAYOUTS))
@pytest.mark.parametrize("m,n,k", [(1, 1, 1), (6, 32, 256), (13, 40, 600), (257, 10, 3), (5, 100, 257)])
def test_contraction_matches_numpy(layout, m, n, k, dtype, rng):
    g = graph(layout, m, n, k, dtype, scale=0.5)
    assert isinstance(lower_graph(g)[0].body[0], Contraction) == (min(m, n, k) > 1)
    a_shape, b_shape, _, reference = LAYOUTS[layout](m, n, k)
    A = rng.standard_normal(a_shape).astype(dtype)
    B = rng.standard_normal(b_shape).astype(dtype)
    got = compile_graph(g)({"A": A, "B": B})["C"]
    expected = 0.5 * reference(A.astype(np.float64), B.astype(np.float64))
    tol = 1e-12 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(got, expected, rtol=tol, atol=tol * np.sqrt(k) * np.abs(expected).max())


def test_sibling_reductions_fuse_into_one_pass(rng):
    """Multi-output fusion: the loss and every gradient of a polynomial fit in one loop, same numbers."""
    import symnet as sn
    from codegen.loops import MultiReduce
    from symnet import trace
    from symnet.core.reference import evaluate
    from symnet.pipeline import gradient_program

    x = sn.tensor(rng.standard_normal(300), dtype=sn.float64, name="x")
    a, b, c = (sn.tensor(v, dtype=sn.float64, requires_grad=True) for v in (0.5, -1.0, 0.25))
    loss = ((a + b * x + c * x**2 - x.sin()) ** 2).sum()
    traced = trace([loss])
    specs, nodes = traced.specs, traced.tensors
    wrt = tuple(p for p, t in enumerate(nodes) if t.node is None and t.requires_grad)
    graph = gradient_program(specs, len(specs) - 1, wrt, seeded=False).graph
    kernels = lower_graph(graph)
    assert len(kernels) == 1 and isinstance(kernels[0].body[0], MultiReduce)
    arrays = {t.name: n.numpy() for t, n in zip(graph.inputs, [n for n in nodes if n.node is None], strict=True)}
    native, reference = compile_graph(graph)(arrays), evaluate(graph, arrays)
    for name in graph.outputs:
        np.testing.assert_allclose(native[name], reference[name], rtol=1e-12)


def test_a_sum_whose_operand_is_constant_along_the_summed_index_is_not_a_gemm(rng):
    """``C[j, k] = Σ_i K[k]·D[i, j]``: K does not read i, so the product is no matrix product (it was taken for
    one and failed to compile); the loop nest computes ``K[k]·Σ_i D[i, j]``."""
    i, j, k = fresh_indices([5, 4, 3])
    d = Input("D", (5, 4), np.dtype(np.float64))
    kk = Input("K", (3,), np.dtype(np.float64))
    c = Def("C", (4, 3), np.dtype(np.float64), ((i, 5), (j, 4), (k, 3)), (j, k), access("K", (k,)) *
            access("D", (i, j)), "sum")
    g = Graph([d, kk], [c], ["C"])
    assert not isinstance(lower_graph(g)[0].body[0], Contraction)
    D, K = rng.standard_normal((5, 4)), rng.standard_normal(3)
    np.testing.assert_allclose(compile_graph(g)({"D": D, "K": K})["C"], D.sum(0)[:, None] * K, rtol=1e-12)
