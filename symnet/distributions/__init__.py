"""``symnet.distributions``, as ``torch.distributions``: the laws tutorials use (VAEs, REINFORCE, Gaussian
likelihoods) with PyTorch's parameters, shapes, numbers and argument checks. Densities, entropies, KL divergences
and reparameterized samples are tensor ops, so their gradients are derived and they compile.

>>> import symnet as sn
>>> D = sn.distributions
>>> q = D.Normal(sn.tensor([0.5]), sn.tensor([2.0]))
>>> D.kl_divergence(q, D.Normal(0.0, 1.0))
tensor([0.9319])
"""

from ..errors import no_attribute
from . import constraints
from .continuous import (
    Beta,
    Cauchy,
    Chi2,
    Exponential,
    Gamma,
    Gumbel,
    HalfCauchy,
    HalfNormal,
    InverseGamma,
    Kumaraswamy,
    Laplace,
    LogNormal,
    Normal,
    Pareto,
    StudentT,
    Uniform,
    Weibull,
)
from .discrete import Bernoulli, Binomial, Categorical, Geometric, OneHotCategorical, Poisson
from .distribution import Distribution
from .independent import Independent
from .kl import kl_divergence, register_kl

__all__ = ["Bernoulli", "Beta", "Binomial", "Categorical", "Cauchy", "Chi2", "Distribution", "Exponential", "Gamma",
           "Geometric", "Gumbel", "HalfCauchy", "HalfNormal", "Independent", "InverseGamma", "Kumaraswamy", "Laplace",
           "LogNormal", "Normal", "OneHotCategorical", "Pareto", "Poisson", "StudentT", "Uniform", "Weibull",
           "constraints", "kl_divergence", "register_kl"]


def __getattr__(name: str):
    raise no_attribute(__name__, name)
