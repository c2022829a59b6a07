"""The NumPy bridge as PyTorch's tensor tutorial shows it: a tensor and the array from ``numpy()`` or
``from_numpy`` share memory both ways, in-place ops write into it, and a tensor computed before a write keeps the
values it was made from (symnet computes lazily: it must not read the write)."""

import gc
import threading

import numpy as np
import pytest

import symnet as sn
from symnet.frontend.trace import Shared

from .threads import in_threads


def test_the_tutorials_bridge_both_ways():
    t = sn.ones(5)
    n = t.numpy()
    t.add_(1)
    assert n.tolist() == [2.0] * 5 and t.tolist() == [2.0] * 5
    n = np.ones(5)
    t = sn.from_numpy(n)
    np.add(n, 1, out=n)
    assert t.tolist() == [2.0] * 5
    t.mul_(3)
    assert n.tolist() == [6.0] * 5 and np.asarray(t) is n


def test_tensors_computed_before_a_write_keep_their_values():
    t = sn.ones(3)
    before_sharing = t * 2
    n = np.asarray(t)
    after_sharing = t + 10
    t.add_(1)
    n += 100  # user code writes the shared memory directly: later ops see it, earlier ones do not
    assert before_sharing.tolist() == [2.0] * 3 and after_sharing.tolist() == [11.0] * 3
    assert t.tolist() == [102.0] * 3 and (t * 1).tolist() == [102.0] * 3


def test_detach_and_data_share_the_parameters_memory_and_updates_reach_it():
    w = sn.ones(3, requires_grad=True)
    snapshot = w.detach().numpy()
    (w * w).sum().backward()
    with sn.no_grad():
        w -= 0.25 * w.grad
    assert snapshot.tolist() == [0.5] * 3
    w.data.mul_(2)
    assert snapshot.tolist() == [1.0] * 3 and w.tolist() == [1.0] * 3


def test_a_saved_tensor_written_through_shared_memory_is_still_refused_in_backward():
    w = sn.ones(3, requires_grad=True)
    y = (w * w).sum()
    w.detach().numpy()
    with sn.no_grad():
        w.mul_(2)
    with pytest.raises(sn.GradError, match="modified by an inplace operation"):
        y.backward()


def test_writes_of_an_unshared_tensor_leave_old_arrays_alone():
    t = sn.ones(3)
    old = t._array()  # symnet's own reading shares nothing
    t.add_(1)
    assert old.tolist() == [1.0] * 3 and t.tolist() == [2.0] * 3


def test_two_threads_writing_shared_tensors_while_others_read_them():
    def work(seed):
        t = sn.from_numpy(np.full(64, float(seed)))
        for k in range(200):
            y = t * 1.0
            t.add_(1.0)
            assert y.tolist()[0] == seed + k and t.numpy()[0] == seed + k + 1

    in_threads(work, (0, 1000))


def test_a_shared_array_freed_while_the_registry_is_locked_does_not_deadlock():
    """A finalizer can run inside a garbage collection that an allocation under the registry's lock starts (seen
    in CI: a worker hung in ``Shared.share``): it must not take the lock."""
    from symnet.frontend.trace import Shared

    def free_inside_the_lock():
        array = sn.ones(3).numpy()  # shared; this name holds its last reference
        with Shared._lock:
            del array  # its finalizer runs here

    worker = threading.Thread(target=free_inside_the_lock, daemon=True)
    worker.start()
    worker.join(timeout=20)
    assert not worker.is_alive()
    assert sn.from_numpy(np.ones(2)).numpy().tolist() == [1.0, 1.0]  # the registry still works


def test_an_array_taking_a_freed_shared_arrays_id_is_not_shared():
    """A freed shared array's finalizer only notes its id; a new array can take that id before the entry goes
    (seen in CI: ``y = w * 2`` then ``w -= 0.5`` changed ``y``, and a snapshot missed an update)."""
    from symnet.frontend.trace import Shared

    def leaf_with_a_stale_entry() -> sn.Tensor:
        w = sn.tensor([1.0], requires_grad=True)
        Shared.readers[id(w._value)] = []  # what a freed shared array of the same id leaves behind
        Shared.dead.append(id(w._value))
        return w

    w = leaf_with_a_stale_entry()
    y = w * 2
    with sn.no_grad():
        w -= 0.5
    assert y.item() == 2.0 and (w * 2).item() == 1.0
    w = leaf_with_a_stale_entry()
    snapshot = w.detach().numpy()
    with sn.no_grad():
        w.mul_(4)
    assert snapshot.tolist() == [4.0] and w.tolist() == [4.0]


@pytest.mark.parametrize("optimizer", ["SGD", "Adam", "LBFGS"])
def test_an_optimizer_step_reaches_the_parameters_shared_array(optimizer):
    """PyTorch's optimizers update a parameter's storage in place, so an array taken before (``detach().numpy()``)
    shows the new values; a tensor computed before keeps the old ones."""
    model = sn.nn.Linear(3, 2)
    opt = getattr(sn.optim, optimizer)(model.parameters(), lr=0.1)
    held = model.weight.detach().numpy()
    x, y = sn.ones(4, 3), sn.zeros(4, 2)

    def closure():
        opt.zero_grad()
        loss = sn.nn.functional.mse_loss(model(x), y)
        loss.backward()
        return loss

    for _ in range(2):
        old, lazy = held.copy(), model.weight * 1.0
        opt.step(closure)
        assert not np.array_equal(held, old)
        np.testing.assert_array_equal(held, model.weight.tolist())
        np.testing.assert_array_equal(lazy.numpy(), old)


def test_a_compiled_step_init_and_load_reach_shared_arrays():
    model = sn.nn.Sequential(sn.nn.Linear(3, 4), sn.nn.BatchNorm1d(4), sn.nn.Linear(4, 2))
    weight, mean = model[0].weight.detach().numpy(), model[1].running_mean.numpy()
    step = sn.compile(model, sn.nn.MSELoss(), sn.optim.SGD(model.parameters(), lr=0.1, momentum=0.9))
    x = np.random.default_rng(0).standard_normal((8, 3)).astype(np.float32)
    step.step(x, np.zeros((8, 2), np.float32))
    np.testing.assert_array_equal(weight, model[0].weight.tolist())
    assert mean.any() and np.array_equal(mean, model[1].running_mean.tolist())  # a buffer the step updated
    model(sn.tensor(x))  # an eager forward in training mode updates the running statistics too
    np.testing.assert_array_equal(mean, model[1].running_mean.tolist())
    sn.nn.init.zeros_(model[0].weight)
    assert not weight.any()
    state = {k: np.full(v.shape, 0.5, np.float32) for k, v in model.state_dict().items()
             if k != "1.num_batches_tracked"}
    model.load_state_dict(state, strict=False)
    assert (weight == 0.5).all() and (mean == 0.5).all()


@pytest.mark.parametrize("how", ["eager", "step", "fit"])
def test_a_state_dict_shares_memory_with_the_model_as_pytorchs(how):
    """A state taken before training follows the parameters and buffers (PyTorch's state_dict shares storage;
    ``copy.deepcopy`` keeps one), writing into it writes the parameter, and a tensor computed before keeps its
    values. PyTorch 2.13 prints the same for the eager case."""
    import copy

    sn.manual_seed(0)
    model = sn.nn.Sequential(sn.nn.Linear(2, 3), sn.nn.BatchNorm1d(3), sn.nn.Linear(3, 1))
    optimizer = sn.optim.SGD(model.parameters(), lr=0.1)
    state, kept = model.state_dict(), copy.deepcopy(model.state_dict())
    weight = model[0].weight
    before, doubled = weight.detach().numpy().copy(), weight * 2
    x, y = np.linspace(-1, 1, 8, dtype=np.float32).reshape(4, 2), np.ones((4, 1), np.float32)
    if how == "eager":
        sn.nn.functional.mse_loss(model(sn.tensor(x)), sn.tensor(y)).backward()
        optimizer.step()
    else:
        step = sn.compile(model, sn.nn.MSELoss(), optimizer)
        step.step(x, y) if how == "step" else step.fit((x, y), epochs=2)
    assert not np.array_equal(weight.detach().numpy(), before)
    for name, tensor in model.state_dict().items():
        np.testing.assert_array_equal(state[name].numpy(), tensor.numpy(), err_msg=name)
    assert state["1.num_batches_tracked"].item() > 0 and kept["1.num_batches_tracked"].item() == 0
    np.testing.assert_array_equal(kept["0.weight"].numpy(), before)
    np.testing.assert_array_equal(doubled.numpy(), before * 2)
    with sn.no_grad():
        state["2.bias"].copy_(sn.tensor([5.0]))
    assert model[2].bias.tolist() == [5.0] and not state["2.bias"].requires_grad


def test_an_array_is_shared_while_user_code_holds_a_view_of_it():
    """``numpy()`` hands out a view whose owner every view made of it keeps alive: a slice kept after the array
    itself is dropped still sees in-place updates, as PyTorch's shared storage; once none is held, the tensor's
    updates no longer write into the old memory (they give it a new array, which nothing can tell apart)."""
    t = sn.ones(4)
    tail = t.numpy()[2:]
    gc.collect()
    t.add_(1)
    assert tail.tolist() == [2.0, 2.0] and Shared.holds(t._array())
    del tail
    gc.collect()
    before = t._array()
    t.add_(1)
    assert not Shared.holds(before) and t._array() is not before and t.tolist() == [3.0] * 4


@pytest.mark.parametrize("how", ["step", "fit"])
def test_a_state_dict_taken_and_dropped_leaves_the_parameters_private(how):
    """A checkpoint's ``state_dict()``, once saved and dropped, no longer shares the parameters' memory: a
    compiled step gives them its new arrays instead of copying into the old ones (a copy and a bookkeeping per
    parameter per step: 5% of an MLP step), with the same numbers."""
    x, y = np.linspace(-1, 1, 8, dtype=np.float32).reshape(4, 2), np.ones((4, 1), np.float32)
    results = []
    for checkpoint in (False, True):
        sn.manual_seed(0)
        model = sn.nn.Sequential(sn.nn.Linear(2, 3), sn.nn.Tanh(), sn.nn.Linear(3, 1))
        step = sn.compile(model, sn.nn.MSELoss(), sn.optim.SGD(model.parameters(), lr=0.1))
        if checkpoint:
            saved = {k: v.numpy().copy() for k, v in model.state_dict().items()}  # the state itself is dropped
            gc.collect()
        arrays = [p._array() for p in model.parameters()]
        step.step(x, y) if how == "step" else step.fit((x, y), epochs=2, progress=False)
        if how == "step":
            assert all(p._array() is not a for p, a in zip(model.parameters(), arrays, strict=True))
        assert not any(Shared.holds(p._array()) for p in model.parameters())
        results.append([p.numpy().copy() for p in model.parameters()])
    for a, b in zip(*results, strict=True):
        np.testing.assert_array_equal(a, b)
    assert saved["0.weight"].shape == (3, 2)
