"""Every optimizer and option against PyTorch 2.13 (tests/fixtures/optim_all.npz, made by
make_optim_fixtures.py): 200-step trajectories of the eager loop and of the compiled step, final optimizer state,
parameter groups, state_dict layout and round trip, step(closure), 0-d/empty/mixed-dtype parameters, and
PyTorch's refusals.

By default every case runs eagerly in float64, the optimizers whose float32 path differs (0-d float32 state,
sign decisions, ε inside the square roots) also in float32, and the compiled step runs a case of each new
optimizer; ``SYMNET_DEEP=1`` runs every case in both dtypes, eager and compiled, and every group and round-trip
case."""

import copy
import json
import os
import pickle
from pathlib import Path

import numpy as np
import pytest

import symnet as sn
from symnet import checkpoint
from tests.fixtures.make_optim_fixtures import (
    CASES,
    EDGE_STEPS,
    EDGES,
    ERRORS,
    GROUPS,
    NAMES,
    SIZES,
    STEPS,
    edge_start,
    signature,
)
from tests.recomputed import assert_recomputed

FIXTURES = np.load(Path(__file__).parent / "fixtures" / "optim_all.npz")
TOLERANCE = {"float64": 1e-9, "float32": 1e-4}
DEEP = os.environ.get("SYMNET_DEEP") == "1"
EVERY = [(case, dtype) for case in CASES for dtype in TOLERANCE]
EAGER = EVERY if DEEP else [(case, "float64") for case in CASES] + \
    [(case, "float32") for case in ("nadam_all", "asgd_all", "rprop_all", "adadelta_all")]
COMPILED = EVERY if DEEP else [(case, "float64") for case in ("adadelta", "adamax_all", "nadam_decoupled", "radam_all",
                                                              "rprop_maximize", "asgd_all")] + [("nadam", "float32")]
GROUPED = [(case, how, dtype) for case in GROUPS for how in ("constructor", "add_param_group") for dtype in TOLERANCE]
if not DEEP:
    GROUPED = [(case, "constructor", "float64") for case in GROUPS] + [("sgd_groups", "add_param_group", "float32")]
ROUND_TRIP = ["nadam_all", "asgd_all", "rprop_all", "nadam_groups"]
if DEEP:
    ROUND_TRIP += ["adam_fused_amsgrad", "sgd_fused", "radam_all", "asgd_groups", "rprop_groups"]


def model_and_batch(dtype: str):
    model = sn.nn.Sequential(sn.nn.Linear(*SIZES[:2]), sn.nn.Tanh(), sn.nn.Linear(*SIZES[1:])).to(dtype)
    model.load_state_dict({k: FIXTURES[f"problem/{dtype}/{k}"] for k in NAMES})
    x, y = (sn.tensor(FIXTURES[f"problem/{dtype}/{k}"], dtype=dtype) for k in ("x", "y"))
    return model, x, y


def setup(case: str, dtype: str, how: str = "constructor"):
    """The model, the case's optimizer and the batch; a GROUPS case puts layer 0 and layer 2 in two groups, made
    by the constructor or the second by ``add_param_group``."""
    model, x, y = model_and_batch(dtype)
    if case in CASES:
        name, kwargs = CASES[case]
        return model, getattr(sn.optim, name)(model.parameters(), **kwargs), x, y
    name, defaults, first, second = GROUPS[case]
    groups = [{"params": model[0].parameters(), **first}, {"params": model[2].parameters(), **second}]
    optimizer = getattr(sn.optim, name)(groups if how == "constructor" else groups[:1], **defaults)
    if how == "add_param_group":
        optimizer.add_param_group(groups[1])
    return model, optimizer, x, y


def loss_of(case: str):
    """MSE, negated where the case maximizes (so it still descends)."""
    sign = -1.0 if CASES.get(case, (None, {}))[1].get("maximize") else 1.0
    return lambda out, target: sn.nn.functional.mse_loss(out, target) * sign


def train(model, optimizer, x, y, loss_fn, steps: int, halve_at: int | None = None) -> list[float]:
    losses = []
    for k in range(steps):
        if k == halve_at:
            optimizer.param_groups[-1]["lr"] /= 2
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def close(actual, expected, rtol: float, what: str, floor: float = 1e-2) -> None:
    """Relative, and near zero relative to the array's scale: an element of optimizer state near zero (a
    gradient's running mean, a difference of nearly equal terms) is held to ``floor`` times the tolerance of the
    array's largest element."""
    expected = np.asarray(expected, dtype=np.float64)
    scale = float(np.max(np.abs(expected), initial=0.0))
    np.testing.assert_allclose(np.asarray(actual, dtype=np.float64), expected, rtol=rtol, atol=rtol * scale * floor,
                               err_msg=what)


def check(key: str, dtype: str, losses, model, optimizer=None) -> None:
    rtol = TOLERANCE[dtype]
    close(losses, FIXTURES[f"{key}/{dtype}/losses"], rtol, "losses")
    for name, value in model.state_dict().items():
        close(value, FIXTURES[f"{key}/{dtype}/{name}"], rtol, name)
    if optimizer is None or dtype == "float32":
        # float32 state holds cancellations with no bound on their relative error (centered RMSprop's
        # g/√(v − ḡ²), a gradient's running mean near a minimum); the parameters they produce are checked above
        return
    state = optimizer.state_dict()["state"]
    stored = [k.split("/") for k in FIXTURES.files if k.startswith(f"{key}/{dtype}/state/")]
    assert {(int(i), name) for *_, i, name in stored} >= {(i, n) for i, s in state.items() for n in s if n != "step"}
    for *_, index, name in stored:
        close(state[int(index)][name], FIXTURES[f"{key}/{dtype}/state/{index}/{name}"], rtol, f"state {index} {name}",
              floor=10.0)


@pytest.mark.parametrize(("case", "dtype"), EAGER)
def test_eager_loop_matches_pytorch(case, dtype):
    model, optimizer, x, y = setup(case, dtype)
    losses = train(model, optimizer, x, y, loss_of(case), STEPS)
    check(case, dtype, losses, model, optimizer)


@pytest.mark.parametrize(("case", "dtype"), COMPILED)
def test_compiled_step_matches_pytorch_and_the_eager_loop(case, dtype):
    model, optimizer, x, y = setup(case, dtype)
    step = sn.compile(model, loss_of(case), optimizer)
    losses = [step.step(x, y) for _ in range(STEPS)]
    check(case, dtype, losses, model, optimizer)
    eager_model, eager_optimizer, _, _ = setup(case, dtype)
    eager = train(eager_model, eager_optimizer, x, y, loss_of(case), STEPS)
    np.testing.assert_allclose(losses, eager, rtol={"float64": 1e-11, "float32": 1e-5}[dtype])


@pytest.mark.parametrize(("case", "how", "dtype"), GROUPED)
def test_param_groups_with_their_own_hyperparameters_match_pytorch(case, how, dtype):
    """Layer 0 and layer 2 in two groups with different lr, weight decay, …; group 1's lr halves at step 100."""
    model, optimizer, x, y = setup(case, dtype, how)
    second = GROUPS[case][3]
    assert optimizer.group_of(model[2].bias) is optimizer.param_groups[1]
    assert {k: optimizer.param_groups[1][k] for k in second} == second
    losses = train(model, optimizer, x, y, loss_of(case), STEPS, halve_at=STEPS // 2)
    check(case, dtype, losses, model, optimizer)


@pytest.mark.parametrize("case", sorted(GROUPS) if DEEP else ["asgd_groups"])
def test_compiled_step_with_param_groups_matches_pytorch(case):
    """Each group with its own rule and lr in the one native step; group 1's lr halves at step 100."""
    model, optimizer, x, y = setup(case, "float64")
    step = sn.compile(model, loss_of(case), optimizer)
    losses = []
    for k in range(STEPS):
        if k == STEPS // 2:
            optimizer.param_groups[1]["lr"] /= 2
        losses.append(step.step(x, y))
    check(case, "float64", losses, model, optimizer)


@pytest.mark.parametrize("name", sorted(EDGES))
def test_constructor_arguments_are_pytorchs(name):
    """Names, order, positional or keyword-only, defaults."""
    assert signature(getattr(sn.optim, name)) == json.loads(str(FIXTURES[f"signature/{name}"]))


@pytest.mark.parametrize("name", sorted({name for name, _ in CASES.values()}))
def test_state_dict_layout_is_pytorchs(name):
    """Group keys in PyTorch's order and the state's names (symnet's SGD also keeps its step count)."""
    case = next(c for c, (n, _) in CASES.items() if n == name)
    model, optimizer, x, y = setup(case, "float64")
    train(model, optimizer, x, y, loss_of(case), 1)
    layout = json.loads(str(FIXTURES[f"layout/{name}"]))
    saved = optimizer.state_dict()
    assert list(saved["param_groups"][0]) == layout["groups"]
    assert saved["param_groups"][0]["params"] == [0, 1, 2, 3]
    assert [k for k in saved["state"][0] if not (name == "SGD" and k == "step")] == layout["state"]


@pytest.mark.parametrize("case", ROUND_TRIP)
def test_state_dict_round_trip_mid_training_continues_identically(case, tmp_path):
    """Through a checkpoint file after 100 steps; a GROUPS case halves group 1's lr right after the reload."""
    halve_at = STEPS // 2 if case in GROUPS else None
    model, optimizer, x, y = setup(case, "float64")
    straight = train(model, optimizer, x, y, loss_of(case), STEPS, halve_at)
    model, optimizer, x, y = setup(case, "float64")
    first = train(model, optimizer, x, y, loss_of(case), STEPS // 2)
    checkpoint.save({"model": model, "optimizer": optimizer.state_dict()}, tmp_path / "ckpt.npz")
    saved = checkpoint.load(tmp_path / "ckpt.npz")
    model, optimizer, _, _ = setup(case, "float64")
    model.load_state_dict(saved["model"])
    optimizer.load_state_dict(saved["optimizer"])
    rest = train(model, optimizer, x, y, loss_of(case), STEPS - STEPS // 2, None if halve_at is None else 0)
    assert first + rest == straight
    check(case, "float64", first + rest, model, optimizer)


#: a case of every optimizer class, and one with groups
COPIED = sorted({name: case for case, (name, _) in reversed(CASES.items())}.values()) + ["nadam_groups"]


@pytest.mark.parametrize("how", ["deepcopy", "pickle"])
@pytest.mark.parametrize("case", COPIED)
def test_a_copy_mid_training_continues_as_the_original(case, how):
    """``copy.deepcopy`` or a pickle of the model and its optimizer (PyTorch allows both) holds the state by the
    copy's own parameters: it continues as the original does, and stepping one leaves the other alone."""
    model, optimizer, x, y = setup(case, "float64")
    train(model, optimizer, x, y, loss_of(case), 5)
    pair = (model, optimizer)
    copy_model, copy_optimizer = copy.deepcopy(pair) if how == "deepcopy" else pickle.loads(pickle.dumps(pair))
    assert copy_optimizer.params[0] is next(copy_model.parameters())
    before = [p.detach().numpy().copy() for p in model.parameters()]
    copied_losses = train(copy_model, copy_optimizer, x, y, loss_of(case), 5)
    for p, kept in zip(model.parameters(), before, strict=True):  # the original did not move
        np.testing.assert_array_equal(p.detach().numpy(), kept)
    assert train(model, optimizer, x, y, loss_of(case), 5) == copied_losses
    for p, q in zip(model.parameters(), copy_model.parameters(), strict=True):
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy())


def test_load_state_dict_refuses_another_optimizer_or_shape_and_changes_nothing():
    model, optimizer, x, y = setup("nadam", "float64")
    train(model, optimizer, x, y, loss_of("nadam"), 3)
    before = optimizer.state_dict()
    other, _, _, _ = setup("nadam", "float64")
    adam = sn.optim.Adam(other.parameters())
    train(other, adam, x, y, loss_of("nadam"), 1)
    two_groups = sn.optim.NAdam([{"params": other[0].parameters()}, {"params": other[2].parameters()}])
    train(other, two_groups, x, y, loss_of("nadam"), 1)
    short = dict(before, param_groups=[dict(before["param_groups"][0], params=[0, 1, 2])])
    wrong_shape = {"state": dict(before["state"]), "param_groups": before["param_groups"]}
    wrong_shape["state"][0] = dict(before["state"][0], exp_avg=np.zeros(5))
    refusals = [(adam.state_dict(), "not NAdam's"), (two_groups.state_dict(), "different number of parameter groups"),
                (short, "doesn't match the size of optimizer's group"), (wrong_shape, "exp_avg of parameter 0")]
    for state_dict, message in refusals:
        with pytest.raises(ValueError, match=message):
            optimizer.load_state_dict(state_dict)
    after = optimizer.state_dict()
    assert after["param_groups"] == before["param_groups"]
    for k, state in before["state"].items():
        for name, value in state.items():
            np.testing.assert_array_equal(after["state"][k][name], value)


def test_step_closure_reevaluates_and_returns_the_loss():
    model, optimizer, x, y = setup("radam_all", "float64")
    calls = []

    def closure():
        optimizer.zero_grad()
        loss = sn.nn.functional.mse_loss(model(x), y)
        loss.backward()
        calls.append(loss.item())
        return loss

    losses = [optimizer.step(closure).item() for _ in range(STEPS - 1)]
    with sn.no_grad():  # the closure runs in grad mode all the same, as in PyTorch
        losses.append(optimizer.step(closure).item())
    assert losses == calls
    check("radam_all", "float64", losses, model, optimizer)
    assert optimizer.step() is None


def test_maximize_climbs_the_gradient():
    w = sn.tensor([1.0, -2.0], dtype=sn.float64, requires_grad=True)
    up, down = sn.optim.SGD([w], lr=0.5, maximize=True), sn.optim.SGD([w], lr=0.5)
    w.grad = sn.tensor([0.25, 1.0], dtype=sn.float64)
    up.step()
    np.testing.assert_array_equal(w.numpy(), [1.125, -1.5])
    down.step()
    np.testing.assert_array_equal(w.numpy(), [1.0, -2.0])


@pytest.mark.parametrize("name", sorted(EDGES))
def test_zero_d_empty_and_mixed_dtype_parameters_match_pytorch(name):
    """A 0-d float64, a 2×3 float32 and an empty parameter in one group, eight steps of given gradients."""
    start, grads = edge_start()
    params = [sn.tensor(q, dtype=q.dtype.name, requires_grad=True) for q in start]
    optimizer = getattr(sn.optim, name)(params, **EDGES[name])
    for k in range(EDGE_STEPS):
        for q, grad in zip(params, grads[k], strict=True):
            q.grad = sn.tensor(grad, dtype=grad.dtype.name)
        optimizer.step()
        for j, q in enumerate(params):
            expected = FIXTURES[f"edge/{name}/{k}/{j}"]
            assert q.numpy().shape == expected.shape and q.numpy().dtype == expected.dtype
            close(q.numpy(), expected, TOLERANCE[expected.dtype.name], f"step {k} parameter {j}")


def test_parameters_without_gradient_are_skipped_and_zero_grad_follows_set_to_none():
    a = sn.tensor([1.0, 2.0], requires_grad=True)
    b = sn.tensor([3.0], requires_grad=True)
    optimizer = sn.optim.NAdam([a, b], lr=0.1)
    a.grad = sn.tensor([1.0, 1.0])
    optimizer.step()
    assert b.numpy().tolist() == [3.0] and list(optimizer.state_dict()["state"]) == [0]
    optimizer.zero_grad(set_to_none=False)
    assert a.grad.numpy().tolist() == [0.0, 0.0] and b.grad is None
    optimizer.zero_grad()
    assert a.grad is None


@pytest.mark.parametrize("case", sorted(ERRORS))
def test_refusals_are_pytorchs(case):
    """Each refusal raises PyTorch's exception type and wording; capturable and differentiable, which PyTorch's
    constructor accepts, fail at the first step as PyTorch's do on a CPU leaf parameter (with a note added)."""
    kind, message = json.loads(str(FIXTURES[f"error/{case}"]))
    name, kwargs = ERRORS[case]
    param = sn.zeros(2, requires_grad=True)
    exceptions = {e.__name__: e for e in (ValueError, TypeError, RuntimeError, AssertionError)}
    with pytest.raises(exceptions[kind]) as raised:
        optimizer = getattr(sn.optim, name)([param], **kwargs)
        param.grad = sn.ones(2)
        optimizer.step()
    assert type(raised.value) is exceptions[kind]
    at_step = kind == "AssertionError" or message.startswith("a leaf")
    if at_step:
        assert str(raised.value).startswith(message.split(",")[0].rstrip("."))
    else:
        assert str(raised.value) == message


@pytest.mark.parametrize(("params", "kind", "message"), [
    (lambda a, b: a, TypeError, "should be an iterable of Tensors or dicts"),
    (lambda a, b: [], ValueError, "empty parameter list"),
    (lambda a, b: [a, 1.0], TypeError, "optimizer can only optimize Tensors, but one of the params is float"),
    (lambda a, b: [a * 2], ValueError, "can't optimize a non-leaf Tensor"),
    (lambda a, b: [{"params": {a}}], TypeError, "ordered collections"),
    (lambda a, b: [{"params": [a]}, {"params": [b, a]}], ValueError, "more than one parameter group"),
    (lambda a, b: [("a", a), b], ValueError, "Some param names are missing"),
])
def test_parameter_lists_are_checked_as_pytorch_does(params, kind, message):
    a, b = sn.ones(2, requires_grad=True), sn.ones(3, requires_grad=True)
    with pytest.raises(kind, match=message):
        sn.optim.Adam(params(a, b))


def test_groups_fill_defaults_and_named_parameters_are_kept():
    model, _, _ = model_and_batch("float64")
    optimizer = sn.optim.RAdam([{"params": model[0].named_parameters(), "lr": 0.5},
                                {"params": model[2].named_parameters()}], weight_decay=0.1)
    assert [g["lr"] for g in optimizer.param_groups] == [0.5, 1e-3]
    assert [g["weight_decay"] for g in optimizer.param_groups] == [0.1, 0.1]
    assert optimizer.state_dict()["param_groups"][1]["param_names"] == ["weight", "bias"]
    with pytest.raises(ValueError, match="does not hold"):
        optimizer.group_of(sn.ones(1, requires_grad=True))


def test_adagrad_state_exists_before_the_first_step():
    q = sn.ones(3, requires_grad=True)
    state = sn.optim.Adagrad([q], initial_accumulator_value=0.5).state_dict()["state"]
    assert state[0]["step"] == 0 and state[0]["sum"].tolist() == [0.5, 0.5, 0.5]


@pytest.mark.parametrize("name", sorted({name for name, _ in CASES.values()}))
def test_formulas_print_every_assignment_of_every_group(name):
    q, r = sn.ones(2, requires_grad=True), sn.ones(1, requires_grad=True)
    optimizer = getattr(sn.optim, name)([{"params": [q]}, {"params": [r], "lr": 0.5}])
    text = optimizer.formulas()
    rule = optimizer.rule(optimizer.param_groups[0])
    assert text.count(" ← ") == 2 * len(rule) and "group 1" in text
    for spec in optimizer.states(optimizer.param_groups[0]).values():
        assert f"  {spec.element} ← " in text


def test_scalar_state_keeps_pytorchs_float32_rounding():
    """NAdam's mu_product and ASGD's eta and mu are 0-d float32 state, as PyTorch's default scalar dtype."""
    model, optimizer, x, y = setup("asgd_all", "float64")
    train(model, optimizer, x, y, loss_of("asgd_all"), 3)
    state = optimizer.state_dict()["state"][0]
    assert state["eta"].shape == () and state["eta"].dtype == np.float32 and state["mu"].dtype == np.float32


def test_fixtures_are_what_pytorch_computes_now():
    pytest.importorskip("torch")
    from tests.fixtures.make_optim_fixtures import trajectories

    live = trajectories(cases=("nadam_all", "asgd_all", "rprop_all"), groups=("asgd_groups",),
                        edges=("NAdam", "Rprop"))
    assert len(live) > 100
    for key, value in live.items():
        assert_recomputed(FIXTURES[key], value, key)


def _three_steps(name: str, lr, dropped: str | None = None) -> np.ndarray:
    """``w`` after three steps on Σw³ at ``lr``, the third with the group's lr set to 0.5 (``dropped``: an option
    deleted from the group first)."""
    w = sn.tensor([1.0, -2.0, 3.0], dtype=sn.float64, requires_grad=True)
    opt = getattr(sn.optim, name)([w], lr=lr)
    if dropped is not None:
        del opt.param_groups[0][dropped]
    for step in range(3):
        if step == 2:
            opt.param_groups[0]["lr"] = 0.5
        opt.zero_grad()
        (w * w * w).sum().backward()
        opt.step()
    return w.detach().numpy().copy()


@pytest.mark.parametrize("name", ["SGD", "Adam"])
def test_a_learning_rate_of_any_number_type_steps_as_its_float(name):
    """The step writes each group's lr into its program's 0-d input: a tensor, a NumPy scalar or an int lr (PyTorch
    takes them all) gives the float's trajectory, and a changed lr takes effect at the next step."""
    results = [_three_steps(name, lr) for lr in (0.25, sn.tensor(0.25), np.float32(0.25), np.float64(0.25), 1)]
    for got in results[1:4]:
        np.testing.assert_array_equal(got, results[0])
    assert not np.array_equal(results[4], results[0])  # lr = 1 is another trajectory, not a stale value
    np.testing.assert_array_equal(results[4], _three_steps(name, 1.0))


def test_an_option_the_rule_does_not_read_may_be_deleted_from_a_group():
    """The program's key reads every option of a group at once; one deleted counts as None, as before."""
    np.testing.assert_array_equal(_three_steps("SGD", 0.25, dropped="foreach"), _three_steps("SGD", 0.25))
