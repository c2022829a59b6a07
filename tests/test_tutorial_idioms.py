"""Idioms of PyTorch's tutorials that were missing or wrong: forward hooks that keep a layer's features or change
its input and output, ``pad_sequence``, activation checkpointing, ``gradcheck`` (the custom-Function tutorial's
check), ``GradScaler`` and ``autocast``, ``torch.autograd.functional`` called under ``no_grad`` (its products
were zeros: PyTorch takes them in grad mode whatever the caller's), a result grown by ``cat`` from
``torch.tensor([])``, PyTorch's refusals of a wrong ``.grad``, a shared layer's state and printed return types.
Each scenario runs on symnet and on PyTorch (where installed) against PyTorch's stored values."""

from __future__ import annotations

import pytest

from .scenarios import scenario_tests
from .test_op_edges import raised, result


def forward_hooks(lib):
    lib.manual_seed(0)
    net = lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.ReLU(), lib.nn.Linear(4, 2))
    with lib.no_grad():
        for k, p in enumerate(net.parameters()):
            p.fill_(0.1 * (k + 1))
    features = {}
    handles = [net[1].register_forward_hook(lambda m, args, out: features.__setitem__("relu", out.detach())),
               net[0].register_forward_pre_hook(lambda m, args: (args[0] * 2,)),
               net[2].register_forward_hook(lambda m, args, out: out + 100),
               net[2].register_forward_hook(lambda m, args, kwargs, out: out * 0 + len(kwargs), with_kwargs=True,
                                            prepend=True)]
    x = lib.ones(1, 3, requires_grad=True)
    hooked = net(x)
    hooked.sum().backward()
    for handle in handles:
        handle.remove()
    return [result(hooked.detach()), result(features["relu"]), result(x.grad), result(net(lib.ones(1, 3)).detach())]


def hooks_when_forward_fails(lib):
    calls = []

    def refuse(module, args):
        raise ValueError("refused")

    first = lib.nn.Linear(1, 1)
    first.register_forward_pre_hook(refuse)
    first.register_forward_hook(lambda m, args, out: calls.append(out), always_call=True)
    first.register_forward_hook(lambda m, args, out: calls.append("not always"))
    with pytest.raises(ValueError, match="refused"):
        first(lib.ones(1, 1))
    kwargs_hook = lib.nn.Linear(1, 1)
    kwargs_hook.register_forward_pre_hook(lambda m, args, kwargs: ((args[0] * 0,), kwargs), with_kwargs=True)
    return [calls, result(kwargs_hook(lib.ones(1, 1)).detach() - kwargs_hook.bias.detach())]


def padded_sequences(lib):
    pad_sequence = lib.nn.utils.rnn.pad_sequence
    a, b = lib.ones(2, 3, requires_grad=True), lib.full((4, 3), 2.0)
    padded = pad_sequence([a, b])
    (padded * lib.arange(4.0).reshape(4, 1, 1)).sum().backward()
    return [list(padded.shape), result(pad_sequence([a, b], batch_first=True, padding_value=-1.0)[0].detach()),
            result(pad_sequence([a.detach(), b], batch_first=True, padding_side="left")[0]), result(a.grad),
            result(pad_sequence([lib.tensor([1, 2]), lib.tensor([3])])),
            raised_error(lambda: pad_sequence([lib.ones(2, 3), lib.ones(2, 4)])),
            raised_error(lambda: pad_sequence([]))]


def raised_error(call) -> str:
    try:
        call()
    except RuntimeError:
        return "RuntimeError"
    return "returned"


def checkpointed(lib):
    from importlib import import_module

    checkpoint = import_module(f"{lib.__name__}.utils.checkpoint")
    x = lib.tensor([0.5, 1.5], requires_grad=True)
    y = checkpoint.checkpoint(lambda t, scale: (t * scale).sin(), x, 3.0, use_reentrant=False)
    y.sum().backward()
    net = lib.nn.Sequential(lib.nn.Linear(2, 2), lib.nn.Tanh(), lib.nn.Linear(2, 1))
    with lib.no_grad():
        for p in net.parameters():
            p.fill_(0.5)
    z = checkpoint.checkpoint_sequential(net, 2, lib.ones(1, 2), use_reentrant=False)
    return [result(y.detach()), result(x.grad), result(z.detach())]


def functional_under_no_grad(lib):
    functional = lib.autograd.functional
    x = lib.tensor([1.0, 2.0], dtype=lib.float64)

    def cube(t):
        return t ** 3

    def total(t):
        return (t ** 3).sum()

    with lib.no_grad():
        return [result(functional.hessian(total, x)), result(functional.jacobian(cube, x)),
                result(functional.vjp(cube, x, lib.ones(2, dtype=lib.float64))[1]),
                result(functional.jvp(cube, x, lib.ones(2, dtype=lib.float64))[1]),
                result(functional.hvp(total, x, lib.ones(2, dtype=lib.float64))[1]),
                result(functional.vhp(total, x, lib.ones(2, dtype=lib.float64))[1]), lib.is_grad_enabled()]


def gradchecks(lib):
    """The custom-Function tutorial's ``gradcheck(linear, input, eps=1e-6, atol=1e-4)``, a second-order check, and a
    Function whose backward is wrong (found, as a GradcheckError that is a RuntimeError, or False)."""
    class Linear(lib.autograd.Function):
        @staticmethod
        def forward(ctx, input, weight):
            ctx.save_for_backward(input, weight)
            return input.mm(weight.t())

        @staticmethod
        def backward(ctx, grad_output):
            input, weight = ctx.saved_tensors
            return grad_output.mm(weight), grad_output.t().mm(input)

    class HalfSquare(lib.autograd.Function):  # x² with the derivative of x²/2
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, grad_output):
            (x,) = ctx.saved_tensors
            return grad_output * x

    lib.manual_seed(0)
    pair = (lib.randn(4, 3, dtype=lib.float64, requires_grad=True), lib.randn(5, 3, dtype=lib.float64,
                                                                              requires_grad=True))
    x = lib.tensor([0.5, -1.5], dtype=lib.float64, requires_grad=True)
    return [lib.autograd.gradcheck(Linear.apply, pair, eps=1e-6, atol=1e-4),
            lib.autograd.gradgradcheck(lambda t: (t ** 3).sin(), (x,)),
            lib.autograd.gradcheck(HalfSquare.apply, (x,), raise_exception=False),
            raised_error(lambda: lib.autograd.gradcheck(HalfSquare.apply, (x,)))]


def scaled_steps(lib):
    """The mixed-precision tutorial's loop with a GradScaler: scaled loss, unscaled step, a step with an infinite
    loss skipped and the scale backed off, grown after ``growth_interval`` clean steps; autocast off or to float32
    (PyTorch's warning) changes nothing."""
    model = lib.nn.Linear(3, 1)
    with lib.no_grad():
        model.weight.copy_(lib.tensor([[0.1, -0.2, 0.3]]))
        model.bias.fill_(0.05)
    opt = lib.optim.SGD(model.parameters(), lr=0.1)
    scaler = lib.amp.GradScaler("cpu", init_scale=1024.0, growth_interval=2)
    x, y = lib.tensor([[1.0, 2.0, 3.0], [0.5, -1.0, 2.0]]), lib.tensor([[1.0], [0.0]])
    trail = []
    for k in range(5):
        opt.zero_grad()
        with lib.autocast("cpu", enabled=False):
            loss = ((model(x) - y) ** 2).mean()
        scaler.scale(loss * float("inf") if k == 2 else loss).backward()
        scaler.step(opt)
        scaler.update()
        trail.append([scaler.get_scale(), *model.weight.detach().reshape(-1).tolist()])
    with pytest.warns(UserWarning, match="Disabling autocast"), lib.autocast("cpu", dtype=lib.float32):
        pass
    return [trail, scaler.state_dict()["_growth_tracker"]]


def grown_by_cat(lib):
    """The loop that grows a result from ``torch.tensor([])``: PyTorch's cat skips 1-d empty tensors of another
    rank, after counting their dtype (an int64 empty start and float64 rows give float64)."""
    out = lib.tensor([])
    for k in range(3):
        out = lib.cat([out, lib.full((1, 2), float(k))])
    mixed = lib.cat([lib.tensor([], dtype=lib.int64), lib.ones(1, 2, dtype=lib.float64)])
    return [result(out), result(mixed), list(lib.cat([lib.ones(2, 2), lib.tensor([])], dim=1).shape),
            list(lib.cat([lib.tensor([]), lib.tensor([])]).shape),
            raised(lambda: lib.cat([lib.zeros(0, 3), lib.ones(2, 2)]), RuntimeError)]


def api_refusals(lib):
    """What PyTorch refuses where an answer would be wrong later: a gradient of another shape or dtype assigned,
    iterating a 0-d tensor, an integer beyond int64."""
    x = lib.tensor([1.0, 2.0], requires_grad=True)

    def assign(value):
        x.grad = value

    return [raised(lambda: assign(lib.ones(3)), RuntimeError), raised(lambda: assign(lib.ones(2, dtype=lib.float64)),
                                                                       RuntimeError),
            x.grad is None, raised(lambda: list(lib.tensor(1.0)), TypeError),
            [r.tolist() for r in lib.tensor([[1, 2], [3, 4]])], raised(lambda: lib.tensor([2 ** 63]), ValueError),
            raised(lambda: lib.tensor(2 ** 63), ValueError)]


def shared_layer_state(lib):
    """A layer used twice is saved under both of its names (named_parameters lists it once)."""
    shared = lib.nn.Linear(2, 2)
    model = lib.nn.Sequential(shared, lib.nn.ReLU(), shared)
    return [list(model.state_dict()), [name for name, _ in model.named_parameters()]]


def printed_return_types(lib):
    """max(dim), sort, topk and the other (values, indices) results print as ``torch.return_types.<op>``."""
    x = lib.tensor([[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]])
    shown = [x.max(1), x.min(0), x.sort(1), x.topk(2), x.median(1), x.kthvalue(2, 1), x.mode(1), x.cummax(1),
             x.aminmax()]
    return [repr(r).replace(lib.__name__ + ".", "") for r in shown] + [type(x.max(0)).__name__]


PYTORCH = {
    forward_hooks: [["float32", [[100.0, 100.0]]], ["float32", [[0.800000011920929] * 4]], ["float32", [[0.0] * 3]],
                    ["float32", [[1.0, 1.0]]]],
    hooks_when_forward_fails: [[None], ["float32", [[0.0]]]],
    padded_sequences: [[4, 2, 3], ["float32", [[1.0] * 3, [1.0] * 3, [-1.0] * 3, [-1.0] * 3]],
                       ["float32", [[0.0] * 3, [0.0] * 3, [1.0] * 3, [1.0] * 3]],
                       ["float32", [[0.0] * 3, [1.0] * 3]], ["int64", [[1, 3], [2, 0]]], "RuntimeError",
                       "RuntimeError"],
    checkpointed: [["float32", [0.9974949955940247, -0.9775301218032837]],
                   ["float32", [0.21221159398555756, -0.6323873996734619]], ["float32", [[1.4051482677459717]]]],
    gradchecks: [True, True, False, "RuntimeError"],
    scaled_steps: [[[1024.0, 0.08999999612569809, -0.040000010281801224, 0.22499999403953552],
                    [2048.0, 0.09549999982118607, 0.07699999958276749, 0.21500001847743988],
                    [1024.0, 0.09549999982118607, 0.07699999958276749, 0.21500001847743988],
                    [1024.0, 0.08991249650716782, 0.14077500998973846, 0.179500013589859],
                    [2048.0, 0.09330592304468155, 0.19013310968875885, 0.17903748154640198]], 0],
    grown_by_cat: [["float32", [[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]]], ["float64", [[1.0, 1.0]]], [2, 2], [0],
                   "raises RuntimeError"],
    api_refusals: ["raises RuntimeError", "raises RuntimeError", True, "raises TypeError", [[1, 2], [3, 4]],
                   "raises ValueError", "raises ValueError"],
    shared_layer_state: [["0.weight", "0.bias", "2.weight", "2.bias"], ["0.weight", "0.bias"]],
    printed_return_types: [
        "return_types.max(\nvalues=tensor([5., 7.]),\nindices=tensor([1, 0]))",
        "return_types.min(\nvalues=tensor([1., 0., 2.]),\nindices=tensor([0, 1, 0]))",
        "return_types.sort(\nvalues=tensor([[1., 2., 5.],\n        [0., 3., 7.]]),\nindices=tensor([[0, 2, 1],\n"
        "        [1, 2, 0]]))",
        "return_types.topk(\nvalues=tensor([[5., 2.],\n        [7., 3.]]),\nindices=tensor([[1, 2],\n        [0, 2]]))",
        "return_types.median(\nvalues=tensor([2., 3.]),\nindices=tensor([2, 2]))",
        "return_types.kthvalue(\nvalues=tensor([2., 3.]),\nindices=tensor([2, 2]))",
        "return_types.mode(\nvalues=tensor([1., 0.]),\nindices=tensor([0, 1]))",
        "return_types.cummax(\nvalues=tensor([[1., 5., 5.],\n        [7., 7., 7.]]),\nindices=tensor([[0, 1, 1],\n"
        "        [0, 0, 0]]))",
        "return_types.aminmax(\nmin=tensor(0.),\nmax=tensor(7.))", "max"],
    functional_under_no_grad: [["float64", [[6.0, 0.0], [0.0, 12.0]]], ["float64", [[3.0, 0.0], [0.0, 12.0]]],
                               ["float64", [3.0, 12.0]], ["float64", [3.0, 12.0]], ["float64", [6.0, 12.0]],
                               ["float64", [6.0, 12.0]], False],
}

test_symnet_gives_pytorchs_values, test_the_stored_values_are_pytorchs = scenario_tests(PYTORCH, rtol=1e-6)
