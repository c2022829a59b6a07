"""PyTorch parity from stored fixtures (tests/fixtures/make_torch_fixtures.py wrote them with PyTorch 2.13):
every optimizer option over 200 steps, the PyTorch-style loop and the compiled step; every loss."""

import json
from pathlib import Path

import numpy as np
import pytest

import symnet as sn
from tests.fixtures.configs import LOSSES, OPTIMIZERS, SCHEDULES, SIZES
from tests.recomputed import assert_recomputed

FIXTURES = Path(__file__).parent / "fixtures"
TRAJECTORIES = np.load(FIXTURES / "optim_trajectories.npz")
LOSS_VALUES = np.load(FIXTURES / "losses.npz")
TOLERANCE = {"float64": 1e-9, "float32": 1e-4}


def setup(case: str, dtype: str):
    prefix = f"problem/{dtype}"
    model = sn.nn.Sequential(sn.nn.Linear(*SIZES[:2]), sn.nn.Tanh(), sn.nn.Linear(*SIZES[1:])).to(dtype)
    model.load_state_dict({k: TRAJECTORIES[f"{prefix}/{k}"] for k in ("0.weight", "0.bias", "2.weight", "2.bias")})
    name, kwargs = OPTIMIZERS[case]
    optimizer = getattr(sn.optim, name)(model.parameters(), **kwargs)
    x = sn.tensor(TRAJECTORIES[f"{prefix}/x"], dtype=dtype)
    y = sn.tensor(TRAJECTORIES[f"{prefix}/y"], dtype=dtype)
    return model, optimizer, x, y


def check(case, dtype, losses, model):
    key, rtol = f"{case}/{dtype}", TOLERANCE[dtype]
    np.testing.assert_allclose(losses, TRAJECTORIES[f"{key}/losses"], rtol=rtol, atol=rtol * 1e-3)
    for name, value in model.state_dict().items():
        np.testing.assert_allclose(value, TRAJECTORIES[f"{key}/{name}"], rtol=rtol, atol=rtol * 1e-2, err_msg=name)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case", sorted(OPTIMIZERS))
def test_pytorch_style_loop_matches_pytorch(case, dtype):
    model, optimizer, x, y = setup(case, dtype)
    losses = []
    for _ in range(len(TRAJECTORIES[f"{case}/{dtype}/losses"])):
        optimizer.zero_grad()
        loss = sn.nn.functional.mse_loss(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    check(case, dtype, losses, model)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case", sorted(OPTIMIZERS))
def test_compiled_step_matches_pytorch(case, dtype):
    model, optimizer, x, y = setup(case, dtype)
    step = sn.compile(model, sn.nn.MSELoss(), optimizer)
    losses = [step.step(x, y) for _ in range(len(TRAJECTORIES[f"{case}/{dtype}/losses"]))]
    check(case, dtype, losses, model)


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("case", sorted(LOSSES))
def test_loss_matches_pytorch(case, reduction):
    name, kwargs = LOSSES[case]
    a = sn.tensor(LOSS_VALUES[f"{case}/input"], dtype=sn.float64, requires_grad=True)
    target = LOSS_VALUES[f"{case}/target"]
    b = sn.tensor(target, dtype=sn.float64 if target.dtype.kind == "f" else sn.int64)
    value = getattr(sn.nn, name)(reduction=reduction, **kwargs)(a, b)
    value.sum().backward()
    np.testing.assert_allclose(value.numpy(), LOSS_VALUES[f"{case}/{reduction}/value"], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(a.grad.numpy(), LOSS_VALUES[f"{case}/{reduction}/grad"], rtol=1e-12, atol=1e-14)


def test_deprecated_size_average_warns_and_maps_to_sum():
    with pytest.warns(DeprecationWarning, match="deprecated"):
        loss = sn.nn.MSELoss(size_average=False)
    assert loss.reduction == "sum"


def test_fixtures_are_what_pytorch_computes_now():
    """With PyTorch installed, the stored fixtures are recomputed live and must match."""
    pytest.importorskip("torch")
    from tests.fixtures import make_torch_fixtures

    live = make_torch_fixtures.loss_values()
    for key, value in live.items():
        assert_recomputed(LOSS_VALUES[key], value, key)
    live = make_torch_fixtures.optimizer_trajectories()
    for key in ("adam/float64/losses", "sgd_momentum/float32/losses", "rmsprop_centered/float64/2.weight"):
        assert_recomputed(TRAJECTORIES[key], live[key], key)
    for name, make in (("activations.npz", make_torch_fixtures.activation_values),
                       ("edges.npz", make_torch_fixtures.edge_values)):
        stored = np.load(FIXTURES / name)
        for key, value in make().items():
            assert_recomputed(stored[key], value, key)
    assert json.loads((FIXTURES / "promotion.json").read_text()) == make_torch_fixtures.promotion_table()


SCHEDULE_VALUES = np.load(FIXTURES / "schedules.npz")


@pytest.mark.parametrize("case", sorted(SCHEDULES))
def test_lr_schedule_matches_pytorch(case):
    name, kwargs = SCHEDULES[case]
    optimizer = sn.optim.SGD([sn.zeros(1, requires_grad=True)], lr=0.1)
    scheduler = getattr(sn.optim.lr_scheduler, name)(optimizer, **kwargs)
    lrs = []
    for _ in range(len(SCHEDULE_VALUES[case])):
        scheduler.step()
        lrs.append(optimizer.lr)
    np.testing.assert_allclose(lrs, SCHEDULE_VALUES[case], rtol=1e-12)
