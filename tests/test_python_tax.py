"""The Python side of the hot paths (issue 14, item 2), counted rather than timed: the PyTorch-style loop traces
and compiles a bounded number of times, ``optimizer.step()`` is one native call for all parameters with the
numbers of one program per parameter, a step's new values are what the next forward reads, and ``fit``'s
bound inputs change none of its numbers."""

import re
import warnings

import numpy as np
import pytest

import symnet as sn
from codegen.runtime import CompiledGraph, data_address
from symnet import pipeline
from symnet.core import cache


def linear_loop(iterations: int, set_to_none: bool = True) -> list[float]:
    model = sn.nn.Linear(1, 1)
    model.load_state_dict({"weight": np.array([[0.3]]), "bias": np.array([-0.1])})
    x, y = sn.tensor([[1.0], [2.0], [3.0]]), sn.tensor([[2.0], [4.0], [6.0]])
    criterion, opt = sn.nn.MSELoss(reduction="sum"), sn.optim.SGD(model.parameters(), lr=0.01)
    losses = []
    for _ in range(iterations):
        loss = criterion(model(x), y)
        opt.zero_grad(set_to_none=set_to_none)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


def counts() -> tuple[int, int]:
    done = pipeline.timings()
    return done["trace"][0], done["compile"][0]


@pytest.mark.parametrize("set_to_none", [True, False])
def test_pytorch_style_loop_traces_and_compiles_a_bounded_number_of_times(set_to_none):
    # a worker that ran many tests before may fill the structure-key table during the loop: a full table starts
    # afresh, and every graph is traced once more then (by design: the table is bounded), so start empty
    cache.clear_all()
    linear_loop(2, set_to_none)  # whatever the first iterations build
    traces, compiles = counts()
    losses = linear_loop(200, set_to_none)
    new_traces, new_compiles = counts()
    assert new_compiles - compiles <= 2  # a new optimizer's program (found in the disk cache), nothing per step
    assert new_traces - traces <= (2 if set_to_none else 400)  # zero_grad() writes into .grad: traced again
    assert losses == linear_loop(200, not set_to_none)


def test_the_loop_equals_pytorch_seed_numbers():
    """The seed's 100-epoch linear regression: w → 1.9882…, as the compiled fit."""
    x, y = np.array([[1.0], [2.0], [3.0]], np.float32), np.array([[2.0], [4.0], [6.0]], np.float32)
    model = sn.nn.Linear(1, 1)
    model.load_state_dict({"weight": np.array([[0.3]]), "bias": np.array([-0.1])})
    step = sn.compile(model, sn.nn.MSELoss(reduction="sum"), sn.optim.SGD(model.parameters(), lr=0.01))
    np.testing.assert_allclose(linear_loop(100), step.fit((x, y), epochs=100), rtol=1e-6)


class Calls:
    """Counts the native calls of compiled graphs."""

    def __init__(self, monkeypatch):
        self.n = 0
        call = CompiledGraph.call

        def counted(graph, inputs):
            self.n += 1
            return call(graph, inputs)

        monkeypatch.setattr(CompiledGraph, "call", counted)


def two_layer(seed: int):
    sn.manual_seed(seed)
    return sn.nn.Sequential(sn.nn.Linear(3, 4), sn.nn.Tanh(), sn.nn.Linear(4, 2))


def test_step_is_one_native_call_for_every_parameter(monkeypatch):
    model = two_layer(0)
    (w0, b0), (w1, b1) = (model[0].weight, model[0].bias), (model[2].weight, model[2].bias)
    opt = sn.optim.Adam([{"params": [w0, b0]}, {"params": [w1], "lr": 0.1, "amsgrad": True}], lr=0.01)
    x = sn.tensor(np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32))
    calls = Calls(monkeypatch)
    for _ in range(3):
        opt.zero_grad()
        model(x).pow(2).sum().backward()
        before = calls.n
        opt.step()
        assert calls.n == before + 1
    assert b1.grad is not None and "exp_avg" not in opt.state.get(id(b1), {})  # outside every group: untouched


def per_parameter_run(make, params: list, grads_by_step: list[list], with_group_later: bool):
    """The rule run with one optimizer per parameter (a program per parameter, as step() ran before)."""
    optimizers = [make([q]) for q in params[:2]]
    result = []
    for n, grads in enumerate(grads_by_step):
        if with_group_later and n == 2:
            optimizers.append(make([params[2]], lr=0.3))
        for opt, q, g in zip(optimizers, params, grads, strict=False):
            q.grad = None if g is None else sn.tensor(g)
            opt.step()
        result.append([q.numpy().copy() for q in params])
    return result, optimizers


@pytest.mark.parametrize("name, options", [
    ("Adam", dict(lr=0.05, weight_decay=0.1, maximize=True)),
    ("NAdam", dict(lr=0.05)),
    ("RAdam", dict(lr=0.05, decoupled_weight_decay=True, weight_decay=0.01)),
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True)),
    ("ASGD", dict(lr=0.1, t0=2)),
    ("Rprop", dict(lr=0.05)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01)),
])
def test_one_program_equals_one_program_per_parameter(name, options):
    """Several parameters and groups with their own step counts (a gradient missing at a step, a group added
    later) in one program: bitwise the numbers of a program per parameter, state included."""
    rng = np.random.default_rng(3)
    shapes = [(3, 2), (2,), (4,)]
    start = [rng.standard_normal(s) for s in shapes]
    grads = [[rng.standard_normal(s) for s in shapes] for _ in range(6)]
    grads[1][1] = None  # the second parameter skips a step: its step count falls behind

    def make(params, **extra):
        return getattr(sn.optim, name)(params, **{**options, **extra})

    alone = [sn.tensor(a.copy(), requires_grad=True) for a in start]
    expected, singles = per_parameter_run(make, alone, grads, with_group_later=True)
    together = [sn.tensor(a.copy(), requires_grad=True) for a in start]
    opt = make(together[:2])
    for n, step_grads in enumerate(grads):
        if n == 2:
            opt.add_param_group({"params": [together[2]], "lr": 0.3})
        for q, g in zip(together, step_grads, strict=True):
            q.grad = None if g is None else sn.tensor(g)
        opt.step()
        for q, want in zip(together, expected[n], strict=True):
            np.testing.assert_array_equal(q.numpy(), want)
    merged = {}
    for single in singles:
        merged.update(single.state)
    for q, mine in zip(alone, together, strict=True):
        theirs, ours = merged[q], opt.state[mine]
        assert theirs.keys() == ours.keys() and theirs["step"] == ours["step"]
        for key in theirs:
            np.testing.assert_array_equal(ours[key], theirs[key])
    assert opt.state[id(together[1])]["step"] == 5


def test_a_scheduler_never_recompiles_the_step(monkeypatch):
    model = two_layer(1)
    opt = sn.optim.SGD(model.parameters(), lr=0.1, momentum=0.5)
    scheduler = sn.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    x = sn.ones(2, 3)
    _, compiles = counts()
    for _ in range(5):
        opt.zero_grad()
        model(x).sum().backward()
        opt.step()
        scheduler.step()
    assert counts()[1] - compiles <= 2  # the backward program and the step's, once each
    state = opt.state_dict()
    again = sn.optim.SGD(two_layer(1).parameters(), lr=0.1, momentum=0.5)
    again.load_state_dict(state)
    assert again.state_dict()["param_groups"][0]["lr"] == pytest.approx(0.1 / 32)


def test_the_next_forward_reads_the_new_values():
    w = sn.tensor([1.0, 2.0], requires_grad=True)
    x = sn.tensor([3.0, -1.0])
    opt = sn.optim.SGD([w], lr=0.5)
    for _ in range(4):
        opt.zero_grad()
        loss = (w * x).sum()
        before = w.numpy().copy()
        loss.backward()
        opt.step()
        assert loss.item() == pytest.approx(float(before @ x.numpy()))
        np.testing.assert_allclose(w.numpy(), before - 0.5 * x.numpy())
        stale = w * 1.0  # computed lazily from the values before the next step
        opt.step()
        np.testing.assert_allclose(stale.numpy(), before - 0.5 * x.numpy())


def test_a_graph_whose_leaf_changed_before_backward_reads_the_values_it_was_made_from():
    w = sn.tensor([2.0], requires_grad=True)
    for k in range(3):  # the first loops leave a plan under the graph's key
        y = (w + 1.0) * 3.0  # saves no input: changing w before backward is allowed, as in PyTorch
        if k == 2:
            with sn.no_grad():
                w.set_(np.array([5.0], np.float32))
        y.backward()
        assert y.item() == 9.0  # from w = 2, the value y was made from
    a = sn.tensor([3.0], requires_grad=True)
    y = a + 1.0
    a.data = np.array([7.0], np.float32)  # .data = is a write too
    y.backward()
    assert y.item() == 4.0


def test_keys_of_tensors_that_died_are_never_reused():
    for k in range(50):  # ids repeat between iterations; each w is a new leaf with a new value
        w = sn.tensor([float(k)], requires_grad=True)
        (w * w).backward()
        assert w.grad.item() == 2.0 * k


def fitted(chunks: list[int], model=None, optimizer=sn.optim.Adam, lr: float = 0.05):
    x = np.linspace(-1, 1, 36, dtype=np.float32).reshape(12, 3)
    model = model or two_layer(2)
    step = sn.compile(model, sn.nn.MSELoss(), optimizer(model.parameters(), lr=lr))
    losses = []
    for epochs in chunks:
        losses += step.fit((x, np.sin(3 * x[:, :2])), epochs=epochs, progress=False)
    return losses, [p.numpy() for p in model.parameters()]


def test_fit_in_several_calls_equals_one_call():
    one, params = fitted([30])
    several, params_several = fitted([1, 9, 20])
    assert one == several
    for a, b in zip(params, params_several, strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_non_finite_loss_is_reported_at_its_step():
    def diverging():
        sn.manual_seed(0)
        return fitted([60], sn.nn.Linear(3, 2), sn.optim.SGD, lr=30.0)

    losses, _ = diverging()
    first = next(k for k, v in enumerate(losses) if not np.isfinite(v)) + 1
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        diverging()
    (message,) = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
    assert re.search(rf"at step {first} \(epoch {first - 1}\)", message), message


def test_losses_each_finite_whose_sum_overflows_pass_without_a_warning():
    model = sn.nn.Linear(2, 1).double()
    model.load_state_dict({"weight": np.zeros((1, 2)), "bias": np.zeros(1)})
    step = sn.compile(model, sn.nn.MSELoss(), sn.optim.SGD(model.parameters(), lr=0.0))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # neither "diverging" nor NumPy's overflow in a reduction
        losses = step.fit((np.zeros((1, 2)), np.full((1, 1), 1e154)), epochs=3, progress=False)
    assert losses == [1e308] * 3


def test_fit_updates_the_parameters_arrays_in_place_and_lazy_tensors_keep_the_old_values():
    """``fit`` writes a parameter's array in place (no copy of the weights per call); an array user code holds
    (``numpy()``, a view of it) sees the update, as PyTorch's storage does, while a lazily computed tensor made
    before keeps the values it was made from."""
    model = sn.nn.Linear(3, 2)
    step = sn.compile(model, sn.nn.MSELoss(), sn.optim.SGD(model.parameters(), lr=0.1))
    x, y = np.ones((4, 3), np.float32), np.zeros((4, 2), np.float32)
    step.fit((x, y), epochs=1, progress=False)
    address = data_address(model.weight._array())
    step.fit((x, y), epochs=2, progress=False)
    assert data_address(model.weight._array()) == address  # no copy per call: nothing else saw it
    held = model.weight.detach().numpy()
    view = held[0]
    for _ in range(2):  # the second call binds the same arrays again
        old, lazy = held.copy(), model.weight * 1.0
        step.fit((x, y), epochs=2, progress=False)
        assert not np.array_equal(held, old) and np.shares_memory(model.weight.numpy(), held)
        np.testing.assert_array_equal(view, held[0])
        np.testing.assert_array_equal(lazy.numpy(), old)
