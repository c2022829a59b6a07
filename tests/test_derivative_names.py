"""Derivative tensors print as people write them: ∂u/∂x, ∂²u/∂x², ∂²u/∂x₀∂x (issue 13, item 3)."""

import numpy as np
import pytest

import symnet as sn
from symnet.frontend.derivative_names import Derivative


@pytest.mark.parametrize(("wrt", "identifier", "unicode", "latex"), [
    ((("x", None),), "du_dx", "∂u/∂x", r"\frac{\partial u}{\partial x}"),
    ((("x", None), ("x", None)), "d2u_dx2", "∂²u/∂x²", r"\frac{\partial^{2} u}{\partial x^{2}}"),
    ((("x", 0), ("x", None)), "d2u_dx0dx", "∂²u/∂x₀∂x", r"\frac{\partial^{2} u}{\partial x_{0} \partial x}"),
    ((("t", None), ("x", 1), ("x", 1)), "d3u_dtdx12", "∂³u/∂t∂x₁²",
     r"\frac{\partial^{3} u}{\partial t \partial x_{1}^{2}}"),
])
def test_rendering(wrt, identifier, unicode, latex):
    d = Derivative("u", wrt)
    assert (d.identifier, d.render("unicode"), d.render("latex"), d.render("text")) == (identifier, unicode, latex,
                                                                                     identifier)
    assert d.identifier.isidentifier()


def laplacian_step():
    sn.manual_seed(0)
    net = sn.nn.Sequential(sn.nn.Linear(2, 4), sn.nn.Tanh(), sn.nn.Linear(4, 1))

    @sn.objective
    def residual(model, x, f):
        u = model(x)
        (du,) = sn.autograd.grad(u.sum(), x, create_graph=True)
        (uxx,) = sn.autograd.grad(du[:, 0].sum(), x, create_graph=True)
        (uyy,) = sn.autograd.grad(du[:, 1].sum(), x, create_graph=True)
        return ((uxx[:, 0] + uyy[:, 1] - f) ** 2).mean()

    step = sn.compile(net, residual, sn.optim.Adam(net.parameters(), lr=1e-3))
    step.step(np.random.default_rng(0).random((8, 2)), np.zeros(8))
    return step


def test_a_pinn_residual_prints_its_second_derivatives():
    formulas = laplacian_step().formulas()
    text = str(formulas)
    assert "∂²u/∂X₀∂X[b, j] = Σ_i" in text and "∂²u/∂X₁∂X[b, j] = Σ_i" in text
    assert "∂²u/∂X₀∂X[b, 0] + ∂²u/∂X₁∂X[b, 1]" in text  # the Laplacian, as written
    assert "δ(∂²u/∂X₁∂X)[b, i]" in text  # their adjoints
    assert r"\frac{\partial^{2} u}{\partial X_{0} \partial X}" in formulas.latex()


def test_names_follow_what_was_differentiated():
    x = sn.tensor(np.array([[0.5, 1.0], [1.5, -1.0]]), requires_grad=True, name="x")
    phi = (x ** 3).sum(1)
    phi.name = "phi"
    (d1,) = sn.autograd.grad(phi.sum(), x, create_graph=True)
    assert d1.name == "dphi_dx"
    (d2,) = sn.autograd.grad(d1.sum(), x, create_graph=True)
    assert d2.name == "d2phi_dx2"
    (ones,) = sn.autograd.grad(phi, x, sn.ones(2, dtype=sn.float64), create_graph=True)
    assert ones.name == "dphi_dx"  # grad(u, x, ones_like(u)): the derivative of u itself
    (weighted,) = sn.autograd.grad(phi, x, sn.tensor([2.0, 3.0], dtype=sn.float64), create_graph=True)
    assert weighted.name is None  # a vector-Jacobian product is not a derivative of phi
    (plain,) = sn.autograd.grad(phi.sum(), x)
    assert plain.name is None  # a value, not a tensor with a graph
    (mine,) = sn.autograd.grad(phi.sum(), x, create_graph=True)
    mine.name = "flux"
    assert mine.name == "flux"


def test_taylor_mode_names_unit_directions():
    x = sn.tensor(np.array([[0.5, 1.0]]), requires_grad=True, name="x")
    u = (x ** 4).sum(1)
    first, second = sn.autograd.derivatives(u, x, sn.tensor([[0.0, 1.0]], dtype=sn.float64), order=2,
                                            create_graph=True)
    assert (first.name, second.name) == ("du_dx1", "d2u_dx12")
    along = sn.autograd.derivatives(u, x, sn.tensor([[1.0, 1.0]], dtype=sn.float64), order=1, create_graph=True)
    assert along[0].name == "du_dv"
    assert np.isclose(second.item(), 12.0)
