"""Random sampling (frontend/sampling.py): the draws are not PyTorch's (another generator), so each law is
checked by its statistics on seeded draws with bounds that cannot flake (a mean within 6 standard errors of
20000 draws), and everything else exactly: reproducibility under manual_seed, RNG state round trips, ranges,
dtypes, shapes, in-place rules and PyTorch's refusals."""

from __future__ import annotations

import math

import numpy as np
import pytest

import symnet as sn
from symnet.frontend.creation import _drawn_per_step

N = 20000
SIGMAS = 6


def draws(method: str, *args, dtype=sn.float64, **kwargs) -> np.ndarray:
    sn.manual_seed(1234)
    t = sn.zeros(N, dtype=dtype)
    assert getattr(t, method)(*args, **kwargs) is t
    return t.numpy()


def assert_mean(values: np.ndarray, mean: float, std: float) -> None:
    assert abs(values.mean() - mean) < SIGMAS * std / math.sqrt(values.size), (values.mean(), mean)


# ------------------------------------------------------------------------------ laws
@pytest.mark.parametrize(("method", "args", "mean", "std"), [
    ("normal_", (2.0, 3.0), 2.0, 3.0),
    ("uniform_", (-1.0, 3.0), 1.0, 4 / math.sqrt(12)),
    ("exponential_", (4.0,), 0.25, 0.25),
    ("geometric_", (0.25,), 4.0, math.sqrt(0.75) / 0.25),
    ("bernoulli_", (0.3,), 0.3, math.sqrt(0.21)),
    ("random_", (3, 7), 4.5, math.sqrt((4**2 - 1) / 12)),
])
def test_fills_follow_their_law(method, args, mean, std):
    values = draws(method, *args)
    assert_mean(values, mean, std)
    assert_mean((values - mean) ** 2, std**2, np.std((values - mean) ** 2))  # the variance too


def test_log_normal_and_cauchy_by_their_logs_and_quantiles():
    logs = np.log(draws("log_normal_", 1.0, 0.5))
    assert_mean(logs, 1.0, 0.5)
    cauchy = draws("cauchy_", 2.0, 3.0)
    for q, at in ((0.5, 2.0), (0.75, 5.0), (0.25, -1.0)):  # quartiles median ± σ
        assert_mean((cauchy < at).astype(float), q, math.sqrt(q * (1 - q)))


def test_supports_and_ranges():
    assert draws("uniform_", 2.0, 2.5, dtype=sn.float32).min() >= 2.0
    assert draws("uniform_", 2.0, 2.5, dtype=sn.float32).max() < 2.5
    assert (draws("uniform_", 1.0, 1.0) == 1.0).all()
    assert draws("exponential_").min() >= 0 and (draws("exponential_", math.inf) == 0).all()
    geometric = draws("geometric_", 0.5, dtype=sn.int64)
    assert geometric.dtype == np.int64 and geometric.min() == 1
    assert set(draws("random_", -2, 1, dtype=sn.int64)) == {-2, -1, 0}
    assert set(draws("random_", 3)) == {0.0, 1.0, 2.0}
    assert set(draws("random_", dtype=sn.bool)) == {False, True}
    assert set(draws("bernoulli_", 0.5, dtype=sn.bool)) == {False, True}
    assert set(draws("bernoulli_", 0.5, dtype=sn.int64)) == {0, 1}
    for dtype, top in ((sn.float32, 2**24), (sn.float64, 2**53), (sn.int64, 2**63 - 1)):
        values = draws("random_", dtype=dtype)
        assert values.min() >= 0 and values.max() <= top and values.max() > top / 2
        assert (values == np.round(values)).all()
    assert (draws("random_", 5, **{"to": 6}) == 5).all()
    assert (draws("uniform_", **{"from": 4.0, "to": 4.0}) == 4).all()


def test_bernoulli_with_probability_tensors():
    sn.manual_seed(0)
    p = sn.tensor([0.0, 1.0, 0.25], dtype=sn.float64)
    out = sn.zeros(N, 3).bernoulli_(p).numpy()
    assert (out[:, 0] == 0).all() and (out[:, 1] == 1).all()
    assert_mean(out[:, 2], 0.25, math.sqrt(0.25 * 0.75))
    sampled = sn.bernoulli(p.expand(N, 3))
    assert sampled.dtype == sn.float64 and sampled.shape == (N, 3) and not sampled.requires_grad
    assert_mean(sampled.numpy()[:, 2], 0.25, math.sqrt(0.25 * 0.75))
    assert_mean(sn.zeros(N, dtype=sn.float32).bernoulli(0.75).numpy(), 0.75, math.sqrt(0.75 * 0.25))
    assert sn.tensor(0.5).bernoulli().shape == () and sn.zeros(0, 2).bernoulli().shape == (0, 2)


def test_multinomial_frequencies_with_and_without_replacement():
    sn.manual_seed(0)
    probs = sn.tensor([[1.0, 2.0, 0.0, 5.0], [0.0, 0.0, 1.0, 0.0]], dtype=sn.float64)
    picks = probs.multinomial(N, replacement=True).numpy()
    assert picks.dtype == np.int64 and picks.shape == (2, N) and (picks[1] == 2).all() and (picks[0] != 2).all()
    for k, p in ((0, 1 / 8), (1, 2 / 8), (3, 5 / 8)):
        assert_mean((picks[0] == k).astype(float), p, math.sqrt(p * (1 - p)))
    first = np.array([sn.multinomial(sn.tensor([1.0, 3.0]), 2).tolist() for _ in range(2000)])
    assert all(sorted(row) == [0, 1] for row in first)  # without replacement: each category once
    assert_mean((first[:, 0] == 1).astype(float), 0.75, math.sqrt(0.75 * 0.25))
    assert sorted(sn.multinomial(sn.tensor([0.0, 1.0, 0.0]), 3).tolist()) == [0, 1, 2]  # zero weights last
    assert sn.multinomial(sn.tensor([0.0, 1.0, 0.0]), 1).tolist() == [1]
    assert sn.multinomial(sn.ones(0, 3), 2).shape == (0, 2)


def test_poisson():
    sn.manual_seed(0)
    rates = sn.tensor([0.0, 3.0], dtype=sn.float32).expand(N, 2)
    counts = sn.poisson(rates)
    assert counts.dtype == sn.float32 and counts.shape == (N, 2)
    assert (counts.numpy()[:, 0] == 0).all()
    assert_mean(counts.numpy()[:, 1].astype(np.float64), 3.0, math.sqrt(3.0))
    assert sn.poisson(sn.tensor(2.0)).shape == () and sn.poisson(sn.zeros(0)).shape == (0,)


# ------------------------------------------------------------------------------ generators and reproducibility
FILLS = [("normal_", ()), ("uniform_", ()), ("random_", (0, 100)), ("bernoulli_", (0.5,)), ("exponential_", ()),
         ("geometric_", (0.3,)), ("cauchy_", ()), ("log_normal_", ())]


@pytest.mark.parametrize(("method", "args"), FILLS)
def test_fills_repeat_under_manual_seed_and_a_generator(method, args):
    a, b = draws(method, *args)[:50], draws(method, *args)[:50]
    np.testing.assert_array_equal(a, b)
    g = sn.Generator().manual_seed(5)
    first = getattr(sn.zeros(50, dtype=sn.float64), method)(*args, generator=g).numpy()
    g.manual_seed(5)
    np.testing.assert_array_equal(first, getattr(sn.zeros(50, dtype=sn.float64), method)(*args, generator=g).numpy())
    assert not np.array_equal(first, a)  # a generator is a stream of its own


def test_rng_state_round_trip_restores_every_draw():
    sn.manual_seed(7)
    sn.randn(3)
    state = sn.get_rng_state()
    assert state.dtype == sn.int64 and state.dim() == 1 and 0 <= state.min().item() and state.max().item() <= 255
    first = [sn.rand(4).tolist(), sn.zeros(3).normal_().tolist(), sn.multinomial(sn.ones(5), 3).tolist(),
             sn.randperm(6).tolist(), np.random.Generator.random(sn.default_generator, dtype=np.float32)]
    sn.set_rng_state(state)
    again = [sn.rand(4).tolist(), sn.zeros(3).normal_().tolist(), sn.multinomial(sn.ones(5), 3).tolist(),
             sn.randperm(6).tolist(), np.random.Generator.random(sn.default_generator, dtype=np.float32)]
    assert first == again
    sn.default_generator.random(dtype=np.float32)  # a buffered 32-bit half draw is part of the state too
    half = sn.get_rng_state()
    value = sn.default_generator.random(dtype=np.float32)
    sn.set_rng_state(half)
    assert sn.default_generator.random(dtype=np.float32) == value


def test_seeds():
    assert sn.manual_seed(42) is sn.default_generator and sn.initial_seed() == 42
    assert sn.Generator().manual_seed(-1).initial_seed() == 2**64 - 1
    seed = sn.seed()
    assert sn.initial_seed() == seed and 0 <= seed < 2**64
    first = sn.rand(3).tolist()
    sn.manual_seed(seed)
    assert sn.rand(3).tolist() == first
    np.testing.assert_array_equal(sn.manual_seed(3).random(4), np.random.default_rng(3).random(4))
    with pytest.raises(ValueError, match="out of range"):
        sn.manual_seed(2**64)
    with pytest.raises(TypeError, match="int seed"):
        sn.manual_seed(1.5)
    with pytest.raises(sn.NotSupportedError, match="device"):
        sn.Generator("cuda")


def test_a_generator_drives_loaders_and_initializers():
    data = sn.data.TensorDataset(sn.arange(10))
    orders = []
    for _ in range(2):
        g = sn.Generator().manual_seed(11)
        loader = sn.data.DataLoader(data, batch_size=10, shuffle=True, generator=g)
        orders.append([next(iter(loader))[0].tolist(), [s.indices for s in sn.data.random_split(data, [5, 5], g)],
                       sn.nn.init.normal_(sn.zeros(3), generator=g).tolist()])
    assert orders[0] == orders[1]
    g = sn.Generator()
    for make in (lambda: sn.randn(3, generator=g), lambda: sn.rand(3, generator=g), lambda: sn.randperm(5, generator=g),
                 lambda: sn.randint(0, 9, (3,), generator=g), lambda: sn.normal(0.0, 1.0, (3,), generator=g)):
        g.manual_seed(2)
        first = make().tolist()
        g.manual_seed(2)
        assert make().tolist() == first
    child = sn.Generator().manual_seed(3).spawn(1)[0]  # NumPy's protocol, which loader workers use
    assert isinstance(child, sn.Generator) and child.random() != sn.Generator().manual_seed(3).random()


@pytest.mark.parametrize("state", [
    "short", "wide", "float", "list", "even",
])
def test_set_rng_state_refuses_what_get_rng_state_did_not_return(state):
    good = sn.get_rng_state()
    bad, error = {
        "short": (good[:-1], sn.ShapeError), "wide": (good + 256, ValueError),
        "float": (good.double(), sn.DTypeError), "list": (good.tolist(), TypeError),
        "even": (sn.zeros_like(good), ValueError),
    }[state]
    with pytest.raises(error):
        sn.set_rng_state(bad)
    assert sn.get_rng_state().tolist() == good.tolist()  # unchanged


# ------------------------------------------------------------------------------ in-place rules, shapes, dtypes
def test_in_place_rules():
    w = sn.zeros(3, requires_grad=True)
    with pytest.raises(sn.GradError, match="leaf Variable"):
        w.normal_()
    with sn.no_grad():
        assert w.uniform_(1.0, 2.0) is w
    assert w.requires_grad and w._version == 1 and (w.numpy() >= 1).all()
    base = sn.zeros(2, 3, dtype=sn.float64)
    base[1].fill_(0).exponential_(1.0)
    assert (base.numpy()[0] == 0).all() and (base.numpy()[1] > 0).all()  # a view writes through
    y = w * 2  # a computed tensor: its node becomes the fill
    y.bernoulli_(1.0)
    assert y.tolist() == [1.0, 1.0, 1.0] and not y.requires_grad
    for t in (sn.tensor(0.0).normal_(), sn.zeros(0, 2).cauchy_(), sn.zeros(2, 0, dtype=sn.int64).random_()):
        assert t.numel() <= 1


@pytest.mark.parametrize(("call", "error", "match"), [
    (lambda: sn.zeros(2).normal_(0, -1), ValueError, "std >= 0"),
    (lambda: sn.zeros(2).normal_(0, math.nan), ValueError, "std >= 0"),
    (lambda: sn.zeros(2, dtype=sn.int64).normal_(), sn.DTypeError, "int64"),
    (lambda: sn.zeros(2).uniform_(1, 0), ValueError, "from=1.0 > to=0.0"),
    (lambda: sn.zeros(2, dtype=sn.float32).uniform_(-3e38, 3e38), ValueError, "to-from"),
    (lambda: sn.zeros(2, dtype=sn.bool).uniform_(), sn.DTypeError, "bool"),
    (lambda: sn.zeros(2).random_(5, 5), ValueError, "less than 'to'"),
    (lambda: sn.zeros(2).random_(-5), ValueError, "less than 'to'"),
    (lambda: sn.zeros(2).random_(0.5), TypeError, "int"),
    (lambda: sn.zeros(2, dtype=sn.bool).random_(3), ValueError, "out of bounds for bool"),
    (lambda: sn.zeros(2, dtype=sn.bool).random_(-1, 1), ValueError, "out of bounds for bool"),
    (lambda: sn.zeros(2, dtype=sn.int64).random_(2**63), ValueError, "int64"),
    (lambda: sn.zeros(2).bernoulli_(1.5), ValueError, r"p to be in \[0, 1\]"),
    (lambda: sn.zeros(2).bernoulli_(-0.1), ValueError, r"p to be in \[0, 1\]"),
    (lambda: sn.zeros(3).bernoulli_(sn.tensor([0.5, 2.0, 0.1])), ValueError, r"\[0, 1\]"),
    (lambda: sn.zeros(3).bernoulli_(sn.tensor([0.5, 0.2])), sn.ShapeError, "broadcast"),
    (lambda: sn.zeros(3).bernoulli_(sn.tensor([1, 0, 1])), sn.DTypeError, "floats"),
    (lambda: sn.bernoulli(sn.tensor([1, 0])), sn.DTypeError, "int64"),
    (lambda: sn.bernoulli(sn.tensor([0.2, math.nan])), ValueError, r"\[0, 1\]"),
    (lambda: sn.zeros(2).exponential_(0), ValueError, "lambda > 0"),
    (lambda: sn.zeros(2, dtype=sn.int64).exponential_(), sn.DTypeError, "continuous"),
    (lambda: sn.zeros(2).geometric_(1), ValueError, r"\(0, 1\)"),
    (lambda: sn.zeros(2).geometric_(0), ValueError, r"\(0, 1\)"),
    (lambda: sn.zeros(2, dtype=sn.bool).geometric_(0.5), sn.DTypeError, "bool"),
    (lambda: sn.zeros(2).cauchy_(0, 0), ValueError, "sigma > 0"),
    (lambda: sn.zeros(2, dtype=sn.int64).cauchy_(), sn.DTypeError, "continuous"),
    (lambda: sn.zeros(2).log_normal_(1, 0), ValueError, "std > 0"),
    (lambda: sn.zeros(2).normal_(generator=3), TypeError, "Generator"),
    (lambda: sn.multinomial(sn.tensor([0.2, 0.5]), 3), ValueError, "without replacement"),
    (lambda: sn.multinomial(sn.tensor([0.2, -0.5]), 1), ValueError, "element < 0"),
    (lambda: sn.multinomial(sn.tensor([0.2, math.inf]), 1), ValueError, "inf"),
    (lambda: sn.multinomial(sn.tensor([0.2, math.nan]), 1, True), ValueError, "nan"),
    (lambda: sn.multinomial(sn.tensor([[0.0, 0.0], [1.0, 1.0]]), 1), ValueError, "sum of probabilities"),
    (lambda: sn.multinomial(sn.tensor([1, 2]), 1), sn.DTypeError, "floating-point"),
    (lambda: sn.multinomial(sn.tensor([0.2, 0.5]), 0), ValueError, "n_sample <= 0"),
    (lambda: sn.multinomial(sn.ones(2, 2, 2), 1), sn.ShapeError, "1 or 2 dim"),
    (lambda: sn.multinomial(sn.tensor(0.5), 1), sn.ShapeError, "1 or 2 dim"),
    (lambda: sn.multinomial(sn.ones(2, 0), 1), ValueError, "without replacement"),
    (lambda: sn.poisson(sn.tensor([-1.0, 2.0])), ValueError, "non-negative"),
    (lambda: sn.poisson(sn.tensor([math.nan])), ValueError, "non-negative"),
    (lambda: sn.poisson(sn.tensor([math.inf])), ValueError, "finite"),
    (lambda: sn.poisson(sn.tensor([1, 2])), sn.DTypeError, "int64"),
])
def test_refusals(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_random_beyond_a_floats_exact_integers_warns_as_pytorch():
    with pytest.warns(UserWarning, match="exactly"):
        sn.zeros(2, dtype=sn.float32).random_(0, 2**24 + 2)


# ------------------------------------------------------------------------------ compiled steps
class Noisy(sn.nn.Module):
    def __init__(self, draw):
        super().__init__()
        self.linear, self.draw = sn.nn.Linear(2, 1), draw

    def forward(self, x):
        return self.linear(x) * self.draw(x)


@pytest.mark.parametrize(("op", "draw"), [
    ("bernoulli_", lambda x: sn.zeros_like(x[:, :1]).bernoulli_(0.5)),
    ("normal_", lambda x: sn.zeros_like(x[:, :1]).normal_()),
    ("bernoulli", lambda x: sn.full_like(x[:, :1], 0.5).bernoulli()),
    ("multinomial", lambda x: sn.ones(2).multinomial(1).double()),
    ("poisson", lambda x: sn.poisson(sn.ones_like(x[:, :1]))),
])
def test_a_compiled_step_refuses_to_freeze_a_draw(op, draw):
    model = Noisy(draw).double()
    step = sn.compile(model, sn.nn.MSELoss(), sn.optim.SGD(model.parameters(), lr=0.1))
    x = np.ones((4, 2))
    with pytest.raises(sn.NotSupportedError, match=f"compile: {op} draws random numbers"):
        step.step(x, np.ones((4, 1)))
    assert model(sn.tensor(x)).shape == (4, 1)  # eagerly it samples


# ---------------------------------------------------------------- noise drawn per step in a compiled step
@pytest.mark.parametrize("law", ["normal", "uniform"])
def test_per_step_noise_has_its_law_and_agrees_between_backends(law):
    sn.manual_seed(3)
    shape = sn.zeros(200, 100, dtype=sn.float64)
    native = _drawn_per_step(shape, law, sn.float64)
    draws = native.numpy()
    with sn.backend.use("reference"):
        np.testing.assert_allclose((native * 1.0).numpy(), draws, rtol=1e-15, atol=1e-15)  # the same key's draws
    n = draws.size
    if law == "normal":
        assert abs(draws.mean()) < 6 / np.sqrt(n) and abs(draws.var() - 1) < 6 * np.sqrt(2 / n)
        assert np.isfinite(draws).all() and abs(np.mean(draws**3)) < 6 * np.sqrt(15 / n)
    else:
        assert draws.min() >= 0 and draws.max() < 1 and abs(draws.mean() - 0.5) < 6 * np.sqrt(1 / 12 / n)


class Reparameterized(sn.nn.Module):
    """A VAE's reparameterization: mean + std · randn_like(std)."""

    def __init__(self):
        super().__init__()
        self.mean, self.log_std = sn.nn.Linear(2, 2), sn.nn.Linear(2, 2)

    def forward(self, x):
        std = (0.5 * self.log_std(x)).exp()
        return self.mean(x) + std * sn.randn_like(std) + 0.0 * sn.rand_like(std)


def test_randn_like_in_a_compiled_forward_is_drawn_anew_each_step_and_reproducible():
    x, y = np.ones((8, 2), np.float32), np.zeros((8, 2), np.float32)

    def run():
        sn.manual_seed(11)
        model = Reparameterized()
        step = sn.compile(model, sn.nn.MSELoss(), sn.optim.SGD(model.parameters(), lr=0.0))
        return [step.step(x, y) for _ in range(5)]

    losses = run()
    assert len(set(losses)) == 5 and losses == run()


def test_a_draw_of_a_fixed_size_in_a_compiled_forward_is_refused():
    class Frozen(sn.nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = sn.nn.Linear(2, 2)

        def forward(self, x):
            return self.linear(x) + sn.randn(2)

    model = Frozen()
    step = sn.compile(model, sn.nn.MSELoss(), sn.optim.SGD(model.parameters(), lr=0.1))
    with pytest.raises(sn.NotSupportedError, match=r"randn\(size\).*one draw kept for every step.*randn_like"):
        step.step(np.ones((4, 2), np.float32), np.zeros((4, 2), np.float32))


class _TopDraws(np.random.Generator):
    """A generator whose uniform draws are all the largest float64 below 1, which float32 rounds to 1.0."""

    def random(self, size=None, dtype=np.float64, out=None):
        return np.full(size, np.nextafter(1.0, 0.0), dtype)


@pytest.mark.parametrize("dtype", [sn.float32, sn.float64])
def test_uniform_draws_stay_below_one_in_every_dtype(dtype):
    drawn = sn.rand(5, dtype=dtype, generator=_TopDraws(np.random.PCG64(0))).numpy()
    assert drawn.dtype == dtype and (drawn < 1).all() and (drawn == np.nextafter(dtype.type(1), dtype.type(0))).all()


@pytest.mark.parametrize("law", ["uniform", "normal"])
def test_a_per_step_draw_stays_below_one_in_float32(law):
    """The compiled draw of the largest 53 bits, as float32 rounds it (to 2⁵³): the uniform stays under 1 and the
    normal's log(1 − u₁) finite. Exact arithmetic on the definition, with the bits as float32 holds them."""
    from symnet.core.ir import Input
    from symnet.core.lazy import sympy as sp
    from symnet.core.random import Draw
    from symnet.core.random_bits import random_bits

    x, key = Input("x", (3,), np.dtype(np.float32)), Input("key", (), np.dtype(np.float64))
    body = Draw(law, None, "float32").define([x, key]).body
    value = body.replace(lambda e: isinstance(e, random_bits), lambda e: sp.Integer(int(np.float32(2**53 - 1))))
    assert value.is_finite and (value < 1 if law == "uniform" else value.is_real)


@pytest.mark.parametrize("draw", [sn.rand, sn.randn])
@pytest.mark.parametrize("dtype", [sn.int64, sn.bool_])
def test_random_floats_of_an_integer_or_bool_dtype_are_refused(draw, dtype):
    with pytest.raises(sn.DTypeError, match="random floats need a float dtype"):
        draw(3, dtype=dtype)


@pytest.mark.parametrize("draw", [
    lambda p, q: sn.bernoulli(p), lambda p, q: p.bernoulli(), lambda p, q: sn.poisson(q * 4),
    lambda p, q: sn.normal(p, q), lambda p, q: sn.normal(p.reshape(3, 1), 1.0),
    lambda p, q: sn.normal(p, q.float()),
], ids=["bernoulli", "Tensor.bernoulli", "poisson", "normal", "normal-broadcast", "normal-float32-std"])
def test_draws_from_tensors_that_require_grad_have_pytorchs_zero_gradient(draw):
    """PyTorch 2.13: the draws require grad and backward gives zeros (not an error); under no_grad, no grad."""
    p = sn.full((3,), 0.5, dtype=sn.float64, requires_grad=True)
    q = sn.full((3,), 0.75, dtype=sn.float64, requires_grad=True)
    out = draw(p, q)
    assert out.requires_grad and out.dtype == sn.float64
    (out * 3).sum().backward()
    for t in (p, q):
        assert t.grad is None or (t.grad.numpy() == 0).all()
    assert p.grad is not None or q.grad is not None
    with sn.no_grad():
        assert not draw(p, q).requires_grad


def test_normal_keeps_its_means_dtype_when_the_gradient_is_attached():
    """PyTorch 2.13: normal(float32 mean, float64 std) is float32, and each gradient is zero in its own dtype."""
    mean = sn.zeros(3, dtype=sn.float32, requires_grad=True)
    std = sn.ones(3, dtype=sn.float64, requires_grad=True)
    out = sn.normal(mean, std)
    out.sum().backward()
    assert out.dtype == sn.float32 and mean.grad.dtype == sn.float32 and std.grad.dtype == sn.float64
    assert not mean.grad.numpy().any() and not std.grad.numpy().any()
