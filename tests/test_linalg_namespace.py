"""``symnet.linalg`` against ``torch.linalg``'s names (PyTorch 2.13): each is computed or refused by name — what
needs a matrix factorization refuses with NotSupportedError, as do torch's functions and Tensor methods of that
kind and the norms of the singular values. The values, gradients and PyTorch's own refusals are the OpInfo
table's (tests/opinfo/cases_linalg.py); here, what a table of calls cannot show."""

import math

import numpy as np
import pytest

import symnet as sn
from tests.opinfo.spec import FIXTURES, cases, key, operands

#: ``torch.linalg``'s functions in PyTorch 2.13 (besides them it holds ``LinAlgError``, the exception its
#: factorizations raise, and ``common_notes``, text for its docs)
TORCH_LINALG = (
    "cholesky", "cholesky_ex", "cond", "cross", "det", "diagonal", "eig", "eigh", "eigvals", "eigvalsh",
    "householder_product", "inv", "inv_ex", "ldl_factor", "ldl_factor_ex", "ldl_solve", "lstsq", "lu", "lu_factor",
    "lu_factor_ex", "lu_solve", "matmul", "matrix_exp", "matrix_norm", "matrix_power", "matrix_rank", "multi_dot",
    "norm", "pinv", "qr", "slogdet", "solve", "solve_ex", "solve_triangular", "svd", "svdvals", "tensorinv",
    "tensorsolve", "vander", "vecdot", "vector_norm",
)
COMPUTED = {"cross", "diagonal", "matmul", "matrix_exp", "matrix_norm", "matrix_power", "multi_dot", "norm", "vander",
            "vecdot", "vector_norm"}
#: torch's functions that are Tensor methods too and need a matrix factorization
FACTORIZING_METHODS = ("inverse", "det", "logdet", "slogdet", "pinverse", "svd", "qr", "cholesky", "cholesky_solve",
                       "cholesky_inverse", "lu", "lu_solve", "lstsq", "triangular_solve", "geqrf",
                       "orgqr", "ormqr")
NO_FACTORIZATIONS = r"symnet has no matrix factorizations \(LU, QR, SVD, eigen-decompositions\) yet"
A = sn.tensor([[2.0, 1.0], [1.0, 3.0]], dtype=sn.float64)


def test_symnet_linalg_has_torch_linalgs_names_and_no_others():
    assert set(vars(sn.linalg)) == {*TORCH_LINALG, "LinAlgError"}
    assert COMPUTED < set(TORCH_LINALG)


def test_except_linalg_error_clauses_stay_valid():
    """PyTorch's singular-matrix error, a RuntimeError (symnet never raises it: it has no factorizations)."""
    assert issubclass(sn.linalg.LinAlgError, RuntimeError) and issubclass(sn.linalg.LinAlgError, sn.SymnetError)
    try:
        sn.linalg.matrix_norm(A)
    except sn.linalg.LinAlgError:
        pytest.fail("raised for a norm")


@pytest.mark.parametrize("name", sorted(set(TORCH_LINALG) - COMPUTED))
def test_what_needs_a_factorization_refuses_by_name(name):
    with pytest.raises(sn.NotSupportedError, match=rf"^linalg\.{name}\(\) needs a matrix factorization.*"
                                                   rf"{NO_FACTORIZATIONS}"):
        getattr(sn.linalg, name)(A, A)
    assert getattr(sn.linalg, name).__name__ == name


@pytest.mark.parametrize("name", FACTORIZING_METHODS)
def test_torchs_factorizing_functions_and_methods_refuse_by_name(name):
    for call in (lambda: getattr(A, name)(), lambda: getattr(sn, name)(A, A)):
        with pytest.raises(sn.NotSupportedError, match=rf"^{name}\(\) needs a matrix factorization.*"
                                                       rf"{NO_FACTORIZATIONS}"):
            call()
    assert name in sn.__all__


@pytest.mark.parametrize(("order", "what"), [(2, "the largest singular value"), (-2, "the smallest singular value"),
                                             (2.0, "the largest singular value"),
                                             ("nuc", "the sum of the singular values")])
def test_the_norms_of_the_singular_values_refuse_naming_the_order(order, what):
    batch = sn.ones(2, 3, 3, dtype=sn.float64)
    for call in (lambda: sn.linalg.matrix_norm(batch, order), lambda: sn.linalg.norm(A, order),
                 lambda: sn.linalg.norm(batch, order, dim=(0, 2))):
        with pytest.raises(sn.NotSupportedError, match=rf"ord={order!r} is {what}, which needs an SVD, and "
                                                       rf"{NO_FACTORIZATIONS}"):
            call()
    with pytest.raises(sn.ShapeError, match="at least 2 dimensions"):  # PyTorch's checks of the call come first
        sn.linalg.matrix_norm(sn.ones(3), order)


def test_a_negative_matrix_power_refuses_for_want_of_the_inverse():
    with pytest.raises(sn.NotSupportedError, match="inverse"):
        sn.linalg.matrix_power(A, -1)


REFUSED = [case for case in cases("linalg") if case.name.startswith("linalg.") and "refused" in case.name]


@pytest.mark.parametrize("case", REFUSED, ids=[c.name for c in REFUSED])
def test_refusals_raise_pytorchs_exception_class_where_it_names_the_kind(case):
    """PyTorch's IndexError (a dim out of range, an empty dim) and TypeError (an argument of the wrong type) are
    symnet's too; its RuntimeErrors are symnet's ShapeError, DTypeError and ValueError."""
    recorded = str(np.load(FIXTURES / "opinfo_linalg.npz")[key(case, "float64") + "/error"])
    kind = recorded.split(":")[0]
    expected = {"IndexError": IndexError, "TypeError": TypeError}.get(kind, (ValueError, TypeError))
    xs = [sn.tensor(a, dtype=getattr(sn, a.dtype.name) if a.dtype.kind != "b" else sn.bool)
          for a in operands(case, "float64")]
    with pytest.raises(expected):
        case.fn(sn, *xs)


def test_the_functions_take_pytorchs_out_argument():
    out = sn.zeros((), dtype=sn.float64)
    assert sn.linalg.matrix_norm(A, math.inf, out=out) is out
    assert out.item() == 4.0


#: (the matrix, the weights of the gradient's loss Σ w·e^A): e^A and the gradient as PyTorch 2.13 gave them
MATRIX_EXP = {
    "rotation": ([[0.0, 1.0], [-1.0, 0.0]], [[1.0, 2.0], [3.0, 4.0]]),
    "large norm": ([[1.5, -4.0, 2.0], [3.0, 0.5, -1.0], [-2.0, 1.0, 2.5]], [[1.0, 0.0, -1.0], [0.5, 2.0, 1.0],
                                                                          [0.0, -1.0, 1.0]]),
    "small": ([[0.01, 0.02], [-0.03, 0.005]], [[1.0, 1.0], [1.0, 1.0]]),
}
MATRIX_EXP_PYTORCH = {
    'rotation':
        ([[0.54030230586814, 0.8414709848078963], [-0.8414709848078963, 0.54030230586814]],
         [[-0.33218620494544343, -0.2701511529340697], [4.477506076973551, 2.1922267494782455]]),
    'large norm':
        ([[-2.4495130429820318, 5.392921589182768, 2.3979667378350205],
          [-2.063524929276807, 0.31383611332099715, 3.8954441635088948],
          [1.5643657873855161, 4.02922088693218, 3.843897858361885]],
         [[-1.2797032566465238, -2.8958769229907233, 5.949155472539633],
          [8.448624641375021, 0.5408235398652117, 2.7458109002406923],
          [0.24892550694312654, 4.123652746118767, -0.8025691670935529]]),
    'small':
        ([[1.0097476715398241, 0.020148569901235047], [-0.030222854851852565, 1.0047105290645153]],
         [[1.0047063312883, 0.9772560136593601], [1.0275434827161378, 0.9996775843826229]]),
}


#: e^A to double precision (mpmath, 40 digits): PyTorch's own e^A of the small matrix is 9e-12 away from it
MATRIX_EXP_EXACT = {
    'rotation':
        [[0.5403023058681398, 0.8414709848078965], [-0.8414709848078965, 0.5403023058681398]],
    'large norm':
        [[-2.449513042982029, 5.392921589182769, 2.3979667378350222],
         [-2.063524929276807, 0.3138361133209982, 3.895444163508895],
         [1.5643657873855161, 4.0292208869321815, 3.8438978583618884]],
    'small':
        [[1.0097476715486622, 0.020148569901868533], [-0.030222854852802798, 1.004710529073195]],
}


@pytest.mark.parametrize("case", sorted(MATRIX_EXP))
def test_matrix_exp_and_its_gradient_are_pytorchs(case):
    """By scaling and squaring on matrix products: e^A to double precision, and PyTorch's e^A and gradient within
    PyTorch's own error (its polynomials differ)."""
    a, w = MATRIX_EXP[case]
    x = sn.tensor(a, dtype=sn.float64, requires_grad=True)
    e = sn.linalg.matrix_exp(x)
    (e * sn.tensor(w, dtype=sn.float64)).sum().backward()
    want_e, want_grad = MATRIX_EXP_PYTORCH[case]
    np.testing.assert_allclose(e.detach().numpy(), MATRIX_EXP_EXACT[case], rtol=1e-14, atol=1e-16)
    np.testing.assert_allclose(e.detach().numpy(), want_e, rtol=1e-10)
    np.testing.assert_allclose(x.grad.numpy(), want_grad, rtol=1e-10)
    np.testing.assert_array_equal(sn.matrix_exp(x.detach()).numpy(), x.detach().matrix_exp().numpy())


@pytest.mark.parametrize("case", sorted(MATRIX_EXP))
def test_a_float32_matrix_exp_is_the_exact_one_rounded(case):
    """Computed in float64 and rounded once (float32 squarings were ~2 ulps off, PyTorch's ~1)."""
    a = sn.tensor(MATRIX_EXP[case][0], dtype=sn.float32)
    e = sn.linalg.matrix_exp(a)
    exact = np.array(MATRIX_EXP_EXACT[case])
    assert e.dtype == sn.float32
    np.testing.assert_allclose(e.numpy(), exact, rtol=0, atol=1.5e-7 * np.abs(exact).max())
    assert sn.linalg.matrix_exp(sn.tensor([[2.0]])).item() == float(np.float32(np.exp(2.0)))


def test_matrix_exp_edges():
    np.testing.assert_array_equal(sn.linalg.matrix_exp(sn.zeros(2, 3, 3)).numpy(),
                                  np.broadcast_to(np.eye(3), (2, 3, 3)))
    assert sn.linalg.matrix_exp(sn.zeros(0, 2, 2)).shape == (0, 2, 2)
    assert np.isnan(sn.linalg.matrix_exp(sn.tensor([[float("nan")]])).item())
    with pytest.raises(sn.ShapeError, match="square matrices"):
        sn.linalg.matrix_exp(sn.ones(2, 3))
    with pytest.raises(sn.DTypeError, match="floating point"):
        sn.linalg.matrix_exp(sn.ones(2, 2, dtype=sn.int64))
