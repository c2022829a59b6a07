"""Contractions as tensor methods: ``@`` with NumPy's rules for 1-d operands and broadcast batch dims, PyTorch's
mm/bmm/mv/dot with their shape checks, the add-multiply family (addmm, addmv, addbmm, baddbmm), and ``einsum``,
one index-notation row (``symnet.core.contractions``) that outer, inner, kron, tensordot and trace are made of."""

from __future__ import annotations

import string
from collections.abc import Sequence
from types import SimpleNamespace
from typing import TYPE_CHECKING

from ..core.contractions import Einsum
from ..core.dtypes import result_type
from ..core.ops import MatMul, broadcast_shapes
from ..errors import DTypeError, ShapeError
from .base import TensorBase
from .dims import normalize_dim
from .pointwise import _as_tensor

if TYPE_CHECKING:
    from .tensor import Tensor

#: methods also offered as ``symnet.<name>(tensor, …)``, as in torch (not ``trace``: ``symnet.trace`` is the
#: tracing stage; the matrix trace is the method ``t.trace()``)
FUNCTIONS = ("matmul", "mm", "bmm", "mv", "dot", "vdot", "inner", "outer", "ger", "kron", "addmm", "addmv", "addbmm",
             "baddbmm")
#: this module's functions offered as ``symnet.<name>``
PUBLIC = ("einsum", "tensordot", "linalg")


def _same_dtype(op: str, *tensors: Tensor) -> None:
    """PyTorch's refusal: no silent promotion in a contraction."""
    if any(t.dtype != tensors[0].dtype for t in tensors):
        *first, last = (str(t.dtype) for t in tensors)
        raise DTypeError(f"{op}: expected all operands to have the same dtype, but got {', '.join(first)} and "
                         f"{last}; convert one with .to()")


def _ranks(op: str, want: Sequence[int], *tensors: Tensor) -> None:
    for n, (rank, t) in enumerate(zip(want, tensors, strict=True)):
        if t.dim() != rank:
            raise ShapeError(f"{op}: operand {n} must have {rank} dims, got shape {t.shape}")


def _batches(op: str, a: Tensor, b: Tensor) -> None:
    _ranks(op, (3, 3), a, b)
    if a.shape[0] != b.shape[0]:
        raise ShapeError(f"{op}: batch sizes differ: {a.shape} and {b.shape}")


class LinalgMethods(TensorBase):
    __slots__ = ()

    def __matmul__(self, other):
        other = _as_tensor(other, self)
        _same_dtype("matmul", self, other)
        return self._apply(MatMul(), [self, other], self.dtype)

    def __rmatmul__(self, other):
        return _as_tensor(other, self).__matmul__(self)

    def matmul(self, other):
        return self @ other

    def mm(self, mat2: Tensor) -> Tensor:
        _ranks("mm", (2, 2), self, mat2)
        return self @ mat2

    def bmm(self, mat2: Tensor) -> Tensor:
        """Batched matmul without broadcasting: both operands (b, n, m) and (b, m, p)."""
        _batches("bmm", self, mat2)
        return self @ mat2

    def mv(self, vec: Tensor) -> Tensor:
        _ranks("mv", (2, 1), self, vec)
        return self @ vec

    def dot(self, other: Tensor) -> Tensor:
        _ranks("dot", (1, 1), self, other)
        if self.shape != other.shape:
            raise ShapeError(f"dot: inconsistent tensor sizes {self.shape} and {other.shape}")
        return self @ other

    vdot = dot  # complex conjugation is the identity on real tensors

    def inner(self, other: Tensor) -> Tensor:
        """Σ over the last dimension of both (a product if either is 0-d)."""
        if not self.shape or not other.shape:
            return self * other
        return tensordot(self, other, ([-1], [-1]))

    def outer(self, vec2: Tensor) -> Tensor:
        """out[i, j] = a[i]·b[j] (dtypes promote, as for ``*``)."""
        _ranks("outer", (1, 1), self, vec2)
        a, b = _promoted(self, vec2)
        return einsum("i,j->ij", a, b)

    ger = outer

    def kron(self, other: Tensor) -> Tensor:
        """The Kronecker product: out[i·p + k, …] = a[i, …]·b[k, …] (as an outer product, then a reshape)."""
        a, b = _promoted(self, other)
        rank = max(a.dim(), b.dim())
        a, b = (t.reshape((1,) * (rank - t.dim()) + t.shape) for t in (a, b))
        left, right = string.ascii_lowercase[:rank], string.ascii_uppercase[:rank]
        paired = einsum(f"{left},{right}->{''.join(x + y for x, y in zip(left, right, strict=True))}", a, b)
        return paired.reshape(tuple(m * n for m, n in zip(a.shape, b.shape, strict=True)))

    def trace(self) -> Tensor:
        """Σ_i a[i, i] over the leading square block, as PyTorch's (int64 for integer tensors)."""
        if self.dim() != 2:
            raise ShapeError(f"trace: expected a matrix, got shape {self.shape}")
        n = min(self.shape)
        square = self._narrow(0, 0, n)._narrow(1, 0, n)
        return einsum("ii->", square if square.dtype.kind == "f" else square.long())

    # ---------------------------------------------------------------- β·input + α·product
    def _scaled_sum(self, product: Tensor, beta, alpha, op: str) -> Tensor:
        """β·self + α·product, self ignored when β = 0 (NaN in it does not propagate), as PyTorch's."""
        if broadcast_shapes(op, self.shape, product.shape) != product.shape:
            raise ShapeError(f"{op}: input of shape {self.shape} does not broadcast to the result's {product.shape}")
        scaled = product if alpha == 1 else product * alpha
        if beta == 0:
            return scaled
        return scaled + (self if beta == 1 else self * beta)

    def addmm(self, mat1: Tensor, mat2: Tensor, *, beta=1, alpha=1) -> Tensor:
        _same_dtype("addmm", self, mat1, mat2)
        return self._scaled_sum(mat1.mm(mat2), beta, alpha, "addmm")

    def addmv(self, mat: Tensor, vec: Tensor, *, beta=1, alpha=1) -> Tensor:
        _same_dtype("addmv", self, mat, vec)
        return self._scaled_sum(mat.mv(vec), beta, alpha, "addmv")

    def baddbmm(self, batch1: Tensor, batch2: Tensor, *, beta=1, alpha=1) -> Tensor:
        _same_dtype("baddbmm", self, batch1, batch2)
        return self._scaled_sum(batch1.bmm(batch2), beta, alpha, "baddbmm")

    def addbmm(self, batch1: Tensor, batch2: Tensor, *, beta=1, alpha=1) -> Tensor:
        """β·self + α·Σ_b batch1[b] @ batch2[b]."""
        _same_dtype("addbmm", self, batch1, batch2)
        _batches("addbmm", batch1, batch2)
        return self._scaled_sum(einsum("bij,bjk->ik", batch1, batch2), beta, alpha, "addbmm")


def _promoted(*tensors: Tensor) -> list[Tensor]:
    dtype = result_type([t.dtype for t in tensors if t.shape], [t.dtype for t in tensors if not t.shape], [])
    return [t.to(dtype) for t in tensors]


def einsum(equation: str, *operands: Tensor) -> Tensor:
    """Einstein summation, as ``torch.einsum``: ``...`` for broadcast leading dims, implicit output (the letters
    that appear once, in alphabetical order) without ``->``, a repeated letter reads a diagonal.

    >>> import symnet as sn
    >>> sn.einsum("ij,jk->ik", sn.ones(2, 3), sn.ones(3, 4)).shape
    (2, 4)
    """
    if len(operands) == 1 and isinstance(operands[0], list | tuple):
        operands = tuple(operands[0])
    if not operands:
        raise ValueError("einsum(): must provide at least one operand")
    _same_dtype("einsum", *operands)
    terms, output = _parse(equation.replace(" ", ""), [t.dim() for t in operands])
    return operands[0]._apply(Einsum(terms, output), list(operands), operands[0].dtype)


def _parse(equation: str, ranks: list[int]) -> tuple[tuple[str, ...], str]:
    """The equation's subscripts with ``...`` replaced by letters it does not use (right-aligned, so operands
    with fewer dims broadcast), and the output's."""
    lhs, arrow, rhs = equation.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(ranks):
        raise ValueError(f"einsum(): {len(terms)} subscripts in the equation but {len(ranks)} operands")
    used = set(equation) - set(".,->")
    if not used <= set(string.ascii_letters):
        raise ValueError(f"einsum(): subscripts must be letters in [a-zA-Z], got {equation!r}")
    spare = [c for c in string.ascii_letters if c not in used]
    widths = [rank - len(term.replace("...", "")) if "..." in term else 0 for term, rank in zip(terms, ranks,
                                                                                                  strict=True)]
    ellipsis = spare[:max(widths, default=0)]
    expanded = []
    for n, (term, rank, width) in enumerate(zip(terms, ranks, widths, strict=True)):
        letters = term.replace("...", "".join(ellipsis[len(ellipsis) - width:]) if width > 0 else "")
        if len(letters) != rank or width < 0 or term.replace("...", "").count(".") or term.count("...") > 1:
            raise ShapeError(f"einsum(): subscripts {term!r} do not match the {rank} dims of operand {n}")
        expanded.append(letters)
    if arrow:
        output = rhs.replace("...", "".join(ellipsis))
        if len(set(output)) != len(output) or not set(output) <= set("".join(expanded)):
            raise ValueError(f"einsum(): output subscripts {rhs!r} must be distinct and appear in the inputs")
    else:
        counts = "".join(t.replace("...", "") for t in terms)
        output = "".join(ellipsis) + "".join(sorted(c for c in set(counts) if counts.count(c) == 1))
    return tuple(expanded), output


def tensordot(a: Tensor, b: Tensor, dims=2) -> Tensor:
    """Σ over the last ``dims`` dims of a and the first of b, or over the listed pairs ``([a dims], [b dims])``."""
    _same_dtype("tensordot", a, b)
    if isinstance(dims, int):
        if dims < 0 or dims > min(a.dim(), b.dim()):
            raise ShapeError(f"tensordot: cannot contract {dims} dims of shapes {a.shape} and {b.shape}")
        pairs = (list(range(a.dim() - dims, a.dim())), list(range(dims)))
    else:
        pairs = tuple([d] if isinstance(d, int) else list(d) for d in dims)
    da = [normalize_dim(d, a.dim(), "tensordot") for d in pairs[0]]
    db = [normalize_dim(d, b.dim(), "tensordot") for d in pairs[1]]
    if len(da) != len(db) or any(a.shape[i] != b.shape[j] for i, j in zip(da, db, strict=True)):
        raise ShapeError(f"tensordot: contracted dims {da} of {a.shape} and {db} of {b.shape} do not match")
    letters = iter(string.ascii_letters)
    sa = [next(letters) for _ in range(a.dim())]
    sb = [next(letters) for _ in range(b.dim())]
    for i, j in zip(da, db, strict=True):
        sb[j] = sa[i]
    out = [c for p, c in enumerate(sa) if p not in da] + [c for p, c in enumerate(sb) if p not in db]
    return einsum(f"{''.join(sa)},{''.join(sb)}->{''.join(out)}", a, b)


def vector_norm(x: Tensor, ord=2, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:  # noqa: A002
    """``torch.linalg.vector_norm``: the ``ord``-norm of x flattened over ``dim`` (all dims by default)."""
    return x.norm(ord, dim, keepdim, dtype)


#: ``symnet.linalg``, as ``torch.linalg``: what of it symnet offers
linalg = SimpleNamespace(vector_norm=vector_norm)
