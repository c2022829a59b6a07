"""Linear algebra beyond the OpInfo table: einsum's parser (implicit output, ``...``, errors), that every
contraction is one index-notation definition whose adjoints are contractions, and the GEMM path for mm."""

import numpy as np
import pytest

import symnet as sn
from symnet.core.contractions import Einsum
from symnet.frontend.linalg import _parse


@pytest.mark.parametrize(("equation", "ranks", "parsed"), [
    ("ij,jk->ik", [2, 2], (("ij", "jk"), "ik")),
    ("ba,ca", [2, 2], (("ba", "ca"), "bc")),
    ("...ij,...jk", [4, 3], (("abij", "bjk"), "abik")),
    ("ii", [2], (("ii",), "")),
    ("i,j", [1, 1], (("i", "j"), "ij")),
])
def test_parse(equation, ranks, parsed):
    assert _parse(equation, ranks) == parsed


@pytest.mark.parametrize(("equation", "ranks"), [
    ("ij,jk", [2]),            # operand count
    ("ij", [3]),               # rank
    ("ij->ii", [2]),           # repeated output letter
    ("ij->k", [2]),            # output letter not in the inputs
    ("i1", [2]),               # not a letter
    ("....i", [2]),            # malformed ellipsis
])
def test_parse_refusals(equation, ranks):
    with pytest.raises((ValueError, sn.ShapeError)):
        _parse(equation, ranks)


def test_einsum_is_one_contraction_and_its_gradient_another():
    a = sn.tensor(np.ones((2, 3)), requires_grad=True, name="A")
    b = sn.tensor(np.ones((3, 4)), requires_grad=True, name="B")
    y = sn.einsum("ij,jk->ik", a, b)
    assert isinstance(y.node.op, Einsum)
    text = str(sn.formulas(y.sum()))
    assert "einsum1[i, j] = Σ_k A[i, k]·B[k, j]" in text
    assert "Σ_j B[k, j]" in text  # ∂/∂A[i, k]: a contraction again


def test_diagonal_gradient_lands_on_the_diagonal():
    a = sn.tensor(np.arange(9.0).reshape(3, 3), requires_grad=True)
    sn.einsum("ii->i", a).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), np.eye(3))


def test_kron_matches_numpy():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((2, 3)), rng.standard_normal((3, 2))
    np.testing.assert_allclose(sn.kron(sn.tensor(a), sn.tensor(b)).numpy(), np.kron(a, b), rtol=1e-6)


def test_addmm_beta_zero_ignores_nan_input():
    out = sn.addmm(sn.full((2, 2), float("nan")), sn.ones(2, 3), sn.ones(3, 2), beta=0)
    np.testing.assert_array_equal(out.numpy(), np.full((2, 2), 3.0))


def test_vector_norm_namespace():
    assert sn.linalg.vector_norm(sn.tensor([3.0, 4.0])).item() == pytest.approx(5.0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matmul_of_an_operand_at_a_fixed_index_reads_that_row(dtype):
    """``x[k] @ w.T`` reads A[k, i, j]: the micro-kernel's operand must start at row k, not row 0."""
    rng = np.random.default_rng(5)
    x, w = rng.standard_normal((4, 3, 5)).astype(dtype), rng.standard_normal((6, 5)).astype(dtype)
    X, W = sn.tensor(x, requires_grad=True), sn.tensor(w, requires_grad=True)
    tol = 1e-12 if dtype == np.float64 else 1e-5
    for k in range(4):
        np.testing.assert_allclose((X[k] @ W.T).numpy(), x[k] @ w.T, rtol=tol, atol=tol)
    np.testing.assert_allclose((W @ X[2].T).numpy(), w @ x[2].T, rtol=tol, atol=tol)
    np.testing.assert_allclose((X[:, 1] @ W.T).numpy(), x[:, 1] @ w.T, rtol=tol, atol=tol)
    np.testing.assert_allclose((X[3, :, 1:4] @ W[1:4, 2:5]).numpy(), x[3, :, 1:4] @ w[1:4, 2:5], rtol=tol, atol=tol)
    (X[1] @ W.T).sum().backward()
    expected = np.zeros_like(x)
    expected[1] = np.ones((3, 6), dtype) @ w
    np.testing.assert_allclose(X.grad.numpy(), expected, rtol=tol, atol=tol)
