"""Element functions added as one row each (erf, GELU exact and tanh): values and gradients against PyTorch
fixtures on both backends, derivatives against finite differences (orders 1 and 2), and the printed rule."""

from pathlib import Path

import numpy as np
import pytest

import symnet as sn

VALUES = np.load(Path(__file__).parent / "fixtures" / "activations.npz")
FUNCTIONS = {
    "erf": lambda t: t.erf(),
    "gelu": lambda t: sn.nn.functional.gelu(t),
    "gelu_tanh": lambda t: sn.nn.GELU(approximate="tanh")(t),
}
# PyTorch's kernels and ours differ by an ulp or two (erf's polynomial, tanh's), which the tails of GELU —
# 1 + erf(x/√2) and 1 − tanh² cancel there, in both — turn into absolute differences of a few ulps of 1,
# times |x| (up to ~10) in the tanh form's gradient.
TOLERANCE = {"float64": dict(rtol=4e-15, atol=1e-15), "float32": dict(rtol=2e-6, atol=1e-6)}
GRAD_TOLERANCE = {"float64": dict(rtol=4e-15, atol=2e-14), "float32": dict(rtol=2e-6, atol=5e-6)}


@pytest.mark.parametrize("backend", ["native", "reference"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_value_and_gradient_match_pytorch(name, dtype, backend):
    sn.pipeline.cache_clear()
    with sn.backend.use(backend):
        x = sn.tensor(VALUES["grid"], dtype=dtype, requires_grad=True)
        y = FUNCTIONS[name](x)
        y.sum().backward()
        value, grad = y.numpy(), x.grad.numpy()
    sn.pipeline.cache_clear()
    assert value.dtype == np.dtype(dtype) and np.isfinite(grad).all()
    np.testing.assert_allclose(value, VALUES[f"{name}/{dtype}/value"], **TOLERANCE[dtype])
    np.testing.assert_allclose(grad, VALUES[f"{name}/{dtype}/grad"], **GRAD_TOLERANCE[dtype])


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_derivatives_match_finite_differences(name):
    x = np.random.default_rng(1).uniform(-3, 3, (7,))
    sn.check_grads(lambda t: FUNCTIONS[name](t), [x], order=2)


def test_gelu_rejects_an_unknown_approximation():
    with pytest.raises(ValueError, match="approximate must be 'none' or 'tanh'"):
        sn.nn.functional.gelu(sn.tensor([1.0]), approximate="fast")


def test_each_function_is_one_row_of_the_rule_table():
    """The rule table lists them with their derived partials, and the printed gradient names the function."""
    from symnet.core.elementwise import derivative_rules

    rows = {name: (expr, partials) for name, expr, partials in derivative_rules()}
    assert {"erf", "gelu", "gelu_tanh"} <= rows.keys()
    assert "exp(-x**2)" in str(rows["erf"][1][0])
    w = sn.tensor([0.3], requires_grad=True, name="w")
    assert "erf" in str(sn.formulas(sn.nn.functional.gelu(w).sum()))
