"""``Distribution``, the base of every law here (``torch.distributions.Distribution``): shapes, sampling,
argument validation and expansion, written once.

A distribution's numbers are tensor ops of its parameters, so ``log_prob``, ``entropy``, ``rsample`` and
``kl_divergence`` are differentiated symbolically like any other op and compile. Shapes follow PyTorch: a sample
has shape ``sample_shape + batch_shape + event_shape``; ``log_prob`` and ``entropy`` have ``batch_shape``.
"""

from __future__ import annotations

import functools
import numbers
import operator
from collections.abc import Sequence
from functools import cached_property

from ..core.dtypes import get_default_dtype
from ..errors import NotSupportedError
from ..frontend.autograd import no_grad
from ..frontend.batch import in_batch_trace, varies_per_step
from ..frontend.creation import rand_like, randn_like, tensor
from ..frontend.sampling import generator_or_default
from ..frontend.shaping import broadcast_tensors
from ..frontend.size import Size
from ..frontend.tensor import Tensor
from . import constraints
from .constraints import Constraint

__all__ = ["Distribution", "broadcast_all"]


def broadcast_all(*values: Tensor | float) -> tuple[Tensor, ...]:
    """The parameters as tensors of one broadcast shape; a Python number takes the dtype of the first tensor given,
    else the default dtype (as ``torch.distributions.utils.broadcast_all``)."""
    if not all(isinstance(v, Tensor | numbers.Number) for v in values):
        raise ValueError("Input arguments must all be instances of Number or symnet.Tensor.")
    like = next((v for v in values if isinstance(v, Tensor)), None)
    dtype = get_default_dtype() if like is None else like.dtype
    return broadcast_tensors(*(v if isinstance(v, Tensor) else tensor(v, dtype=dtype) for v in values))


def batch_shape_of(param: Tensor, *given) -> Size:
    """A distribution's batch shape: () when every parameter was given as a Python number, else the parameters'."""
    return Size(()) if all(isinstance(v, numbers.Number) for v in given) else Size(param.shape)


def sum_rightmost(value: Tensor, dim: int) -> Tensor:
    """``value`` summed over its ``dim`` rightmost dims."""
    return value if dim == 0 else value.reshape(*value.shape[:-dim], -1).sum(-1)


def _holds(check: Tensor) -> bool:
    """Whether every entry of a constraint's ``check`` is true. In a compiled step's trace, a check of what changes
    per step is not made: its value there is one step's, and reading it is refused."""
    return varies_per_step(check) or bool(check.all().item())


def _lazy_and_unset(instance: Distribution, name: str) -> bool:
    """Whether ``name`` is a parameter computed from another on first read (probs from logits) and not read yet:
    validation skips it, as PyTorch skips its lazy properties."""
    return name not in instance.__dict__ and isinstance(getattr(type(instance), name, None), cached_property)


class Distribution:
    """The base class of probability distributions (``torch.distributions.Distribution``).

    ``validate_args`` (None: ``Distribution``'s default, True unless ``set_default_validate_args(False)``)
    checks the parameters at construction and the values given to ``log_prob``/``cdf`` against the support,
    raising ValueError naming the parameter or value. In a compiled step, tensors computed per step are not
    checked (only eagerly can a check raise).

    >>> import symnet as sn
    >>> d = sn.distributions.Normal(sn.zeros(3), 1.0)
    >>> d.batch_shape, d.sample((2,)).shape
    (symnet.Size([3]), (2, 3))
    """

    has_rsample = False
    has_enumerate_support = False
    _validate_args = True

    @staticmethod
    def set_default_validate_args(value: bool) -> None:
        """Whether distributions made without ``validate_args`` validate (True by default, as in PyTorch)."""
        if value not in (True, False):
            raise ValueError(f"set_default_validate_args expects True or False, got {value!r}")
        Distribution._validate_args = value

    def __init__(self, batch_shape: Sequence[int] = (), event_shape: Sequence[int] = (),
                 validate_args: bool | None = None) -> None:
        self._batch_shape, self._event_shape = Size(tuple(batch_shape)), Size(tuple(event_shape))
        if validate_args is not None:
            self._validate_args = validate_args
        if self._validate_args:
            for name, constraint in self.arg_constraints.items():
                if constraint is constraints.dependent or _lazy_and_unset(self, name):
                    continue
                value = getattr(self, name)
                if not _holds(constraint.check(value)):
                    raise ValueError(f"Expected parameter {name} ({type(value).__name__} of shape "
                                     f"{tuple(value.shape)}) of distribution {self!r} to satisfy the constraint "
                                     f"{constraint!r}, but found invalid values:\n{value}")

    @property
    def batch_shape(self) -> Size:
        """The shape over which the parameters are batched."""
        return self._batch_shape

    @property
    def event_shape(self) -> Size:
        """The shape of one sample (without batching)."""
        return self._event_shape

    @property
    def arg_constraints(self) -> dict[str, Constraint]:
        """Each parameter's constraint, by the attribute's name."""
        raise NotImplementedError

    @property
    def support(self) -> Constraint:
        """The set the values lie in."""
        raise NotImplementedError

    @property
    def mean(self) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} does not implement mean")

    @property
    def mode(self) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} does not implement mode")

    @property
    def variance(self) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} does not implement variance")

    @property
    def stddev(self) -> Tensor:
        return self.variance.sqrt()

    def expand(self, batch_shape: Sequence[int]) -> Distribution:
        """The same law with its parameters expanded (as views) to ``batch_shape``; nothing is validated again."""
        batch_shape = Size(tuple(batch_shape))
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        for name in self.arg_constraints:
            if name in self.__dict__:
                param = self.__dict__[name]
                setattr(new, name, param.expand(*batch_shape, *param.shape[len(self._batch_shape):]))
        new._batch_shape = batch_shape
        return new

    def sample(self, sample_shape: Sequence[int] = ()) -> Tensor:
        """A sample of shape ``sample_shape + batch_shape + event_shape``, carrying no gradient."""
        with no_grad():
            return self.rsample(sample_shape)

    def rsample(self, sample_shape: Sequence[int] = ()) -> Tensor:
        """A reparameterized sample: a differentiable function of the parameters and parameter-free noise."""
        raise NotImplementedError(f"{type(self).__name__} has no reparameterized sampler (has_rsample is False)")

    def log_prob(self, value: Tensor) -> Tensor:
        """The log density (or mass) at ``value``."""
        raise NotImplementedError(f"{type(self).__name__} does not implement log_prob")

    def cdf(self, value: Tensor) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} does not implement cdf")

    def icdf(self, value: Tensor) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} does not implement icdf")

    def entropy(self) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} does not implement entropy")

    def perplexity(self) -> Tensor:
        return self.entropy().exp()

    def _extended_shape(self, sample_shape: Sequence[int] = ()) -> Size:
        return Size((*sample_shape, *self._batch_shape, *self._event_shape))

    def _noise(self, law: str, sample_shape: Sequence[int], *params: Tensor) -> Tensor:
        """Standard noise (``law``: "normal", or "uniform" on [0, 1)) of a sample's shape in the first parameter's
        dtype. It is ``randn_like``/``rand_like`` of a tensor computed from every parameter, so a compiled step
        draws it anew at each step when any parameter changes per step (its values are never read)."""
        like = functools.reduce(operator.add, params).expand(self._extended_shape(sample_shape))
        return (randn_like if law == "normal" else rand_like)(like, dtype=params[0].dtype)

    def _drawn(self, draw, *params: Tensor, sample_shape: Sequence[int]) -> Tensor:
        """``draw(rng, *params)`` of NumPy's sampler on the default generator, the parameters expanded to a sample's
        shape: eagerly and without gradient (a compiled step would reuse one draw, so its trace refuses)."""
        if in_batch_trace():
            raise NotSupportedError(f"compile: {type(self).__name__}.sample draws random numbers while the step is "
                                    "traced; the compiled step would reuse this one draw at every step. Draw outside "
                                    "the model (pass the sample in as data), or train eagerly")
        shape = self._extended_shape(sample_shape)
        values = draw(generator_or_default(None), *(p.detach().expand(shape).numpy() for p in params))
        return tensor(values, dtype=params[0].dtype)

    def _validate_sample(self, value: Tensor) -> None:
        """PyTorch's checks of a value to score: a tensor, its event shape, broadcastable, within the support."""
        if not isinstance(value, Tensor):
            raise ValueError("The value argument to log_prob must be a Tensor")
        event_start = value.dim() - len(self._event_shape)
        if tuple(value.shape[event_start:]) != tuple(self._event_shape):
            raise ValueError(f"The right-most size of value must match event_shape: {tuple(value.shape)} vs "
                             f"{tuple(self._event_shape)}.")
        expected = (*self._batch_shape, *self._event_shape)
        for i, j in zip(reversed(value.shape), reversed(expected), strict=False):
            if i != 1 and j != 1 and i != j:
                raise ValueError(f"Value is not broadcastable with batch_shape+event_shape: {tuple(value.shape)} "
                                 f"vs {expected}.")
        if not _holds(self.support.check(value)):
            raise ValueError(f"Expected value argument ({type(value).__name__} of shape {tuple(value.shape)}) to be "
                             f"within the support ({self.support!r}) of the distribution {self!r}, but found "
                             f"invalid values:\n{value}")

    def _checked(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        return value

    def __repr__(self) -> str:
        shown = [f"{k}: {v if v.numel() == 1 else v.size()}" for k, v in self.__dict__.items()
                 if k in self.arg_constraints]
        return f"{type(self).__name__}({', '.join(shown)})"
