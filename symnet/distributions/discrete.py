"""Discrete laws: ``Bernoulli``, ``Binomial``, ``Categorical``, ``OneHotCategorical``, ``Poisson``, ``Geometric``,
with PyTorch's formulas.

Bernoulli, Binomial, Geometric and Categorical take probabilities or logits; the other is derived on first read, as
PyTorch derives it: logits from clamped probabilities, probabilities by sigmoid/softmax. Scores from logits are
stable for any finite logit (``log_prob`` is −binary_cross_entropy_with_logits, categorical logits are log-softmax
normalized).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import cached_property

import numpy as np

from ..frontend.autograd import no_grad
from ..frontend.creation import arange, full, zeros_like
from ..frontend.sampling import poisson
from ..frontend.shaping import broadcast_tensors, one_hot
from ..frontend.tensor import Tensor
from ..frontend.utilities import finfo
from ..nn.functional import binary_cross_entropy_with_logits
from . import constraints
from .distribution import Distribution, batch_shape_of, broadcast_all

__all__ = ["Bernoulli", "Binomial", "Categorical", "Geometric", "OneHotCategorical", "Poisson"]


def _clamp_probs(probs: Tensor) -> Tensor:
    """Probabilities kept an epsilon inside (0, 1), so their logits are finite (PyTorch's ``clamp_probs``)."""
    eps = finfo(probs.dtype).eps
    return probs.clamp(min=eps, max=1 - eps)


def _one_of(probs, logits) -> tuple[str, Tensor | float]:
    if (probs is None) == (logits is None):
        raise ValueError("Either `probs` or `logits` must be specified, but not both.")
    return ("probs", probs) if probs is not None else ("logits", logits)


class _SuccessProbability(Distribution):
    """A law of trials that succeed with probability ``probs`` (or sigmoid(``logits``)): the parameter given, the
    other derived on first read."""

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}

    def __init__(self, probs: Tensor | float | None = None, logits: Tensor | float | None = None,
                 validate_args: bool | None = None) -> None:
        (param,) = self._keep_given(probs, logits)
        super().__init__(param.shape, validate_args=validate_args)

    def _keep_given(self, probs, logits, *others: Tensor | float) -> tuple[Tensor, ...]:
        """Keeps whichever of ``probs``/``logits`` is given (the other is derived on first read), broadcast with
        ``others``; returns it, then the others."""
        self._given, given = _one_of(probs, logits)
        *others, param = broadcast_all(*others, given)
        self.__dict__[self._given] = param
        return param, *others

    @cached_property
    def logits(self) -> Tensor:
        p = _clamp_probs(self.probs)
        return p.log() - (-p).log1p()

    @cached_property
    def probs(self) -> Tensor:
        return self.logits.sigmoid()

    @property
    def param_shape(self) -> tuple[int, ...]:
        return getattr(self, self._given).shape


class Bernoulli(_SuccessProbability):
    """1 with probability ``probs`` (or sigmoid(``logits``)), else 0.

    >>> import symnet as sn
    >>> sn.distributions.Bernoulli(logits=sn.tensor([0.0])).entropy()
    tensor([0.6931])
    """

    support = constraints.boolean

    @property
    def mean(self) -> Tensor:
        return self.probs

    @property
    def mode(self) -> Tensor:
        return (self.probs >= 0.5).to(self.probs.dtype).where(self.probs != 0.5, math.nan)

    @property
    def variance(self) -> Tensor:
        return self.probs * (1 - self.probs)

    def sample(self, sample_shape: Sequence[int] = ()) -> Tensor:
        """Draws of 0 and 1 as ``[u < p]`` for uniform noise u (drawn per step in a compiled step)."""
        with no_grad():
            return (self._noise("uniform", sample_shape, self.probs) < self.probs).to(self.probs.dtype)

    def log_prob(self, value: Tensor) -> Tensor:
        logits, value = broadcast_all(self.logits, self._checked(value))
        return -binary_cross_entropy_with_logits(logits, value, reduction="none")

    def entropy(self) -> Tensor:
        return binary_cross_entropy_with_logits(self.logits, self.probs, reduction="none")


class Binomial(_SuccessProbability):
    """The number of successes in ``total_count`` trials that each succeed with probability ``probs`` (or
    sigmoid(``logits``)): P(k) = C(n, k)·p^k·(1 − p)^(n−k) on k = 0 … n.

    >>> import symnet as sn
    >>> sn.distributions.Binomial(4, probs=sn.tensor([0.5])).log_prob(sn.tensor([2.0])).exp()
    tensor([0.3750])
    """

    arg_constraints = {"total_count": constraints.nonnegative_integer, "probs": constraints.unit_interval,
                       "logits": constraints.real}
    has_enumerate_support = True

    def __init__(self, total_count: Tensor | int = 1, probs: Tensor | float | None = None,
                 logits: Tensor | float | None = None, validate_args: bool | None = None) -> None:
        param, total_count = self._keep_given(probs, logits, total_count)
        self.total_count = total_count.type_as(param)
        Distribution.__init__(self, param.shape, validate_args=validate_args)

    @property
    def support(self) -> constraints.Constraint:
        return constraints.integer_interval(0, self.total_count)

    @property
    def mean(self) -> Tensor:
        return self.total_count * self.probs

    @property
    def mode(self) -> Tensor:
        return ((self.total_count + 1) * self.probs).floor().clamp(max=self.total_count)

    @property
    def variance(self) -> Tensor:
        return self.total_count * self.probs * (1 - self.probs)

    def sample(self, sample_shape: Sequence[int] = ()) -> Tensor:
        """Counts (in the parameters' float dtype) of NumPy's binomial sampler: eagerly only."""
        return self._drawn(lambda rng, n, p: rng.binomial(n.astype(np.int64), p), self.total_count, self.probs,
                           sample_shape=sample_shape)

    def log_prob(self, value: Tensor) -> Tensor:
        value = self._checked(value)
        n, logits = self.total_count, self.logits
        log_choose = (n + 1).lgamma() - (value + 1).lgamma() - (n - value + 1).lgamma()
        # n·log(1 + e^logits), with no threshold shortcut, as PyTorch's normalizer
        return log_choose + value * logits - n * logits.softplus(threshold=math.inf)

    def entropy(self) -> Tensor:
        """−Σₖ P(k)·log P(k) over k = 0 … n, as PyTorch: only for one total_count across the batch."""
        self._homogeneous_total_count("entropy")
        log_pmf = self.log_prob(self.enumerate_support(expand=False))
        return -(log_pmf.exp() * log_pmf).sum(0)

    def enumerate_support(self, expand: bool = True) -> Tensor:
        """The values 0 … n along a new first dim (of size 1 per batch dim unless ``expand``)."""
        n = self._homogeneous_total_count("enumerate_support")
        values = arange(n + 1, dtype=self.probs.dtype).reshape(-1, *[1] * len(self.batch_shape))
        return values.expand(-1, *self.batch_shape) if expand else values

    def _homogeneous_total_count(self, method: str) -> int:
        n = int(self.total_count.max().item())
        if self.total_count.min().item() != n:
            raise NotImplementedError(f"Inhomogeneous total count not supported by `{method}`.")
        return n


class Categorical(Distribution):
    """One of the categories 0 … K − 1 of the last dimension, with probabilities ``probs`` (normalized to sum
    to 1) or softmax(``logits``); ``probs``/``logits`` read back normalized, as in PyTorch.

    >>> import symnet as sn
    >>> sn.distributions.Categorical(probs=sn.tensor([1.0, 3.0])).probs
    tensor([0.2500, 0.7500])
    """

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}

    def __init__(self, probs: Tensor | None = None, logits: Tensor | None = None,
                 validate_args: bool | None = None) -> None:
        self._given, given = _one_of(probs, logits)
        if given.dim() < 1:
            raise ValueError(f"`{self._given}` parameter must be at least one-dimensional.")
        self.__dict__[self._given] = (given / given.sum(-1, keepdim=True) if probs is not None
                                      else given - given.logsumexp(dim=-1, keepdim=True))
        self._num_events = given.shape[-1]
        super().__init__(given.shape[:-1], validate_args=validate_args)

    @cached_property
    def logits(self) -> Tensor:
        return _clamp_probs(self.probs).log()

    @cached_property
    def probs(self) -> Tensor:
        return self.logits.softmax(-1)

    @property
    def param_shape(self) -> tuple[int, ...]:
        return getattr(self, self._given).shape

    @property
    def support(self) -> constraints.Constraint:
        return constraints.integer_interval(0, self._num_events - 1)

    @property
    def mean(self) -> Tensor:
        return full(self._extended_shape(), math.nan, dtype=self.probs.dtype)

    @property
    def mode(self) -> Tensor:
        return self.probs.argmax(dim=-1)

    @property
    def variance(self) -> Tensor:
        return full(self._extended_shape(), math.nan, dtype=self.probs.dtype)

    def sample(self, sample_shape: Sequence[int] = ()) -> Tensor:
        """Category indices (int64) drawn with ``multinomial``: eagerly only."""
        draws = math.prod(sample_shape)
        with no_grad():
            rows = self.probs.reshape(-1, self._num_events).multinomial(draws, True)
        return rows.T.reshape(*self._extended_shape(sample_shape))

    def log_prob(self, value: Tensor) -> Tensor:
        value, log_pmf = broadcast_tensors(self._checked(value).long().unsqueeze(-1), self.logits)
        return log_pmf.gather(-1, value[..., :1]).squeeze(-1)

    def entropy(self) -> Tensor:
        logits = self.logits.clamp(min=finfo(self.logits.dtype).min)  # −inf·0 would be NaN
        return -(logits * self.probs).sum(-1)


class OneHotCategorical(Distribution):
    """``Categorical`` with each sample a one-hot vector of the K categories (event shape (K,))."""

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}
    support = constraints.one_hot

    def __init__(self, probs: Tensor | None = None, logits: Tensor | None = None,
                 validate_args: bool | None = None) -> None:
        self._categorical = Categorical(probs, logits)
        super().__init__(self._categorical.batch_shape, self._categorical.param_shape[-1:],
                         validate_args=validate_args)

    def expand(self, batch_shape: Sequence[int]) -> OneHotCategorical:
        new = super().expand(batch_shape)
        new._categorical = self._categorical.expand(batch_shape)
        return new

    @property
    def probs(self) -> Tensor:
        return self._categorical.probs

    @property
    def logits(self) -> Tensor:
        return self._categorical.logits

    @property
    def param_shape(self) -> tuple[int, ...]:
        return self._categorical.param_shape

    @property
    def mean(self) -> Tensor:
        return self.probs

    @property
    def mode(self) -> Tensor:
        return one_hot(self.probs.argmax(dim=-1), self.probs.shape[-1]).to(self.probs.dtype)

    @property
    def variance(self) -> Tensor:
        return self.probs * (1 - self.probs)

    def sample(self, sample_shape: Sequence[int] = ()) -> Tensor:
        return one_hot(self._categorical.sample(sample_shape), self.event_shape[0]).to(self.probs.dtype)

    def log_prob(self, value: Tensor) -> Tensor:
        return self._categorical.log_prob(self._checked(value).max(-1)[1])

    def entropy(self) -> Tensor:
        return self._categorical.entropy()


class Poisson(Distribution):
    """Poisson(rate): P(k) = rate^k·e^(−rate)/k! on k = 0, 1, …"""

    arg_constraints = {"rate": constraints.nonnegative}
    support = constraints.nonnegative_integer

    def __init__(self, rate: Tensor | float, validate_args: bool | None = None) -> None:
        (self.rate,) = broadcast_all(rate)
        super().__init__(batch_shape_of(self.rate, rate), validate_args=validate_args)

    @property
    def mean(self) -> Tensor:
        return self.rate

    @property
    def mode(self) -> Tensor:
        return self.rate.floor()

    @property
    def variance(self) -> Tensor:
        return self.rate

    def sample(self, sample_shape: Sequence[int] = ()) -> Tensor:
        """Counts (in the rate's float dtype) drawn with ``poisson``: eagerly only."""
        with no_grad():
            return poisson(self.rate.expand(*self._extended_shape(sample_shape)))

    def log_prob(self, value: Tensor) -> Tensor:
        rate, value = broadcast_all(self.rate, self._checked(value))
        return value.xlogy(rate) - rate - (value + 1).lgamma()


class Geometric(_SuccessProbability):
    """The number of failures before the first success of trials with success probability ``probs`` (or
    sigmoid(``logits``)): P(k) = (1 − p)^k·p."""

    support = constraints.nonnegative_integer

    def __init__(self, probs: Tensor | float | None = None, logits: Tensor | float | None = None,
                 validate_args: bool | None = None) -> None:
        super().__init__(probs, logits, validate_args)
        if self._validate_args and self._given == "probs" and not bool((self.probs > 0).all()):
            raise ValueError(f"Expected parameter probs of Geometric to be positive (a success has to be "
                             f"possible), but found {self.probs}")

    @property
    def mean(self) -> Tensor:
        return 1.0 / self.probs - 1.0

    @property
    def mode(self) -> Tensor:
        return zeros_like(self.probs)

    @property
    def variance(self) -> Tensor:
        return (1.0 / self.probs - 1.0) / self.probs

    def sample(self, sample_shape: Sequence[int] = ()) -> Tensor:
        """⌊log u / log(1 − p)⌋ for uniform noise u in (tiny, 1), as PyTorch draws it."""
        with no_grad():
            u = self._noise("uniform", sample_shape, self.probs).clamp(min=finfo(self.probs.dtype).tiny)
            return (u.log() / (-self.probs).log1p()).floor()

    def log_prob(self, value: Tensor) -> Tensor:
        value, probs = broadcast_all(self._checked(value), self.probs)
        # a certain success at k = 0 scores 0, not 0·log(0) = NaN (PyTorch's special case)
        probs = probs.where(~((probs == 1) & (value == 0)), 0.0)
        return value * (-probs).log1p() + self.probs.log()

    def entropy(self) -> Tensor:
        return binary_cross_entropy_with_logits(self.logits, self.probs, reduction="none") / self.probs
