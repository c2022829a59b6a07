"""``optimizer.state`` as PyTorch's: keyed by the parameter tensors (a defaultdict: looking at one not stepped yet
gives an empty dict), and a rule that gains a state after some steps (SGD's momentum turned on) starts it as
PyTorch does, or is refused where symnet could not give PyTorch's numbers. Each scenario runs on symnet and on
PyTorch (where installed) against PyTorch 2.13's stored values."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest

import symnet as sn

from .scenarios import scenario_tests
from .test_op_edges import raised


def _regression(lib):
    model = lib.nn.Linear(2, 1)
    with lib.no_grad():
        model.weight.copy_(lib.tensor([[0.5, -0.25]]))
        model.bias.fill_(0.1)
    x = lib.tensor([[1.0, 2.0], [3.0, -1.0], [0.5, 0.5]])
    y = lib.tensor([[1.0], [0.0], [2.0]])
    return model, x, y


def _steps(lib, model, opt, x, y, n: int) -> None:
    for _ in range(n):
        opt.zero_grad()
        lib.nn.functional.mse_loss(model(x), y).backward()
        opt.step()


def state_keyed_by_parameters(lib):
    model, x, y = _regression(lib)
    opt = lib.optim.Adam(model.parameters(), lr=0.1)
    before = [len(opt.state), model.weight in opt.state]
    _steps(lib, model, opt, x, y, 2)
    weight = opt.state[model.weight]
    seen = [sorted(weight), weight["exp_avg"].shape == model.weight.shape, model.weight in opt.state,
            len(opt.state), all(any(p is q for q in model.parameters()) for p in opt.state)]
    unseen = lib.nn.Parameter(lib.zeros(1))
    looked = [len(opt.state[unseen]), len(opt.state)]  # a defaultdict: the look keeps an empty entry
    return [before, seen, looked, float(opt.state[model.bias]["exp_avg_sq"][0])]


def momentum_turned_on_after_some_steps(lib):
    model, x, y = _regression(lib)
    opt = lib.optim.SGD(model.parameters(), lr=0.1, momentum=0.0)
    _steps(lib, model, opt, x, y, 2)
    opt.param_groups[0]["momentum"] = 0.9
    _steps(lib, model, opt, x, y, 3)
    return [model.weight.detach().tolist(), model.bias.detach().tolist(),
            sorted(k for k in opt.state[model.weight] if k != "step")]


def a_state_other_rules_create_at_the_first_step_only(lib):
    model, x, y = _regression(lib)
    opt = lib.optim.RMSprop(model.parameters(), lr=0.01, momentum=0.0)
    _steps(lib, model, opt, x, y, 1)
    opt.param_groups[0]["momentum"] = 0.5
    return raised(lambda: _steps(lib, model, opt, x, y, 1), Exception)


PYTORCH = {
    state_keyed_by_parameters: [[0, False], [["exp_avg", "exp_avg_sq", "step"], True, True, 2, True], [0, 3],
                                0.0006046975613571703],
    momentum_turned_on_after_some_steps: [[[-0.025952747091650963, 0.6067394614219666]], [0.6214069724082947],
                                          ["momentum_buffer"]],
    a_state_other_rules_create_at_the_first_step_only: "raises Exception",
}

test_symnet_gives_pytorchs_values, test_the_stored_values_are_pytorchs = scenario_tests(PYTORCH, rtol=1e-6)


def test_momentum_turned_on_in_a_compiled_fit_gives_the_eager_numbers():
    def run(compiled: bool):
        model, x, y = _regression(sn)
        opt = sn.optim.SGD(model.parameters(), lr=0.1, momentum=0.0)
        step = sn.compile(model, sn.nn.MSELoss(), opt)
        for epochs, momentum in ((2, 0.0), (3, 0.9)):
            opt.param_groups[0]["momentum"] = momentum
            if compiled:
                step.fit((x, y), epochs=epochs, progress=False)
            else:
                _steps(sn, model, opt, x, y, epochs)
        return [p.detach().numpy() for p in model.parameters()]

    for a, b in zip(run(True), run(False), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6)


def test_momentum_with_dampening_turned_on_later_is_refused_naming_it():
    """PyTorch's buffer starts as the gradient; symnet's rule reads that case from t == 1 only, so with dampening
    it could not give PyTorch's numbers: refused, nothing changed."""
    model, x, y = _regression(sn)
    opt = sn.optim.SGD(model.parameters(), lr=0.1, momentum=0.0, dampening=0.5)
    _steps(sn, model, opt, x, y, 1)
    opt.param_groups[0]["momentum"] = 0.9
    before = model.weight.detach().numpy().copy()
    with pytest.raises(sn.NotSupportedError, match="momentum_buffer"):
        _steps(sn, model, opt, x, y, 1)
    assert np.array_equal(model.weight.detach().numpy(), before)


def test_the_state_survives_copies_pickles_and_state_dicts():
    model, x, y = _regression(sn)
    opt = sn.optim.Adam(model.parameters(), lr=0.1)
    _steps(sn, model, opt, x, y, 2)
    opt.state[sn.nn.Parameter(sn.zeros(1))]  # an empty entry, as PyTorch's defaultdict keeps
    assert opt.state is opt.state
    for other in (copy.deepcopy(opt), pickle.loads(pickle.dumps(opt))):
        assert [s["step"] for s in other._states.values()] == [2, 2] and other.state._optimizer is other
    saved = opt.state_dict()
    fresh = sn.optim.Adam(model.parameters(), lr=0.1)
    fresh.load_state_dict(saved)
    np.testing.assert_array_equal(fresh.state[model.weight]["exp_avg"], opt.state[model.weight]["exp_avg"])
    fresh.load_state_dict({"state": {0: {}}, "param_groups": saved["param_groups"]})  # PyTorch's empty entry
    assert len(fresh.state) == 0
