"""Power-of-two factors leave the inner loop: a sum of 2·r·x accumulates r·x and doubles once, and 2a + 2b·x − 2y
reuses the residual a + b·x − y the kernel already has. Doubling rounds nothing, so the numbers are those of the
loop as written, zero's sign included. A polynomial in one read is nested by Horner's rule, and r·xᵏ is one
multiply from r·xᵏ⁻¹ when the kernel has it: a polynomial fit's kernel computes no power of x."""

from __future__ import annotations

import re

import numpy as np
import pytest
import sympy as sp

import symnet as sn


def polynomial_fit(degree: int, dtype=np.float64):
    """The seed's polynomial fit a + b·x + c·x² + …: its loss Σ (prediction − y)², and the coefficients."""
    x = np.linspace(-3, 3, 257).astype(dtype)
    X, Y = sn.tensor(x), sn.tensor(np.sin(x))
    coefficients = [sn.tensor(np.array(0.1 * (k + 1), dtype=dtype), requires_grad=True) for k in range(degree + 1)]
    prediction = coefficients[0] + sum(c * X**k for k, c in enumerate(coefficients) if k)
    return ((prediction - Y) ** 2).sum(), coefficients, x


def arithmetic(ir: str) -> int:
    """Float additions and multiplications in the kernels of an unoptimized module."""
    kernels = re.findall(r'define internal i32 @"k_.*?\n}', ir, flags=re.S)
    return sum(len(re.findall(r"= (?:fadd|fsub|fmul)", k)) for k in kernels)


@pytest.mark.parametrize("degree", [2, 5])
def test_each_gradient_of_a_fused_fit_costs_a_multiply_add_not_a_polynomial(degree):
    """The gradient by the constant term, 2a + 2b·x + … − 2y as derived, reuses the loss's residual; every
    gradient doubles once after the loop. Before, each evaluated its own expanded polynomial."""
    loss, _, _ = polynomial_fit(degree)
    loops = sn.show(loss, "loops")
    assert "2*A + 2*B*" in loops  # the derived form the lowering has to see through
    # each gradient on top of the loss: the residual times x^k (doubled for k = 0), accumulated, doubled once
    budget = arithmetic(sn.show(loss, "llvm", wrt=[])) + 3 * (degree + 1)
    assert arithmetic(sn.show(loss, "llvm")) <= budget


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_fused_fit_gives_the_reference_numbers(dtype):
    loss, coefficients, x = polynomial_fit(5, dtype)
    loss.backward()
    c = np.array([0.1 * (k + 1) for k in range(6)])
    x64 = x.astype(np.float64)
    residual = sum(c[k] * x64**k for k in range(6)) - np.sin(x).astype(np.float64)
    rtol = 1e-12 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(loss.item(), (residual**2).sum(), rtol=rtol)
    for k, ck in enumerate(coefficients):
        expected = (2 * residual * x64**k).sum()
        np.testing.assert_allclose(ck.grad.item(), expected, rtol=rtol, atol=rtol * np.abs(2 * residual * x64**k).sum())


@pytest.mark.parametrize("dtype", [sn.float32, sn.float64])
def test_a_doubled_sum_is_twice_the_sum_bit_for_bit(dtype):
    values = np.random.default_rng(3).standard_normal(1001)
    t = sn.tensor(values, dtype=dtype)
    assert (2 * t).sum().item() == 2 * t.sum().item()
    assert (4 * t * t).sum().item() == 4 * (t * t).sum().item()


def test_zero_keeps_its_sign_as_pytorch_sums_it():
    """Σ −2·0 is +0 (the sum starts at +0): a negative factor is never taken out, as −(Σ 2·0) would be −0."""
    for values in ([0.0, 0.0], [-0.0, -0.0]):
        t = sn.tensor(values, dtype=sn.float64)
        for total in ((-2 * t).sum(), (2 * t).sum(), (-t).sum()):
            assert np.signbit(total.item()) == np.signbit(0.0)


def test_a_sum_whose_terms_share_a_power_of_two_adds_the_terms_without_it():
    """Σ (2tu + 2t − 4v) accumulates tu + t − 2v and doubles once: the arithmetic of Σ (tu + t − 2v) and one
    doubling (each term scaled by 2 in the loop was a multiply, or a multiply-add where an add would do)."""
    t, u, v = (sn.tensor(np.random.default_rng(k).standard_normal(513)) for k in range(3))
    doubled, plain = (2 * t * u + 2 * t - 4 * v).sum(), (t * u + t - 2 * v).sum()
    assert arithmetic(sn.show(doubled, "llvm", wrt=[])) <= arithmetic(sn.show(plain, "llvm", wrt=[])) + 1
    assert doubled.item() == 2 * plain.item()


@pytest.mark.parametrize("degree", [2, 3, 5])
def test_a_polynomial_is_nested_and_its_gradients_multiply_along_a_chain(degree):
    """The residual a + b·x + … + f·x⁵ − y by Horner's rule (degree multiply-adds, no power of x) and the
    gradients r·x, r·x², … each one multiply from the last (a multiply and an add each, doubled once after the
    loop): 5 operations a degree, where powers of x cost 8 more at degree 5."""
    loss, _, _ = polynomial_fit(degree)
    assert arithmetic(sn.show(loss, "llvm", wrt=[])) <= 2 * degree + 3
    assert arithmetic(sn.show(loss, "llvm")) <= 5 * degree + 5


def test_horner_form_nests_dense_polynomials_in_one_read_only():
    from codegen.lowering import horner_form
    from symnet.core.ir import access

    a, b, c = sp.symbols("a b c")
    x, y = access("X", (sp.Symbol("i"),)), access("Y", (sp.Symbol("i"),))
    nested = horner_form(a + b * x + c * x**2 - y)
    assert sp.expand(nested - (a + b * x + c * x**2 - y)) == 0 and not nested.has(x**2)
    assert horner_form(a + x**5) is None  # sparse: x⁵ by squaring is three multiplies, nesting five
    assert horner_form(a + sp.sin(x) * x**2 + x) is None  # a coefficient reads x
    two = horner_form(a * x**2 + b * y**2 + c * x)  # in x, with y² in the constant term
    assert sp.expand(two - (a * x**2 + b * y**2 + c * x)) == 0 and not two.has(x**2)
