"""Contractions as tensor methods: ``@`` with NumPy's rules for 1-d operands and broadcast batch dims, PyTorch's
mm/bmm/mv/dot with their shape checks, the add-multiply family (addmm, addmv, addbmm, baddbmm), and ``einsum``,
one index-notation row (``symnet.core.contractions``) that outer, inner, kron, tensordot and trace are made of.
Then small vector algebra composed of those and of reductions (cross, dist, cdist, cov, renorm, trapezoid, gradient), so
autodiff derives their gradients, and ``symnet.linalg``: what of ``torch.linalg`` these compose (products, norms,
Vandermonde matrices); what needs a matrix factorization refuses by name."""

from __future__ import annotations

import functools
import math
import numbers
import string
import warnings
from collections.abc import Sequence
from itertools import pairwise
from types import SimpleNamespace
from typing import TYPE_CHECKING

import numpy as np

from ..core import dtypes
from ..core.contractions import Einsum
from ..core.dtypes import as_dtype, is_float, result_type
from ..core.ops import MatMul, broadcast_shapes
from ..errors import ArgumentError, DimensionError, DTypeError, LinAlgError, NotSupportedError, ShapeError
from .base import TensorBase, method_as_function
from .batch import filled, in_batch_trace, varies_per_step
from .dims import distinct_dims, normalize_dim
from .outputs import with_out
from .pointwise import _as_tensor, where
from .shaping import cat, stack
from .trace import shown

if TYPE_CHECKING:
    from .tensor import Tensor

#: what needs a matrix factorization (LU, QR, SVD, an eigen-decomposition): torch.linalg's functions
#: (``linalg.<name>``) and torch's functions that are Tensor methods too. symnet offers each name, which refuses.
FACTORIZING = (
    "linalg.det", "linalg.slogdet", "linalg.inv", "linalg.inv_ex", "linalg.solve", "linalg.solve_ex",
    "linalg.solve_triangular", "linalg.cholesky", "linalg.cholesky_ex", "linalg.qr", "linalg.svd", "linalg.svdvals",
    "linalg.eig", "linalg.eigvals", "linalg.eigh", "linalg.eigvalsh", "linalg.lstsq", "linalg.pinv",
    "linalg.matrix_rank", "linalg.cond", "linalg.lu", "linalg.lu_factor", "linalg.lu_factor_ex",
    "linalg.lu_solve", "linalg.ldl_factor", "linalg.ldl_factor_ex", "linalg.ldl_solve", "linalg.householder_product",
    "linalg.tensorinv", "linalg.tensorsolve",
    "inverse", "det", "logdet", "slogdet", "pinverse", "svd", "qr", "cholesky", "cholesky_solve", "cholesky_inverse",
    "lu", "lu_solve", "lstsq", "triangular_solve", "geqrf", "orgqr", "ormqr",
)
_REFUSED_METHODS = tuple(name for name in FACTORIZING if not name.startswith("linalg."))
_NO_FACTORIZATIONS = "symnet has no matrix factorizations (LU, QR, SVD, eigen-decompositions) yet"

#: methods also offered as ``symnet.<name>(tensor, …)``, as in torch (not ``trace``: ``symnet.trace`` is the
#: tracing stage; the matrix trace is the method ``t.trace()``)
FUNCTIONS = ("matmul", "mm", "bmm", "mv", "dot", "vdot", "inner", "outer", "ger", "kron", "addmm", "addmv", "addr",
             "addbmm", "baddbmm", "cross", "dist", "cov", "corrcoef", "renorm", "matrix_exp", *_REFUSED_METHODS)
#: the degree of ``matrix_exp``'s Taylor polynomial, on a matrix scaled to an ∞-norm of at most 1/2 (the first term
#: left out is then below 1/2¹⁹/19! ≈ 1.6e-23 of the result)
EXP_DEGREE = 18
#: this module's functions offered as ``symnet.<name>``
PUBLIC = ("einsum", "tensordot", "linalg", "cdist", "trapezoid", "trapz", "cumulative_trapezoid", "gradient",
          "chain_matmul")


#: the two matmul ops (``MatMul(b_transposed)``), made once: every product of a training loop uses one
_MATMULS = (MatMul(False), MatMul(True))


@functools.lru_cache(maxsize=1024)
def _product_shape(op: MatMul, a: tuple, b: tuple) -> tuple:
    """A product's shape (remembered: a training loop multiplies the same shapes every step)."""
    return op.shape([a, b])


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


def _product_name(self, other) -> str | None:
    """PyTorch's grad_fn name for ``self @ other`` of two matrices, a matrix and a vector or two vectors; None for
    batched products (PyTorch's name depends on how it reshapes them)."""
    ranks = (self.dim(), getattr(other, "ndim", None))
    return {(2, 2): "MmBackward0", (2, 1): "MvBackward0", (1, 1): "DotBackward0"}.get(ranks)


class LinalgMethods(TensorBase):
    __slots__ = ()

    def matrix_exp(self) -> Tensor:
        """e^A of the last two dimensions (``torch.linalg.matrix_exp``), by scaling and squaring: A/2ˢ, with s the
        fewest halvings that bring its ∞-norm to 1/2 or less, through the Taylor polynomial of degree
        ``EXP_DEGREE`` (Horner's scheme), squared s times — in float64 for a float32 matrix, rounded once at the
        end (float32 squarings lost ~2 ulps). Matrix products only, so its gradient is autograd's; s reads the
        matrix's values, so a compiled step refuses it on a matrix that changes per step."""
        if self.dim() < 2 or self.shape[-1] != self.shape[-2]:
            raise ShapeError(f"linalg.matrix_exp: A must be batches of square matrices, but got shape "
                             f"{list(self.shape)}")
        if not is_float(self.dtype):
            raise DTypeError(f"linalg.matrix_exp: expected a floating point tensor, got {self.dtype}")
        if self.numel() == 0:
            return self.clone()
        if self.dtype == dtypes.float32:
            return self.to(dtypes.float64).matrix_exp().to(dtypes.float32)
        if in_batch_trace() and varies_per_step(self):
            raise NotSupportedError("compile: matrix_exp's number of squarings depends on the values of a matrix "
                                    "that changes with every step (computed from the batch, a parameter or a "
                                    "buffer): train eagerly")
        n = self.shape[-1]
        eye = self._leaf(np.ascontiguousarray(np.broadcast_to(np.eye(n, dtype=self.dtype), self.shape)), self.dtype)
        norm = float(self.detach().abs().sum(-1).amax())
        squarings = max(0, math.ceil(math.log2(norm * 2))) if math.isfinite(norm) and norm > 0.5 else 0
        scaled = self / 2.0**squarings  # exact
        result = eye
        for k in range(EXP_DEGREE, 0, -1):
            result = eye + (scaled @ result) / k
        for _ in range(squarings):
            result = result @ result
        return result

    @shown(_product_name)
    def __matmul__(self, other):
        return self._matmul(_as_tensor(other, self))

    def _matmul(self, other: Tensor, other_transposed: bool = False) -> Tensor:
        """``self @ other`` (``self @ otherᵀ`` of a matrix ``other`` when ``other_transposed``: one op where
        ``self @ other.T`` is two)."""
        if self.dtype != other.dtype:
            _same_dtype("matmul", self, other)
        if self.dtype == dtypes.bool_:
            raise DTypeError("matmul: not implemented for bool tensors (as in PyTorch); convert them with .long() "
                             "or .float()")
        op = _MATMULS[other_transposed]
        # the shape remembered, except in a compiled step's trace, where a shape's batch size is marked
        shape = None if in_batch_trace() else _product_shape(op, self.shape, other.shape)
        return self._apply(op, [self, other], self.dtype, shape)

    def __rmatmul__(self, other):
        return _as_tensor(other, self).__matmul__(self)

    def matmul(self, other):
        return self @ other

    def mm(self, mat2: Tensor) -> Tensor:
        _ranks("mm", (2, 2), self, mat2)
        return self @ mat2

    @shown("BmmBackward0")
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
        if self.dtype == dtypes.bool_:
            raise DTypeError('"trace" is not implemented for bool tensors (as in PyTorch)')
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

    def addr(self, vec1: Tensor, vec2: Tensor, *, beta=1, alpha=1) -> Tensor:
        """β·self + α·(vec1 ⊗ vec2), dtypes promoting as PyTorch's (unlike ``addmv``'s)."""
        return self._scaled_sum(vec1.outer(vec2), beta, alpha, "addr")

    def baddbmm(self, batch1: Tensor, batch2: Tensor, *, beta=1, alpha=1) -> Tensor:
        _same_dtype("baddbmm", self, batch1, batch2)
        return self._scaled_sum(batch1.bmm(batch2), beta, alpha, "baddbmm")

    def addbmm(self, batch1: Tensor, batch2: Tensor, *, beta=1, alpha=1) -> Tensor:
        """β·self + α·Σ_b batch1[b] @ batch2[b]."""
        _same_dtype("addbmm", self, batch1, batch2)
        _batches("addbmm", batch1, batch2)
        return self._scaled_sum(einsum("bij,bjk->ik", batch1, batch2), beta, alpha, "addbmm")


    # ---------------------------------------------------------------- vector algebra
    def cross(self, other: Tensor, dim: int | None = None) -> Tensor:
        """The cross product of 3-vectors along ``dim``; without ``dim``, PyTorch's deprecated default: the first
        dim of size 3 of ``self`` (``symnet.linalg.cross`` defaults to the last)."""
        if dim is None:
            warnings.warn("Using cross without specifying the dim arg is deprecated; pass dim or use "
                          "symnet.linalg.cross (the default will change to agree with it, as in PyTorch)",
                          UserWarning, stacklevel=2)
            dim = next((d for d, n in enumerate(self.shape) if n == 3), None)
            if dim is None:
                raise ShapeError(f"cross: no dimension of size 3 in input of shape {self.shape}")
        return _cross(self, other, dim)

    def dist(self, other: Tensor, p: float = 2) -> Tensor:
        """‖self − other‖_p over all elements (broadcast), with the gradients of ``norm``: 0 at a zero difference,
        the ±inf norms' split among ties."""
        if not isinstance(other, TensorBase):
            raise TypeError(f"dist(): argument 'other' must be Tensor, not {type(other).__name__}")
        difference = self - other
        if not is_float(difference.dtype):
            raise DTypeError(f"dist: expected a floating point difference, got {difference.dtype}")
        if difference.numel() == 0 and (p < 0 or p == math.inf):
            raise ArgumentError(f"dist: cannot compute the {p} norm of an empty difference (no identity)")
        return _p_norm(difference, p, None, False, each_tie=False)

    def cov(self, *, correction: int = 1, fweights: Tensor | None = None, aweights: Tensor | None = None) -> Tensor:
        """The covariance of the rows (variables) over the columns (observations), weighted:
        ``Σ_j w_j (x_ij − μ_i)(x_kj − μ_k) / (Σ w − c·Σ w·a / Σ w)`` with ``w = fweights·aweights``, μ the weighted
        means and ``c = correction`` (NumPy's formula; PyTorch's, the denominator clamped at 0)."""
        if self.dim() > 2:
            raise ShapeError(f"cov(): expected input to have two or fewer dimensions but got an input with "
                             f"{self.dim()} dimensions")
        if self.dtype == dtypes.bool_:
            raise DTypeError("cov(): bool dtype is not supported for input")
        x = self.reshape(1, -1) if self.dim() < 2 else self
        n = x.shape[1]
        w = None
        for name, weights in (("fweights", fweights), ("aweights", aweights)):
            if weights is not None:
                _check_weights(name, weights, n)
                w = weights if w is None else w * weights
        given = [t for t in (fweights, aweights) if t is not None]
        if given and all(t.node is None for t in given) and np.prod([t._array() for t in given], axis=0).sum() == 0:
            raise ArgumentError("cov(): weights sum to zero, can't be normalized")  # known now, as data
        total = w.sum() if w is not None else n
        mean = (x if w is None else x * w).sum(1) / total
        if w is None or correction == 0 or aweights is None:
            norm = total - correction
        else:
            norm = total - correction * (w * aweights).sum() / total
        norm = norm.clamp(min=0) if isinstance(norm, TensorBase) else max(norm, 0)
        centred = x - mean.unsqueeze(1)
        product = centred @ (centred if w is None else centred * w).t()
        return (product / norm).squeeze()

    def corrcoef(self) -> Tensor:
        """Pearson's correlation of the rows (variables): ``cov(x)[i, j] / √(cov[i, i]·cov[j, j])``, divided by
        each standard deviation in turn and clipped to [−1, 1] as PyTorch computes it (a single variable: c/c,
        so 1, or NaN where its variance is 0, inf or NaN)."""
        if self.dim() > 2:
            raise ShapeError(f"corrcoef(): expected input to have two or fewer dimensions but got an input with "
                             f"{self.dim()} dimensions")
        c = self.cov()
        if c.dim() == 0:  # PyTorch's c / c, which SymPy would fold to 1: 1, NaN where c is 0, inf or NaN
            return where(c.isfinite() & (c != 0), c * 0 + 1, math.nan)
        stddev = c.diagonal().sqrt()
        return (c / stddev.reshape(-1, 1) / stddev.reshape(1, -1)).clamp(-1, 1)

    def renorm(self, p: float, dim: int, maxnorm: float) -> Tensor:
        """Each slice along ``dim`` whose p-norm exceeds ``maxnorm`` scaled to norm ``maxnorm``:
        ``x · maxnorm / (‖x‖_p + 1e-7)`` there (PyTorch's ε), the slice as it is elsewhere (at the threshold too).
        The gradient reaches through the norm, as PyTorch's."""
        if not is_float(self.dtype):
            raise DTypeError(f"renorm: expected a floating point tensor, got {self.dtype}")
        if self.dim() < 2:
            raise ShapeError(f"renorm: input needs at least 2 dimensions, got {self.dim()} dimensions")
        if not p > 0:  # NaN too
            raise ArgumentError(f"renorm: non-positive-norm not supported, got p={p}")
        if maxnorm < 0:
            raise ArgumentError(f"renorm: expected maxnorm to be >= 0 but got {maxnorm}")
        d = normalize_dim(dim, self.dim(), "renorm")
        others = tuple(k for k in range(self.dim()) if k != d)
        norm = _p_norm(self, p, others, True, each_tie=False)
        factor = where(norm > maxnorm, maxnorm / (norm + 1e-7), 1.0)
        return self * factor


def _refusal(name: str):
    """torch's ``name``, which needs a matrix factorization: a callable that refuses, naming it (rather than an
    AttributeError, or a wrong number)."""
    def refuse(*args, **kwargs):
        raise NotSupportedError(f"{name}() needs a matrix factorization, and {_NO_FACTORIZATIONS}")

    refuse.__name__ = refuse.__qualname__ = name.removeprefix("linalg.")
    refuse.__doc__ = f"``torch.{name}`` needs a matrix factorization: refused, {_NO_FACTORIZATIONS}."
    return refuse


for _name in _REFUSED_METHODS:
    setattr(LinalgMethods, _name, _refusal(_name))


def _cross(a: Tensor, b: Tensor, dim: int) -> Tensor:
    """``(a₁b₂ − a₂b₁, a₂b₀ − a₀b₂, a₀b₁ − a₁b₀)`` along ``dim`` (other dims broadcast)."""
    if not isinstance(b, TensorBase):
        raise TypeError(f"cross(): argument 'other' must be Tensor, not {type(b).__name__}")
    _same_dtype("cross", a, b)
    if a.dtype == dtypes.bool_:
        raise DTypeError("cross: not implemented for bool")
    if a.dim() != b.dim():
        raise ShapeError(f"linalg.cross: inputs must have the same number of dimensions, got shapes {a.shape} and "
                         f"{b.shape}")
    d = normalize_dim(dim, a.dim(), "cross")
    if a.dim() == 0 or a.shape[d] != 3 or b.shape[d] != 3:
        raise ShapeError(f"linalg.cross: inputs dimension {dim} must have length 3, got shapes {a.shape} and "
                         f"{b.shape}")
    broadcast_shapes("cross", a.shape, b.shape)
    x, y = a.unbind(d), b.unbind(d)
    return stack([x[(k + 1) % 3] * y[(k + 2) % 3] - x[(k + 2) % 3] * y[(k + 1) % 3] for k in range(3)], d)


def _check_weights(name: str, weights: Tensor, n: int) -> None:
    """cov's observation weights: one per observation, fweights integers, aweights floats, none negative (the
    values are read when they are known, as data rather than a computed tensor)."""
    if not isinstance(weights, TensorBase):
        raise TypeError(f"cov(): {name} must be a Tensor, got {type(weights).__name__}")
    if weights.dim() > 1:
        raise ShapeError(f"cov(): expected {name} to have one or fewer dimensions but got {name} with "
                         f"{weights.dim()} dimensions")
    if weights.numel() != n:
        raise ShapeError(f"cov(): expected {name} to have the same numel as there are observations in the input "
                         f"but got {weights.numel()} != {n}")
    integral = name == "fweights"
    if (weights.dtype == dtypes.int64) != integral or weights.dtype == dtypes.bool_:
        kind = "integral" if integral else "floating point"
        raise DTypeError(f"cov(): expected {name} to have {kind} dtype but got {name} with {weights.dtype} dtype")
    if weights.node is None and (weights._array() < 0).any():
        raise ArgumentError(f"cov(): {name} cannot be negative")


def _p_norm(x: Tensor, p: float, dim, keepdim: bool, each_tie: bool) -> Tensor:
    """``(Σ |x|^p)^(1/p)`` over ``dim`` with PyTorch's subgradients: 0 where an element or the whole norm is 0
    (``|x|^p`` is taken only where x ≠ 0, so p < 1 gives no 0·∞); p = ∞ gives the gradient to every tie
    (``each_tie``, as cdist) or splits it among them (as norm); p = 0 counts the nonzero elements (gradient 0)."""
    if p == math.inf and each_tie:
        if x.numel() == 0:  # the empty max is taken as 0, as cdist's
            return x.abs().sum(dim, keepdim)
        magnitude = x.abs()
        largest = magnitude.amax(dim, keepdim=True)._map("stop_gradient")
        total = largest + where(magnitude == largest, magnitude - largest, 0.0).sum(dim, keepdim=True)
        return total if keepdim else total.squeeze(dim)
    return x.norm(p, dim, keepdim)


def cdist(x1: Tensor, x2: Tensor, p: float = 2.0, compute_mode: str = "use_mm_for_euclid_dist_if_necessary"
          ) -> Tensor:
    """``out[..., i, j] = ‖x1[..., i, :] − x2[..., j, :]‖_p`` (batch dims broadcast), with PyTorch's gradients:
    0 at a zero distance, at a zero coordinate difference, and the whole gradient to each tie of p = ∞. symnet
    always takes the differences directly (PyTorch's matmul form for p = 2 and more than 25 rows loses digits to
    cancellation), so ``compute_mode`` only has to be valid."""
    modes = ("use_mm_for_euclid_dist_if_necessary", "use_mm_for_euclid_dist", "donot_use_mm_for_euclid_dist")
    if compute_mode not in modes:
        raise ArgumentError(f"cdist: {compute_mode} is not a valid value for compute_mode")
    for name, x in (("X1", x1), ("X2", x2)):
        if not isinstance(x, TensorBase) or x.dim() < 2:
            raise ShapeError(f"cdist only supports at least 2D tensors, {name} got: {getattr(x, 'shape', x)}")
        if not is_float(x.dtype):
            raise DTypeError(f"cdist only supports floating-point dtypes, {name} got: {x.dtype}")
    _same_dtype("cdist", x1, x2)
    if x1.shape[-1] != x2.shape[-1]:
        raise ShapeError(f"cdist: X1 and X2 must have the same number of columns. X1: {x1.shape[-1]} X2: "
                         f"{x2.shape[-1]}")
    if not p >= 0:  # NaN too
        raise ArgumentError(f"cdist only supports non-negative p values, got {p}")
    return _p_norm(x1.unsqueeze(-2) - x2.unsqueeze(-3), p, -1, False, each_tie=True)


def trapezoid(y: Tensor, x: Tensor | None = None, *, dx: float | None = None, dim: int = -1) -> Tensor:
    """The trapezoidal rule along ``dim``: ``Σ_i (x[i+1] − x[i])·(y[i+1] + y[i]) / 2``, or with a constant
    spacing ``dx`` (default 1), ``dx·(Σ y − (y[0] + y[−1]) / 2)``, as PyTorch computes each."""
    d = _integration_dim("trapezoid", y, x, dx, dim)
    n = y.shape[d]
    if n == 0:  # zeros of y's dtype, as PyTorch's, before any other check
        return y.sum(d).to(y.dtype) * 0 if y.dtype != dtypes.bool_ else y.any(d) & False
    _refuse_bool_samples("trapezoid", y, x)
    if x is None:
        spacing = 1.0 if dx is None else float(dx.item() if isinstance(dx, TensorBase) else dx)
        return (y.sum(d) - (y.select(d, 0) + y.select(d, -1)) * 0.5) * spacing
    return (_steps("trapezoid", y, x, d) * (y.narrow(d, 1, n - 1) + y.narrow(d, 0, n - 1))).sum(d) / 2.0


def cumulative_trapezoid(y: Tensor, x: Tensor | None = None, *, dx: float | None = None, dim: int = -1) -> Tensor:
    """The running trapezoidal rule along ``dim`` (one element fewer than y):
    ``out[k] = Σ_{i≤k} (x[i+1] − x[i])·(y[i] + y[i+1]) / 2``, or with a constant spacing ``dx`` (default 1)
    ``Σ_{i≤k} dx/2·(y[i] + y[i+1])``, as PyTorch computes each."""
    d = _integration_dim("cumulative_trapezoid", y, x, dx, dim)
    _refuse_bool_samples("cumulative_trapezoid", y, x)
    n = y.shape[d]
    pairs = y.narrow(d, 0, max(n - 1, 0)) + y.narrow(d, min(1, n), max(n - 1, 0))
    if x is None:
        spacing = 1.0 if dx is None else float(dx.item() if isinstance(dx, TensorBase) else dx)
        return (pairs * (spacing / 2.0)).cumsum(d)
    return (_steps("cumulative_trapezoid", y, x, d) * pairs / 2.0).cumsum(d)


def gradient(input: Tensor, *, spacing=1, dim: int | Sequence[int] | None = None,  # noqa: A002 - torch's name
             edge_order: int = 1) -> tuple[Tensor, ...]:
    """``torch.gradient``: the derivative of samples along each of ``dims`` (all by default), one tensor per dim.
    Inside, the second-order central difference; at each end a one-sided difference of order ``edge_order``. The
    samples are ``spacing`` apart (a number, or one per dim), or at the coordinates of a 1-d tensor per dim, as
    PyTorch (and NumPy) computes each: composed of slices, so its gradient is derived."""
    if edge_order not in (1, 2):
        raise ArgumentError("torch.gradient only supports edge_order=1 and edge_order=2.")
    if not isinstance(input, TensorBase):
        raise TypeError(f"gradient(): argument 'input' must be Tensor, not {type(input).__name__}")
    if input.dim() == 0:
        return ()
    dims = tuple(range(input.dim())) if dim is None else distinct_dims(dim, input.dim(), "gradient")
    steps = _spacings(spacing, dims, input, dim is None)
    if any(input.shape[d] < edge_order + 1 for d in dims):
        raise ArgumentError("torch.gradient expected each dimension size to be at least edge_order+1")
    return tuple(_derivative_along(input, d, step, edge_order) for d, step in zip(dims, steps, strict=True))


def _spacings(spacing, dims: tuple[int, ...], input: Tensor, every_dim: bool) -> list:
    """One spacing per dim: a number (or 0-d tensor, read as one) or a 1-d tensor of coordinates as long as the
    dim."""
    if isinstance(spacing, numbers.Number) or isinstance(spacing, TensorBase) and spacing.dim() == 0:
        return [spacing] * len(dims)
    if isinstance(spacing, TensorBase) or not isinstance(spacing, list | tuple):
        raise TypeError(f"gradient(): spacing must be a number, or a list or tuple of numbers or of 1-d tensors, "
                        f"not {type(spacing).__name__}")
    if len(spacing) != len(dims):
        if every_dim:
            raise ArgumentError(f"torch.gradient expected spacing to be unspecified, a scalar, or a list of length "
                                f"equal to 'self.dim() = {input.dim()}', since dim argument was not given, but got a "
                                f"list of length {len(spacing)}")
        raise ArgumentError(f"torch.gradient expected spacing to be unspecified, a scalar or it's spacing and dim "
                            f"arguments to have the same length, but got a spacing argument of length "
                            f"{len(spacing)} and a dim argument of length {len(dims)}.")
    kinds = {isinstance(s, TensorBase) for s in spacing}
    if len(kinds) > 1 or not all(isinstance(s, TensorBase | numbers.Number) for s in spacing):
        raise TypeError("gradient(): spacing must hold numbers only or 1-d tensors only")
    for s, d in zip(spacing, dims, strict=True):
        if isinstance(s, TensorBase) and s.dim() != 1:
            raise ArgumentError(f"torch.gradient expected each element of spacing to have one dimension, but got an "
                                f"element with {s.dim()} dimensions!")
        if isinstance(s, TensorBase) and len(s) != input.shape[d]:
            raise ShapeError(f"gradient(): {len(s)} coordinates for dim {d} of size {input.shape[d]}")
    return list(spacing)


def _derivative_along(f: Tensor, d: int, step, edge_order: int) -> Tensor:
    """One dim's differences: with a uniform ``step``, ``(f[i+1] − f[i−1]) / step / 2`` inside and
    ``(f[1] − f[0]) / step`` (order 1) or ``(−1.5 f[0] + 2 f[1] − 0.5 f[2]) / step`` (order 2) at the start; with
    coordinates, the weights of the quadratic through three neighbours, spaced h₁ then h₂."""
    n = f.shape[d]

    def part(start: int, stop: int | None = None) -> Tensor:  # f[start:stop] along d
        start, stop = start + n * (start < 0), n if stop is None else stop + n * (stop < 0)
        return f.narrow(d, start, stop - start)

    if not isinstance(step, TensorBase) or step.dim() == 0:
        center = (part(2) - part(0, -2)) / step
        if edge_order == 1:
            first, last = (part(1, 2) - part(0, 1)) / step, (part(-1) - part(-2, -1)) / step
        else:
            first = (-1.5 * part(0, 1) + 2 * part(1, 2) - 0.5 * part(2, 3)) / step
            last = (0.5 * part(-3, -2) - 2 * part(-2, -1) + 1.5 * part(-1)) / step
        return cat([first, center / 2, last], d)
    h = step.diff()
    along = [1] * f.dim()
    along[d] = n - 2

    def weight(w: Tensor) -> Tensor:  # a weight per interior sample, broadcast along d
        return w.reshape(along)

    h1, h2 = h[:-1], h[1:]
    center = weight(-h2 / (h1 * (h1 + h2))) * part(0, -2) + weight((h2 - h1) / (h1 * h2)) * part(1, -1) \
        + weight(h1 / (h2 * (h1 + h2))) * part(2)
    if edge_order == 1:
        first, last = (part(1, 2) - part(0, 1)) / h[0], (part(-1) - part(-2, -1)) / h[-1]
    else:
        a, b = h[0], h[1]
        first = -(2.0 * a + b) / (a * (a + b)) * part(0, 1) + (a + b) / (a * b) * part(1, 2) \
            - a / (b * (a + b)) * part(2, 3)
        a, b = h[-1], h[-2]
        last = a / (b * (a + b)) * part(-3, -2) - (a + b) / (a * b) * part(-2, -1) \
            + (2 * a + b) / (a * (a + b)) * part(-1)
    return cat([first, center, last], d)


def chain_matmul(*matrices: Tensor) -> Tensor:
    """``torch.chain_matmul`` (deprecated there for ``linalg.multi_dot``): the product of 2-d matrices, one alone
    returned as it is."""
    if not matrices:
        raise ArgumentError("chain_matmul(): Expected one or more matrices")
    for m in matrices:
        if not isinstance(m, TensorBase) or m.dim() != 2:
            raise ShapeError(f"Tensor dimension is {getattr(m, 'ndim', '?')}, expected 2 instead.")
    return matrices[0] if len(matrices) == 1 else multi_dot(list(matrices))


def _integration_dim(op: str, y: Tensor, x: Tensor | None, dx, dim: int) -> int:
    """The checks trapezoid and cumulative_trapezoid share: one of x and dx, tensors, y not 0-d; ``dim`` wrapped."""
    if x is not None and dx is not None:
        raise TypeError(f"{op}() received both x and dx; give one")
    if not isinstance(y, TensorBase) or not isinstance(x, TensorBase | None):
        raise TypeError(f"{op}(): y and x must be Tensors")
    if y.dim() == 0:
        raise ShapeError(f"{op}: dimension specified as {dim} but the tensor has no dimensions")
    return normalize_dim(dim, y.dim(), op)


def _refuse_bool_samples(op: str, y: Tensor, x: Tensor | None) -> None:
    if y.dtype == dtypes.bool_ or getattr(x, "dtype", None) == dtypes.bool_:
        raise DTypeError(f"{op}: received a bool input, but bool is not supported")


def _steps(op: str, y: Tensor, x: Tensor, d: int) -> Tensor:
    """x[i+1] − x[i] along ``d``, x a 1-d tensor of one position per sample or broadcast against y."""
    n = y.shape[d]
    if x.dim() == 1:
        if x.shape[0] != n:
            raise ShapeError(f"{op}: There must be one `x` value for each sample point")
        x = x.reshape(tuple(n if k == d else 1 for k in range(y.dim())))
    elif x.dim() < y.dim():
        x = x.reshape((1,) * (y.dim() - x.dim()) + x.shape)
    return x.narrow(d, 1, x.shape[d] - 1) - x.narrow(d, 0, x.shape[d] - 1)


def trapz(y: Tensor, x: Tensor | None = None, *, dx: float | None = None, dim: int = -1) -> Tensor:
    """``trapezoid``'s older name."""
    return trapezoid(y, x, dx=dx, dim=dim)


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
        raise ArgumentError("einsum(): must provide at least one operand")
    _same_dtype("einsum", *operands)
    terms, output = _parse(equation.replace(" ", ""), [t.dim() for t in operands])
    return operands[0]._apply(Einsum(terms, output), list(operands), operands[0].dtype)


def _parse(equation: str, ranks: list[int]) -> tuple[tuple[str, ...], str]:
    """The equation's subscripts with ``...`` replaced by letters it does not use (right-aligned, so operands
    with fewer dims broadcast), and the output's."""
    lhs, arrow, rhs = equation.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(ranks):
        raise ArgumentError(f"einsum(): {len(terms)} subscripts in the equation but {len(ranks)} operands")
    used = set(equation) - set(".,->")
    if not used <= set(string.ascii_letters):
        raise ArgumentError(f"einsum(): subscripts must be letters in [a-zA-Z], got {equation!r}")
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
            raise ArgumentError(f"einsum(): output subscripts {rhs!r} must be distinct and appear in the inputs")
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


def increasing_powers(x: Tensor, n: int) -> Tensor:
    """x⁰, x¹, …, x^(n−1) of each element on a new last dim (n ≥ 1), as running products of x, so the gradient is
    exact at x = 0 too."""
    column = x.unsqueeze(-1)
    ones = filled(column, None, 1, x.dtype, False, "vander")  # of column's shape in a compiled step's too
    return cat([ones, column.expand(*x.shape, n - 1)], -1).cumprod(-1)


def _norm_input(op: str, x: Tensor, dtype) -> Tensor:
    """x checked as PyTorch's norms check it (a floating input, a floating ``dtype`` that does not narrow it), cast
    to ``dtype``."""
    if not is_float(x.dtype):
        raise DTypeError(f"{op}: Expected a floating point or complex tensor as input. Got {x.dtype}")
    if dtype is None:
        return x
    dtype = as_dtype(dtype)
    if not is_float(dtype):
        raise DTypeError(f"{op}: dtype should be floating point or complex, but got {dtype}")
    if dtype.itemsize < x.dtype.itemsize:
        raise DTypeError(f"{op}: the dtype of the input ({x.dtype}) should be convertible without narrowing to the "
                         f"specified dtype ({dtype})")
    return x.to(dtype)


def vector_norm(x: Tensor, ord=2, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:  # noqa: A002
    """``torch.linalg.vector_norm``: the ``ord``-norm of x flattened over ``dim`` (all dims by default)."""
    if isinstance(ord, str):
        raise TypeError(f"linalg.vector_norm(): argument 'ord' must be a number, not str ({ord!r})")
    return _norm_input("linalg.vector_norm", x, dtype).norm(ord, dim, keepdim)


#: the matrix norms that are functions of the singular values, refused for want of an SVD
_SINGULAR_VALUE_ORDERS = {2: "the largest singular value", -2: "the smallest singular value",
                          "nuc": "the sum of the singular values"}


def matrix_norm(A: Tensor, ord="fro", dim=(-2, -1), keepdim: bool = False, *, dtype=None) -> Tensor:  # noqa: A002
    """``torch.linalg.matrix_norm`` over the dims ``dim`` (rows, columns): 'fro' √Σ a², 1 and −1 the largest and
    smallest Σ|a| of a column, inf and −inf of a row (the largest of none: 0). Orders 2, −2 and 'nuc' are
    functions of the singular values, which symnet cannot compute yet: refused.

    >>> import symnet as sn
    >>> sn.linalg.matrix_norm(sn.tensor([[1.0, -2.0], [3.0, 4.0]]), 1)
    tensor(6.)
    """
    if isinstance(ord, str):
        known = ord in ("fro", "nuc")
    elif isinstance(ord, numbers.Real):
        known = abs(ord) in (1, 2, math.inf)
    else:
        raise TypeError(f"linalg.matrix_norm(): argument 'ord' must be a number or a str, not {type(ord).__name__}")
    if not known:
        raise ArgumentError(f"linalg.matrix_norm: Order {ord} not supported.")
    if A.dim() < 2:
        raise ShapeError("linalg.matrix_norm: The input tensor A must have at least 2 dimensions.")
    x = _norm_input("linalg.matrix_norm", A, dtype)
    if not isinstance(dim, Sequence):
        raise TypeError(f"linalg.matrix_norm(): argument 'dim' must be a tuple of two ints, not {type(dim).__name__}")
    if len(dim) != 2:
        raise ShapeError(f"linalg.matrix_norm: dim must be a 2-tuple. Got {tuple(dim)}")
    rows, cols = (normalize_dim(d, A.dim(), "linalg.matrix_norm") for d in dim)
    if rows == cols:
        raise ShapeError(f"linalg.matrix_norm: dims must be different. Got ({rows}, {cols})")
    if ord in _SINGULAR_VALUE_ORDERS:
        raise NotSupportedError(f"linalg.matrix_norm: ord={ord!r} is {_SINGULAR_VALUE_ORDERS[ord]}, which needs an "
                                f"SVD, and {_NO_FACTORIZATIONS}")
    if ord == "fro":
        return x.norm(2, (rows, cols), keepdim)
    summed, compared = (rows, cols) if abs(ord) == 1 else (cols, rows)
    sums = x.abs().sum(summed, keepdim=True)
    if sums.shape[compared] == 0:  # no column (row) sums: PyTorch's largest of them is 0, and it has no smallest
        if ord < 0:
            raise DimensionError(f"linalg.matrix_norm: the {ord} norm of a matrix with no "
                                 f"{'columns' if abs(ord) == 1 else 'rows'} is the smallest of nothing")
        out = sums.sum(compared, keepdim=True)
    else:
        out = sums.amax(compared, keepdim=True) if ord > 0 else sums.amin(compared, keepdim=True)
    return out if keepdim else out.squeeze((rows, cols))


def norm(A: Tensor, ord=None, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:  # noqa: A002
    """``torch.linalg.norm``: a matrix norm (``matrix_norm``) for a string ``ord``, over a 2-tuple ``dim``, or of a
    2-d A when ``ord`` is given without ``dim``; else a vector norm (``vector_norm``), by default the 2-norm of all
    of A."""
    dims = (dim,) if isinstance(dim, int) else dim
    if dims is not None and len(dims) not in (1, 2):
        raise ShapeError(f"linalg.norm: If dim is specified, it must be of length 1 or 2. Got {list(dims)}")
    if dims is None and ord is not None and A.dim() not in (1, 2):
        raise ShapeError(f"linalg.norm: If dim is not specified but ord is, the input must be 1D or 2D. Got "
                         f"{A.dim()}D.")
    matrix = len(dims) == 2 if dims is not None else A.dim() == 2
    if isinstance(ord, str) or (ord is not None and matrix):
        return matrix_norm(A, ord, (0, 1) if dims is None else dims, keepdim, dtype=dtype)
    return vector_norm(A, 2 if ord is None else ord, dims, keepdim, dtype=dtype)


def vecdot(x: Tensor, y: Tensor, *, dim: int = -1) -> Tensor:
    """``torch.linalg.vecdot``: Σ x·y over ``dim`` of the two broadcast together (real tensors: no conjugate); of
    two vectors, PyTorch's ``dot``, which reads no ``dim``."""
    for t in (x, y):
        if not isinstance(t, TensorBase):
            raise TypeError(f"linalg.vecdot(): arguments must be Tensors, not {type(t).__name__}")
        if not is_float(t.dtype):
            raise DTypeError(f"linalg.vecdot: Expected a floating point or complex tensor as input. Got {t.dtype}")
    _same_dtype("linalg.vecdot", x, y)
    if x.dim() == 1 and y.dim() == 1:
        return x.dot(y)
    return (x * y).sum(dim)


def multi_dot(tensors: Sequence[Tensor]) -> Tensor:
    """``torch.linalg.multi_dot``: the product of a chain of matrices (the first may be 1-d, a row; the last, a
    column), multiplied in the order of fewest scalar products.

    >>> import symnet as sn
    >>> sn.linalg.multi_dot([sn.ones(3), sn.ones(3, 4), sn.ones(4)])
    tensor(12.)
    """
    if not isinstance(tensors, list | tuple) or not all(isinstance(t, TensorBase) for t in tensors):
        raise TypeError(f"linalg.multi_dot(): argument 'tensors' must be a list or tuple of Tensors, not "
                        f"{type(tensors).__name__}")
    if len(tensors) < 2:
        raise ArgumentError(f"multi_dot(): expected at least 2 tensors but got {len(tensors)}")
    for n, t in enumerate(tensors):
        ranks = (1, 2) if n in (0, len(tensors) - 1) else (2,)
        if t.dim() not in ranks:
            raise ShapeError(f"multi_dot(): tensor {n} must be {' or '.join(f'{r}D' for r in ranks)} but got "
                             f"{t.dim()}D")
    _same_dtype("multi_dot", *tensors)
    row, column = tensors[0].dim() == 1, tensors[-1].dim() == 1
    matrices = [tensors[0].unsqueeze(0) if row else tensors[0], *tensors[1:-1],
                tensors[-1].unsqueeze(1) if column else tensors[-1]]
    for n, (a, b) in enumerate(pairwise(matrices)):
        if a.shape[1] != b.shape[0]:
            raise ShapeError(f"multi_dot(): tensors {n} and {n + 1} with shapes {tensors[n].shape} and "
                             f"{tensors[n + 1].shape} cannot be multiplied")
    product = _chain_product(matrices)
    return product.reshape(product.shape[row:2 - column])  # without the dims the vectors were given


def _chain_product(matrices: list[Tensor]) -> Tensor:
    """The product of matrices whose sizes chain, each sub-chain split where the fewest scalar multiplications
    follow (the textbook dynamic program; ties split leftmost, as PyTorch's for three)."""
    sizes = [m.shape[0] for m in matrices] + [matrices[-1].shape[1]]
    best: dict[tuple[int, int], tuple[int, int]] = {}  # (first, last) → (cost, the last matrix of the left part)
    for length in range(len(matrices)):
        for i in range(len(matrices) - length):
            j = i + length
            best[i, j] = (0, i) if i == j else min(
                (best[i, k][0] + best[k + 1, j][0] + sizes[i] * sizes[k + 1] * sizes[j + 1], k) for k in range(i, j))

    def product(i: int, j: int) -> Tensor:
        k = best[i, j][1]
        return matrices[i] if i == j else product(i, k) @ product(k + 1, j)

    return product(0, len(matrices) - 1)


def vander(x: Tensor, *, N: int | None = None) -> Tensor:  # noqa: N803 - torch's name
    """``torch.linalg.vander``: x⁰ … x^(N−1) of each element on a new last dim, N by default x's last size (a 0-d
    x is one element). Increasing powers, unlike ``symnet.vander``'s default."""
    if x.dtype == dtypes.bool_:
        raise DTypeError("linalg.vander supports floating point, complex, and integer tensors, but got bool")
    x = x.reshape(1) if x.dim() == 0 else x
    n = x.shape[-1] if N is None else N
    if n <= 1:
        raise ArgumentError(f"linalg.vander: N must be greater than 1, got {n}")
    return increasing_powers(x, n)


def diagonal(A: Tensor, *, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """``torch.linalg.diagonal``: ``A.diagonal`` with the last two dims as the matrix's by default."""
    return A.diagonal(offset, dim1, dim2)


def linalg_cross(input: Tensor, other: Tensor, *, dim: int = -1) -> Tensor:  # noqa: A002 - torch's name
    """``torch.linalg.cross``: the cross product along ``dim`` (the last by default)."""
    return _cross(input, other, dim)


_OFFERED = {"matmul": method_as_function("matmul"), "matrix_power": method_as_function("matrix_power"),
            "matrix_exp": method_as_function("matrix_exp"),
            "vector_norm": vector_norm, "matrix_norm": matrix_norm, "norm": norm, "vecdot": vecdot,
            "multi_dot": multi_dot, "vander": vander, "diagonal": diagonal, "cross": linalg_cross}
#: ``symnet.linalg``, as ``torch.linalg``: what symnet computes (with PyTorch's ``out=``) and, refusing by name,
#: what needs a matrix factorization
linalg = SimpleNamespace(LinAlgError=LinAlgError,
                         **{name: with_out(fn, f"linalg.{name}") for name, fn in _OFFERED.items()},
                         **{name.removeprefix("linalg."): _refusal(name) for name in FACTORIZING
                            if name.startswith("linalg.")})
