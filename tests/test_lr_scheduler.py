"""Learning-rate schedulers against PyTorch 2.13's stored numbers (tests/fixtures/make_scheduler_fixtures.py wrote
schedulers_all.npz): every scheduler's rates over 300 steps for two parameter groups, the momentum or β₁ that
CyclicLR and OneCycleLR cycle, ReduceLROnPlateau on a recorded metric, the compositions, the deprecated
step(epoch); state_dict's layout and a round trip mid-schedule; PyTorch's warnings and errors."""

import copy
import math
import warnings
from pathlib import Path

import numpy as np
import pytest

import symnet as sn
from symnet.optim import lr_scheduler
from tests.fixtures.make_scheduler_fixtures import (
    CASES,
    ERRORS,
    GROUP_LRS,
    OPTIMIZERS,
    Decay,
    build,
    driver_inputs,
    momentum_of,
    run,
    warmup,
)
from tests.recomputed import assert_recomputed

FIXTURES = np.load(Path(__file__).parent / "fixtures" / "schedulers_all.npz")
RTOL = 1e-12  # the same float64 operations in the same order as PyTorch: equal to rounding


class StandIn:
    """Not an optimizer, only what a scheduler reads: ``param_groups`` (and ``defaults``, ``state``, ``step``)."""

    def __init__(self, kind: str):
        name, kwargs = OPTIMIZERS[kind]
        self.defaults = {"lr": GROUP_LRS[0], **kwargs}
        self.param_groups = [{"params": [], **self.defaults, "lr": lr} for lr in GROUP_LRS]
        self.state = {}

    def step(self):
        self.state["steps"] = self.state.get("steps", 0) + 1


def real_optimizer(kind: str):
    """A symnet optimizer with two parameter groups of different rates."""
    name, kwargs = OPTIMIZERS[kind]
    groups = [{"params": [sn.zeros(2, requires_grad=True)], "lr": lr} for lr in GROUP_LRS]
    return getattr(sn.optim, name)(groups, lr=GROUP_LRS[0], **kwargs)


def make_optimizer(owner: str, kind: str):
    return StandIn(kind) if owner == "stand-in" else real_optimizer(kind)


def check(case, lrs, momenta, start=0):
    np.testing.assert_allclose(lrs, FIXTURES[f"{case}/lr"][start:], rtol=RTOL, atol=0, err_msg=case)
    np.testing.assert_allclose(momenta, FIXTURES[f"{case}/momentum"][start:], rtol=RTOL, atol=0, err_msg=case)


@pytest.mark.parametrize("owner", ["stand-in", "symnet"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_schedule_matches_pytorch(case, owner):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the step(epoch) cases warn (tested below)
        lrs, momenta, scheduler = run(lr_scheduler, make_optimizer(owner, CASES[case][0]), case)
    check(case, lrs, momenta)
    assert scheduler.get_last_lr() == list(lrs[-1])


@pytest.mark.parametrize("case", sorted(CASES))
def test_state_dict_has_pytorchs_layout(case):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, _, scheduler = run(lr_scheduler, StandIn(CASES[case][0]), case)
    assert sorted(scheduler.state_dict()) == list(FIXTURES[f"{case}/keys"])


@pytest.mark.parametrize("case", sorted(c for c in CASES if CASES[c][2] in ("step", "metric", "fractional")))
def test_state_dict_round_trip_mid_schedule(case, tmp_path):
    """Save the scheduler and the groups halfway (through a checkpoint file), rebuild both from scratch, load,
    continue: PyTorch's numbers."""
    kind, spec, driver = CASES[case]
    inputs, half = driver_inputs(driver), len(driver_inputs(driver)) // 2
    optimizer = StandIn(kind)
    scheduler = build(lr_scheduler, optimizer, spec)
    for value in inputs[:half]:
        optimizer.step()
        scheduler.step() if value is None else scheduler.step(value)
    assert "optimizer" not in scheduler.state_dict()
    sn.save({"scheduler": scheduler.state_dict()}, tmp_path / "checkpoint.npz")
    saved = sn.load(tmp_path / "checkpoint.npz")["scheduler"]
    groups = copy.deepcopy(optimizer.param_groups)
    for value in inputs[half:]:  # the original runs on; the saved state must not change with it
        optimizer.step()
        scheduler.step() if value is None else scheduler.step(value)

    resumed_optimizer = StandIn(kind)
    resumed = build(lr_scheduler, resumed_optimizer, spec)
    for group, old in zip(resumed_optimizer.param_groups, groups, strict=True):  # optimizer.load_state_dict
        group.update(old)
    resumed.load_state_dict(saved)
    lrs, momenta = [], []
    for value in inputs[half:]:
        resumed_optimizer.step()
        resumed.step() if value is None else resumed.step(value)
        lrs.append([g["lr"] for g in resumed_optimizer.param_groups])
        momenta.append([momentum_of(g) for g in resumed_optimizer.param_groups])
    check(case, np.array(lrs), np.array(momenta), start=half + 1)


def test_state_dict_saves_callable_objects_not_functions():
    optimizer = StandIn("sgd")
    decay = Decay(0.99)
    scheduler = lr_scheduler.LambdaLR(optimizer, [warmup, decay])
    state = scheduler.state_dict()
    assert state["lr_lambdas"] == [None, {"rate": 0.99}]
    other = Decay(0.5)
    fresh = lr_scheduler.LambdaLR(StandIn("sgd"), [warmup, other])
    fresh.load_state_dict(state)
    assert other.rate == 0.99 and fresh.lr_lambdas == [warmup, other] and state["lr_lambdas"][1] == {"rate": 0.99}
    cyclic = lr_scheduler.CyclicLR(StandIn("sgd"), 0.01, 0.1, scale_fn=lambda x: 1.0)
    assert cyclic.state_dict()["_scale_fn_custom"] is None
    cyclic = lr_scheduler.CyclicLR(StandIn("sgd"), 0.01, 0.1, scale_fn=Decay(0.7))
    assert cyclic.state_dict()["_scale_fn_custom"] == {"rate": 0.7}


def test_resuming_with_last_epoch_needs_initial_lr_and_continues():
    optimizer = StandIn("sgd")
    lr_scheduler.StepLR(optimizer, step_size=3, gamma=0.5)  # writes initial_lr
    for group in optimizer.param_groups:
        group["lr"] = group["initial_lr"] * 0.25  # where a run stopped after epoch 7
    resumed = lr_scheduler.StepLR(optimizer, step_size=3, gamma=0.5, last_epoch=7)
    assert resumed.get_last_lr() == [0.1 * 0.25, 0.02 * 0.25] and resumed.base_lrs == list(GROUP_LRS)
    optimizer.step()
    resumed.step()  # epoch 8: no decay; epoch 9: decay
    optimizer.step()
    resumed.step()
    assert resumed.get_last_lr() == [0.1 * 0.25 * 0.5, 0.02 * 0.25 * 0.5]


# ---------------------------------------------------------------- driving real symnet optimizers
def test_scheduled_rate_reaches_the_eager_update():
    """p ← p − lr·g with the rate the scheduler set, per group."""
    w = sn.tensor([1.0, 2.0], requires_grad=True, dtype=sn.float64)
    optimizer = sn.optim.SGD([w], lr=0.5)
    scheduler = lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.1)
    expected = w.numpy().copy()
    for _ in range(3):
        optimizer.zero_grad()
        (w * w).sum().backward()
        expected = expected - optimizer.param_groups[0]["lr"] * 2 * expected
        optimizer.step()
        scheduler.step()
        np.testing.assert_allclose(w.numpy(), expected, rtol=1e-15)
    assert scheduler.get_last_lr() == [pytest.approx(0.5e-3)]


def test_cycled_momentum_reaches_the_eager_update():
    """CyclicLR sets group['momentum'] each step; SGD's next update uses it (buf = μ·buf + g)."""
    w = sn.tensor([1.0], requires_grad=True, dtype=sn.float64)
    optimizer = sn.optim.SGD([w], lr=0.1, momentum=0.9)
    scheduler = lr_scheduler.CyclicLR(optimizer, base_lr=0.1, max_lr=0.5, step_size_up=2)
    value, buf = 1.0, None
    for _ in range(5):
        lr, mu = optimizer.param_groups[0]["lr"], optimizer.param_groups[0]["momentum"]
        optimizer.zero_grad()
        (w * w).sum().backward()
        g = 2 * value
        buf = g if buf is None else mu * buf + g
        value -= lr * buf
        optimizer.step()
        scheduler.step()
        np.testing.assert_allclose(w.numpy(), [value], rtol=1e-13)


def test_compiled_fit_follows_the_schedule_without_order_warning():
    x = sn.tensor(np.linspace(-1, 1, 16, dtype=np.float32).reshape(16, 1))
    y = 3 * x
    model = sn.nn.Linear(1, 1)
    step = sn.compile(model, sn.nn.MSELoss(), sn.optim.SGD(model.parameters(), lr=0.1))
    scheduler = lr_scheduler.MultiStepLR(step.optimizer, milestones=[1, 2], gamma=0.5)
    seen = []
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        step.fit(sn.data.DataLoader(sn.data.TensorDataset(x, y), batch_size=8), epochs=3,
                 callbacks=[lambda s, epoch, losses: (seen.append(step.optimizer.param_groups[0]["lr"]),
                                                      scheduler.step())])
    assert seen == [0.1, 0.05, 0.025]


# ---------------------------------------------------------------- warnings
def test_step_before_optimizer_step_warns_as_pytorch():
    w = sn.zeros(1, requires_grad=True)
    optimizer = sn.optim.SGD([w], lr=0.1)
    scheduler = lr_scheduler.ExponentialLR(optimizer, gamma=0.5)
    with pytest.warns(UserWarning, match=r"Detected call of `lr_scheduler.step\(\)` before `optimizer.step\(\)`"):
        scheduler.step()
    w2 = sn.zeros(1, requires_grad=True)
    optimizer = sn.optim.SGD([w2], lr=0.1)
    scheduler = lr_scheduler.ExponentialLR(optimizer, gamma=0.5)
    (w2 * 2).sum().backward()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        optimizer.step()
        scheduler.step()
        scheduler.step()  # only the first step is checked, as in PyTorch
    assert scheduler.get_last_lr() == [0.025]


def test_epoch_argument_is_deprecated_and_uses_the_closed_form():
    optimizer = StandIn("sgd")
    scheduler = lr_scheduler.ExponentialLR(optimizer, gamma=0.5)
    optimizer.step()
    with pytest.warns(UserWarning, match="The epoch parameter in `scheduler.step\\(\\)` was not necessary"):
        scheduler.step(3)
    assert scheduler.get_last_lr() == [0.1 * 0.125, 0.02 * 0.125] and scheduler.last_epoch == 3
    plateau = lr_scheduler.ReduceLROnPlateau(optimizer)
    with pytest.warns(UserWarning, match="The epoch parameter"):
        plateau.step(1.0, epoch=4)
    assert plateau.last_epoch == 4


def test_get_lr_outside_step_warns():
    scheduler = lr_scheduler.StepLR(StandIn("sgd"), step_size=2)
    with pytest.warns(UserWarning, match=r"please use `get_last_lr\(\)`"):
        assert scheduler.get_lr() == list(GROUP_LRS)


# ---------------------------------------------------------------- errors: PyTorch's types and words
@pytest.mark.parametrize("index", range(len(ERRORS)))
def test_bad_arguments_raise_pytorchs_errors(index):
    name, kwargs = ERRORS[index]
    kind, message = FIXTURES[f"error/{index}"]
    with pytest.raises(Exception) as info:  # noqa: B017 - the type is checked against PyTorch's below
        getattr(lr_scheduler, name)(StandIn("sgd"), **kwargs)
    assert type(info.value).__name__ == kind and str(info.value) == message


def test_more_errors():
    with pytest.raises(TypeError, match="int is not an Optimizer"):
        lr_scheduler.StepLR(3, step_size=2)
    with pytest.raises(TypeError, match="list is not an Optimizer"):
        lr_scheduler.ReduceLROnPlateau([])
    adagrad = sn.optim.Adagrad([sn.zeros(1, requires_grad=True)])
    with pytest.raises(ValueError, match="optimizer must support momentum or beta1 with `cycle_momentum`"):
        lr_scheduler.CyclicLR(adagrad, 0.01, 0.1)
    with pytest.raises(ValueError, match="optimizer must support momentum or beta1 with `cycle_momentum`"):
        lr_scheduler.OneCycleLR(adagrad, 0.1, total_steps=10)
    lr_scheduler.CyclicLR(adagrad, 0.01, 0.1, cycle_momentum=False)  # without momentum cycling it is fine
    optimizer = StandIn("sgd")
    one_cycle = lr_scheduler.OneCycleLR(optimizer, 0.1, total_steps=2)
    optimizer.step()
    one_cycle.step()
    one_cycle.step()
    with pytest.raises(ValueError, match="Tried to step 3 times. The specified number of total steps is 2"):
        one_cycle.step()
    with pytest.raises(ValueError, match="Expected non-negative epoch, but got -1"):
        lr_scheduler.CosineAnnealingWarmRestarts(optimizer, T_0=3).step(-1)


def test_composition_errors():
    optimizer, other = StandIn("sgd"), StandIn("sgd")
    a = lr_scheduler.ExponentialLR(optimizer, gamma=0.9)
    plateau = lr_scheduler.ReduceLROnPlateau(optimizer)
    for make in (lambda s: lr_scheduler.SequentialLR(optimizer, s, milestones=[3] * (len(s) - 1)),
                 lambda s: lr_scheduler.ChainedScheduler(s)):
        with pytest.raises(ValueError, match="expects at least one scheduler"):
            make([])
        with pytest.raises(ValueError, match="does not support `ReduceLROnPlateau` scheduler"):
            make([a, plateau])
        with pytest.raises(TypeError, match="at index 1 should have `optimizer` as its attribute"):
            make([a, object()])
        with pytest.raises(ValueError, match="expects all schedulers to belong to the same optimizer"):
            make([a, lr_scheduler.ExponentialLR(other, gamma=0.9)])
    with pytest.raises(ValueError, match="number of schedulers 2 and the number of milestones to be equal to 2"):
        lr_scheduler.SequentialLR(optimizer, [a, lr_scheduler.StepLR(optimizer, 2)], milestones=[2, 4])


def test_plateau_edges():
    """A 0-d tensor metric; NaN never improves; added groups take the default min_lr; a min_lr list refuses them."""
    optimizer = StandIn("sgd")
    plateau = lr_scheduler.ReduceLROnPlateau(optimizer, patience=0, factor=0.5)
    plateau.step(sn.tensor(1.0))
    plateau.step(math.nan)
    assert plateau.get_last_lr() == [0.05, 0.01] and plateau.best == 1.0
    optimizer.param_groups.append({"params": [], "lr": 0.4})
    plateau.step(2.0)
    assert plateau.get_last_lr() == [0.025, 0.005, 0.2]
    listed = lr_scheduler.ReduceLROnPlateau(StandIn("sgd"), patience=0, min_lr=[0.0, 0.0])
    listed.optimizer.param_groups.append({"params": [], "lr": 0.4})
    listed.step(1.0)
    with pytest.raises(RuntimeError, match=r"The number of param groups in the `optimizer` \(3\) differs"):
        listed.step(2.0)


def test_plateau_cases_replay_the_recorded_metric():
    from tests.fixtures.make_scheduler_fixtures import metrics

    np.testing.assert_array_equal(metrics(), FIXTURES["metrics"])


def test_fixtures_are_what_pytorch_computes():
    """Regenerate every stored number with PyTorch, where it is installed, and compare."""
    pytest.importorskip("torch")
    from tests.fixtures import make_scheduler_fixtures as make

    fresh = {**make.schedules(), **make.errors(), **make.clipping()}
    assert sorted(fresh) == sorted(FIXTURES.files)
    for key, value in fresh.items():
        assert_recomputed(FIXTURES[key], value, key)
