"""Random sampling with PyTorch's names: the in-place fills (``normal_``, ``uniform_``, ``random_``,
``bernoulli_``, ``exponential_``, ``geometric_``, ``cauchy_``, ``log_normal_``), ``bernoulli``,
``multinomial``, ``poisson``, and the generator API (``Generator``, ``manual_seed``, ``get_rng_state``, …).

Draws come from NumPy's PCG64 through ``Generator``, a ``numpy.random.Generator`` that reseeds in place: the
default one (``symnet.manual_seed``) is what ``randn``, the initializers and the loaders draw from, and a
``Generator`` passes wherever a NumPy generator is taken (``DataLoader``, ``random_split``, ``nn.init``). The
laws and PyTorch's argument checks are PyTorch's; the numbers are not (PyTorch's CPU generator is a Mersenne
Twister). A fill goes through ``Tensor._write``, so it bumps the version and is refused on a leaf that
requires grad outside ``no_grad``, as in PyTorch.

A compiled step runs its forward many times from one trace, so a draw made while it is traced would be one
fixed sample for every step: these ops refuse to be traced (``NotSupportedError``); only dropout's masks are
drawn per step (``core.random``).
"""

from __future__ import annotations

import math
import secrets
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from ..core import dtypes
from ..errors import ArgumentError, DTypeError, NotSupportedError, ShapeError
from .base import TensorBase
from .batch import batch_ids

if TYPE_CHECKING:
    from .tensor import Tensor

#: methods also offered as ``symnet.<name>(tensor, …)``, as in torch
FUNCTIONS: tuple[str, ...] = ("bernoulli", "multinomial")
#: this module's functions offered as ``symnet.<name>``
PUBLIC: tuple[str, ...] = ("Generator", "default_generator", "poisson", "get_rng_state", "set_rng_state",
                           "initial_seed", "seed")

_SEEDS = 2**64  # PyTorch's seeds are uint64; a negative one wraps, as in PyTorch
_WORD = 16  # bytes of each of PCG64's 128-bit state and increment
#: a state tensor's bytes: PCG64's state and increment, then its buffered 32-bit half-draw and its flag
STATE_BYTES = 2 * _WORD + 4 + 1


class Generator(np.random.Generator):
    """``torch.Generator``: a seedable stream (NumPy's PCG64) that ``manual_seed``/``set_state`` change in
    place, so every holder of it follows; it is a ``numpy.random.Generator`` for everything that takes one.

    >>> g = Generator().manual_seed(7)
    >>> g.initial_seed()
    7
    """

    def __init__(self, device: str | np.random.BitGenerator = "cpu") -> None:
        if isinstance(device, np.random.BitGenerator):  # NumPy's constructor protocol (``spawn`` calls it)
            entropy = getattr(device.seed_seq, "entropy", None)
            self._seed = int(entropy) % _SEEDS if isinstance(entropy, int) else 0
            super().__init__(device)
            return
        if str(device) != "cpu":
            raise NotSupportedError(f"Generator: device {device!r}; symnet runs on the cpu")
        self._seed = secrets.randbits(64)
        super().__init__(np.random.PCG64(self._seed))

    @property
    def device(self) -> str:
        return "cpu"

    def manual_seed(self, seed: int) -> Generator:
        """Restart the stream from ``seed`` (an int in [−2⁶³, 2⁶⁴); a negative one wraps modulo 2⁶⁴)."""
        if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
            raise TypeError(f"manual_seed expected an int seed, got {type(seed).__name__}")
        if not -(2**63) <= int(seed) < _SEEDS:
            raise ArgumentError(f"manual_seed: seed {seed} is out of range [-2**63, 2**64)")
        self._seed = int(seed) % _SEEDS
        self.bit_generator.state = np.random.PCG64(self._seed).state
        return self

    def seed(self) -> int:
        """Seed from the operating system's entropy; the seed is returned (and kept as ``initial_seed``)."""
        self.manual_seed(secrets.randbits(64))
        return self._seed

    def initial_seed(self) -> int:
        return self._seed

    def get_state(self) -> Tensor:
        """The stream's state as a 1-d tensor of byte values (int64: symnet stores no uint8) that
        ``set_state`` restores exactly."""
        from .tensor import holding  # tensor.py imports this module

        state = self.bit_generator.state
        raw = (state["state"]["state"].to_bytes(_WORD, "little") + state["state"]["inc"].to_bytes(_WORD, "little")
               + int(state["uinteger"]).to_bytes(4, "little") + bytes([state["has_uint32"]]))
        return holding(np.frombuffer(raw, dtype=np.uint8).astype(np.int64))

    def set_state(self, new_state: Tensor) -> Generator:
        """Restore a state ``get_state`` returned; anything else is refused (never a garbled stream)."""
        if not isinstance(new_state, TensorBase):
            raise TypeError(f"set_state: the RNG state must be a tensor, got {type(new_state).__name__}")
        if new_state.dtype != dtypes.int64:
            raise DTypeError(f"set_state: the RNG state must be a tensor of byte values (int64), got "
                             f"{new_state.dtype}")
        values = new_state._array()
        if values.shape != (STATE_BYTES,):
            raise ShapeError(f"set_state: expected an RNG state of shape [{STATE_BYTES}], got {list(values.shape)}")
        if values.min() < 0 or values.max() > 255:
            raise ArgumentError("set_state: an RNG state holds byte values in [0, 255]")
        raw = values.astype(np.uint8).tobytes()
        inc, has_uint32 = int.from_bytes(raw[_WORD:2 * _WORD], "little"), raw[-1]
        if inc % 2 == 0 or has_uint32 > 1:
            raise ArgumentError("set_state: not an RNG state get_state returned (its increment must be odd)")
        self.bit_generator.state = {
            "bit_generator": "PCG64", "has_uint32": has_uint32, "uinteger": int.from_bytes(raw[2 * _WORD:-1], "little"),
            "state": {"state": int.from_bytes(raw[:_WORD], "little"), "inc": inc}}
        return self


#: ``torch.default_generator``: what ``manual_seed`` seeds and every draw without ``generator`` uses
default_generator = Generator()


def initial_seed() -> int:
    """The seed the default generator started from (``manual_seed``'s, else one drawn from the system)."""
    return default_generator.initial_seed()


def seed() -> int:
    """Seed the default generator from the system's entropy and return the seed."""
    return default_generator.seed()


def get_rng_state() -> Tensor:
    """The default generator's state (``Generator.get_state``)."""
    return default_generator.get_state()


def set_rng_state(new_state: Tensor) -> None:
    """Restore the default generator to a state ``get_rng_state`` returned: the draws that followed it repeat."""
    default_generator.set_state(new_state)


def generator_or_default(generator: np.random.Generator | None) -> np.random.Generator:
    """A ``generator=`` argument resolved: None is the default generator; anything but a generator is refused."""
    if generator is None:
        return default_generator
    if not isinstance(generator, np.random.Generator):
        raise TypeError(f"generator must be a symnet.Generator (or a numpy.random.Generator), got "
                        f"{type(generator).__name__}")
    return generator


def _refuse_traced(op: str) -> None:
    """A draw made while a compiled step is traced would be this one sample in every step: refused."""
    if batch_ids():
        raise NotSupportedError(f"compile: {op} draws random numbers while the step is traced; the compiled step "
                                "would reuse this one draw at every step. Draw outside the model (pass the noise in "
                                "as data), use nn.Dropout (drawn per step), or train eagerly")


def _floats_only(t: TensorBase, op: str, law: str | None = None) -> None:
    if not dtypes.is_float(t.dtype):
        if law:
            raise DTypeError(f"{op}: {law} distribution is a continuous probability distribution. dtype must be a "
                             f"floating point but you specified {t.dtype}")
        raise DTypeError(f"{op}: not implemented for {t.dtype}; it draws floats")


def _check(ok: bool, message: str) -> None:
    if not ok:  # written as ``ok`` so that a NaN parameter fails every check
        raise ArgumentError(message)


def _number(value, op: str, name: str) -> float:
    if isinstance(value, TensorBase):
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, int | float | np.number):
        raise TypeError(f"{op}: {name} must be a number, got {type(value).__name__}")
    return float(value)


def _probabilities(p: TensorBase, op: str) -> np.ndarray:
    """The values of a probability tensor: float, each in [0, 1]."""
    if not dtypes.is_float(p.dtype):
        raise DTypeError(f"{op}: the probabilities must be floats, got {p.dtype}")
    values = p._array()
    _check(bool(np.all((values >= 0) & (values <= 1))), f"{op}: expects every probability p in [0, 1]")
    return values


def _broadcasts_to(shape: tuple, target: tuple) -> bool:
    try:
        return np.broadcast_shapes(shape, target) == target
    except ValueError:
        return False


#: the range ``random_()`` draws from for each dtype: the integers a float stores exactly, int64's, bool's
_RANDOM_RANGES = {dtypes.float32: (0, 2**24), dtypes.float64: (0, 2**53), dtypes.int64: (0, 2**63 - 1),
                  dtypes.bool_: (0, 1)}


def _random_bounds(dtype: np.dtype, args: tuple, kwargs: dict) -> tuple[int, int]:
    """``random_``'s ``[from, to]`` (inclusive) from ``random_()``, ``random_(to)``, ``random_(from, to)`` or
    keywords ``from``/``to``, with PyTorch's checks."""
    unknown = set(kwargs) - {"from", "to"}
    if unknown or len(args) > 2:
        raise TypeError(f"random_() takes (from=0, to=None) or (to), got {args} {sorted(kwargs)}")
    if len(args) == 1 and not kwargs:
        low, high = 0, args[0]
    else:
        given = dict(zip(("from", "to"), args, strict=False)) | kwargs
        low, high = given.get("from", 0), given.get("to")
    for name, v in (("from", low), ("to", high)):
        if v is not None and (isinstance(v, bool) or not isinstance(v, int | np.integer)):
            raise TypeError(f"random_: {name} must be an int, got {type(v).__name__}")
        if v is not None and not -(2**63) <= v < 2**63:
            raise ArgumentError(f"random_: {name}={v} is out of int64's range")
    top = _RANDOM_RANGES[dtype][1]
    if high is None:
        _check(low <= top, f"random_ expects 'from' to be at most {top} for {dtype}, but got from={low}")
        high = top
    else:
        _check(low < high, f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}")
        high -= 1
    if dtype == dtypes.bool_:
        _check(low >= 0, "random_: from is out of bounds for bool")
        _check(high <= 1, "random_: to - 1 is out of bounds for bool")
    elif dtypes.is_float(dtype) and max(abs(low), abs(high)) > top:
        warnings.warn(f"random_: the range [{low}, {high}] is beyond [-(2^{top.bit_length() - 1}), "
                      f"2^{top.bit_length() - 1}], the integers {dtype} stores exactly (as PyTorch warns)",
                      stacklevel=4)
    return low, high


def _multinomial(probs: np.ndarray, num_samples: int, replacement: bool, rng: np.random.Generator) -> np.ndarray:
    """Indices drawn from each row's categories with P ∝ probs. With replacement: inverse CDF of u·total;
    without: the ``num_samples`` smallest keys E/p (E ~ Exp(1), Efraimidis–Spirakis), ties (zero
    probabilities, last) broken at random."""
    rows = probs.astype(np.float64)
    if replacement:
        cdf = np.cumsum(rows, axis=1)
        u = rng.random((rows.shape[0], num_samples)) * cdf[:, -1:]
        picks = np.stack([np.searchsorted(c, row_u, side="right") for c, row_u in zip(cdf, u, strict=True)])
        last = rows.shape[1] - 1 - np.argmax(rows[:, ::-1] > 0, axis=1)  # u·total rounded up to total
        return np.minimum(picks, last[:, None]).reshape(rows.shape[0], num_samples)
    with np.errstate(divide="ignore"):
        keys = rng.standard_exponential(rows.shape) / rows
    order = np.lexsort((rng.random(rows.shape), keys), axis=1)
    return order[:, :num_samples]


class SamplingMethods(TensorBase):
    __slots__ = ()

    def _fill_with(self, op: str, draw: Callable[[np.random.Generator], np.ndarray], generator) -> Tensor:
        """Write ``draw(rng)`` (of this tensor's shape) into this tensor, with in-place updates' rules."""
        _refuse_traced(op)
        values = np.asarray(draw(generator_or_default(generator))).astype(self.dtype).reshape(self.shape)
        return self._write(self._leaf(values, self.dtype), op)

    def normal_(self, mean: float = 0.0, std: float = 1.0, *, generator=None) -> Tensor:
        """Fill with draws of N(mean, std²)."""
        _floats_only(self, "normal_")
        std = _number(std, "normal_", "std")
        _check(std >= 0, f"normal_ expects std >= 0.0, but found std {std}")
        return self._fill_with("normal_", lambda rng: rng.normal(_number(mean, "normal_", "mean"), std, self.shape),
                               generator)

    def uniform_(self, from_: float = 0.0, to: float = 1.0, *, generator=None, **kwargs) -> Tensor:
        """Fill with draws of U[from, to) (``from`` is a Python keyword: ``uniform_(**{"from": a})`` works)."""
        _floats_only(self, "uniform_")
        low, high = _number(kwargs.pop("from", from_), "uniform_", "from"), _number(to, "uniform_", "to")
        if kwargs:
            raise TypeError(f"uniform_() got unexpected keyword arguments {sorted(kwargs)}")
        _check(low <= high, f"uniform_ expects to return a [from, to) range, but found from={low} > to={high}")
        _check(high - low <= float(np.finfo(self.dtype).max),
               f"uniform_ expects to-from <= the largest {self.dtype}, but found to={high} and from={low}")
        return self._fill_with("uniform_", lambda rng: low + (high - low) * rng.random(self.shape, dtype=self.dtype),
                               generator)

    def random_(self, *args, generator=None, **kwargs) -> Tensor:
        """Fill with integers drawn uniformly from [from, to) — by default [0, 2^mantissa] for floats (the
        integers they store exactly), [0, 2⁶³ − 1] for int64, {0, 1} for bool."""
        low, high = _random_bounds(self.dtype, args, kwargs)
        return self._fill_with("random_", lambda rng: rng.integers(low, high, self.shape, endpoint=True), generator)

    def bernoulli_(self, p: float | Tensor = 0.5, *, generator=None) -> Tensor:
        """Fill with 1 (probability p) or 0; ``p`` a number or a tensor broadcast to this one's shape."""
        if isinstance(p, TensorBase):
            chance = _probabilities(p, "bernoulli_")
            if not _broadcasts_to(chance.shape, self.shape):
                raise ShapeError(f"bernoulli_: p of shape {list(chance.shape)} does not broadcast to the tensor's "
                                 f"shape {list(self.shape)}")
        else:
            chance = _number(p, "bernoulli_", "p")
            _check(0 <= chance <= 1, f"bernoulli_ expects p to be in [0, 1], but got p={chance}")
        return self._fill_with("bernoulli_", lambda rng: rng.random(self.shape) < chance, generator)

    def exponential_(self, lambd: float = 1.0, *, generator=None) -> Tensor:
        """Fill with draws of Exp(λ): density λ·e^(−λx) on x ≥ 0."""
        _floats_only(self, "exponential_", "Exponential")
        rate = _number(lambd, "exponential_", "lambd")
        _check(rate > 0, f"exponential_ expects lambda > 0.0, but found lambda={rate}")
        return self._fill_with("exponential_", lambda rng: rng.standard_exponential(self.shape) / rate, generator)

    def geometric_(self, p: float, *, generator=None) -> Tensor:
        """Fill with the number of Bernoulli(p) trials up to the first success: P(k) = (1 − p)^(k−1)·p, k ≥ 1."""
        if self.dtype == dtypes.bool_:
            raise DTypeError("geometric_: not implemented for bool")
        chance = _number(p, "geometric_", "p")
        _check(0 < chance < 1, f"geometric_ expects p to be in (0, 1), but got p={chance}")
        return self._fill_with("geometric_", lambda rng: rng.geometric(chance, self.shape), generator)

    def cauchy_(self, median: float = 0.0, sigma: float = 1.0, *, generator=None) -> Tensor:
        """Fill with draws of Cauchy(median, σ): density 1/(πσ(1 + ((x − median)/σ)²))."""
        _floats_only(self, "cauchy_", "Cauchy")
        scale = _number(sigma, "cauchy_", "sigma")
        _check(scale > 0, f"cauchy_ expects sigma > 0.0, but found sigma={scale}")
        centre = _number(median, "cauchy_", "median")
        return self._fill_with("cauchy_", lambda rng: centre + scale * rng.standard_cauchy(self.shape), generator)

    def log_normal_(self, mean: float = 1.0, std: float = 2.0, *, generator=None) -> Tensor:
        """Fill with e^X, X ~ N(mean, std²)."""
        _floats_only(self, "log_normal_")
        spread = _number(std, "log_normal_", "std")
        _check(spread > 0, f"log_normal_ expects std > 0.0, but found std={spread}")
        centre = _number(mean, "log_normal_", "mean")
        return self._fill_with("log_normal_", lambda rng: rng.lognormal(centre, spread, self.shape), generator)

    def bernoulli(self, p: float | None = None, *, generator=None) -> Tensor:
        """1 with probability ``self`` (each element in [0, 1]), else 0; ``p`` given: with probability p for
        every element. The result has this tensor's shape and float dtype, and a zero gradient (PyTorch's)."""
        _refuse_traced("bernoulli")
        _floats_only(self, "bernoulli")
        drawn = self._leaf(np.zeros(self.shape, dtype=self.dtype), self.dtype).bernoulli_(
            self if p is None else p, generator=generator)
        return with_zero_gradient(drawn, self)

    def multinomial(self, num_samples: int, replacement: bool = False, *, generator=None) -> Tensor:
        """``num_samples`` category indices (int64) drawn from each row of non-negative weights (1-d: one row),
        with or without replacement."""
        op = "multinomial"
        _refuse_traced(op)
        if not dtypes.is_float(self.dtype):
            raise DTypeError(f"multinomial only supports floating-point dtypes for input, got: {self.dtype}")
        if self.dim() not in (1, 2):
            raise ShapeError(f"multinomial: prob_dist must be 1 or 2 dim, got {self.dim()}")
        if isinstance(num_samples, bool) or not isinstance(num_samples, int | np.integer):
            raise TypeError(f"multinomial: num_samples must be an int, got {type(num_samples).__name__}")
        _check(num_samples > 0, f"multinomial: cannot sample n_sample <= 0 samples, got {num_samples}")
        categories = self.shape[-1]
        _check(replacement or num_samples <= categories,
               f"multinomial: cannot sample n_sample > prob_dist.size(-1) samples without replacement "
               f"({num_samples} > {categories})")
        rows = self._array().reshape(-1, categories)
        _check(bool(np.all(np.isfinite(rows) & (rows >= 0))),
               "multinomial: probability tensor contains either `inf`, `nan` or element < 0")
        _check(bool(np.all(rows.sum(axis=1, dtype=np.float64) > 0)),
               "multinomial: invalid multinomial distribution (sum of probabilities <= 0)")
        picks = _multinomial(rows, int(num_samples), replacement, generator_or_default(generator)).astype(np.int64)
        return self._leaf(picks.reshape(*self.shape[:-1], int(num_samples)), dtypes.int64)


def poisson(input: Tensor, generator=None) -> Tensor:  # noqa: A002 - torch's name
    """Draws of Poisson(rate) for each rate in ``input`` (float, each ≥ 0 and finite), in its dtype."""
    _refuse_traced("poisson")
    _floats_only(input, "poisson")
    rates = input._array()
    _check(bool(np.all(rates >= 0)), "poisson: invalid Poisson rate, expected rate to be non-negative")
    _check(bool(np.all(rates < math.inf)), "poisson: invalid Poisson rate, expected a finite rate")
    counts = generator_or_default(generator).poisson(rates.astype(np.float64))
    return with_zero_gradient(input._leaf(np.asarray(counts).astype(input.dtype).reshape(input.shape), input.dtype),
                              input)


def with_zero_gradient(drawn: Tensor, *sources) -> Tensor:
    """``drawn`` as a function of the tensors it was drawn from whose derivative is zero, as PyTorch's draws are
    (``bernoulli``, ``poisson``, ``normal(mean, std)``): it requires grad when a source does, and backward gives
    zeros rather than an error. ``where`` on a false mask: the draws exactly, whatever a source holds."""
    wanting = [s for s in sources if isinstance(s, TensorBase) and s.requires_grad]
    if not wanting:
        return drawn
    never = drawn._leaf(np.zeros(drawn.shape, dtype=bool), dtypes.bool_)
    for source in wanting:  # in the draws' dtype: a source of another (normal's std) does not promote them
        drawn = source.to(drawn.dtype).where(never, drawn)
    return drawn
