"""The sets parameters and values must lie in (``torch.distributions.constraints``, the ones the distributions
here use): ``check(value)`` is a bool tensor, one entry per event (``event_dim`` rightmost dims are one event).

>>> import symnet as sn
>>> sn.distributions.constraints.positive.check(sn.tensor([1.0, 0.0]))
tensor([ True, False])
"""

from __future__ import annotations

from ..frontend.tensor import Tensor

__all__ = ["Constraint", "boolean", "dependent", "greater_than", "greater_than_eq", "independent", "integer_interval",
           "interval", "less_than", "nonnegative", "nonnegative_integer", "one_hot", "positive", "real", "real_vector",
           "simplex", "unit_interval"]


class Constraint:
    """A set of values: ``check`` says which of a tensor's events lie in it."""

    is_discrete = False
    event_dim = 0

    def check(self, value: Tensor) -> Tensor:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__.lstrip('_')}()"


class _Dependent(Constraint):
    """A constraint that depends on other parameters: never checked (PyTorch's ``dependent``)."""

    def check(self, value: Tensor) -> Tensor:
        raise ValueError("Cannot determine validity of dependent constraint")


class _Real(Constraint):
    def check(self, value: Tensor) -> Tensor:
        return value == value  # False for NaN only


class _Boolean(Constraint):
    is_discrete = True

    def check(self, value: Tensor) -> Tensor:
        return (value == 0) | (value == 1)


class _Bounded(Constraint):
    """``lower_bound ≤ x`` / ``< x`` and ``x ≤ upper_bound`` / ``< upper_bound``, each bound a number, a tensor or
    absent (None); ``integer`` adds x ∈ ℤ."""

    def __init__(self, name: str, lower_bound=None, upper_bound=None, strict_lower: bool = False,
                 strict_upper: bool = False, integer: bool = False):
        self._name, self.lower_bound, self.upper_bound = name, lower_bound, upper_bound
        self._strict = (strict_lower, strict_upper)
        self.is_discrete = integer

    def check(self, value: Tensor) -> Tensor:
        ok = value == value
        if self.lower_bound is not None:
            ok = ok & (value > self.lower_bound if self._strict[0] else value >= self.lower_bound)
        if self.upper_bound is not None:
            ok = ok & (value < self.upper_bound if self._strict[1] else value <= self.upper_bound)
        if self.is_discrete:
            ok = ok & (value % 1 == 0)
        return ok

    def __repr__(self) -> str:
        bounds = [f"{k}={v}" for k, v in (("lower_bound", self.lower_bound), ("upper_bound", self.upper_bound))
                  if v is not None]
        return f"{self._name}({', '.join(bounds)})"


class _Simplex(Constraint):
    event_dim = 1

    def check(self, value: Tensor) -> Tensor:
        return (value >= 0).all(-1) & ((value.sum(-1) - 1).abs() < 1e-6)


class _OneHot(Constraint):
    is_discrete = True
    event_dim = 1

    def check(self, value: Tensor) -> Tensor:
        return ((value == 0) | (value == 1)).all(-1) & (value.sum(-1) == 1)


class _Independent(Constraint):
    """``base`` with its ``reinterpreted_batch_ndims`` rightmost dims more taken as one event."""

    def __init__(self, base: Constraint, reinterpreted_batch_ndims: int):
        self.base, self.reinterpreted_batch_ndims = base, reinterpreted_batch_ndims
        self.is_discrete, self.event_dim = base.is_discrete, base.event_dim + reinterpreted_batch_ndims

    def check(self, value: Tensor) -> Tensor:
        ok = self.base.check(value)
        for _ in range(self.reinterpreted_batch_ndims):
            ok = ok.all(-1)
        return ok

    def __repr__(self) -> str:
        return f"IndependentConstraint({self.base!r}, {self.reinterpreted_batch_ndims})"


def greater_than(lower_bound) -> Constraint:
    return _Bounded("GreaterThan", lower_bound, strict_lower=True)


def greater_than_eq(lower_bound) -> Constraint:
    return _Bounded("GreaterThanEq", lower_bound)


def less_than(upper_bound) -> Constraint:
    return _Bounded("LessThan", upper_bound=upper_bound, strict_upper=True)


def interval(lower_bound, upper_bound) -> Constraint:
    return _Bounded("Interval", lower_bound, upper_bound)


def integer_interval(lower_bound, upper_bound) -> Constraint:
    return _Bounded("IntegerInterval", lower_bound, upper_bound, integer=True)


def independent(base: Constraint, reinterpreted_batch_ndims: int) -> Constraint:
    return _Independent(base, reinterpreted_batch_ndims)


dependent = _Dependent()
real = _Real()
real_vector = independent(real, 1)
boolean = _Boolean()
positive = greater_than(0.0)
nonnegative = greater_than_eq(0.0)
unit_interval = interval(0.0, 1.0)
nonnegative_integer = _Bounded("IntegerGreaterThan", 0, integer=True)
simplex = _Simplex()
one_hot = _OneHot()
