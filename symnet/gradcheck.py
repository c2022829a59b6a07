"""``check_grads``: symbolic derivatives of any order against central finite differences in float64."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from .core.dtypes import float64, is_float
from .errors import DTypeError
from .frontend import autograd
from .frontend.tensor import Tensor
from .pipeline import gradient_program, hvp_program
from .printing import locate_leaves


@dataclass
class GradcheckReport:
    """The worst disagreement found, per derivative order."""

    order: int
    max_abs_error: float
    max_rel_error: float
    where: str

    def __str__(self) -> str:
        return (f"order {self.order}: worst |symbolic − numeric| = {self.max_abs_error:.3g} "
                f"(relative {self.max_rel_error:.3g}) at {self.where}")


class GradcheckError(AssertionError):
    """Symbolic and numeric derivatives disagree beyond the tolerance."""


def _scalarize(fn, weights):
    """fn reduced to one element by fixed weights; inputs fn does not use join with weight 0 (gradient 0)."""
    def scalar(*xs):
        y = fn(*xs)
        y = y if y.numel() == 1 else (y * weights(y)).sum()
        for x in xs:
            y = y + 0.0 * x.sum()
        return y
    return scalar


def check_grads(fn: Callable[..., Tensor], inputs: Sequence, order: int = 2, eps: float = 1e-6,
                rtol: float = 1e-6, atol: float = 1e-8, seed: int = 0) -> list[GradcheckReport]:
    """Compare symbolic derivatives of ``fn`` at ``inputs`` with central finite differences (float64).

    A non-scalar output is reduced with fixed random weights. ``order=2`` also checks Hessian-vector products
    along a random direction v; each higher order m checks ``G_m = ∇(v·G_{m−1})`` (derived through
    ``autograd.grad(create_graph=True)``, with ``G_1 = ∇f``) against the difference of ``G_{m−1}`` along v,
    with tolerances a hundred times wider per order. The tolerance is ``atol + rtol·|numeric|`` plus the
    resolution limit of central differences, ``8·ε·|f|/eps``. Raises ``GradcheckError`` naming the worst
    entry; returns the reports.

    >>> import symnet as sn
    >>> reports = sn.check_grads(lambda x: (x * x).sigmoid(), [sn.tensor([0.5, -1.0])])
    """
    rng = np.random.default_rng(seed)
    xs = []
    for x in inputs:
        arr = np.asarray(x.numpy() if isinstance(x, Tensor) else x)
        if arr.dtype.kind != "f" or (isinstance(x, Tensor) and not is_float(x.dtype)):
            raise DTypeError(f"check_grads: inputs must be float tensors, got dtype {arr.dtype}")
        xs.append(Tensor(arr.astype(float64), arr.shape, float64, requires_grad=True))
    cache: dict[tuple, np.ndarray] = {}

    def weights(y: Tensor) -> np.ndarray:
        key = y.shape
        if key not in cache:
            cache[key] = rng.uniform(0.5, 1.5, size=y.shape)
        return cache[key]

    f = _scalarize(fn, weights)

    def gradient_at(values) -> list[np.ndarray]:
        for x, v in zip(xs, values, strict=True):
            x.set_(v)
        y = f(*xs)
        traced, wrt = locate_leaves(y, xs, "check_grads")
        prog = gradient_program(traced.specs, len(traced.specs) - 1, wrt, seeded=False)
        result = prog.run(traced.leaf_values())
        return [result[o] for o in prog.graph.outputs[1:]]

    def value_at(values) -> float:
        for x, v in zip(xs, values, strict=True):
            x.set_(v)
        return f(*xs).item()

    base = [x.numpy().copy() for x in xs]
    reports = []
    # Central differences cannot resolve less than the rounding of f itself: ~ε_mach·|f|/h.
    noise = 8 * np.finfo(np.float64).eps * max(abs(value_at(base)), 1.0) / eps
    symbolic = gradient_at(base)
    numeric = []
    for k, x in enumerate(base):
        g = np.zeros_like(x)
        for idx in np.ndindex(x.shape):
            plus = [b.copy() for b in base]
            minus = [b.copy() for b in base]
            plus[k][idx] += eps
            minus[k][idx] -= eps
            g[idx] = (value_at(plus) - value_at(minus)) / (2 * eps)
        numeric.append(g)
    reports.append(_compare(1, symbolic, numeric, rtol, atol + noise))
    if order >= 2:
        direction = [rng.standard_normal(x.shape) for x in base]
        for x, v in zip(xs, base, strict=True):
            x.set_(v)
        y = f(*xs)
        traced, wrt = locate_leaves(y, xs, "check_grads")
        prog = hvp_program(traced.specs, len(traced.specs) - 1, wrt)
        extra = {f"V{n}": d for n, d in enumerate(direction)}
        result = prog.run(traced.leaf_values(), extra)
        hv = [result[o] for o in prog.graph.outputs]
        plus = gradient_at([b + eps * d for b, d in zip(base, direction, strict=True)])
        minus = gradient_at([b - eps * d for b, d in zip(base, direction, strict=True)])
        numeric_hv = [(p - m) / (2 * eps) for p, m in zip(plus, minus, strict=True)]
        scale = max(max((float(np.abs(g).max(initial=0)) for g in symbolic), default=0.0), 1.0)
        reports.append(_compare(2, hv, numeric_hv, rtol * 100, atol * 100 + 8 * np.finfo(np.float64).eps * scale / eps))
        for m in range(3, order + 1):
            step = [eps * d for d in direction]
            plus = _nested(f, xs, [b + h for b, h in zip(base, step, strict=True)], direction, m - 1)
            minus = _nested(f, xs, [b - h for b, h in zip(base, step, strict=True)], direction, m - 1)
            numeric_m = [(p - q) / (2 * eps) for p, q in zip(plus, minus, strict=True)]
            scale = max(max((float(np.abs(g).max(initial=0)) for g in plus), default=0.0), 1.0)
            reports.append(_compare(m, _nested(f, xs, base, direction, m), numeric_m, rtol * 100 ** (m - 1),
                                    atol * 100 ** (m - 1) + 8 * np.finfo(np.float64).eps * scale / eps))
    for x, v in zip(xs, base, strict=True):
        x.set_(v)
    return reports


def _nested(f, xs: list[Tensor], values, direction, m: int) -> list[np.ndarray]:
    """``G_m`` at ``values``: ``G_1 = ∇f``, ``G_k = ∇(v·G_{k−1})`` along ``direction`` v, each gradient a tensor
    with a graph so the next can differentiate it."""
    for x, v in zip(xs, values, strict=True):
        x.set_(v)
    grads = autograd.grad(f(*xs), xs, create_graph=m > 1, materialize_grads=True, allow_unused=True)
    for k in range(1, m):
        along = sum((g * Tensor(d, d.shape, float64)).sum() for g, d in zip(grads, direction, strict=True))
        grads = autograd.grad(along, xs, create_graph=k < m - 1, materialize_grads=True, allow_unused=True)
    return [g.numpy() for g in grads]


def _compare(order: int, symbolic, numeric, rtol: float, atol: float) -> GradcheckReport:
    worst = GradcheckReport(order, 0.0, 0.0, "nowhere")
    failed = None
    for k, (s, n) in enumerate(zip(symbolic, numeric, strict=True)):
        err = np.abs(s - n)
        if err.size == 0:
            continue
        idx = np.unravel_index(np.argmax(err), err.shape)
        rel = float(err[idx] / max(abs(float(n[idx])), 1e-300))
        if err[idx] >= worst.max_abs_error:
            worst = GradcheckReport(order, float(err[idx]), rel, f"input {k} index {tuple(map(int, idx))} "
                                    f"(symbolic {float(s[idx]):.10g}, numeric {float(n[idx]):.10g})")
        bad = err > atol + rtol * np.abs(n)
        if bad.any() and failed is None:
            i = np.unravel_index(np.argmax(bad), bad.shape)
            failed = (f"order {order}: input {k} index {tuple(map(int, i))}: symbolic {float(s[i]):.10g} "
                      f"vs numeric {float(n[i]):.10g}")
    if failed:
        raise GradcheckError(f"check_grads: derivatives disagree — {failed}; {worst}")
    return worst
