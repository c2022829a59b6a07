"""Continuous laws on the real line: ``Normal``, ``Uniform``, ``Exponential``, ``Laplace``, ``Gamma``, ``Beta``,
``Cauchy``, ``Gumbel``, ``HalfNormal``, ``LogNormal``, ``Chi2``, ``StudentT``, ``Weibull``, ``Pareto``,
``HalfCauchy``, ``InverseGamma``, ``Kumaraswamy``, each with PyTorch's formulas (so float64 agrees with it to
rounding) and PyTorch's constraints. Where PyTorch builds a law as a ``TransformedDistribution`` (Weibull, Pareto,
HalfCauchy, InverseGamma, Kumaraswamy), its density, cdf and icdf are written out here in closed form.

The reparameterized samplers are maps of ``randn_like``/``rand_like`` noise, so gradients flow to the parameters
and a compiled step draws anew at every step. Gamma, Beta and the laws built on a gamma draw (StudentT,
InverseGamma) are sampled eagerly from the default generator only: PyTorch differentiates its gamma sampler
implicitly, which symnet has no op for.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from ..errors import NotSupportedError
from ..frontend.autograd import no_grad
from ..frontend.creation import full_like, tensor, zeros_like
from ..frontend.pointwise import xlogy
from ..frontend.tensor import Tensor
from ..frontend.utilities import finfo
from . import constraints
from .distribution import Distribution, batch_shape_of, broadcast_all

__all__ = ["Beta", "Cauchy", "Chi2", "Exponential", "Gamma", "Gumbel", "HalfCauchy", "HalfNormal", "InverseGamma",
           "Kumaraswamy", "Laplace", "LogNormal", "Normal", "Pareto", "StudentT", "Uniform", "Weibull"]

#: the Euler–Mascheroni constant (the Gumbel law's mean offset)
_EULER_GAMMA = 0.57721566490153286060


def _unit_noise_below_one(u: Tensor) -> Tensor:
    """Uniform noise kept below 1 by an ulp, so ``log1p(-u)`` is finite for every draw."""
    return u.clamp(max=1 - finfo(u.dtype).eps)


def _exponential_noise(dist: Distribution, sample_shape: Sequence[int], *params: Tensor) -> Tensor:
    """Exp(1) noise −log(1 − u) of ``dist``'s sample shape (finite for every draw), for the laws that map it."""
    return -(-_unit_noise_below_one(dist._noise("uniform", sample_shape, *params))).log1p()


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
        return _exponential_noise(self, sample_shape, self.rate) / self.rate

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
    """A law whose PyTorch sampler draws a gamma variate: symnet samples it with NumPy's sampler on the default
    generator (``Distribution._drawn``), eagerly and without gradient, and refuses ``rsample``."""

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


class _Folded(Distribution):
    """|X| for X of a law symmetric about 0 with the same ``scale`` (HalfNormal, HalfCauchy): twice its density on
    x ≥ 0 (−inf below), 2·F(x) − 1, its entropy less log 2 and its reparameterized draws folded."""

    arg_constraints = {"scale": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True
    #: the law folded, made from (loc, scale)
    _unfolded: type[_LocationScale]

    def __init__(self, scale: Tensor | float, validate_args: bool | None = None) -> None:
        (self.scale,) = broadcast_all(scale)
        super().__init__(batch_shape_of(self.scale, scale), validate_args=validate_args)

    @property
    def _base(self) -> _LocationScale:
        """The law folded, made from the current (perhaps expanded) scale."""
        return self._unfolded(zeros_like(self.scale), self.scale, validate_args=False)

    @property
    def mode(self) -> Tensor:
        return zeros_like(self.scale)

    def rsample(self, sample_shape: Sequence[int] = ()) -> Tensor:
        return self._base.rsample(sample_shape).abs()

    def log_prob(self, value: Tensor) -> Tensor:
        value = self._checked(value)
        return (self._base.log_prob(value) + math.log(2)).where(value >= 0, -math.inf)

    def cdf(self, value: Tensor) -> Tensor:
        value = self._checked(value)
        return 2 * self._base.cdf(value) - 1

    def icdf(self, value: Tensor) -> Tensor:
        return self._base.icdf((value + 1) / 2)

    def entropy(self) -> Tensor:
        return self._base.entropy() - math.log(2)


class HalfNormal(_Folded):
    """|N(0, scale²)|: twice the normal density on x ≥ 0 (−inf below)."""

    _unfolded = Normal

    @property
    def mean(self) -> Tensor:
        return self.scale * math.sqrt(2 / math.pi)

    @property
    def variance(self) -> Tensor:
        return self.scale.pow(2) * (1 - 2 / math.pi)


class HalfCauchy(_Folded):
    """|Cauchy(0, scale)|: twice the Cauchy density on x ≥ 0; an infinite mean and variance, as PyTorch says.

    >>> import symnet as sn
    >>> sn.distributions.HalfCauchy(1.0).cdf(sn.tensor(1.0))
    tensor(0.5000)
    """

    _unfolded = Cauchy

    @property
    def mean(self) -> Tensor:
        return full_like(self.scale.expand(self._extended_shape()), math.inf)

    @property
    def variance(self) -> Tensor:
        return self._base.variance


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


class StudentT(_EagerlySampled):
    """Student's t(df) moved to ``loc`` and scaled by ``scale``: density ∝ (1 + ((x − loc)/scale)²/df)^(−(df + 1)/2).
    Its mean is NaN for df ≤ 1; its variance NaN for df ≤ 1 and infinite for 1 < df ≤ 2, as PyTorch says.

    ``has_rsample`` is False, unlike PyTorch's (its sampler divides by a χ² draw): ``rsample`` raises
    ``NotSupportedError``.

    >>> import symnet as sn
    >>> sn.distributions.StudentT(1.0).log_prob(sn.tensor(0.0))  # df = 1: the standard Cauchy law
    tensor(-1.1447)
    """

    arg_constraints = {"df": constraints.positive, "loc": constraints.real, "scale": constraints.positive}
    support = constraints.real

    def __init__(self, df: Tensor | float, loc: Tensor | float = 0.0, scale: Tensor | float = 1.0,
                 validate_args: bool | None = None) -> None:
        self.df, self.loc, self.scale = broadcast_all(df, loc, scale)
        super().__init__(batch_shape_of(self.df, df, loc, scale), validate_args=validate_args)

    @property
    def mean(self) -> Tensor:
        return self.loc.where(self.df > 1, math.nan)

    @property
    def mode(self) -> Tensor:
        return self.loc

    @property
    def variance(self) -> Tensor:
        finite = self.scale.pow(2) * self.df / (self.df - 2)
        return finite.where(self.df > 2, full_like(self.df, math.inf).where(self.df > 1, math.nan))

    def sample(self, sample_shape: Sequence[int] = ()) -> Tensor:
        """loc + scale·t for t of NumPy's ``standard_t``: a normal draw over √(χ²_df/df), PyTorch's construction."""
        t = self._drawn(lambda rng, df: rng.standard_t(df), self.df, sample_shape=sample_shape)
        with no_grad():
            return self.loc + self.scale * t

    def log_prob(self, value: Tensor) -> Tensor:
        value = self._checked(value)
        df, y = self.df, (value - self.loc) / self.scale
        log_normalizer = (self.scale.log() + 0.5 * df.log() + 0.5 * math.log(math.pi) + (0.5 * df).lgamma()
                          - (0.5 * (df + 1)).lgamma())
        return -0.5 * (df + 1) * (y.pow(2) / df).log1p() - log_normalizer

    def entropy(self) -> Tensor:
        df = self.df
        log_beta = (0.5 * df).lgamma() + math.lgamma(0.5) - (0.5 * (df + 1)).lgamma()
        return (self.scale.log() + 0.5 * (df + 1) * ((0.5 * (df + 1)).digamma() - (0.5 * df).digamma())
                + 0.5 * df.log() + log_beta)


class Weibull(Distribution):
    """Weibull(scale, concentration): scale·E^(1/k) for E ~ Exp(1) and k the concentration; density
    (k/scale)·z^(k−1)·e^(−z^k) with z = x/scale, on x > 0."""

    arg_constraints = {"scale": constraints.positive, "concentration": constraints.positive}
    support = constraints.positive
    has_rsample = True

    def __init__(self, scale: Tensor | float, concentration: Tensor | float,
                 validate_args: bool | None = None) -> None:
        self.scale, self.concentration = broadcast_all(scale, concentration)
        super().__init__(batch_shape_of(self.scale, scale, concentration), validate_args=validate_args)

    @property
    def mean(self) -> Tensor:
        return self.scale * (1 + self.concentration.reciprocal()).lgamma().exp()

    @property
    def mode(self) -> Tensor:
        k = self.concentration
        return self.scale * ((k - 1) / k).pow(k.reciprocal())

    @property
    def variance(self) -> Tensor:
        k_inv = self.concentration.reciprocal()
        return self.scale.pow(2) * ((1 + 2 * k_inv).lgamma().exp() - (2 * (1 + k_inv).lgamma()).exp())

    def rsample(self, sample_shape: Sequence[int] = ()) -> Tensor:
        noise = _exponential_noise(self, sample_shape, self.scale, self.concentration)
        return self.scale * noise.pow(self.concentration.reciprocal())

    def log_prob(self, value: Tensor) -> Tensor:
        value = self._checked(value)
        k, z = self.concentration, value / self.scale
        return (k / self.scale).log() + (k - 1) * z.log() - z.pow(k)

    def cdf(self, value: Tensor) -> Tensor:
        value = self._checked(value)
        return -(-(value / self.scale).pow(self.concentration)).expm1()

    def icdf(self, value: Tensor) -> Tensor:
        return self.scale * (-(-value).log1p()).pow(self.concentration.reciprocal())

    def entropy(self) -> Tensor:
        k_inv = self.concentration.reciprocal()
        return _EULER_GAMMA * (1 - k_inv) + (self.scale * k_inv).log() + 1


class Pareto(Distribution):
    """Pareto type I (scale, alpha): scale·e^(E/alpha) for E ~ Exp(1); density alpha·scale^alpha/x^(alpha+1) on
    x ≥ scale. The mean is infinite for alpha ≤ 1, the variance for alpha ≤ 2, as PyTorch says."""

    arg_constraints = {"alpha": constraints.positive, "scale": constraints.positive}
    has_rsample = True

    def __init__(self, scale: Tensor | float, alpha: Tensor | float, validate_args: bool | None = None) -> None:
        self.scale, self.alpha = broadcast_all(scale, alpha)
        super().__init__(batch_shape_of(self.scale, scale, alpha), validate_args=validate_args)

    @property
    def support(self) -> constraints.Constraint:
        return constraints.greater_than_eq(self.scale)

    @property
    def mean(self) -> Tensor:
        a = self.alpha.clamp(min=1)  # a/(a − 1) is +inf at the clamp
        return a * self.scale / (a - 1)

    @property
    def mode(self) -> Tensor:
        return self.scale

    @property
    def variance(self) -> Tensor:
        a = self.alpha.clamp(min=2)
        return self.scale.pow(2) * a / ((a - 1).pow(2) * (a - 2))

    def rsample(self, sample_shape: Sequence[int] = ()) -> Tensor:
        return self.scale * (_exponential_noise(self, sample_shape, self.scale, self.alpha) / self.alpha).exp()

    def log_prob(self, value: Tensor) -> Tensor:
        value = self._checked(value)
        return (self.alpha / self.scale).log() - (self.alpha + 1) * (value / self.scale).log()

    def cdf(self, value: Tensor) -> Tensor:
        value = self._checked(value)
        return -(-self.alpha * (value / self.scale).log()).expm1()

    def icdf(self, value: Tensor) -> Tensor:
        return self.scale * (-(-value).log1p() / self.alpha).exp()

    def entropy(self) -> Tensor:
        return (self.scale / self.alpha).log() + (1 + self.alpha.reciprocal())


class InverseGamma(_EagerlySampled):
    """1/X for X ~ Gamma(concentration, rate): the gamma density at 1/x over x², on x > 0. The mean is infinite for
    concentration ≤ 1, the variance for concentration ≤ 2, as PyTorch says.

    ``has_rsample`` is False, unlike PyTorch's (a gamma draw inverted): ``rsample`` raises ``NotSupportedError``;
    ``cdf`` needs Gamma's, which symnet lacks."""

    arg_constraints = {"concentration": constraints.positive, "rate": constraints.positive}
    support = constraints.positive

    def __init__(self, concentration: Tensor | float, rate: Tensor | float, validate_args: bool | None = None) -> None:
        self.concentration, self.rate = broadcast_all(concentration, rate)
        super().__init__(batch_shape_of(self.rate, concentration, rate), validate_args=validate_args)

    @property
    def _gamma(self) -> Gamma:
        """The law inverted, made from the current (perhaps expanded) parameters."""
        return Gamma(self.concentration, self.rate, validate_args=False)

    @property
    def mean(self) -> Tensor:
        return (self.rate / (self.concentration - 1)).where(self.concentration > 1, math.inf)

    @property
    def mode(self) -> Tensor:
        return self.rate / (self.concentration + 1)

    @property
    def variance(self) -> Tensor:
        c = self.concentration
        return (self.rate.square() / ((c - 1).square() * (c - 2))).where(c > 2, math.inf)

    def sample(self, sample_shape: Sequence[int] = ()) -> Tensor:
        return self._gamma.sample(sample_shape).reciprocal()

    def log_prob(self, value: Tensor) -> Tensor:
        value = self._checked(value)
        return self._gamma.log_prob(value.reciprocal()) - 2 * value.log()

    def entropy(self) -> Tensor:
        c = self.concentration
        return c + self.rate.log() + c.lgamma() - (1 + c) * c.digamma()


class Kumaraswamy(Distribution):
    """Kumaraswamy(concentration1 a, concentration0 b): (1 − U^(1/b))^(1/a) for U ~ U[0, 1); density
    a·b·x^(a−1)·(1 − x^a)^(b−1) on [0, 1].

    ``mode`` is NaN, as PyTorch 2.13's: its formula takes log1p(−b), NaN for b > 1, and masks b < 1 and a < 1, so it
    is NaN for every parameter (the true mode is ((a − 1)/(ab − 1))^(1/a) for a, b ≥ 1)."""

    arg_constraints = {"concentration1": constraints.positive, "concentration0": constraints.positive}
    support = constraints.unit_interval
    has_rsample = True

    def __init__(self, concentration1: Tensor | float, concentration0: Tensor | float,
                 validate_args: bool | None = None) -> None:
        self.concentration1, self.concentration0 = broadcast_all(concentration1, concentration0)
        super().__init__(batch_shape_of(self.concentration1, concentration1, concentration0),
                         validate_args=validate_args)

    def _moment(self, n: int) -> Tensor:
        """E[Xⁿ] = b·B(1 + n/a, b)."""
        a, b = self.concentration1, self.concentration0
        shifted = 1 + n / a
        return b * (shifted.lgamma() + b.lgamma() - (shifted + b).lgamma()).exp()

    @property
    def mean(self) -> Tensor:
        return self._moment(1)

    @property
    def mode(self) -> Tensor:
        return full_like(self.concentration1, math.nan)

    @property
    def variance(self) -> Tensor:
        return self._moment(2) - self.mean.pow(2)

    def rsample(self, sample_shape: Sequence[int] = ()) -> Tensor:
        a, b = self.concentration1, self.concentration0
        u = self._noise("uniform", sample_shape, a, b)
        return (1 - u.pow(b.reciprocal())).pow(a.reciprocal())

    def log_prob(self, value: Tensor) -> Tensor:
        value = self._checked(value)
        a, b = self.concentration1, self.concentration0
        return (a * b).log() + (a - 1) * value.log() + (b - 1) * (-value.pow(a)).log1p()

    def cdf(self, value: Tensor) -> Tensor:
        value = self._checked(value)
        return -(self.concentration0 * (-value.pow(self.concentration1)).log1p()).expm1()

    def icdf(self, value: Tensor) -> Tensor:
        inner = -((-value).log1p() / self.concentration0).expm1()
        return inner.pow(self.concentration1.reciprocal())

    def entropy(self) -> Tensor:
        a, b = self.concentration1, self.concentration0
        harmonic = (b + 1).digamma() + _EULER_GAMMA
        return (1 - b.reciprocal()) + (1 - a.reciprocal()) * harmonic - a.log() - b.log()
