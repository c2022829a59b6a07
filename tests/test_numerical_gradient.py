"""``torch.gradient`` (samples' derivatives: central differences inside, one-sided at the ends, uniform spacings
or coordinates), ``torch.chain_matmul``, ``adjoint`` and ``detach_``: PyTorch 2.13's values and errors, stored
beside each scenario and run on PyTorch too where it is installed; the gradient of ``gradient`` against finite
differences."""

from __future__ import annotations

import numpy as np

import symnet as sn

from .scenarios import scenario_tests
from .test_op_edges import raised, result

SQUARES = [1.0, 4.0, 9.0, 16.0, 25.0]
COORDINATES = [0.0, 1.0, 1.5, 3.5, 4.0]


def uniform_spacing(lib):
    t = lib.tensor(SQUARES, dtype=lib.float64)
    return [result(g) for g in (*lib.gradient(t), *lib.gradient(t, spacing=2.0), *lib.gradient(t, edge_order=2),
                                *lib.gradient(t, spacing=0.5, edge_order=2))]


def coordinates(lib):
    t = lib.tensor(SQUARES, dtype=lib.float64)
    x = (lib.tensor(COORDINATES, dtype=lib.float64),)
    return [result(g) for g in (*lib.gradient(t, spacing=x), *lib.gradient(t, spacing=x, edge_order=2))]


def float32_and_integers(lib):
    t = lib.tensor([1.0, 3.0, 2.0, -0.5])
    return [result(g) for g in (*lib.gradient(t, spacing=3.0), *lib.gradient(t, edge_order=2),
                                *lib.gradient(lib.tensor([1, 4, 9])), *lib.gradient(lib.tensor([1, 4, 9]), spacing=2),
                                *lib.gradient(t, spacing=[lib.tensor([0.0, 1.0, 3.0, 3.5], dtype=lib.float64)]))]


def matrices(lib):
    m = lib.arange(12.0).reshape(3, 4) ** 2
    return [result(g) for g in (*lib.gradient(m), *lib.gradient(m, dim=1), *lib.gradient(m, spacing=[2.0, 3.0]),
                                *lib.gradient(m, spacing=2.0, dim=(0,)), *lib.gradient(m, dim=-1, edge_order=2),
                                *lib.gradient(m, spacing=[lib.tensor([0.0, 1.0, 3.0]),
                                                          lib.tensor([0.0, 1.0, 2.0, 4.0])]),
                                *lib.gradient(m, spacing=lib.tensor(2.0)))]


def odd_shapes(lib):
    return [len(lib.gradient(lib.tensor(3.0))), result(lib.gradient(lib.tensor([1.0, 2.0]))[0]),
            [list(g.shape) for g in lib.gradient(lib.zeros(0, 3), dim=1)],
            result(lib.gradient(lib.tensor([[1.0, 2.0, 4.0]]), dim=1, edge_order=2)[0])]


def gradient_errors(lib):
    m, t = lib.ones(3, 4), lib.ones(2)
    return [raised(lambda: lib.gradient(m, edge_order=3), RuntimeError),
            raised(lambda: lib.gradient(t, edge_order=2), RuntimeError),
            raised(lambda: lib.gradient(m, dim=5), IndexError),
            raised(lambda: lib.gradient(m, dim=(0, 0)), RuntimeError),
            raised(lambda: lib.gradient(m, spacing=[2.0]), RuntimeError),
            raised(lambda: lib.gradient(m, spacing=[2.0, 1.0], dim=0), RuntimeError),
            raised(lambda: lib.gradient(m, spacing=[lib.ones(1, 3)], dim=0), RuntimeError),
            raised(lambda: lib.gradient(m, spacing=[lib.tensor(2.0), lib.tensor(1.0)]), RuntimeError),
            raised(lambda: lib.gradient(m.bool()), RuntimeError)]


def chain_and_adjoint(lib):
    m = lib.arange(12.0).reshape(3, 4)
    return [result(lib.chain_matmul(m, m.T, m)), result(lib.chain_matmul(m)), result(m.adjoint()),
            result(lib.adjoint(lib.arange(8.0).reshape(2, 2, 2))), result(lib.tensor(3.0).adjoint()),
            raised(lambda: lib.tensor([1.0, 2.0]).adjoint(), RuntimeError),
            raised(lambda: lib.chain_matmul(), RuntimeError),
            raised(lambda: lib.chain_matmul(lib.ones(3), lib.ones(3, 3)), RuntimeError)]


def detach_in_place(lib):
    x = lib.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    same = lib.detach_(y) is y
    return [same, y.requires_grad, y.grad_fn is None, result(y)]


PYTORCH = {
    uniform_spacing: [['float64', [3.0, 4.0, 6.0, 8.0, 9.0]], ['float64', [1.5, 2.0, 3.0, 4.0, 4.5]],
                      ['float64', [2.0, 4.0, 6.0, 8.0, 10.0]], ['float64', [4.0, 8.0, 12.0, 16.0, 20.0]]],
    coordinates: [['float64', [3.0, 7.666666666666667, 8.7, 15.100000000000001, 18.0]],
                  ['float64', [-1.666666666666666, 7.666666666666667, 8.7, 15.100000000000001, 20.9]]],
    float32_and_integers: [['float32',
                            [0.6666666865348816, 0.1666666716337204, -0.5833333134651184, -0.8333333134651184]],
                           ['float32', [3.5, 0.5, -1.75, -3.25]], ['float32', [3.0, 4.0, 5.0]],
                           ['float32', [1.5, 2.0, 2.5]], ['float64', [2.0, 1.1666666666666667, -4.1, -5.0]]],
    matrices: [['float32', [[16.0, 24.0, 32.0, 40.0], [32.0, 40.0, 48.0, 56.0], [48.0, 56.0, 64.0, 72.0]]],
               ['float32', [[1.0, 2.0, 4.0, 5.0], [9.0, 10.0, 12.0, 13.0], [17.0, 18.0, 20.0, 21.0]]],
               ['float32', [[1.0, 2.0, 4.0, 5.0], [9.0, 10.0, 12.0, 13.0], [17.0, 18.0, 20.0, 21.0]]],
               ['float32', [[8.0, 12.0, 16.0, 20.0], [16.0, 20.0, 24.0, 28.0], [24.0, 28.0, 32.0, 36.0]]],
               ['float32',
                [[0.3333333432674408, 0.6666666865348816, 1.3333333730697632, 1.6666666269302368],
                 [3.0, 3.3333332538604736, 4.0, 4.333333492279053],
                 [5.666666507720947, 6.0, 6.666666507720947, 7.0]]],
               ['float32', [[8.0, 12.0, 16.0, 20.0], [16.0, 20.0, 24.0, 28.0], [24.0, 28.0, 32.0, 36.0]]],
               ['float32', [[0.0, 2.0, 4.0, 6.0], [8.0, 10.0, 12.0, 14.0], [16.0, 18.0, 20.0, 22.0]]],
               ['float32',
                [[16.0, 24.0, 32.0, 40.0], [18.666667938232422, 25.333332061767578, 32.0, 38.66666793823242],
                 [24.0, 28.0, 32.0, 36.0]]],
               ['float32',
                [[1.0, 2.0, 2.8333332538604736, 2.5], [9.0, 10.0, 9.499999046325684, 6.5],
                 [17.0, 18.0, 16.166667938232422, 10.5]]],
               ['float32', [[8.0, 12.0, 16.0, 20.0], [16.0, 20.0, 24.0, 28.0], [24.0, 28.0, 32.0, 36.0]]],
               ['float32', [[0.5, 1.0, 2.0, 2.5], [4.5, 5.0, 6.0, 6.5], [8.5, 9.0, 10.0, 10.5]]]],
    odd_shapes: [0, ['float32', [1.0, 1.0]], [[0, 3]], ['float32', [[0.5, 1.5, 2.5]]]],
    gradient_errors: ['raises RuntimeError', 'raises RuntimeError', 'raises IndexError', 'raises RuntimeError',
                      'raises RuntimeError', 'raises RuntimeError', 'raises RuntimeError', 'raises RuntimeError',
                      'raises RuntimeError'],
    chain_and_adjoint: [['float32',
                         [[648.0, 762.0, 876.0, 990.0], [2216.0, 2594.0, 2972.0, 3350.0],
                          [3784.0, 4426.0, 5068.0, 5710.0]]],
                        ['float32', [[0.0, 1.0, 2.0, 3.0], [4.0, 5.0, 6.0, 7.0], [8.0, 9.0, 10.0, 11.0]]],
                        ['float32', [[0.0, 4.0, 8.0], [1.0, 5.0, 9.0], [2.0, 6.0, 10.0], [3.0, 7.0, 11.0]]],
                        ['float32', [[[0.0, 2.0], [1.0, 3.0]], [[4.0, 6.0], [5.0, 7.0]]]], ['float32', 3.0],
                        'raises RuntimeError', 'raises RuntimeError', 'raises RuntimeError'],
    detach_in_place: [True, False, True, ['float32', [2.0, 4.0]]],
}

test_symnet_gives_pytorchs_values, test_the_stored_values_are_pytorchs = scenario_tests(PYTORCH, rtol=1e-6)


def test_the_derivative_of_gradient_matches_finite_differences():
    """Through the slices and weights of both spacings and both edge orders (float64)."""
    rng = np.random.default_rng(0)
    coords = sn.tensor(np.cumsum(rng.uniform(0.5, 1.5, 6)), dtype=sn.float64, requires_grad=True)
    for spacing, edge_order in ((1.5, 1), (0.7, 2), (None, 1), (None, 2)):
        x = sn.tensor(rng.standard_normal((6, 3)), dtype=sn.float64, requires_grad=True)
        weights = sn.tensor(rng.standard_normal((6, 3)), dtype=sn.float64)

        def scored(x, c, spacing=spacing, edge_order=edge_order, weights=weights):
            derivative = sn.gradient(x, spacing=(c,) if spacing is None else spacing, dim=0, edge_order=edge_order)
            return (derivative[0] * weights).sum()

        assert sn.autograd.gradcheck(scored, (x, coords))
