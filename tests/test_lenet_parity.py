"""LeNet-5 (the PyTorch tutorials' layout for 28×28 inputs) trained 20 SGD steps (lr 0.05, momentum 0.9) with
cross entropy on one fixed batch of 16: the same losses and final weights as PyTorch 2.13, from PyTorch's own
initial state_dict (tests/fixtures/make_conv_fixtures.py wrote tests/fixtures/lenet.npz), the PyTorch-style loop
and the compiled step, in float64 (to 1e-9) and float32 (to 1e-4)."""

from pathlib import Path

import numpy as np
import pytest

import symnet as sn
from tests.fixtures.conv_configs import LENET_OPTIMIZER, LENET_STEPS

LENET = np.load(Path(__file__).parent / "fixtures" / "lenet.npz")
KEYS = [k.removeprefix("initial/") for k in LENET.files if k.startswith("initial/")]
TOLERANCE = {"float64": 1e-9, "float32": 1e-4}


def lenet() -> sn.nn.Sequential:
    nn = sn.nn
    return nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
                         nn.Linear(84, 10))


def setup(dtype: str):
    model = lenet().to(dtype)
    model.load_state_dict({k: LENET[f"initial/{k}"] for k in KEYS})
    optimizer = sn.optim.SGD(model.parameters(), **LENET_OPTIMIZER)
    x = sn.tensor(LENET[f"{dtype}/x"], dtype=dtype)
    y = sn.tensor(LENET["y"], dtype=sn.int64)
    return model, optimizer, x, y


def check(dtype: str, losses: list[float], model) -> None:
    rtol = TOLERANCE[dtype]
    np.testing.assert_allclose(losses, LENET[f"{dtype}/losses"], rtol=rtol, atol=rtol * 1e-3)
    state = model.state_dict()
    assert list(state) == KEYS
    for name, value in state.items():
        np.testing.assert_allclose(value, LENET[f"{dtype}/final/{name}"], rtol=rtol, atol=rtol * 1e-2, err_msg=name)


def test_lenet_state_dict_is_pytorchs():
    state = lenet().state_dict()
    assert list(state) == KEYS
    assert {k: v.shape for k, v in state.items()} == {k: LENET[f"initial/{k}"].shape for k in KEYS}


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_lenet_pytorch_style_loop_matches_pytorch(dtype):
    model, optimizer, x, y = setup(dtype)
    losses = []
    for _ in range(LENET_STEPS):
        optimizer.zero_grad()
        loss = sn.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    check(dtype, losses, model)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_lenet_compiled_step_matches_pytorch(dtype):
    model, optimizer, x, y = setup(dtype)
    step = sn.compile(model, sn.nn.CrossEntropyLoss(), optimizer)
    losses = [step.step(x, y) for _ in range(LENET_STEPS)]
    check(dtype, losses, model)


def test_lenet_fixture_is_what_pytorch_computes_now():
    """With PyTorch installed, the stored trajectory is recomputed live and must match."""
    pytest.importorskip("torch")
    from tests.fixtures import make_conv_fixtures

    live = make_conv_fixtures.lenet_values()
    assert sorted(live) == sorted(LENET.files)
    for key, value in live.items():
        if value.dtype.kind == "f":   # last bits may depend on PyTorch's threads and kernels
            np.testing.assert_allclose(LENET[key], value, rtol=1e-5 if value.dtype == np.float32 else 1e-10,
                                       atol=1e-7 if value.dtype == np.float32 else 1e-12, err_msg=key)
        else:
            np.testing.assert_array_equal(LENET[key], value, err_msg=key)
