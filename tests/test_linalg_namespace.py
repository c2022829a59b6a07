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
COMPUTED = {"cross", "diagonal", "matmul", "matrix_norm", "matrix_power", "multi_dot", "norm", "vander", "vecdot",
            "vector_norm"}
#: torch's functions that are Tensor methods too and need a matrix factorization
FACTORIZING_METHODS = ("inverse", "det", "logdet", "slogdet", "pinverse", "svd", "qr", "cholesky", "cholesky_solve",
                       "cholesky_inverse", "lu", "lu_solve", "lstsq", "triangular_solve", "matrix_exp", "geqrf",
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
