"""``symnet.special``, as ``torch.special``: the element functions under their SciPy-style names, and the few that
are compositions of them (the normal CDF, entropy, x·log1p(y), the multivariate log-gamma, Bessel I₁).
Everything is an op of the tensor frontend, so gradients are derived and the functions compile."""

from __future__ import annotations

import math

from .frontend.base import method_as_function
from .frontend.pointwise import polygamma, where, xlogy
from .frontend.tensor import Tensor

__all__ = ["digamma", "entr", "erf", "erfc", "erfinv", "exp2", "expit", "expm1", "gammaln", "i0", "i1", "log1p",
           "log_softmax", "logit", "logsumexp", "multigammaln", "ndtr", "polygamma", "psi", "round", "sinc",
           "softmax", "xlog1py", "xlogy"]


digamma = psi = method_as_function("digamma", doc="ψ(x) = d/dx log Γ(x).")
gammaln = method_as_function("lgamma", "gammaln", doc="log |Γ(x)|.")
erf = method_as_function("erf", doc="The error function.")
erfc = method_as_function("erfc", doc="1 − erf(x), accurate where erf(x) is near 1.")
erfinv = method_as_function("erfinv", doc="The inverse of erf.")
exp2 = method_as_function("exp2", doc="2ˣ.")
expit = method_as_function("sigmoid", "expit", doc="The logistic sigmoid 1/(1 + e⁻ˣ).")
expm1 = method_as_function("expm1", doc="eˣ − 1, accurate near 0.")
i0 = method_as_function("i0", doc="The modified Bessel function of the first kind, order 0.")
log1p = method_as_function("log1p", doc="log(1 + x), accurate near 0.")
logit = method_as_function("logit", doc="log(p/(1 − p)), with PyTorch's eps clamp.")
round = method_as_function("round", doc="Rounded half to even (decimals as torch.round).")  # noqa: A001 - torch's name
sinc = method_as_function("sinc", doc="sin(πx)/(πx), 1 at 0.")
softmax = method_as_function("softmax", doc="softmax along dim.")
log_softmax = method_as_function("log_softmax", doc="log softmax along dim.")
logsumexp = method_as_function("logsumexp", doc="log Σ exp along dim, max-shifted.")
multigammaln = method_as_function("mvlgamma", "multigammaln",
                                  doc="The log of the multivariate gamma function of dimension p.")


def i1(input: Tensor) -> Tensor:  # noqa: A002 - torch's name
    """The modified Bessel function of the first kind, order 1 (its own row: i0's derivative)."""
    return input._map("i1", result="float")


def ndtr(input: Tensor) -> Tensor:  # noqa: A002 - torch's name
    """The standard normal CDF, ½·erfc(−x/√2): accurate in the lower tail, where ½(1 + erf) would cancel."""
    return (input * (-1 / math.sqrt(2))).erfc() * 0.5


def entr(input: Tensor) -> Tensor:  # noqa: A002 - torch's name
    """−x·log x for x > 0, 0 at 0, −∞ below (the entropy term)."""
    x = input if input.dtype.kind == "f" else input.float()
    return where(x < 0, -math.inf, -xlogy(x, x))


def xlog1py(input, other) -> Tensor:  # noqa: A002 - torch's name
    """x·log1p(y), and 0 where x = 0 unless y is NaN (as xlogy); either may be a Python number."""
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        raise TypeError("xlog1py: at least one of input and other must be a tensor")
    like = input if isinstance(input, Tensor) else other
    like = like if like.dtype.kind == "f" else like.float()
    x, y = (v.to(like.dtype) if isinstance(v, Tensor) else like.new_tensor(v) for v in (input, other))
    return where((x == 0) & ~y.isnan(), 0.0, x * y.log1p())
