"""PyTorch's optimizers (2.13, single-tensor path) as symbolic rules: names, arguments, defaults, checks and
formulas as in ``torch.optim``; one class per optimizer, its update in ``rule`` and its state in ``states``.

``foreach`` is accepted and computes the single-tensor numbers; ``fused`` is accepted where PyTorch fuses on the
CPU (SGD, Adagrad, Adam, AdamW); ``capturable`` and ``differentiable`` are accepted where PyTorch's constructor
accepts them, and a step with them fails as PyTorch's does on a CPU leaf parameter.
"""

from __future__ import annotations

from typing import TypeAlias

from ..core import lazy
from ..core.lazy import sympy as sp
from ..core.ops import constant
from .optimizer import Optimizer, ParamsT, State, elements

Rule: TypeAlias = "list[tuple[sp.Symbol, sp.Expr]]"

F = lazy.module("symnet.core.functions")  # SymPy's element functions: imported when first used


def _require(holds: bool, message: str) -> None:
    if not holds:
        raise ValueError(message)


def _check_common(lr: float, eps: float | None = None, weight_decay: float | None = None) -> None:
    _require(0.0 <= lr, f"Invalid learning rate: {lr}")
    _require(eps is None or 0.0 <= eps, f"Invalid epsilon value: {eps}")
    _require(weight_decay is None or 0.0 <= weight_decay, f"Invalid weight_decay value: {weight_decay}")


def _check_betas(betas: tuple[float, float]) -> None:
    for k in (0, 1):
        _require(0.0 <= betas[k] < 1.0, f"Invalid beta parameter at index {k}: {betas[k]}")


def _check_fused(fused: bool | None, foreach: bool | None, differentiable: bool) -> None:
    if fused and differentiable:
        raise RuntimeError("`fused` does not support `differentiable`")
    if fused and foreach:
        raise RuntimeError("`fused` and `foreach` cannot be `True` together.")


def _gradient(h: dict, decoupled: bool = False) -> Rule:
    """The gradient as every rule starts: negated under ``maximize``, then L2 weight decay ``g + wd·p`` — or,
    decoupled (AdamW), ``p·(1 − lr·wd)`` before the update."""
    p, g, lr = elements("p g lr")
    steps = [(g, -g)] if h["maximize"] else []
    if h.get("weight_decay"):
        wd = constant(h["weight_decay"])
        steps.append((p, p * (1 - lr * wd)) if decoupled else (g, g + wd * p))
    return steps


def _lerp(a: sp.Expr, b: sp.Expr, weight: float) -> sp.Expr:
    """``torch.lerp(a, b, w)`` as PyTorch's CPU kernel computes it: from ``a`` for |w| < ½, else from ``b``."""
    if abs(weight) < 0.5:
        return a + constant(weight) * (b - a)
    return b - (b - a) * constant(1 - weight)


class SGD(Optimizer):
    """p ← p − lr·g, with PyTorch's momentum (first step: buf = g), dampening, Nesterov and weight decay."""

    def __init__(self, params: ParamsT, lr: float = 1e-3, momentum: float = 0, dampening: float = 0,
                 weight_decay: float = 0, nesterov: bool = False, *, maximize: bool = False,
                 foreach: bool | None = None, differentiable: bool = False, fused: bool | None = None):
        _require(lr >= 0.0, f"Invalid learning rate: {lr}")
        _require(momentum >= 0.0, f"Invalid momentum value: {momentum}")
        _require(weight_decay >= 0.0, f"Invalid weight_decay value: {weight_decay}")
        _require(not nesterov or (momentum > 0 and dampening == 0),
                 "Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                                      nesterov=nesterov, maximize=maximize, foreach=foreach,
                                      differentiable=differentiable, fused=fused))
        _check_fused(fused, foreach, differentiable)

    def states(self, group: dict) -> dict[str, State]:
        return {"momentum_buffer": State("buf")} if group["momentum"] else {}

    def starts_late(self, group: dict, name: str) -> bool:
        """A momentum turned on after some steps: PyTorch's buffer starts as the gradient, which a zero buffer
        gives without dampening (the rule's first-step case reads t == 1 only)."""
        return name == "momentum_buffer" and group["dampening"] == 0

    def rule(self, group: dict) -> Rule:
        p, g, lr, t, buf = elements("p g lr t buf")
        steps = _gradient(group)
        if group["momentum"]:
            mom, damp = constant(group["momentum"]), constant(group["dampening"])
            first = F.eq(t, 1)
            steps.append((buf, first * g + (1 - first) * (mom * buf + (1 - damp) * g)))
            steps.append((g, g + mom * buf if group["nesterov"] else buf))
        steps.append((p, p - lr * g))
        return steps


class Adagrad(Optimizer):
    """s ← s + g²; p ← p − lr/(1 + (t − 1)·lr_decay) · g/(√s + eps)."""

    def __init__(self, params: ParamsT, lr: float = 1e-2, lr_decay: float = 0, weight_decay: float = 0,
                 initial_accumulator_value: float = 0, eps: float = 1e-10, foreach: bool | None = None, *,
                 maximize: bool = False, differentiable: bool = False, fused: bool | None = None):
        _check_common(lr)
        _require(0.0 <= lr_decay, f"Invalid lr_decay value: {lr_decay}")
        _require(0.0 <= weight_decay, f"Invalid weight_decay value: {weight_decay}")
        _require(0.0 <= initial_accumulator_value,
                 f"Invalid initial_accumulator_value value: {initial_accumulator_value}")
        _require(0.0 <= eps, f"Invalid epsilon value: {eps}")
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value, foreach=foreach,
                                      maximize=maximize, differentiable=differentiable, fused=fused))
        _check_fused(fused, foreach, differentiable)
        for q in self.params:  # PyTorch creates Adagrad's state in the constructor
            self.param_state(q)

    def states(self, group: dict) -> dict[str, State]:
        return {"sum": State("s", group["initial_accumulator_value"])}

    def rule(self, group: dict) -> Rule:
        p, g, lr, t, s = elements("p g lr t s")
        clr = lr / (1 + (t - 1) * constant(group["lr_decay"]))
        return [*_gradient(group), (s, s + g * g), (p, p - clr * g / (sp.sqrt(s) + constant(group["eps"])))]


class RMSprop(Optimizer):
    """v ← α·v + (1 − α)·g²; centered, momentum and weight decay as in PyTorch (no bias correction)."""

    def __init__(self, params: ParamsT, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0, momentum: float = 0, centered: bool = False, capturable: bool = False,
                 foreach: bool | None = None, maximize: bool = False, differentiable: bool = False):
        _check_common(lr, eps)
        _require(0.0 <= momentum, f"Invalid momentum value: {momentum}")
        _require(0.0 <= weight_decay, f"Invalid weight_decay value: {weight_decay}")
        _require(0.0 <= alpha, f"Invalid alpha value: {alpha}")
        super().__init__(params, dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                                      weight_decay=weight_decay, capturable=capturable, foreach=foreach,
                                      maximize=maximize, differentiable=differentiable))

    def states(self, group: dict) -> dict[str, State]:
        spec = {"square_avg": State("v")}
        if group["momentum"] > 0:
            spec["momentum_buffer"] = State("buf")
        if group["centered"]:
            spec["grad_avg"] = State("g_avg")
        return spec

    def rule(self, group: dict) -> Rule:
        p, g, lr, v, ga, buf = elements("p g lr v g_avg buf")
        alpha, eps = constant(group["alpha"]), constant(group["eps"])
        steps = [*_gradient(group), (v, alpha * v + (1 - alpha) * g * g)]
        if group["centered"]:
            steps.append((ga, _lerp(ga, g, 1 - group["alpha"])))
            avg = sp.sqrt(v - ga * ga) + eps
        else:
            avg = sp.sqrt(v) + eps
        if group["momentum"] > 0:
            steps.append((buf, constant(group["momentum"]) * buf + g / avg))
            steps.append((p, p - lr * buf))
        else:
            steps.append((p, p - lr * g / avg))
        return steps


class Adam(Optimizer):
    """m ← lerp(m, g, 1 − β1); v ← β2·v + (1 − β2)·g²; p ← p − lr/(1 − β1^t) · m/(√v/√(1 − β2^t) + eps)."""

    def __init__(self, params: ParamsT, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, amsgrad: bool = False, *, foreach: bool | None = None,
                 maximize: bool = False, capturable: bool = False, differentiable: bool = False,
                 fused: bool | None = None, decoupled_weight_decay: bool = False):
        _check_common(lr, eps)
        _check_betas(betas)
        _require(0.0 <= weight_decay, f"Invalid weight_decay value: {weight_decay}")
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      amsgrad=amsgrad, maximize=maximize, foreach=foreach, capturable=capturable,
                                      differentiable=differentiable, fused=fused,
                                      decoupled_weight_decay=decoupled_weight_decay))
        _check_fused(fused, foreach, differentiable)

    def states(self, group: dict) -> dict[str, State]:
        spec = {"exp_avg": State("m"), "exp_avg_sq": State("v")}
        if group["amsgrad"]:
            spec["max_exp_avg_sq"] = State("v_max")
        return spec

    def rule(self, group: dict) -> Rule:
        p, g, lr, t, m, v, vmax = elements("p g lr t m v v_max")
        (b1f, b2f), eps = group["betas"], constant(group["eps"])
        b1, b2 = constant(b1f), constant(b2f)
        steps = [*_gradient(group, group["decoupled_weight_decay"]), (m, _lerp(m, g, 1 - b1f)),
                 (v, b2 * v + (1 - b2) * g * g)]
        second = v
        if group["amsgrad"]:
            steps.append((vmax, F.maximum(vmax, v)))
            second = vmax
        denom = sp.sqrt(second) / sp.sqrt(1 - b2**t) + eps
        steps.append((p, p - lr / (1 - b1**t) * m / denom))
        return steps


class AdamW(Adam):
    """Adam with decoupled weight decay: p ← p·(1 − lr·weight_decay) first (default weight_decay 1e-2)."""

    def __init__(self, params: ParamsT, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, *, maximize: bool = False,
                 foreach: bool | None = None, capturable: bool = False, differentiable: bool = False,
                 fused: bool | None = None):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach, maximize=maximize,
                         capturable=capturable, differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True)


class Adadelta(Optimizer):
    """v ← ρ·v + (1 − ρ)·g²; δ ← √(u + eps)/√(v + eps)·g; u ← ρ·u + (1 − ρ)·δ²; p ← p − lr·δ."""

    def __init__(self, params: ParamsT, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6, weight_decay: float = 0,
                 foreach: bool | None = None, *, capturable: bool = False, maximize: bool = False,
                 differentiable: bool = False):
        _check_common(lr)
        _require(0.0 <= rho <= 1.0, f"Invalid rho value: {rho}")
        _require(0.0 <= eps, f"Invalid epsilon value: {eps}")
        _require(0.0 <= weight_decay, f"Invalid weight_decay value: {weight_decay}")
        super().__init__(params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize,
                                      capturable=capturable, foreach=foreach, differentiable=differentiable))

    def states(self, group: dict) -> dict[str, State]:
        return {"square_avg": State("v"), "acc_delta": State("u")}

    def rule(self, group: dict) -> Rule:
        p, g, lr, v, u, delta = elements("p g lr v u delta")
        rho, eps = constant(group["rho"]), constant(group["eps"])
        return [*_gradient(group), (v, v * rho + (1 - rho) * g * g),
                (delta, sp.sqrt(u + eps) / sp.sqrt(v + eps) * g), (u, u * rho + (1 - rho) * delta * delta),
                (p, p - lr * delta)]


class Adamax(Optimizer):
    """m ← lerp(m, g, 1 − β1); u ← max(β2·u, |g| + eps); p ← p − lr/(1 − β1^t) · m/u."""

    def __init__(self, params: ParamsT, lr: float = 2e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, foreach: bool | None = None, *, maximize: bool = False,
                 differentiable: bool = False, capturable: bool = False):
        _check_common(lr, eps)
        _check_betas(betas)
        _require(0.0 <= weight_decay, f"Invalid weight_decay value: {weight_decay}")
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      foreach=foreach, maximize=maximize, differentiable=differentiable,
                                      capturable=capturable))

    def states(self, group: dict) -> dict[str, State]:
        return {"exp_avg": State("m"), "exp_inf": State("u")}

    def rule(self, group: dict) -> Rule:
        p, g, lr, t, m, u = elements("p g lr t m u")
        b1, b2 = group["betas"]
        return [*_gradient(group), (m, _lerp(m, g, 1 - b1)),
                (u, F.maximum(u * constant(b2), sp.Abs(g) + constant(group["eps"]))),
                (p, p - lr / (1 - constant(b1)**t) * m / u)]


class NAdam(Optimizer):
    """Adam with Nesterov momentum: μ_t = β1·(1 − ½·0.96^(t·ψ)), and the running product of the μ (PyTorch's
    0-d ``mu_product`` state) in the bias correction."""

    def __init__(self, params: ParamsT, lr: float = 2e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, momentum_decay: float = 4e-3, decoupled_weight_decay: bool = False, *,
                 foreach: bool | None = None, maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False):
        _check_common(lr, eps)
        _check_betas(betas)
        _require(0.0 <= weight_decay, f"Invalid weight_decay value: {weight_decay}")
        _require(0.0 <= momentum_decay, f"Invalid momentum_decay value: {momentum_decay}")
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      momentum_decay=momentum_decay, decoupled_weight_decay=decoupled_weight_decay,
                                      maximize=maximize, foreach=foreach, capturable=capturable,
                                      differentiable=differentiable))

    def states(self, group: dict) -> dict[str, State]:
        return {"mu_product": State("mu_product", 1.0, scalar=True), "exp_avg": State("m"), "exp_avg_sq": State("v")}

    def rule(self, group: dict) -> Rule:
        p, g, lr, t, m, v, mu_product, mu_t, mu_next = elements("p g lr t m v mu_product mu_t mu_next")
        (b1f, b2f), psi = group["betas"], constant(group["momentum_decay"])
        b1, b2 = constant(b1f), constant(b2f)
        denom = sp.sqrt(v / (1 - b2**t)) + constant(group["eps"])
        return [*_gradient(group, group["decoupled_weight_decay"]),
                (mu_t, b1 * (1 - sp.Rational(1, 2) * constant(0.96) ** (t * psi))),
                (mu_next, b1 * (1 - sp.Rational(1, 2) * constant(0.96) ** ((t + 1) * psi))),
                (mu_product, mu_product * mu_t), (m, _lerp(m, g, 1 - b1f)), (v, b2 * v + (1 - b2) * g * g),
                (p, p - lr * (1 - mu_t) / (1 - mu_product) * g / denom),
                (p, p - lr * mu_next / (1 - mu_product * mu_next) * m / denom)]


class RAdam(Optimizer):
    """Adam with the variance rectification r_t while ρ_t > 5, plain bias-corrected momentum before: the branch
    depends on t only, so it is a select on a step scalar, not a branch per element."""

    def __init__(self, params: ParamsT, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, decoupled_weight_decay: bool = False, *, foreach: bool | None = None,
                 maximize: bool = False, capturable: bool = False, differentiable: bool = False):
        _check_common(lr, eps)
        _check_betas(betas)
        _require(0.0 <= weight_decay, f"Invalid weight_decay value: {weight_decay}")
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      maximize=maximize, foreach=foreach, capturable=capturable,
                                      decoupled_weight_decay=decoupled_weight_decay, differentiable=differentiable))

    def states(self, group: dict) -> dict[str, State]:
        return {"exp_avg": State("m"), "exp_avg_sq": State("v")}

    def rule(self, group: dict) -> Rule:
        p, g, lr, t, m, v, rho_t, r_t = elements("p g lr t m v rho_t r_t")
        (b1f, b2f), eps = group["betas"], constant(group["eps"])
        b1, b2 = constant(b1f), constant(b2f)
        rho_inf = constant(2 / (1 - b2f) - 1)  # a Python float in PyTorch
        rect = sp.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
        adaptive = sp.sqrt(1 - b2**t) / (sp.sqrt(v) + eps)
        return [*_gradient(group, group["decoupled_weight_decay"]), (m, _lerp(m, g, 1 - b1f)),
                (v, b2 * v + (1 - b2) * g * g), (rho_t, rho_inf - 2 * t * b2**t / (1 - b2**t)), (r_t, rect),
                (p, p - m / (1 - b1**t) * lr * F.where(F.gt(rho_t, 5), adaptive * r_t, 1))]


class Rprop(Optimizer):
    """Per-element step sizes grown by η+ while g keeps its sign and cut by η− when it flips (then that step is
    skipped: the stored ``prev`` gradient becomes 0); p ← p − sgn(g)·step_size."""

    def __init__(self, params: ParamsT, lr: float = 1e-2, etas: tuple[float, float] = (0.5, 1.2),
                 step_sizes: tuple[float, float] = (1e-6, 50), *, capturable: bool = False,
                 foreach: bool | None = None, maximize: bool = False, differentiable: bool = False):
        _check_common(lr)
        _require(0.0 < etas[0] < 1.0 < etas[1], f"Invalid eta values: {etas[0]}, {etas[1]}")
        super().__init__(params, dict(lr=lr, etas=tuple(etas), step_sizes=tuple(step_sizes), foreach=foreach,
                                      maximize=maximize, differentiable=differentiable, capturable=capturable))

    def states(self, group: dict) -> dict[str, State]:
        return {"prev": State("prev"), "step_size": State("step_size", group["lr"])}

    def rule(self, group: dict) -> Rule:
        p, g, prev, step_size = elements("p g prev step_size")
        (minus, plus), (smallest, largest) = (tuple(constant(x) for x in pair)
                                              for pair in (group["etas"], group["step_sizes"]))
        agree = g * prev
        factor = F.where(F.gt(agree, 0), plus, F.where(F.lt(agree, 0), minus, 1))
        return [*_gradient(group), (step_size, F.clamp(step_size * factor, smallest, largest)),
                (g, F.where(F.lt(agree, 0), 0, g)), (p, p - F.sign(g) * step_size), (prev, g)]


class ASGD(Optimizer):
    """Averaged SGD: p ← p·(1 − λ·η) − η·g; the average ax follows p once t > t0; η and μ are 0-d state set
    from t after the step (η = lr/(1 + λ·lr·t)^α, μ = 1/max(1, t − t0)), as PyTorch keeps them."""

    def __init__(self, params: ParamsT, lr: float = 1e-2, lambd: float = 1e-4, alpha: float = 0.75, t0: float = 1e6,
                 weight_decay: float = 0, foreach: bool | None = None, maximize: bool = False,
                 differentiable: bool = False, capturable: bool = False):
        _check_common(lr, weight_decay=weight_decay)
        super().__init__(params, dict(lr=lr, lambd=lambd, alpha=alpha, t0=t0, weight_decay=weight_decay,
                                      foreach=foreach, maximize=maximize, differentiable=differentiable,
                                      capturable=capturable))

    def states(self, group: dict) -> dict[str, State]:
        return {"eta": State("eta", group["lr"], scalar=True), "mu": State("mu", 1.0, scalar=True), "ax": State("ax")}

    def rule(self, group: dict) -> Rule:
        p, g, lr, t, ax, eta, mu = elements("p g lr t ax eta mu")
        lambd = constant(group["lambd"])
        return [*_gradient(group), (p, p * (1 - lambd * eta)), (p, p - eta * g),
                (ax, F.where(F.eq(mu, 1), p, ax + (p - ax) * mu)),
                (eta, lr / (1 + lambd * lr * t) ** constant(group["alpha"])),
                (mu, 1 / F.maximum(1, t - constant(group["t0"])))]
