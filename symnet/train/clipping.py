"""Gradient clipping inside the compiled step: ``clip_grad_norm_`` and ``clip_grad_value_`` as definitions
between the derived gradients and the optimizer's update, with PyTorch's formulas (torch/nn/utils/clip_grad.py):
each gradient's p-norm, the p-norm of those, ``coef = min(max_norm / (total + 1e-6), 1)``, ``g ← g·coef``;
or ``g ← clamp(g, −c, c)``. NaN stays NaN, as in PyTorch."""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..core import lazy
from ..core.ir import Def, access, fresh_indices
from ..core.lazy import sympy as sp

F = lazy.module("symnet.core.functions")  # SymPy's element functions: imported when first used


@dataclass(frozen=True)
class Clipping:
    """What ``sn.compile(..., clip_grad_norm=, norm_type=, clip_grad_value=)`` asked for."""

    max_norm: float | None = None
    norm_type: float = 2.0
    clip_value: float | None = None

    def __post_init__(self):
        if self.max_norm is not None and self.clip_value is not None:
            raise ValueError("compile: give clip_grad_norm or clip_grad_value, not both")
        if self.clip_value is not None and not self.clip_value >= 0:
            raise ValueError(f"compile: clip_grad_value must be non-negative, got {self.clip_value}")
        if self.max_norm is not None and (math.isnan(self.norm_type) or self.norm_type <= 0):
            raise ValueError(f"compile: norm_type must be positive or inf, got {self.norm_type}")

    @property
    def active(self) -> bool:
        return self.max_norm is not None or self.clip_value is not None

    def formula(self) -> str:
        if self.clip_value is not None:
            return f"clip_grad_value: g ← clamp(g, −{self.clip_value}, {self.clip_value})"
        p = "∞" if math.isinf(self.norm_type) else f"{self.norm_type:g}"
        return (f"clip_grad_norm: g ← g·min(1, {self.max_norm}/(‖(‖g₁‖_{p}, …, ‖gₙ‖_{p})‖_{p} + 1e-6)) "
                "over all parameters")

    def apply(self, grads: list[Def]) -> tuple[list[Def], list[str]]:
        """The definitions that clip ``grads`` (tensors named and shaped as the gradients) and the names of the
        clipped gradients, in the same order."""
        if self.clip_value is not None:
            defs = [_elementwise(g, f"{g.name}_clipped", lambda v: F.clamp(v, -self.clip_value, self.clip_value))
                    for g in grads]
            return defs, [d.name for d in defs]
        p = self.norm_type
        norms = [d for g in grads for d in _norm(g, p)]
        total = _combine([access(f"{g.name}_norm", ()) for g in grads], p)
        dtype = grads[0].dtype
        total_def = Def("grad_total_norm", (), dtype, (), (), total, label="total gradient norm")
        coef = Def("grad_clip_coef", (), dtype, (), (),
                   sp.Min(sp.Float(self.max_norm) / (access(total_def.name, ()) + sp.Float(1e-6)), sp.Integer(1)),
                   label="clip coefficient")
        clipped = [_elementwise(g, f"{g.name}_clipped", lambda v: v * access(coef.name, ())) for g in grads]
        return [*norms, total_def, coef, *clipped], [d.name for d in clipped]


def _elementwise(g: Def, name: str, body) -> Def:
    syms = fresh_indices(g.shape)
    return Def(name, g.shape, g.dtype, tuple(zip(syms, g.shape, strict=True)), syms, body(access(g.name, syms)),
               label="clipped gradient")


def _norm(g: Def, p: float) -> list[Def]:
    """‖g‖_p over every element, named ``<g>_norm``: a reduction (``max`` for p = ∞), then the root."""
    syms = fresh_indices(g.shape)
    domain = tuple(zip(syms, g.shape, strict=True))
    magnitude = sp.Abs(access(g.name, syms))
    if math.isinf(p):
        return [Def(f"{g.name}_norm", (), g.dtype, domain, (), magnitude, "max", ties="even", label="gradient norm")]
    power = Def(f"{g.name}_normp", (), g.dtype, domain, (), _power(magnitude, p), "sum", label="gradient norm")
    return [power, Def(f"{g.name}_norm", (), g.dtype, (), (), _power(access(power.name, ()), 1 / p),
                       label="gradient norm")]


def _power(x: sp.Expr, p: float) -> sp.Expr:
    return x * x if p == 2 else sp.sqrt(x) if p == 0.5 else x if p == 1 else x ** sp.Float(p)


def _combine(norms: list[sp.Expr], p: float) -> sp.Expr:
    if math.isinf(p):
        return sp.Max(*norms) if len(norms) > 1 else norms[0]
    return _power(sp.Add(*(_power(n, p) for n in norms)), 1 / p)
