"""``fit`` on the same batch again (``symnet/train/bound_fit.py``): bound on the second general fit, then one native
step a call. Whatever changes between calls — the data in place, the learning rate, a momentum, the training flags,
the parameters, the batch itself — it gives the general path's numbers, errors, warnings and state."""

from __future__ import annotations

import gc
import os
import warnings

import numpy as np
import pytest

import symnet as sn
from codegen import runtime
from symnet.train import bound_fit
from tests.threads import in_threads


@pytest.fixture
def bound_calls(monkeypatch):
    """The number of fits the bound path ran (counted in its repeat, a frame below the warning's path)."""
    count = [0]
    run = runtime.BoundRepeat.run

    def counted(self, *args):
        records = run(self, *args)
        count[0] += records is not None
        return records

    monkeypatch.setattr(runtime.BoundRepeat, "run", counted)
    return count


#: random sequences of fits in the fuzz below: a few in CI, many with SYMNET_DEEP=1
SEQUENCES = 250 if os.environ.get("SYMNET_DEEP") == "1" else 5


def never_bind(monkeypatch):
    monkeypatch.setattr(bound_fit.Bindings, "after_general_fit", lambda *a: None)


def model_and_step(momentum: float = 0.0):
    sn.manual_seed(3)
    model = sn.nn.Sequential(sn.nn.Linear(2, 3), sn.nn.Dropout(0.25), sn.nn.Tanh(), sn.nn.Linear(3, 1))
    opt = sn.optim.SGD(model.parameters(), lr=0.05, momentum=momentum)
    return model, opt, sn.compile(model, sn.nn.MSELoss(), opt)


def changing_fits() -> tuple[list[float], list[np.ndarray], int]:
    """Fits on one batch with something changed before most of them."""
    model, opt, step = model_and_step(momentum=0.5)
    x = np.linspace(-1, 1, 12, dtype=np.float32).reshape(6, 2)
    y = (x[:, :1] * 2 - x[:, 1:]).copy()
    losses = []
    for k in range(14):
        if k == 4:
            x *= 0.5  # new values in place
        elif k == 5:
            opt.param_groups[0]["lr"] = 0.02
        elif k == 6:
            opt.param_groups[0]["momentum"] = 0.8  # another program
        elif k == 7:
            model.eval()
        elif k == 9:
            model.train()
        elif k == 10:
            model.load_state_dict({name: v * 0.5 for name, v in model.state_dict().items()})
        elif k == 11:
            losses += step.fit((x.copy(), y.copy()), epochs=2, progress=False)  # another batch between
        losses += step.fit((x, y), epochs=3, progress=False)
    counts = step.optimizer.state[id(model[0].weight)]["step"]
    return losses, [p.detach().numpy().copy() for p in model.parameters()], counts


def test_fits_on_a_bound_batch_give_the_general_paths_numbers(monkeypatch, bound_calls):
    bound = changing_fits()
    assert bound_calls[0] >= 6  # most calls ran bound
    never_bind(monkeypatch)
    general = changing_fits()
    assert bound[0] == general[0] and bound[2] == general[2] == 3 * 14 + 2
    for a, b in zip(bound[1], general[1], strict=True):
        assert np.array_equal(a, b)


def test_a_tensor_batch_binds_and_its_in_place_changes_are_seen(monkeypatch, bound_calls):
    def fits():
        model, _, step = model_and_step()
        x = sn.linspace(-1, 1, 8).reshape(4, 2)
        y = x.sum(1, keepdim=True)
        losses = []
        for k in range(5):
            if k == 3:
                x.mul_(2)
            losses += step.fit((x, y), epochs=2, progress=False)
        return losses, [p.detach().numpy().copy() for p in model.parameters()]

    bound = fits()
    assert bound_calls[0] == 3
    never_bind(monkeypatch)
    general = fits()
    assert bound[0] == general[0] and all(map(np.array_equal, bound[1], general[1]))


def test_nan_put_into_a_bound_batch_is_the_general_paths_error_and_changes_nothing(bound_calls):
    model, opt, step = model_and_step()
    x, y = np.ones((5, 2), np.float32), np.zeros((5, 1), np.float32)
    for _ in range(3):
        step.fit((x, y), epochs=2, progress=False)
    assert bound_calls[0] == 1
    before = [p.detach().numpy().copy() for p in model.parameters()], len(step.history)
    for bad in (np.nan, np.inf, -np.inf):
        x[3, 1] = bad
        with pytest.raises(ValueError, match="sample 3 of the data holds NaN or infinite inputs"):
            step.fit((x, y), epochs=2, progress=False)
    assert all(map(np.array_equal, before[0], [p.detach().numpy() for p in model.parameters()]))
    assert len(step.history) == before[1] and opt.state[id(model[0].weight)]["step"] == 6
    x[3, 1] = 0.0
    step.fit((x, y), epochs=2, progress=False)
    assert bound_calls[0] == 2


def test_a_bound_batch_reshaped_in_place_is_the_general_paths_error():
    _, _, step = model_and_step()
    x, y = np.ones((6, 2), np.float32), np.zeros((6, 1), np.float32)
    for _ in range(3):
        step.fit((x, y), epochs=1, progress=False)
    x.shape = (3, 4)
    with pytest.raises(sn.ShapeError):
        step.fit((x, y), epochs=1, progress=False)
    x.shape = (6, 2)
    y.dtype = np.int32  # the same bytes read as another dtype: refused, never reinterpreted
    with pytest.raises(Exception, match="dtype|float"):
        step.fit((x, y), epochs=1, progress=False)


def test_a_label_out_of_range_mid_bound_fit_stops_at_that_step_as_the_general_path(monkeypatch, bound_calls):
    def fits():
        sn.manual_seed(0)
        model = sn.nn.Linear(3, 4)
        step = sn.compile(model, sn.nn.CrossEntropyLoss(), sn.optim.SGD(model.parameters(), lr=0.1))
        x = np.linspace(-1, 1, 15, dtype=np.float32).reshape(5, 3)
        y = np.array([0, 1, 2, 3, 1])
        for _ in range(3):
            step.fit((x, y), epochs=2, progress=False)
        y[2] = 4
        with pytest.raises(sn.IndexRangeError) as caught:
            step.fit((x, y), epochs=3, progress=False)
        return str(caught.value), len(step.history), step.optimizer.state[id(model.weight)]["step"], \
            model.weight.detach().numpy().copy()

    bound = fits()
    assert bound_calls[0] == 1
    never_bind(monkeypatch)
    general = fits()
    assert bound[:3] == general[:3] and np.array_equal(bound[3], general[3])
    assert "fit: step 7 " in bound[0] and bound[1:3] == (6, 6)


@pytest.mark.parametrize("bind", [True, False])
def test_a_diverging_bound_fit_warns_once_naming_the_step(bind, bound_calls, monkeypatch):
    if not bind:
        never_bind(monkeypatch)
    x = np.linspace(-1, 1, 32, dtype=np.float32)[:, None]
    model = sn.nn.Linear(1, 1)
    step = sn.compile(model, sn.nn.MSELoss(), sn.optim.SGD(model.parameters(), lr=1e3))
    y = 1e3 * x
    model.load_state_dict({"weight": np.zeros((1, 1), np.float32), "bias": np.zeros(1, np.float32)})
    lr = step.optimizer.param_groups[0]
    lr["lr"] = 0.0  # two fits that change nothing bind the batch
    step.fit((x, y), epochs=1, progress=False)
    step.fit((x, y), epochs=1, progress=False)
    lr["lr"] = 1e3
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = step.fit((x, y), epochs=300, progress=False)
    assert bound_calls[0] == bind
    diverging = [str(w.message) for w in caught if "diverging" in str(w.message)]
    first = next(k for k, loss in enumerate(history) if not np.isfinite(loss))
    assert len(diverging) == 1 and f"at step {first + 3} " in diverging[0]
    assert caught[0].filename == __file__  # pointed at the caller's fit


def test_the_binding_keeps_no_batch_alive():
    _, _, step = model_and_step()
    step.fit((np.ones((4, 2), np.float32), np.zeros((4, 1), np.float32)), epochs=1, progress=False)  # the trace's
    x, y = np.ones((4, 2), np.float32), np.zeros((4, 1), np.float32)
    for _ in range(3):
        step.fit((x, y), epochs=1, progress=False)
    bound = step._bound.fit
    assert bound is not None
    del x, y
    gc.collect()
    assert bound.x() is None and bound.y() is None
    x, y = np.ones((4, 2), np.float32), np.zeros((4, 1), np.float32)  # maybe at the old addresses: not bound
    assert len(step.fit((x, y), epochs=2, progress=False)) == 2


def test_threads_each_bind_their_own_batch_and_keep_their_numbers():
    """Each thread its own step (made beforehand: the seed is global), fitting its own batch many times: the
    single-threaded numbers, bitwise."""
    def make(seed: int):
        sn.manual_seed(seed)
        model = sn.nn.Sequential(sn.nn.Linear(2, 4), sn.nn.ReLU(), sn.nn.Linear(4, 1))
        step = sn.compile(model, sn.nn.MSELoss(), sn.optim.Adam(model.parameters(), lr=0.01))
        rng = np.random.default_rng(seed)
        return step, rng.standard_normal((7, 2)).astype(np.float32), rng.standard_normal((7, 1)).astype(np.float32)

    def work(job):
        step, x, y = job
        losses = []
        for _ in range(30):
            losses += step.fit((x, y), epochs=5, progress=False)
        return losses

    alone = [work(make(seed)) for seed in range(3)]
    assert in_threads(work, [make(seed) for seed in range(3)]) == alone


def test_threads_fitting_one_step_on_one_batch_bind_apart():
    """Two threads, one step, one batch: each thread's binding (block, workspace) is its own; every step counts."""
    model, opt, step = model_and_step()
    x = np.linspace(-1, 1, 20, dtype=np.float32).reshape(10, 2)
    y = x[:, :1] - x[:, 1:]

    def work(_):
        losses = []
        for _ in range(40):
            losses += step.fit((x, y), epochs=3, progress=False)
        return step._bound.fit, losses

    (a, first), (b, second) = in_threads(work, range(2))
    assert a is not None and b is not None and a is not b
    assert np.isfinite(first + second).all() and opt.state[id(model[0].weight)]["step"] == 240


def _random_fits(seed: int) -> list:
    """Fits of a random small model, loss, optimizer and batch (arrays or tensors, float32 or float64), with a
    random change before each: the data scaled in place, a learning rate, a momentum, the training flags, the
    parameters; a NaN input or an out-of-range label met and undone. Every result, error and warning, and the
    final state."""
    rng = np.random.default_rng(seed)
    dtype = (np.float32, np.float64)[seed % 2]
    sn.manual_seed(seed)
    classify = bool(rng.random() < 0.4)
    features, outputs = int(rng.integers(1, 4)), int(rng.integers(1, 4)) + classify
    layers = [sn.nn.Linear(features, 5), sn.nn.Tanh()]
    layers += [sn.nn.Dropout(0.2)] if rng.random() < 0.3 else []
    layers += [sn.nn.BatchNorm1d(5)] if rng.random() < 0.3 else []
    model = sn.nn.Sequential(*layers, sn.nn.Linear(5, outputs))
    model = model.double() if dtype == np.float64 else model
    kind = str(rng.choice(["SGD", "Adam", "RMSprop", "Adagrad", "AdamW"]))
    options = {"lr": float(rng.choice([0.01, 0.05]))} | ({"momentum": 0.5} if kind == "SGD" else {})
    opt = getattr(sn.optim, kind)(model.parameters(), **options)
    step = sn.compile(model, sn.nn.CrossEntropyLoss() if classify else sn.nn.MSELoss(), opt)
    n = int(rng.integers(2, 9))
    x = rng.standard_normal((n, features)).astype(dtype)
    y = rng.integers(0, outputs, n) if classify else rng.standard_normal((n, outputs)).astype(dtype)
    arrays = rng.random() < 0.7
    if not arrays:
        x, y = sn.tensor(x), sn.tensor(y)
    seen = []
    for _ in range(12):
        change = int(rng.integers(0, 8))
        if change == 0:
            x *= 0.9  # in place, for an array as for a tensor
        elif change == 1:
            opt.param_groups[0]["lr"] = float(rng.choice([0.01, 0.02, 0.05]))
        elif change == 2:
            model.train(bool(rng.random() < 0.5))
        elif change == 3 and kind == "SGD":
            opt.param_groups[0]["momentum"] = float(rng.choice([0.0, 0.3, 0.9]))
        elif change == 4:
            model.load_state_dict({name: v * 0.9 if v.is_floating_point() else v
                                   for name, v in model.state_dict().items()})
        elif change == 5 and arrays:
            x[0, 0] = np.nan
            seen.append(_outcome(step, x, y, 2))
            x[0, 0] = 0.5
        elif change == 6 and arrays and classify:
            y[-1] = outputs
            seen.append(_outcome(step, x, y, 3))
            y[-1] = 0
        seen.append(_outcome(step, x, y, int(rng.integers(1, 5))))
    counts = sorted(state["step"] for state in opt.state.values())
    return [*seen, [p.detach().numpy().tolist() for p in model.parameters()], step.history.tolist(), counts]


def _outcome(step, x, y, epochs: int):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            history = step.fit((x, y), epochs=epochs, progress=False)
        except (ValueError, sn.IndexRangeError) as error:
            return type(error).__name__, str(error)
    return list(history), history.epoch_loss, [str(w.message) for w in caught]


@pytest.mark.parametrize("seed", range(SEQUENCES))
def test_random_fit_sequences_give_the_same_results_bound_and_not(seed, monkeypatch):
    bound = _random_fits(seed)
    never_bind(monkeypatch)
    assert repr(bound) == repr(_random_fits(seed))  # (repr: NaN losses compare equal)
