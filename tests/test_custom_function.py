"""``sn.autograd.Function`` against PyTorch 2.13's ``torch.autograd.Function``: PyTorch's tutorial (the Legendre
polynomial fit), straight-through and reversed gradients, a backward that is not linear, several inputs and
outputs, nested and shared Functions, double backward, hooks, ``setup_context``, and PyTorch's errors. Each
scenario runs on symnet; the values PyTorch gave are stored beside it (and checked against PyTorch itself where
it is installed)."""

import math
import threading

import numpy as np
import pytest

import symnet as sn
from symnet.errors import NotSupportedError
from tests.scenarios import scenario_tests


def _functions(lib):
    """The Functions of the scenarios, made with ``lib``'s base class."""
    Function = lib.autograd.Function  # noqa: N806 - the class, as the tutorials name it

    class LegendrePolynomial3(Function):
        @staticmethod
        def forward(ctx, input):
            ctx.save_for_backward(input)
            return 0.5 * (5 * input**3 - 3 * input)

        @staticmethod
        def backward(ctx, grad_output):
            (input,) = ctx.saved_tensors
            return grad_output * 1.5 * (5 * input**2 - 1)

    class StraightThroughRound(Function):
        @staticmethod
        def forward(ctx, x):
            return x.round()

        @staticmethod
        def backward(ctx, g):
            return g

    class Reverse(Function):
        @staticmethod
        def forward(ctx, x, scale):
            ctx.scale = scale
            return x.view_as(x)

        @staticmethod
        def backward(ctx, g):
            return -ctx.scale * g, None

    class ClippedGradient(Function):  # a backward that is not linear in the gradient
        @staticmethod
        def forward(ctx, x):
            return x * 1.0

        @staticmethod
        def backward(ctx, g):
            return g.clamp(-0.5, 0.5)

    class SumAndProduct(Function):
        @staticmethod
        def forward(ctx, a, b):
            ctx.save_for_backward(a, b)
            ctx.flags = ctx.needs_input_grad
            return a + b, a * b

        @staticmethod
        def backward(ctx, g_sum, g_product):
            a, b = ctx.saved_tensors
            return g_sum + g_product * b, g_sum + g_product * a

    class Exp(Function):  # saves its output
        @staticmethod
        def forward(ctx, x):
            y = x.exp()
            ctx.save_for_backward(y)
            return y

        @staticmethod
        def backward(ctx, g):
            (y,) = ctx.saved_tensors
            return g * y

    class Cube(Function):  # the new style: forward without ctx, setup_context after it
        @staticmethod
        def forward(x):
            return x**3

        @staticmethod
        def setup_context(ctx, inputs, output):
            ctx.save_for_backward(inputs[0])

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 3 * x**2

    class BroadcastGradient(Function):  # returns a gradient of the broadcast shape: summed back
        @staticmethod
        def forward(ctx, x, y):
            return x + y

        @staticmethod
        def backward(ctx, g):
            return g, g

    class MaxWithIndex(Function):
        @staticmethod
        def forward(ctx, x):
            value, index = x.max(dim=0)
            ctx.mark_non_differentiable(index)
            ctx.save_for_backward(x, index)
            return value, index

        @staticmethod
        def backward(ctx, g, _):
            x, index = ctx.saved_tensors
            grad = lib.zeros_like(x)
            grad[index] = g
            return grad

    class Float32Gradient(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return (g * 2).float()

    return {c.__name__: c for c in (LegendrePolynomial3, StraightThroughRound, Reverse, ClippedGradient,
                                    SumAndProduct, Exp, Cube, BroadcastGradient, MaxWithIndex, Float32Gradient)}


def the_tutorial(lib):
    """PyTorch's "Defining new autograd functions" tutorial, as written, for 300 steps."""
    P3 = _functions(lib)["LegendrePolynomial3"].apply  # noqa: N806
    x = lib.linspace(-math.pi, math.pi, 2000, dtype=lib.float)
    y = lib.sin(x)
    a, b, c, d = (lib.full((), v, dtype=lib.float, requires_grad=True) for v in (0.0, -1.0, 0.0, 0.3))
    losses = []
    for _ in range(300):
        loss = (a + b * P3(c + d * x) - y).pow(2).sum()
        losses.append(loss.item())
        loss.backward()
        with lib.no_grad():
            for p in (a, b, c, d):
                p -= 5e-6 * p.grad
                p.grad = None
    return [losses[0], losses[99], losses[-1], b.item(), d.item()]


def straight_through(lib):
    x = lib.tensor([0.2, 0.7, -1.4], requires_grad=True)
    w = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = _functions(lib)["StraightThroughRound"].apply(x * 3)
    (y * w).sum().backward()
    return y.tolist(), x.grad.tolist(), w.grad.tolist()


def reversed_and_clipped(lib):
    f = _functions(lib)
    x = lib.tensor([0.5, -2.0, 1.5], requires_grad=True)
    h = f["Reverse"].apply(x * x, 0.5)
    (f["ClippedGradient"].apply(h) * lib.tensor([3.0, 0.1, -2.0])).sum().backward()
    return x.grad.tolist()


def two_outputs_one_unused(lib):
    f = _functions(lib)["SumAndProduct"]
    a = lib.tensor([1.0, 2.0], requires_grad=True)
    b = lib.tensor([3.0, -1.0])
    s, p = f.apply(a, b)
    (s * s).sum().backward()  # the product is unused: its gradient arrives as zeros
    s2, p2 = f.apply(a * 2, b)
    grads = lib.autograd.grad((s2 + 3 * p2).sum(), a)
    return a.grad.tolist(), grads[0].tolist(), b.grad is None, s.grad_fn.name(), s.is_leaf


def nested_and_shared(lib):
    f = _functions(lib)
    x = lib.tensor([0.3, -0.6], requires_grad=True)
    w = lib.tensor([1.5, 0.5], requires_grad=True)
    h = x * w  # a computed input both Functions read
    inner = f["Exp"].apply(h)
    outer = f["LegendrePolynomial3"].apply(inner - 1)
    loss = (outer * w).sum() + f["Cube"].apply(h).sum() + (h * h).sum()
    loss.backward()
    return x.grad.tolist(), w.grad.tolist()


def double_backward(lib):
    f = _functions(lib)
    x = lib.tensor([0.5, 1.5], requires_grad=True)
    y = f["Cube"].apply(x).sum() + f["Exp"].apply(x * 2).sum()
    (g,) = lib.autograd.grad(y, x, create_graph=True)
    (g2,) = lib.autograd.grad(g.sum(), x)
    return g.tolist(), g2.tolist()


def hooks_inputs_and_shapes(lib):
    f = _functions(lib)
    x = lib.tensor([[1.0, 2.0]], requires_grad=True)
    y = lib.tensor([[0.5], [1.0], [-1.0]], requires_grad=True)
    out = f["BroadcastGradient"].apply(x, y)
    out.register_hook(lambda g: g * 10)
    (out * lib.arange(6.0).reshape(3, 2)).sum().backward(inputs=[x])
    v = lib.tensor([1.0, 5.0, 2.0], requires_grad=True)
    value, index = f["MaxWithIndex"].apply(v * 2)
    (value * 3).backward()
    z = lib.tensor([1.0, 2.0], dtype=lib.float64, requires_grad=True)
    f["Float32Gradient"].apply(z).sum().backward()
    dtype = str(z.grad.dtype).split(".")[-1]
    return x.grad.tolist(), y.grad is None, index.item(), index.requires_grad, v.grad.tolist(), dtype, z.grad.tolist()


#: scenario: what PyTorch 2.13 gives
PYTORCH = {
    the_tutorial: [461.902587890625, 209.95834350585938, 100.70249938964844, -1.5471197366714478,
                   0.24978573620319366],
    straight_through: ([1.0, 2.0, -4.0], [3.0, 6.0, 9.0], [1.0, 2.0, -4.0]),
    reversed_and_clipped: [-0.25, 0.20000000298023224, 0.75],
    two_outputs_one_unused: ([8.0, 2.0], [20.0, -4.0], True, "SumAndProductBackward", False),
    nested_and_shared: ([5.515915870666504, -0.3494982123374939], [0.7095967531204224, 0.7646440863609314]),
    double_backward: ([6.186563491821289, 46.92107391357422], [13.873126983642578, 89.34214782714844]),
    hooks_inputs_and_shapes: ([[60.0, 90.0]], True, 1, False, [0.0, 6.0, 0.0], "float64", [2.0, 2.0]),
}


test_symnet_gives_pytorchs_values, test_the_stored_values_are_pytorchs = scenario_tests(PYTORCH, rtol=2e-6)


def test_the_backward_is_the_users_not_the_derived_one():
    """A Function whose backward is deliberately not its forward's derivative: the gradient is the backward's."""
    class Wrong(sn.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x.sin()

        @staticmethod
        def backward(ctx, g):
            return g * 7

    x = sn.tensor([0.1, 0.2], dtype=sn.float64, requires_grad=True)
    y = Wrong.apply(x)
    y.retain_grad()
    (y * 2).sum().backward()
    assert x.grad.tolist() == [14.0, 14.0] and y.grad.tolist() == [2.0, 2.0] and y.retains_grad
    y = Wrong.apply(sn.tensor([0.3]))  # no input requires grad: a plain result
    assert not y.requires_grad and y.grad_fn is None and y.is_leaf


def _function(backward, forward=lambda ctx, x, *rest: x * 2):
    return type("Custom", (sn.autograd.Function,), {"forward": staticmethod(forward),
                                                    "backward": staticmethod(backward)})


@pytest.mark.parametrize(("backward", "error", "message"), [
    (lambda ctx, g: (g, g), RuntimeError, r"returned an incorrect number of gradients \(expected 1, got 2\)"),
    (lambda ctx, g: g[:1], RuntimeError, r"returned an invalid gradient at index 0 - got \[1\] but expected shape "
                                         r"compatible with \[2\]"),
    (lambda ctx, g: 3.0, TypeError, "expected a Tensor or None"),
], ids=["count", "shape", "type"])
def test_a_wrong_backward_is_pytorchs_error(backward, error, message):
    x = sn.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(error, match=message):
        _function(backward).apply(x).sum().backward()


def test_a_gradient_for_an_argument_that_is_no_tensor_is_refused():
    f = _function(lambda ctx, g: (g, g), forward=lambda ctx, x, k: x * k)
    with pytest.raises(RuntimeError, match="returned a gradient different than None at position 2"):
        f.apply(sn.tensor([1.0], requires_grad=True), 3).sum().backward()


def test_once_differentiable_refuses_a_second_derivative():
    class Square(sn.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        @sn.autograd.function.once_differentiable
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 2 * x * g

    x = sn.tensor([1.5], requires_grad=True)
    (g,) = sn.autograd.grad(Square.apply(x).sum(), x, create_graph=True)
    assert g.tolist() == [3.0] and not g.requires_grad  # as PyTorch's: computed without a graph
    with pytest.raises(sn.GradError, match="does not require grad"):
        sn.autograd.grad(g.sum(), x)
    seed = sn.ones(1, requires_grad=True)
    (g,) = sn.autograd.grad(Square.apply(x), x, grad_outputs=seed, create_graph=True)
    assert g.tolist() == [3.0] and g.requires_grad
    with pytest.raises(RuntimeError, match="differentiate twice a function that was marked with @once_differentiable"):
        sn.autograd.grad(g.sum(), seed)


def test_what_symnet_does_not_run_through_a_function_is_a_clear_error():
    cube = _functions(sn)["Cube"]
    x = sn.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(NotSupportedError, match="forward-mode differentiation.*Cube"):
        sn.func.jvp(cube.apply, (x,), (sn.ones(2),))
    with pytest.raises(NotSupportedError, match="vmap.*Cube"):
        sn.func.vmap(cube.apply)(sn.ones(3, 2))
    y = cube.apply(x)
    with pytest.raises(NotSupportedError, match="in-place change of an output of the custom autograd.Function Cube"):
        y.add_(1)
    with pytest.raises(NotSupportedError, match="mark_dirty"):
        _function(lambda ctx, g: g, forward=lambda ctx, x: ctx.mark_dirty(x)).apply(x)
    with pytest.raises(RuntimeError, match="Legacy autograd function"):
        cube()(x)

    class Net(sn.nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = sn.nn.Linear(2, 1)

        def forward(self, v):
            return cube.apply(self.linear(v))

    net = Net()
    step = sn.compile(net, sn.nn.MSELoss(), sn.optim.SGD(net.parameters(), lr=0.1))
    with pytest.raises(NotSupportedError, match="custom autograd.Function Cube is in the step"):
        step.step(np.ones((4, 2), np.float32), np.zeros((4, 1), np.float32))
    loss = sn.nn.MSELoss()(net(sn.ones(4, 2)), sn.zeros(4, 1))  # the eager loop trains it
    loss.backward()
    assert all(p.grad is not None and np.isfinite(p.grad.numpy()).all() for p in net.parameters())


def test_gradients_through_functions_match_finite_differences():
    f = _functions(sn)
    rng = np.random.default_rng(0)
    x0 = rng.uniform(-0.8, 0.8, 4)

    def loss(x):
        h = x * x + 0.5
        return (f["LegendrePolynomial3"].apply(f["Exp"].apply(h) - 1.5) * h).sum() + f["Cube"].apply(h).sum()

    x = sn.tensor(x0, requires_grad=True)
    loss(x).backward()
    eps, fd = 1e-6, []
    for i in range(4):
        e = np.zeros(4)
        e[i] = eps
        fd.append((loss(sn.tensor(x0 + e)).item() - loss(sn.tensor(x0 - e)).item()) / (2 * eps))
    np.testing.assert_allclose(x.grad.numpy(), fd, rtol=1e-7, atol=1e-9)


def test_two_threads_differentiate_through_their_own_functions():
    legendre = _functions(sn)["LegendrePolynomial3"]
    results, failures = {}, []

    def run(k):
        try:
            for _ in range(30):
                x = sn.tensor([0.1 * k, 0.2], dtype=sn.float64, requires_grad=True)
                legendre.apply(x * k).sum().backward()
                results[k] = x.grad.tolist()
        except Exception as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(k,)) for k in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures, failures
    for k in (1, 2):
        x = np.array([0.1 * k, 0.2]) * k
        np.testing.assert_allclose(results[k], k * 1.5 * (5 * x**2 - 1), rtol=1e-12)


def test_an_input_changed_in_place_after_the_call():
    """Saved and then changed in place: PyTorch's refusal. Not saved: the gradient flows into the graph the input
    had at the call (7 = 2 through the Function + 5 through the later in-place multiply), as PyTorch's."""
    f = _functions(sn)
    w = sn.tensor([1.0, 2.0], requires_grad=True)
    h = w * 1
    y = f["Cube"].apply(h)
    with sn.no_grad():
        h.add_(1)
    with pytest.raises(sn.GradError, match="modified by an inplace operation.*saved tensor 0 of CubeBackward"):
        y.sum().backward()
    h = w * 1
    y = f["StraightThroughRound"].apply(h * 2)
    h2 = h * 1
    twice = f["Reverse"].apply(h2, -2.0)
    h2.mul_(5)
    (y.sum() + twice.sum() + h2.sum()).backward()
    assert w.grad.tolist() == [9.0, 9.0]
