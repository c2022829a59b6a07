"""Finite where PyTorch is finite: values and gradients at the edges where a naive formula overflows, divides by
zero or takes the log of a negative number — against PyTorch 2.13 (``fixtures/edges.npz``), on both backends."""

import itertools
from pathlib import Path

import numpy as np
import pytest

import symnet as sn
from symnet import backend, pipeline

EDGES = np.load(Path(__file__).parent / "fixtures" / "edges.npz")
F = sn.nn.functional
CASES = {
    "bce": (lambda a, b: F.binary_cross_entropy(a, b, reduction="none"),
            [[0.0, 1.0, 0.0, 1.0, 1e-20, 0.3], [0.0, 0.0, 1.0, 1.0, 0.0, 0.6]]),
    "pow": (lambda a, b: a**b, [[-2.0, -2.0, -1.5, 0.0, 0.0, 2.0, -8.0], [3.0, 2.0, 2.0, 2.0, 3.0, 0.5, 3.0]]),
    "softplus": (lambda a: F.softplus(a, beta=2.0, threshold=5.0), [[2.0, 2.5, 2.6, 30.0, -30.0]]),
    "sqrt": (lambda a: a.sqrt(), [[0.0, 4.0, 1e-30]]),
    "smooth_l1": (lambda a: F.smooth_l1_loss(a, sn.zeros_like(a), reduction="none", beta=1.0), None),
    "huber": (lambda a: F.huber_loss(a, sn.zeros_like(a), reduction="none", delta=2.0), None),
    "log1p": (lambda a: a.log1p(), [[-1.0, -0.5, 1e-30, 10.0]]),
}


@pytest.mark.parametrize("where", ["native", "reference"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_values_and_gradients_match_pytorch_at_the_edges(case, dtype, where):
    fn, inputs = CASES[case]
    if inputs is None:
        inputs = [[1e20, -1e20, 3e38 if dtype == "float32" else 1e300, 0.5, 0.0]]
    pipeline.cache_clear()
    with backend.use(where):
        xs = [sn.tensor(x, dtype=dtype, requires_grad=True) for x in inputs]
        y = fn(*xs)
        y.sum().backward()
        value, grads = y.numpy(), [x.grad.numpy() for x in xs]
    pipeline.cache_clear()
    key = f"{case}/{dtype}"
    rtol = 2e-6 if dtype == "float32" else 1e-13
    np.testing.assert_allclose(value, EDGES[f"{key}/value"], rtol=rtol, atol=0)
    for k, g in enumerate(grads):
        expected = EDGES[f"{key}/grad{k}"]
        assert np.array_equal(np.isnan(g), np.isnan(expected)), (k, g, expected)
        np.testing.assert_allclose(g, expected, rtol=rtol, atol=0)


def test_data_shares_storage_so_the_old_zeroing_idiom_works():
    w = sn.tensor([1.0, 2.0], requires_grad=True)
    (w * w).sum().backward()
    w.grad.data.zero_()
    (w * w).sum().backward()
    assert w.grad.tolist() == [2.0, 4.0]
    w.data.copy_(sn.tensor([5.0, 6.0]))
    assert w.tolist() == [5.0, 6.0] and w.requires_grad
    pending = w * 1                                   # lazily computed: keeps the values it was made from
    w.detach().fill_(0.0)
    assert w.tolist() == [0.0, 0.0] and pending.tolist() == [5.0, 6.0]


@pytest.mark.parametrize("where", ["native", "reference"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_negative_zero_keeps_its_sign_and_its_own_program(dtype, where):
    """x / −0.0 is −inf for positive x (SymPy has one zero): computed after x / 0.0 in the same process, so
    the two graphs must not share a cached program (−0.0 == 0.0 in Python, and they hash alike)."""
    x = np.array([1.5, -2.0, 0.0, np.inf], dtype=dtype)
    with backend.use(where), np.errstate(all="ignore"):
        for scalar in (0.0, -0.0, 0.0):
            t = sn.tensor(x)
            for got, want in (((t / scalar).numpy(), x / dtype_scalar(dtype, scalar)),
                              ((t * scalar).numpy(), x * dtype_scalar(dtype, scalar)),
                              ((t // scalar).numpy(), np.floor_divide(x, dtype_scalar(dtype, scalar)))):
                np.testing.assert_array_equal(got, want)
                np.testing.assert_array_equal(np.signbit(got), np.signbit(want))
        w = sn.tensor(x[:2], requires_grad=True)
        (w * -0.0).sum().backward()
        assert np.signbit(w.grad.numpy()).all()  # d(x·−0.0)/dx = −0.0


def dtype_scalar(dtype: str, value: float):
    return np.dtype(dtype).type(value)


@pytest.mark.parametrize("where", ["native", "reference"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_number_over_a_tensor_rounds_as_pytorch_does(dtype, where):
    """PyTorch computes c / x as x.reciprocal() * c: two roundings, which differ from one division in about a
    quarter of the cases; its gradient is −c/x²."""
    x = np.random.default_rng(0).uniform(0.5, 4.0, 4096).astype(dtype)
    one, c = dtype_scalar(dtype, 1.0), dtype_scalar(dtype, 2.5)
    with backend.use(where):
        t = sn.tensor(x, requires_grad=True)
        y = 2.5 / t
        np.testing.assert_array_equal(y.numpy(), (one / x) * c)
        y.sum().backward()
    np.testing.assert_allclose(t.grad.numpy(), -2.5 / x.astype(np.float64) ** 2, rtol=1e-5 if dtype == "float32"
                               else 1e-12)


@pytest.mark.parametrize("backend", ["native", "reference"])
def test_filling_with_negative_zero_keeps_its_sign(backend):
    """PyTorch writes −0.0 as −0.0 (masked_fill, index_put, a 0-d value tensor); a sum of guarded branches gave
    −0 + 0 = +0."""
    with sn.backend.use(backend):
        x, mask = sn.tensor([1.0, 2.0, 3.0]), sn.tensor([True, False, True])
        filled = [x.masked_fill(mask, -0.0), x.masked_fill(mask, sn.tensor(-0.0))]
        put = sn.zeros(3)
        put[sn.tensor([0, 2])] = -0.0
        for t in [*filled, put]:
            np.testing.assert_array_equal(np.signbit(t.numpy()), [True, False, True])
        np.testing.assert_array_equal(filled[0].numpy(), [0.0, 2.0, 0.0])


@pytest.mark.parametrize("dtype", [sn.float32, sn.float64])
def test_a_contraction_over_an_empty_dimension_is_zeros(dtype):
    """An empty sum is 0: the GEMM kernel stores zeros when K = 0 (it left C unwritten: garbage)."""
    for (m, n), where in itertools.product(((2, 2), (3, 40), (17, 5)), ("native", "reference")):
        with backend.use(where):
            a, b = sn.ones(m, 0, dtype=dtype), sn.ones(0, n, dtype=dtype)
            np.testing.assert_array_equal((a @ b).numpy(), np.zeros((m, n)))
            np.testing.assert_array_equal(sn.einsum("ij,jk->ik", a, b).numpy(), np.zeros((m, n)))
            np.testing.assert_array_equal(a.reshape(-1).numpy(), np.zeros(0))  # nothing read: no index checked


def test_reshaping_an_empty_tensor():
    """No element is read, so no flat-position digits (they divided by 0)."""
    assert sn.zeros(2, 0).reshape(-1).numpy().shape == (0,)
    assert sn.zeros(2, 0, 3).flatten().shape == (0,) and sn.zeros(0, 4).reshape(2, 0, 2).numpy().shape == (2, 0, 2)
    x = sn.zeros(2, 0, requires_grad=True)
    x.reshape(-1).sum().backward()
    assert x.grad.shape == (2, 0)


def test_bool_matmul_is_refused_as_pytorch():
    with pytest.raises(sn.DTypeError, match="bool"):
        sn.tensor([[True]]) @ sn.tensor([[True]])
    np.testing.assert_array_equal((sn.tensor([[1, 2]]) @ sn.tensor([[3], [4]])).numpy(), [[11]])


#: bases and exponents where C's pow (PyTorch's, NumPy's) takes a rule rather than e^(y·log|x|)
POW_EDGES = [(-0.0, -1.0), (0.0, -1.0), (-0.0, -0.5), (-0.0, 3.0), (-1.0, np.inf), (-1.0, -np.inf),
             (-np.inf, 0.5), (-np.inf, -0.5), (-np.inf, 3.0), (-np.inf, -3.0), (-2.0, 2.5), (np.nan, 0.0),
             (1.0, np.nan), (0.5, -np.inf), (2.0, np.inf), (-0.5, np.inf)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_pow_of_tensors_follows_c_at_its_edges(dtype):
    x, y = (np.array(v, dtype) for v in zip(*POW_EDGES, strict=True))
    with np.errstate(divide="ignore", invalid="ignore"):
        expected = np.power(x, y)
    got = (sn.tensor(x) ** sn.tensor(y)).numpy()
    np.testing.assert_array_equal(got, expected)
    signed = ~np.isnan(expected)  # a NaN's sign bit is no part of the result
    np.testing.assert_array_equal(np.signbit(got[signed]), np.signbit(expected[signed]))


def test_the_exponent_gradient_of_zero_to_a_negative_power_is_minus_infinity_as_pytorch():
    x = sn.tensor([0.0, 0.0, 2.0], dtype=sn.float64)
    y = sn.tensor([-1.0, 2.0, 1.5], dtype=sn.float64, requires_grad=True)
    (x ** y).sum().backward()
    np.testing.assert_allclose(y.grad.numpy(), [-np.inf, 0.0, 2.0**1.5 * np.log(2.0)], rtol=1e-15)


@pytest.mark.parametrize("bound", ["min", "max"])
def test_one_tensor_bound_takes_the_gradient_wherever_it_wins_as_pytorch(bound):
    """clamp(min=t) is PyTorch's clamp_min rule: an infinite bound that wins gets the gradient (clamp's two-bound
    rule gave it none); a NaN bound gives NaN and no gradient to either."""
    x = sn.tensor([1.0, -2.0, 3.0, 0.5, 2.0], dtype=sn.float64, requires_grad=True)
    t = sn.tensor([np.inf, 0.0, 3.0, np.nan, 1.0] if bound == "min" else [-np.inf, 0.0, 3.0, np.nan, 1.0],
                  dtype=sn.float64, requires_grad=True)
    (x.clamp(**{bound: t}) * sn.tensor([1.0, 2.0, 3.0, 4.0, 5.0], dtype=sn.float64)).sum().backward()
    if bound == "min":
        np.testing.assert_array_equal(x.grad.numpy(), [0, 0, 3, 0, 5])
        np.testing.assert_array_equal(t.grad.numpy(), [1, 2, 0, 0, 0])
    else:
        np.testing.assert_array_equal(x.grad.numpy(), [0, 2, 3, 0, 0])
        np.testing.assert_array_equal(t.grad.numpy(), [1, 0, 0, 0, 5])
