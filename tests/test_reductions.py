"""Reductions, scans and sorting beyond the OpInfo table: the ``prod`` combine's derived gradient (exact with
zeros, printed as a product of the other factors, second order), its loop nest, var over a symbolic batch, and
the stable rank's ties."""

import numpy as np
import pytest
import sympy as sp

import symnet as sn
from symnet.core.reference import evaluate_def


def test_prod_gradient_is_the_product_of_the_others_without_division():
    x = sn.tensor([[2.0, 0.0, 3.0], [0.0, 0.0, 5.0]], dtype=sn.float64, requires_grad=True, name="x")
    y = x.prod(1).sum()
    y.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[0.0, 6.0, 0.0], [0.0, 0.0, 0.0]])
    text = str(sn.formulas(y))
    assert "Π_k([k ≠ j]·(x[i, k]) else 1)" in text
    assert "/" not in text.split("prod1_others")[1]  # no division by the product: exact at zeros


def test_prod_second_derivative():
    """∂²(x₀x₁x₂)/∂x₀∂x₁ = x₂: the adjoint of a prod combine is a prod combine again."""
    x = sn.tensor([2.0, 0.0, 3.0], dtype=sn.float64, requires_grad=True, name="x")
    hessian = np.asarray(sn.hessian(x.prod(), x), dtype=float)
    np.testing.assert_allclose(hessian, [[0, 3, 0], [3, 0, 2], [0, 2, 0]])


def test_prod_loop_nest_multiplies_from_one():
    from codegen.loops import lower_graph, show_loops
    from symnet.core.ir import Def, Graph, Input, index_symbol

    i, k = index_symbol("i"), index_symbol("k")
    d = Def("p", (3,), np.dtype(np.float64), ((i, 3), (k, 4)), (i,), sp.Indexed(sp.IndexedBase("x"), i, k), "prod")
    x_input = Input("x", (3, 4), np.dtype(np.float64))
    shown = show_loops(lower_graph(Graph([x_input], [d], ["p"])))
    assert "acc = 1" in shown and "acc *= x[i, k]" in shown
    x = np.arange(12.0).reshape(3, 4) + 1
    np.testing.assert_array_equal(evaluate_def(d, {"x": x}, {}), x.prod(1))


def test_cumprod_gradient_exact_with_zeros():
    x = sn.tensor([2.0, 0.0, 3.0, 4.0], dtype=sn.float64, requires_grad=True)
    x.cumprod(0).sum().backward()
    # d/dx0 (x0 + x0x1 + x0x1x2 + x0x1x2x3) = 1 + x1 + x1x2 + x1x2x3 = 1; d/dx1 = x0 + x0x2 + x0x2x3 = 32
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 32.0, 0.0, 0.0])


def test_var_over_a_symbolic_batch():
    """n/(n − 1) stays a formula of the batch size N: one compiled step serves every batch size."""
    class Spread(sn.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = sn.nn.Parameter(np.ones((1, 2)))

        def forward(self, X):
            return (X * self.w).var(0).sum()

    model = Spread()
    step = sn.compile(model, lambda out, y: out + y.sum() * 0, sn.optim.SGD(model.parameters(), lr=0.0))
    rng = np.random.default_rng(0)
    for batch in (5, 3):
        X = rng.standard_normal((batch, 2))
        assert step.step(X, np.zeros((batch, 1))) == pytest.approx(X.var(0, ddof=1).sum(), rel=1e-6)


def test_sort_is_stable_on_ties_and_descending_keeps_first_equal_first():
    x = sn.tensor([2.0, 1.0, 2.0, 0.0, 1.0, 2.0])
    assert x.sort().indices.tolist() == [3, 1, 4, 0, 2, 5]
    assert x.sort(descending=True).indices.tolist() == [0, 2, 5, 1, 4, 3]
    assert sn.argsort(x).tolist() == [3, 1, 4, 0, 2, 5]


def test_sort_formula_is_a_rank():
    x = sn.tensor([3.0, 1.0, 2.0], name="x")
    text = str(sn.formulas(x.sort().values.sum()))
    assert "rank1[i] = Σ_j ([x[j] = x[i]]·[j < i] + [x[j] < x[i]])" in text
    assert "order1[i] = Σ_j j·[rank1[j] = i]" in text


@pytest.mark.parametrize(("call", "error"), [
    (lambda x: x.prod((0, 1)), TypeError),
    (lambda x: x.var(1, unbiased=True, correction=0), TypeError),
    (lambda x: x.norm(p="nuc"), ValueError),
    (lambda x: x.topk(-1), sn.ShapeError),
    (lambda x: x.cumsum(2), sn.ShapeError),
])
def test_refusals(call, error):
    with pytest.raises(error):
        call(sn.ones(2, 3))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_nansum_and_nanmean_skip_nan_as_pytorch(dtype):
    x = np.array([[np.nan, 1.0, 2.0], [np.nan, np.nan, np.nan], [3.0, -np.inf, 0.5]], dtype=dtype)
    t = sn.tensor(x)
    assert t.nansum().item() == pytest.approx(np.nansum(x))
    np.testing.assert_array_equal(t.nansum(1).numpy(), np.nansum(x, 1))
    np.testing.assert_array_equal(sn.nanmean(t, 1, keepdim=True).numpy(), np.nanmean(x, 1, keepdims=True))
    assert sn.tensor([1, 2, 3]).nansum().item() == 6 and sn.tensor([1, 2, 3]).nansum().dtype == sn.int64
    w = sn.tensor(x, requires_grad=True)
    w.nansum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), np.where(np.isnan(x), 0, 1))


@pytest.mark.parametrize("call", [lambda t: t.mean(), lambda t: t.mean(0), lambda t: t.softmax(0),
                                  lambda t: t.log_softmax(0), lambda t: t.nanmean()],
                         ids=["mean", "mean_dim", "softmax", "log_softmax", "nanmean"])
@pytest.mark.parametrize("values", [[1, 2, 3], [True, False, True]], ids=["int64", "bool"])
def test_a_mean_or_softmax_of_integers_is_refused_as_in_pytorch(call, values):
    with pytest.raises(sn.DTypeError, match="float"):
        call(sn.tensor(values))


@pytest.mark.parametrize("call", [lambda t: t.argmax(), lambda t: t.argmin(0), lambda t: t.topk(1),
                                  lambda t: t.median()], ids=["argmax", "argmin", "topk", "median"])
def test_orderings_of_bools_are_refused_as_in_pytorch(call):
    with pytest.raises(sn.DTypeError, match="bool"):
        call(sn.tensor([True, False, True]))
    call(sn.tensor([1, 0, 1]))  # integers are fine


def test_sort_of_a_0d_tensor_checks_its_dim():
    with pytest.raises(IndexError):
        sn.tensor(2.5).sort(dim=1)
    assert sn.tensor(2.5).sort(dim=0).values.item() == 2.5
