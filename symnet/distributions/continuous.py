"""Continuous laws on the real line: ``Normal``, ``Uniform``, ``Exponential``, ``Laplace``, ``Gamma``, ``Beta``,
``Cauchy``, ``Gumbel``, ``HalfNormal``, ``LogNormal``, ``Chi2``, each with PyTorch's formulas (so float64 agrees
with it to rounding) and PyTorch's constraints.

The reparameterized samplers are location–scale maps of ``randn_like``/``rand_like`` noise, so gradients flow to
the parameters and a compiled step draws anew at every step. Gamma and Beta are sampled eagerly from the
default generator only: PyTorch differentiates its gamma sampler implicitly, which symnet has no op for.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from ..errors import NotSupportedError
from ..frontend.batch import in_batch_trace
from ..frontend.creation import full_like, tensor, zeros_like
from ..frontend.pointwise import xlogy
from ..frontend.sampling import generator_or_default
from ..frontend.tensor import Tensor
from ..frontend.utilities import finfo
from . import constraints
from .distribution import Distribution, batch_shape_of, broadcast_all

__all__ = ["Beta", "Cauchy", "Chi2", "Exponential", "Gamma", "Gumbel", "HalfNormal", "Laplace", "LogNormal", "Normal",
           "Uniform"]

#: the Euler–Mascheroni constant (the Gumbel law's mean offset)
_EULER_GAMMA = 0.57721566490153286060


def _unit_noise_below_one(u: Tensor) -> Tensor:
    """Uniform noise kept below 1 by an ulp, so ``log1p(-u)`` is finite for every draw."""
    return u.clamp(max=1 - finfo(u.dtype).eps)


class _LocationScale(Distribution):
    """A symmetric law of ``loc + scale·ε`` for a standard noise ε (Normal, Laplace): their parameters, checks,
    mean and mode."""

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True

    def __init__(self, loc: Tensor | float, scale: Tensor | float, validate_args: bool | None = None) -> None:
        self.loc, self.scale = broadcast_all(loc, scale)
        super().__init__(batch_shape_of(self.loc, loc, scale), validate_args=validate_args)

    @property
    def mean(self) -> Tensor:
        return self.loc

    @property
    def mode(self) -> Tensor:
        return self.loc


class Normal(_LocationScale):
    """N(loc, scale²).

    >>> import symnet as sn
    >>> sn.distributions.Normal(0.0, 1.0).log_prob(sn.tensor(0.0))
    tensor(-0.9189)
    """

    @property
    def stddev(self) -> Tensor:
        return self.scale

    @property
    def variance(self) -> Tensor:
        return self.scale.pow(2)

    def rsample(self, sample_shape: Sequence[int] = ()) -> Tensor:
        return self.loc + self._noise("normal", sample_shape, self.loc, self.scale) * self.scale

    def log_prob(self, value: Tensor) -> Tensor:
        value = self._checked(value)
        return -((value - self.loc) ** 2) / (2 * self.scale**2) - self.scale.log() - math.log(math.sqrt(2 * math.pi))

    def cdf(self, value: Tensor) -> Tensor:
        value = self._checked(value)
        return 0.5 * (1 + ((value - self.loc) * self.scale.reciprocal() / math.sqrt(2)).erf())

    def icdf(self, value: Tensor) -> Tensor:
        return self.loc + self.scale * (2 * value - 1).erfinv() * math.sqrt(2)

    def entropy(self) -> Tensor:
        return 0.5 + 0.5 * math.log(2 * math.pi) + self.scale.log()


class Uniform(Distribution):
    """U[low, high)."""

    has_rsample = True

    def __init__(self, low: Tensor | float, high: Tensor | float, validate_args: bool | None = None) -> None:
        self.low, self.high = broadcast_all(low, high)
        super().__init__(batch_shape_of(self.low, low, high), validate_args=validate_args)

    @property
    def arg_constraints(self) -> dict[str, constraints.Constraint]:
        return {"low": constraints.less_than(self.high), "high": constraints.greater_than(self.low)}

    @property
    def support(self) -> constraints.Constraint:
        return constraints.interval(self.low, self.high)

    @property
    def mean(self) -> Tensor:
        return (self.high + self.low) / 2

    @property
    def mode(self) -> Tensor:
        return math.nan * self.high

    @property
    def stddev(self) -> Tensor:
        return (self.high - self.low) / 12**0.5

    @property
    def variance(self) -> Tensor:
        return (self.high - self.low).pow(2) / 12

    def rsample(self, sample_shape: Sequence[int] = ()) -> Tensor:
        return self.low + self._noise("uniform", sample_shape, self.low, self.high) * (self.high - self.low)

    def log_prob(self, value: Tensor) -> Tensor:
        value = self._checked(value)
        inside = (self.low <= value).type_as(self.low) * (self.high > value).type_as(self.low)
        return inside.log() - (self.high - self.low).log()

    def cdf(self, value: Tensor) -> Tensor:
        value = self._checked(value)
        return ((value - self.low) / (self.high - self.low)).clamp(min=0, max=1)

    def icdf(self, value: Tensor) -> Tensor:
        return value * (self.high - self.low) + self.low

    def entropy(self) -> Tensor:
        return (self.high - self.low).log()


class Exponential(Distribution):
    """Exp(rate): density rate·e^(−rate·x) on x ≥ 0."""

    arg_constraints = {"rate": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True

    def __init__(self, rate: Tensor | float, validate_args: bool | None = None) -> None:
        (self.rate,) = broadcast_all(rate)
        super().__init__(batch_shape_of(self.rate, rate), validate_args=validate_args)

    @property
    def mean(self) -> Tensor:
        return self.rate.reciprocal()

    @property
    def mode(self) -> Tensor:
        return zeros_like(self.rate)

    @property
    def stddev(self) -> Tensor:
        return self.rate.reciprocal()

    @property
    def variance(self) -> Tensor:
        return self.rate.pow(-2)

    def rsample(self, sample_shape: Sequence[int] = ()) -> Tensor:
        u = _unit_noise_below_one(self._noise("uniform", sample_shape, self.rate))
        return -(-u).log1p() / self.rate

    def log_prob(self, value: Tensor) -> Tensor:
        value = self._checked(value)
        return self.rate.log() - self.rate * value

    def cdf(self, value: Tensor) -> Tensor:
        value = self._checked(value)
        return 1 - (-self.rate * value).exp()

    def icdf(self, value: Tensor) -> Tensor:
        return -(-value).log1p() / self.rate

    def entropy(self) -> Tensor:
        return 1.0 - self.rate.log()


class Laplace(_LocationScale):
    """Laplace(loc, scale): density e^(−|x − loc|/scale)/(2·scale)."""

    @property
    def variance(self) -> Tensor:
        return 2 * self.scale.pow(2)

    @property
    def stddev(self) -> Tensor:
        return (2**0.5) * self.scale

    def rsample(self, sample_shape: Sequence[int] = ()) -> Tensor:
        u = self._noise("uniform", sample_shape, self.loc, self.scale) * 2 - 1
        return self.loc - self.scale * u.sign() * (-_unit_noise_below_one(u.abs())).log1p()

    def log_prob(self, value: Tensor) -> Tensor:
        value = self._checked(value)
        return -(2 * self.scale).log() - (value - self.loc).abs() / self.scale

    def cdf(self, value: Tensor) -> Tensor:
        value = self._checked(value)
        return 0.5 - 0.5 * (value - self.loc).sign() * (-(value - self.loc).abs() / self.scale).expm1()

    def icdf(self, value: Tensor) -> Tensor:
        term = value - 0.5
        return self.loc - self.scale * term.sign() * (-2 * term.abs()).log1p()

    def entropy(self) -> Tensor:
        return 1 + (2 * self.scale).log()


class _EagerlySampled(Distribution):
    """A law symnet samples with NumPy's sampler on the default generator: eagerly, without gradient."""

    def _drawn(self, draw, *params: Tensor, sample_shape: Sequence[int]) -> Tensor:
        name = type(self).__name__
        if in_batch_trace():
            raise NotSupportedError(f"compile: {name}.sample draws random numbers while the step is traced; the "
                                    "compiled step would reuse this one draw at every step. Draw outside the model "
                                    "(pass the sample in as data), or train eagerly")
        shape = self._extended_shape(sample_shape)
        values = draw(generator_or_default(None), *(p.detach().expand(shape).numpy() for p in params))
        return tensor(values, dtype=params[0].dtype)

    def rsample(self, sample_shape: Sequence[int] = ()) -> Tensor:
        raise NotSupportedError(f"{type(self).__name__}.rsample: symnet has no reparameterized {type(self).__name__} "
                                "sampler (PyTorch differentiates its gamma sampler implicitly, which no symnet op "
                                "does); sample() draws without gradient")


class Gamma(_EagerlySampled):
    """Gamma(concentration, rate): density rate^α·x^(α−1)·e^(−rate·x)/Γ(α) on x ≥ 0.

    ``has_rsample`` is False, unlike PyTorch's: ``rsample`` raises ``NotSupportedError``."""

    arg_constraints = {"concentration": constraints.positive, "rate": constraints.positive}
    support = constraints.nonnegative

    def __init__(self, concentration: Tensor | float, rate: Tensor | float, validate_args: bool | None = None) -> None:
        self.concentration, self.rate = broadcast_all(concentration, rate)
        super().__init__(batch_shape_of(self.rate, concentration, rate), validate_args=validate_args)

    @property
    def mean(self) -> Tensor:
        return self.concentration / self.rate

    @property
    def mode(self) -> Tensor:
        return ((self.concentration - 1) / self.rate).clamp(min=0)

    @property
    def variance(self) -> Tensor:
        return self.concentration / self.rate.pow(2)

    def sample(self, sample_shape: Sequence[int] = ()) -> Tensor:
        drawn = self._drawn(lambda rng, alpha, rate: rng.standard_gamma(alpha) / rate, self.concentration, self.rate,
                            sample_shape=sample_shape)
        return drawn.clamp(min=finfo(drawn.dtype).tiny)  # PyTorch's floor: a draw is never exactly 0

    def log_prob(self, value: Tensor | float) -> Tensor:
        value = self._checked(value if isinstance(value, Tensor) else tensor(value, dtype=self.rate.dtype))
        return (xlogy(self.concentration, self.rate) + xlogy(self.concentration - 1, value) - self.rate * value
                - self.concentration.lgamma())

    def entropy(self) -> Tensor:
        c = self.concentration
        return c - self.rate.log() + c.lgamma() + (1.0 - c) * c.digamma()


class Beta(_EagerlySampled):
    """Beta(concentration1, concentration0): density x^(α−1)(1 − x)^(β−1)/B(α, β) on [0, 1].

    ``has_rsample`` is False, unlike PyTorch's (its sampler is two gammas): ``rsample`` raises
    ``NotSupportedError``."""

    arg_constraints = {"concentration1": constraints.positive, "concentration0": constraints.positive}
    support = constraints.unit_interval

    def __init__(self, concentration1: Tensor | float, concentration0: Tensor | float,
                 validate_args: bool | None = None) -> None:
        self.concentration1, self.concentration0 = broadcast_all(concentration1, concentration0)
        super().__init__(batch_shape_of(self.concentration1, concentration1, concentration0),
                         validate_args=validate_args)

    @property
    def mean(self) -> Tensor:
        return self.concentration1 / (self.concentration1 + self.concentration0)

    @property
    def mode(self) -> Tensor:
        """(α − 1)/(α + β − 2) with each excess clamped at 0; 1 when both are below 1, as PyTorch's Dirichlet
        picks the first of two equal corners."""
        a, b = (self.concentration1 - 1).clamp(min=0), (self.concentration0 - 1).clamp(min=0)
        both_below_one = (self.concentration1 < 1) & (self.concentration0 < 1)
        return (a / (a + b)).where(~both_below_one, 1.0)

    @property
    def variance(self) -> Tensor:
        total = self.concentration1 + self.concentration0
        return self.concentration1 * self.concentration0 / (total.pow(2) * (total + 1))

    def sample(self, sample_shape: Sequence[int] = ()) -> Tensor:
        return self._drawn(lambda rng, a, b: rng.beta(a, b), self.concentration1, self.concentration0,
                           sample_shape=sample_shape)

    def log_prob(self, value: Tensor) -> Tensor:
        value = self._checked(value)
        a, b = self.concentration1, self.concentration0
        return xlogy(a - 1, value) + xlogy(b - 1, 1.0 - value) + (a + b).lgamma() - (a.lgamma() + b.lgamma())

    def entropy(self) -> Tensor:
        a, b = self.concentration1, self.concentration0
        total = a + b
        return (a.lgamma() + b.lgamma() - total.lgamma() - (2 - total) * total.digamma()
                - ((a - 1) * a.digamma() + (b - 1) * b.digamma()))


class Cauchy(_LocationScale):
    """Cauchy(loc, scale): density 1/(π·scale·(1 + ((x − loc)/scale)²)); no mean (NaN) and infinite variance, as
    PyTorch says."""

    @property
    def mean(self) -> Tensor:
        return full_like(self.loc.expand(self._extended_shape()), math.nan)

    @property
    def variance(self) -> Tensor:
        return full_like(self.loc.expand(self._extended_shape()), math.inf)

    @property
    def stddev(self) -> Tensor:
        return self.variance.sqrt()

    def rsample(self, sample_shape: Sequence[int] = ()) -> Tensor:
        u = self._noise("uniform", sample_shape, self.loc, self.scale)
        return self.loc + self.scale * (math.pi * (u - 0.5)).tan()

    def log_prob(self, value: Tensor) -> Tensor:
        value = self._checked(value)
        return -math.log(math.pi) - self.scale.log() - (((value - self.loc) / self.scale) ** 2).log1p()

    def cdf(self, value: Tensor) -> Tensor:
        value = self._checked(value)
        return ((value - self.loc) / self.scale).atan() / math.pi + 0.5

    def icdf(self, value: Tensor) -> Tensor:
        return (math.pi * (value - 0.5)).tan() * self.scale + self.loc

    def entropy(self) -> Tensor:
        return math.log(4 * math.pi) + self.scale.log()


class Gumbel(_LocationScale):
    """Gumbel(loc, scale): density e^(−(z + e^(−z)))/scale with z = (x − loc)/scale."""

    @property
    def mean(self) -> Tensor:
        return self.loc + self.scale * _EULER_GAMMA

    @property
    def stddev(self) -> Tensor:
        return (math.pi / math.sqrt(6)) * self.scale

    @property
    def variance(self) -> Tensor:
        return self.stddev.pow(2)

    def rsample(self, sample_shape: Sequence[int] = ()) -> Tensor:
        u = self._noise("uniform", sample_shape, self.loc, self.scale)
        u = u.clamp(min=finfo(u.dtype).tiny, max=1 - finfo(u.dtype).eps)  # PyTorch's Uniform(tiny, 1 − eps)
        return self.loc - self.scale * (-u.log()).log()

    def log_prob(self, value: Tensor) -> Tensor:
        value = self._checked(value)
        y = (self.loc - value) / self.scale
        return (y - y.exp()) - self.scale.log()

    def cdf(self, value: Tensor) -> Tensor:
        value = self._checked(value)
        return (-(-(value - self.loc) / self.scale).exp()).exp()

    def icdf(self, value: Tensor) -> Tensor:
        return self.loc - self.scale * (-value.log()).log()

    def entropy(self) -> Tensor:
        return self.scale.log() + (1 + _EULER_GAMMA)


class HalfNormal(Distribution):
    """|N(0, scale²)|: twice the normal density on x ≥ 0 (−inf below)."""

    arg_constraints = {"scale": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True

    def __init__(self, scale: Tensor | float, validate_args: bool | None = None) -> None:
        (self.scale,) = broadcast_all(scale)
        self._normal = Normal(zeros_like(self.scale), self.scale, validate_args=False)
        super().__init__(batch_shape_of(self.scale, scale), validate_args=validate_args)

    @property
    def mean(self) -> Tensor:
        return self.scale * math.sqrt(2 / math.pi)

    @property
    def mode(self) -> Tensor:
        return zeros_like(self.scale)

    @property
    def variance(self) -> Tensor:
        return self.scale.pow(2) * (1 - 2 / math.pi)

    def rsample(self, sample_shape: Sequence[int] = ()) -> Tensor:
        return self._normal.rsample(sample_shape).abs()

    def log_prob(self, value: Tensor) -> Tensor:
        value = self._checked(value)
        return (self._normal.log_prob(value) + math.log(2)).where(value >= 0, -math.inf)

    def cdf(self, value: Tensor) -> Tensor:
        value = self._checked(value)
        return 2 * self._normal.cdf(value) - 1

    def icdf(self, value: Tensor) -> Tensor:
        return self._normal.icdf((value + 1) / 2)

    def entropy(self) -> Tensor:
        return self._normal.entropy() - math.log(2)


class LogNormal(Distribution):
    """exp(N(loc, scale²)): the normal density of log x over x, on x > 0."""

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.positive
    has_rsample = True

    def __init__(self, loc: Tensor | float, scale: Tensor | float, validate_args: bool | None = None) -> None:
        self.loc, self.scale = broadcast_all(loc, scale)
        self._normal = Normal(self.loc, self.scale, validate_args=False)
        super().__init__(batch_shape_of(self.loc, loc, scale), validate_args=validate_args)

    @property
    def mean(self) -> Tensor:
        return (self.loc + self.scale.pow(2) / 2).exp()

    @property
    def mode(self) -> Tensor:
        return (self.loc - self.scale.square()).exp()

    @property
    def variance(self) -> Tensor:
        square = self.scale.pow(2)
        return square.expm1() * (2 * self.loc + square).exp()

    def rsample(self, sample_shape: Sequence[int] = ()) -> Tensor:
        return self._normal.rsample(sample_shape).exp()

    def log_prob(self, value: Tensor) -> Tensor:
        value = self._checked(value)
        x = value.log()
        return self._normal.log_prob(x) - x

    def cdf(self, value: Tensor) -> Tensor:
        value = self._checked(value)
        return self._normal.cdf(value.log())

    def icdf(self, value: Tensor) -> Tensor:
        return self._normal.icdf(value).exp()

    def entropy(self) -> Tensor:
        return self._normal.entropy() + self.loc


class Chi2(Gamma):
    """χ²(df): Gamma(df/2, 1/2)."""

    arg_constraints = {"df": constraints.positive}

    def __init__(self, df: Tensor | float, validate_args: bool | None = None) -> None:
        super().__init__(0.5 * df, 0.5, validate_args=validate_args)

    @property
    def df(self) -> Tensor:
        return self.concentration * 2
