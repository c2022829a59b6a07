"""SGD, Adagrad, RMSprop, Adam and AdamW: PyTorch's update formulas and defaults, as symbolic rules."""

from __future__ import annotations

import sympy as sp

from ..core.functions import eq
from ..core.ops import constant
from .optimizer import Optimizer, element, g, lr, p, t

m, v, s, vmax, ga = (element(n) for n in ("m", "v", "s", "v_max", "g_avg"))
buf = element("buf")


def _decayed(weight_decay: float) -> list[tuple[sp.Symbol, sp.Expr]]:
    return [(g, g + constant(weight_decay) * p)] if weight_decay else []


class SGD(Optimizer):
    """p ← p − lr·g, with PyTorch's momentum (first step: buf = g), dampening, Nesterov and weight decay."""

    def __init__(self, params, lr: float = 1e-3, momentum: float = 0.0, dampening: float = 0.0,
                 weight_decay: float = 0.0, nesterov: bool = False):
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                                      nesterov=nesterov))
        self.state_spec = {"momentum_buffer": (buf, 0.0)} if momentum else {}

    def rule(self):
        h = self.hyper
        steps = _decayed(h["weight_decay"])
        if h["momentum"]:
            mu, damp = constant(h["momentum"]), constant(h["dampening"])
            first = eq(t, 1)
            steps.append((buf, first * g + (1 - first) * (mu * buf + (1 - damp) * g)))
            steps.append((g, g + mu * buf if h["nesterov"] else buf))
        steps.append((p, p - lr * g))
        return steps


class Adagrad(Optimizer):
    """s ← s + g²; p ← p − lr/(1 + (t − 1)·lr_decay) · g/(√s + eps)."""

    def __init__(self, params, lr: float = 1e-2, lr_decay: float = 0.0, weight_decay: float = 0.0,
                 initial_accumulator_value: float = 0.0, eps: float = 1e-10):
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value, eps=eps))
        self.state_spec = {"sum": (s, initial_accumulator_value)}

    def rule(self):
        h = self.hyper
        clr = lr / (1 + (t - 1) * constant(h["lr_decay"]))
        return [*_decayed(h["weight_decay"]), (s, s + g * g),
                (p, p - clr * g / (sp.sqrt(s) + constant(h["eps"])))]


class RMSprop(Optimizer):
    """v ← α·v + (1 − α)·g²; centered, momentum and weight decay as in PyTorch (no bias correction)."""

    def __init__(self, params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8, weight_decay: float = 0.0,
                 momentum: float = 0.0, centered: bool = False):
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
                                      centered=centered))
        self.state_spec = {"square_avg": (v, 0.0)}
        if centered:
            self.state_spec["grad_avg"] = (ga, 0.0)
        if momentum:
            self.state_spec["momentum_buffer"] = (buf, 0.0)

    def rule(self):
        h = self.hyper
        alpha, eps = constant(h["alpha"]), constant(h["eps"])
        steps = [*_decayed(h["weight_decay"]), (v, alpha * v + (1 - alpha) * g * g)]
        if h["centered"]:
            steps.append((ga, ga + (1 - alpha) * (g - ga)))
            avg = sp.sqrt(v - ga * ga) + eps
        else:
            avg = sp.sqrt(v) + eps
        if h["momentum"]:
            steps.append((buf, constant(h["momentum"]) * buf + g / avg))
            steps.append((p, p - lr * buf))
        else:
            steps.append((p, p - lr * g / avg))
        return steps


class Adam(Optimizer):
    """m ← lerp(m, g, 1 − β1); v ← β2·v + (1 − β2)·g²; p ← p − lr/(1 − β1^t) · m/(√v/√(1 − β2^t) + eps)."""

    decoupled = False

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, amsgrad: bool = False):
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      amsgrad=amsgrad))
        self.state_spec = {"exp_avg": (m, 0.0), "exp_avg_sq": (v, 0.0)}
        if amsgrad:
            self.state_spec["max_exp_avg_sq"] = (vmax, 0.0)

    def rule(self):
        h = self.hyper
        b1, b2 = (constant(b) for b in h["betas"])
        eps, wd = constant(h["eps"]), h["weight_decay"]
        steps = [(p, p * (1 - lr * constant(wd)))] if self.decoupled and wd else _decayed(wd)
        steps += [(m, m + (1 - b1) * (g - m)), (v, b2 * v + (1 - b2) * g * g)]
        second = v
        if h["amsgrad"]:
            steps.append((vmax, sp.Max(vmax, v)))
            second = vmax
        denom = sp.sqrt(second) / sp.sqrt(1 - b2**t) + eps
        steps.append((p, p - lr / (1 - b1**t) * m / denom))
        return steps


class AdamW(Adam):
    """Adam with decoupled weight decay: p ← p·(1 − lr·weight_decay) first (default weight_decay 1e-2)."""

    decoupled = True

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad)
