"""A module's backward hooks (``register_full_backward_hook``, ``register_full_backward_pre_hook``): when they
fire, what they see and what a returned tuple changes, against the values PyTorch 2.13 gave; and the edge of the
envelope (several inputs that require grad, a compiled step), refused with a clear error."""

import warnings

import numpy as np
import pytest

import symnet as sn
from tests.scenarios import scenario_tests


def _values(grads) -> list:
    return [None if g is None else g.detach().numpy().tolist() for g in grads]


def _layers(lib):
    lin = lib.nn.Linear(3, 2)
    with lib.no_grad():
        lin.weight.copy_(lib.tensor([[0.1, -0.2, 0.3], [0.4, 0.5, -0.6]]))
        lin.bias.copy_(lib.tensor([0.05, -0.05]))
    return lin, lib.nn.Tanh()


def hooks_see_and_change_the_gradients(lib):
    """A pre-hook and a hook on each of two layers: the order they fire in, what they see, and the Tanh hook's
    doubled grad_input flowing on into the Linear layer."""
    lin, act = _layers(lib)
    seen = []

    def hook(module, grad_input, grad_output):
        seen.append(["hook", type(module).__name__, _values(grad_input), _values(grad_output)])
        return (grad_input[0] * 2,) if module is act else None

    def pre_hook(module, grad_output):
        seen.append(["pre", type(module).__name__, _values(grad_output)])

    for m in (lin, act):
        m.register_full_backward_hook(hook)
        m.register_full_backward_pre_hook(pre_hook)
    x = lib.tensor([[1.0, 2.0, 3.0], [-1.0, 0.5, 2.0]], requires_grad=True)
    (act(lin(x)) ** 2).sum().backward()
    return seen, x.grad.tolist(), lin.weight.grad.tolist(), lin.bias.grad.tolist()


def a_pre_hook_replaces_grad_output(lib):
    lin, _ = _layers(lib)
    lin.register_full_backward_pre_hook(lambda module, grad_output: (grad_output[0] * 3,))
    x = lib.tensor([[1.0, 2.0, 3.0]], requires_grad=True)
    (lin(x) ** 2).sum().backward()
    return x.grad.tolist(), lin.weight.grad.tolist()


def an_input_without_grad_fires_with_the_output(lib):
    """No input requires grad: the hook fires once the output's gradient is computed, with None for the input,
    and PyTorch's warning."""
    lin, _ = _layers(lib)
    seen = []
    lin.register_full_backward_hook(lambda m, grad_input, grad_output: seen.append(
        [list(grad_input), _values(grad_output)]))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        lin(lib.tensor([[1.0, 2.0, 3.0]])).sum().backward()
    return seen, any("no inputs require gradients" in str(w.message) for w in caught), lin.weight.grad.tolist()


def a_module_called_twice_fires_twice(lib):
    lin = lib.nn.Linear(2, 2)
    with lib.no_grad():
        lin.weight.copy_(lib.tensor([[0.5, -1.0], [2.0, 0.25]]))
        lin.bias.zero_()
    seen = []
    handle = lin.register_full_backward_hook(lambda m, gi, go: seen.append([_values(gi), _values(go)]))
    x = lib.tensor([[1.0, -2.0]], requires_grad=True)
    lin(lin(x)).sum().backward()
    handle.remove()
    lin(lin(x)).sum().backward()  # removed: no more calls
    return seen, x.grad.tolist()


def hooks_on_a_container_and_a_non_tensor_argument(lib):
    """A hook on a Sequential sees its input's and output's gradients; a module's non-tensor argument has None."""

    class Scale(lib.nn.Module):
        def forward(self, x, k):
            return x * k

    lin, act = _layers(lib)
    net, scale = lib.nn.Sequential(lin, act), Scale()
    seen = []
    net.register_full_backward_hook(lambda m, gi, go: seen.append(["net", _values(gi), _values(go)]))
    scale.register_full_backward_hook(lambda m, gi, go: seen.append(["scale", _values(gi), _values(go)]))
    x = lib.tensor([[1.0, 2.0, 3.0]], requires_grad=True)
    scale(net(x), 1.5).sum().backward()
    return seen, x.grad.tolist()


def a_tuple_output_with_one_tensor_that_requires_grad(lib):
    class WithAux(lib.nn.Module):
        def forward(self, x):
            return x.tanh(), 2

    module = WithAux()
    seen = []
    module.register_full_backward_pre_hook(lambda m, go: seen.append(_values(go)))
    x = lib.tensor([0.5, -1.0], requires_grad=True)
    out, _ = module(x)
    out.sum().backward()
    return seen, x.grad.tolist()


def a_hook_returning_the_wrong_count_is_an_error(lib):
    lin, _ = _layers(lib)
    lin.register_full_backward_hook(lambda m, gi, go: (gi[0], gi[0]))
    try:
        lin(lib.tensor([[1.0, 2.0, 3.0]], requires_grad=True)).sum().backward()
    except RuntimeError as exc:
        return str(exc)
    return "no error"


#: scenario: what PyTorch 2.13 gives
PYTORCH = {
    hooks_see_and_change_the_gradients:
        ([['pre', 'Tanh', [[[1.143339991569519, -0.8437981605529785], [0.8437981009483337, -1.7707033157348633]]]],
          ['hook', 'Tanh', [[[0.7696889042854309, -0.6936030387878418], [0.6936030387878418, -0.3827418386936188]]],
           [[[1.143339991569519, -0.8437981605529785], [0.8437981009483337, -1.7707033157348633]]]],
          ['pre', 'Linear', [[[1.5393778085708618, -1.3872060775756836], [1.3872060775756836, -0.7654836773872375]]]],
          ['hook', 'Linear',
           [[[-0.40094467997550964, -1.001478672027588, 1.2941370010375977],
             [-0.16747285425662994, -0.6601830720901489, 0.8754520416259766]]],
           [[[1.5393778085708618, -1.3872060775756836], [1.3872060775756836, -0.7654836773872375]]]]],
         [[-0.40094467997550964, -1.001478672027588, 1.2941370010375977],
          [-0.16747285425662994, -0.6601830720901489, 0.8754520416259766]],
         [[0.15217173099517822, 3.7723586559295654, 7.392545700073242],
          [-0.621722400188446, -3.157154083251953, -5.692585468292236]],
         [2.926583766937256, -2.1526896953582764]),
    a_pre_hook_replaces_grad_output:
        ([[-0.6900002956390381, -2.130000352859497, 2.7900004386901855]],
         [[3.9000000953674316, 7.800000190734863, 11.700000762939453],
          [-2.700000762939453, -5.400001525878906, -8.10000228881836]]),
    an_input_without_grad_fires_with_the_output:
        ([[[None], [[[1.0, 1.0]]]]], True, [[1.0, 2.0, 3.0], [1.0, 2.0, 3.0]]),
    a_module_called_twice_fires_twice:
        ([[[[[2.5, -0.75]]], [[[1.0, 1.0]]]], [[[[-0.25, -2.6875]]], [[[2.5, -0.75]]]]], [[-0.5, -5.375]]),
    hooks_on_a_container_and_a_non_tensor_argument:
        ([['scale', [[[1.5, 1.5]], None], [[[1.0, 1.0]]]],
          ['net', [[[0.5941796898841858, 0.4145428538322449, -0.4368640184402466]]], [[[1.5, 1.5]]]]],
         [[0.5941796898841858, 0.4145428538322449, -0.4368640184402466]]),
    a_tuple_output_with_one_tensor_that_requires_grad:
        ([[[1.0, 1.0], None]], [0.7864477038383484, 0.41997429728507996]),
    a_hook_returning_the_wrong_count_is_an_error:
        'Backward hook returned an invalid number of grad_input, got 2, but expected 1',
}

test_symnet_gives_pytorchs_values, test_the_stored_values_are_pytorchs = scenario_tests(PYTORCH, rtol=2e-6)


def test_the_gradients_are_those_without_hooks():
    """The identities the hooks ride on change no number: every gradient as without hooks (a hook makes backward
    replay the derivative tensor by tensor, as ``retain_grad`` does, whose float32 rounding may differ by an ulp:
    float64 here)."""
    def grads(hooked: bool):
        sn.manual_seed(3)
        net = sn.nn.Sequential(sn.nn.Linear(4, 8), sn.nn.Tanh(), sn.nn.Linear(8, 1)).double()
        if hooked:
            for m in net:
                m.register_full_backward_hook(lambda m, gi, go: None)
                m.register_full_backward_pre_hook(lambda m, go: None)
        x = sn.randn(5, 4, dtype=sn.float64, requires_grad=True)
        (net(x) ** 2).mean().backward()
        return [x.grad.numpy()] + [p.grad.numpy() for p in net.parameters()]

    for a, b in zip(grads(True), grads(False), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-15)


def test_outside_the_envelope_is_a_clear_error():
    class Pair(sn.nn.Module):
        def forward(self, a, b):
            return a * b

    pair = Pair()
    pair.register_full_backward_hook(lambda m, gi, go: None)
    with pytest.raises(sn.NotSupportedError, match="2 tensors that require grad"):
        pair(sn.ones(2, requires_grad=True), sn.ones(2, requires_grad=True))
    assert pair(sn.ones(2, requires_grad=True), sn.ones(2)).requires_grad  # one of them: fine
    with pytest.raises(sn.NotSupportedError, match="register_full_backward_hook"):
        sn.nn.Linear(2, 2).register_backward_hook(lambda m, gi, go: None)


def test_a_compiled_step_refuses_backward_hooks_and_takes_them_once_removed():
    net = sn.nn.Sequential(sn.nn.Linear(3, 2), sn.nn.Tanh())
    handle = net[1].register_full_backward_pre_hook(lambda m, go: None)
    step = sn.compile(net, sn.nn.MSELoss(), sn.optim.SGD(net.parameters(), lr=0.1))
    x, y = np.ones((4, 3), np.float32), np.zeros((4, 2), np.float32)
    with pytest.raises(sn.NotSupportedError, match="compile: 1 has backward hooks"):
        step.step(x, y)
    handle.remove()
    assert np.isfinite(step.step(x, y))


def test_no_grad_calls_set_up_nothing():
    lin = sn.nn.Linear(2, 1)
    calls = []
    lin.register_full_backward_hook(lambda m, gi, go: calls.append(1))
    with sn.no_grad():
        out = lin(sn.ones(1, 2, requires_grad=True))
    assert not out.requires_grad and out.grad_fn is None and calls == []
