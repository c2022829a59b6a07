"""The second shaping group, logspace/tril_indices/triu_indices/vander and the small vector algebra beyond the
OpInfo table (tests/opinfo/cases_shaping2.py): vander's gradient (PyTorch's own backward fails), refusals of
Python scalars and bad options, the warning of cross's deprecated default, empty tensors, the function forms."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pytest

import symnet as sn


def f64(values) -> sn.Tensor:
    return sn.tensor(np.asarray(values, dtype=np.float64), requires_grad=True)


STORED = np.load(Path(__file__).parent / "fixtures" / "opinfo_shaping2.npz")
LINSPACES = {"seed": lambda: sn.linspace(-math.pi, math.pi, 2000), "downwards": lambda: sn.linspace(1, 0, 4),
             "float64-near-tie": lambda: sn.linspace(1e5, 1e-30, 7, dtype=sn.float64),
             "int64-truncated-bounds": lambda: sn.linspace(-3.3, 7.7, 7, dtype=sn.int64)}


@pytest.mark.parametrize("name", list(LINSPACES))
def test_linspace_is_pytorchs_bit_for_bit(name):
    """PyTorch's linspace rounds each value once (its compiled loop's fused multiply-adds, up from start in the
    first half, down from end in the second): the seed's sin-fit data included, and a value a hair above a
    rounding tie (a multiply and an add, rounding twice, gave 50000.0 where PyTorch has 50000.00000000001)."""
    got, expected = LINSPACES[name]().numpy(), STORED[f"linspace/{name}/float64/out/0"]
    assert got.dtype == expected.dtype and np.array_equal(got, expected)


ARANGES = {"tenths": lambda: sn.arange(0, 7.7, 0.1),
           "float64": lambda: sn.arange(-math.pi, 100.5, 0.7, dtype=sn.float64)}
#: PyTorch 2.13's long ranges on two threads (their SHA-256): two chunks, each with its own vectors and tail
LONG_ARANGES = {(0, 1000.5, 0.01, sn.float32): "781e40735b223193c5d99a0da77a909c46e9ef65d66d242f493247b6488196a4",
                (-math.pi, 400.0, 0.01, sn.float64): "0af98cb8036914ada8689faf8a01d914fccf249e91b19b54ef9fcf41744519e4"}


@pytest.mark.parametrize("name", list(ARANGES))
def test_arange_is_pytorchs_bit_for_bit(name):
    got, expected = ARANGES[name]().numpy(), STORED[f"arange/{name}/float64/out/0"]
    assert got.dtype == expected.dtype and np.array_equal(got, expected)


def test_long_aranges_are_pytorchs_on_as_many_threads():
    import hashlib

    before = sn.get_num_threads()
    sn.set_num_threads(2)
    try:
        for (start, end, step, dtype), digest in LONG_ARANGES.items():
            assert hashlib.sha256(sn.arange(start, end, step, dtype=dtype).numpy().tobytes()).hexdigest() == digest
    finally:
        sn.set_num_threads(before)


def test_linspace_at_the_ends_of_float64():
    """A step past the split's range is scaled by a power of two (exact); an infinite one gives PyTorch's NaN and
    infinities (read off PyTorch 2.13)."""
    assert sn.linspace(0, 1.7e308, 7, dtype=sn.float64).numpy().tolist() == [
        0.0, 2.8333333333333334e307, 5.666666666666667e307, 8.5e307, 1.1333333333333332e308, 1.4166666666666665e308,
        1.7e308]
    np.testing.assert_array_equal(sn.linspace(-1e308, 1e308, 5, dtype=sn.float64).numpy(),
                                  [math.nan, math.inf, -math.inf, -math.inf, math.nan])


def test_linspace_rounds_once_against_exact_arithmetic():
    """The fused rounding itself, against rational arithmetic: every value of ranges that stress it."""
    from fractions import Fraction

    for start, end, steps, dtype in ((0.1, 7.7, 33, np.float32), (-1e5, 3e-7, 17, np.float64),
                                     (1e5, 1e-30, 7, np.float64), (-5.0, 5.0, 200, np.float32)):
        got = sn.linspace(start, end, steps, dtype=sn.float32 if dtype == np.float32 else sn.float64).numpy()
        first, last = dtype(start), dtype(end)
        step = dtype(last - first) / dtype(steps - 1)
        for k, value in enumerate(got):
            exact = Fraction(float(first)) + Fraction(float(step)) * k if k < steps // 2 else \
                Fraction(float(last)) - Fraction(float(step)) * (steps - 1 - k)
            below, above = np.nextafter(value, dtype(-np.inf)), np.nextafter(value, dtype(np.inf))
            assert abs(Fraction(float(value)) - exact) <= min(abs(Fraction(float(below)) - exact),
                                                              abs(Fraction(float(above)) - exact)), (k, value)


def test_vander_gradient_is_exact_at_zero():
    """Running products, not powers: d/dx Σ_j x^j = Σ_j j·x^(j−1) is 1 at x = 0, not 0·∞."""
    x = f64([0.0, 2.0, -1.5])
    sn.vander(x, 4, increasing=True).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1 + 2 * v + 3 * v * v for v in (0.0, 2.0, -1.5)], rtol=1e-12)
    with sn.backend.use("reference"):
        sn.check_grads(lambda t: sn.vander(t), [f64([0.5, -1.0, 2.0])], order=1)


def test_cross_without_dim_warns_as_pytorch_and_linalg_cross_defaults_to_last():
    a, b = sn.tensor(np.eye(3)), sn.tensor(np.roll(np.eye(3), 1, 0))
    with pytest.warns(UserWarning, match="deprecated"):
        default = a.cross(b)
    np.testing.assert_array_equal(default.numpy(), np.cross(np.eye(3), np.roll(np.eye(3), 1, 0), axis=0))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        last = sn.linalg.cross(a, b)
        assert sn.cross(a, b, dim=1).tolist() == last.tolist()
    np.testing.assert_array_equal(last.numpy(), np.cross(np.eye(3), np.roll(np.eye(3), 1, 0)))


@pytest.mark.parametrize(("call", "error"), [
    (lambda x: x.cross([1.0, 0.0, 0.0], 0), TypeError),
    (lambda x: x.dist(2.0), TypeError),
    (lambda x: sn.cdist(x.reshape(1, 3), x.reshape(1, 3), compute_mode="fast"), ValueError),
    (lambda x: sn.trapezoid(x, x, dx=1.0), TypeError),
    (lambda x: x.select_scatter(1.0, 0, 0), TypeError),
    (lambda x: x.diff(prepend=1.0), TypeError),
    (lambda x: x.slice_scatter(x, step=0), ValueError),
    (lambda x: x.tensor_split(2, sections=2), TypeError),
    (lambda x: sn.cartesian_prod(), ValueError),
    (lambda x: sn.unravel_index(sn.tensor([1]), (2, 0)), ZeroDivisionError),
    (lambda x: sn.unravel_index(1, (2, 3)), TypeError),
    (lambda x: sn.vander(x, -1), ValueError),
    (lambda x: sn.tril_indices(3, 3, dtype=sn.float32), sn.DTypeError),
    (lambda x: sn.logspace(0, 1, 3, dtype=sn.bool), sn.DTypeError),
    (lambda x: x.reshape(1, 3).cov(aweights=sn.tensor([1.0, -2.0, 1.0])), ValueError),
    (lambda x: x.reshape(1, 3).renorm(math.nan, 0, 1.0), ValueError),
    (lambda x: sn.cdist(x.reshape(1, 3), x.reshape(1, 3), math.nan), ValueError),
    (lambda x: sn.dist(x[:0], x[:0], -1), ValueError),
    (lambda x: x.reshape(1, 3).cov(fweights=sn.tensor([0, 0, 0])), ValueError),
])
def test_refusals(call, error):
    with pytest.raises(error):
        call(sn.tensor([1.0, 2.0, 3.0]))


def test_empty_tensors():
    empty = sn.zeros(0)
    assert sn.cartesian_prod(empty, sn.ones(2)).shape == (0, 2)
    assert sn.combinations(empty).shape == (0, 2)
    assert empty.diff().shape == (0,)
    assert [p.shape for p in empty.tensor_split(3)] == [(0,), (0,), (0,)]
    assert sn.vander(empty).shape == (0, 0)
    assert sn.cdist(sn.zeros(0, 2), sn.ones(3, 2)).shape == (0, 3)
    assert sn.logspace(0, 1, 0).shape == (0,)
    assert sn.unravel_index(sn.tensor([0]), ()) == ()
    assert sn.dist(sn.zeros(2, 0), sn.ones(0)).item() == 0.0
    assert sn.cdist(sn.zeros(2, 0), sn.zeros(3, 0), math.inf).tolist() == [[0.0] * 3] * 2
    assert sn.trapezoid(sn.zeros(2, 0, dtype=sn.bool)).tolist() == [False, False]  # before the bool refusal
    assert sn.diff(sn.ones(3), 0, dim=4).tolist() == [1.0] * 3  # order 0: a copy, dim not read (as PyTorch)


def test_integer_and_bool_results():
    assert sn.tril_indices(3, 3).dtype == sn.int64
    assert sn.diff(sn.tensor([True, False, False])).tolist() == [True, False]
    assert sn.vander(sn.tensor([2, 3]), 3).tolist() == [[4, 2, 1], [9, 3, 1]]
    assert sn.trapezoid(sn.tensor([1, 2, 4])).dtype == sn.float32  # the default float, as PyTorch
    assert sn.cov(sn.tensor([[1, 2, 4], [3, 1, 0]])).dtype == sn.float32
    rows, cols = sn.unravel_index(sn.tensor([-1, 6, 4]), (2, 3))  # wraps around, as PyTorch's
    assert (rows.tolist(), cols.tolist()) == ([1, 0, 1], [2, 0, 1])


def test_cdist_and_renorm_at_their_kinks():
    """cdist's gradient at a zero distance and at a zero coordinate difference is 0 (also for p < 1); renorm
    leaves a row of norm exactly maxnorm and its gradient alone."""
    x = f64([[0.0, 1.0], [2.0, 3.0]])
    sn.cdist(x, sn.tensor([[0.0, 1.0], [0.0, 3.0]], dtype=sn.float64), 0.5).sum().backward()
    assert np.isfinite(x.grad.numpy()).all()
    np.testing.assert_allclose(x.grad.numpy()[0], [0.0, -1.0], rtol=1e-12)  # (0, 1)→(0, 3): only y differs
    w = f64([[3.0, 4.0], [6.0, 8.0]])
    out = w.renorm(2, 0, 5.0)
    (out * sn.tensor([[1.0, 2.0], [1.0, 2.0]], dtype=sn.float64)).sum().backward()
    np.testing.assert_array_equal(out.numpy()[0], [3.0, 4.0])
    np.testing.assert_array_equal(w.grad.numpy()[0], [1.0, 2.0])
    assert w.grad.numpy()[1].tolist() != [0.5, 1.0]  # above it, the gradient reaches through the norm


def test_function_and_method_forms():
    x = sn.tensor(np.arange(12.0).reshape(3, 4))
    for name in ("ravel", "rot90", "diagflat", "diff"):
        np.testing.assert_array_equal(getattr(sn, name)(x).numpy(), getattr(x, name)().numpy())
    np.testing.assert_array_equal(sn.unflatten(x, 1, (2, 2)).numpy(), x.numpy().reshape(3, 2, 2))
    np.testing.assert_array_equal(sn.concatenate([x, x], dim=1).numpy(), np.concatenate([x.numpy()] * 2, 1))
    assert sn.concat is sn.cat
    assert [p.shape for p in sn.hsplit(x, [1])] == [(3, 1), (3, 3)]
    np.testing.assert_array_equal(sn.rot90(x, 3).numpy(), np.rot90(x.numpy(), 3))
    np.testing.assert_array_equal(sn.triu_indices(3, 4, 1, device="cpu").numpy(), np.stack(np.triu_indices(3, 1, 4)))
    np.testing.assert_allclose(sn.logspace(-2, 2, 5, base=2.0, dtype=sn.float64).numpy(), np.logspace(-2, 2, 5, base=2))


def test_tensor_split_by_batch_values_is_refused_in_a_compiled_step():
    """Parts whose sizes come from the batch's values have data-dependent shapes: eager only."""

    class Split(sn.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = sn.nn.Parameter(np.ones(5))

        def forward(self, X):
            return self.w.tensor_split((X.sum() > 0).long().reshape(1) + 1)[0].sum() + X.sum() * 0

    model = Split()
    step = sn.compile(model, lambda out, y: out + y.sum() * 0, sn.optim.SGD(model.parameters(), lr=1.0))
    with pytest.raises(sn.ShapeError, match="data-dependent"):
        step.step(np.ones((1, 1)), np.ones((1, 1)))
    assert [p.shape for p in model.w.tensor_split(sn.tensor([2]))] == [(2,), (3,)]  # eager: read now
