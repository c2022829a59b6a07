"""LBFGS against PyTorch 2.13 (fixtures from tests/fixtures/make_lbfgs_fixtures.py): trajectories of 200
``step(closure)`` calls on a small MLP and on the Rosenbrock function, with and without the strong-Wolfe line
search, float64 and float32; the compiled two-loop recursion against a NumPy transcription of PyTorch's; the
stopping rules, state_dict, the printed formulas and the errors."""

import copy
import os
import pickle
from pathlib import Path

import numpy as np
import pytest

import symnet as sn
from symnet import backend
from symnet.optim import LBFGS, lbfgs
from symnet.pipeline import compile_graph
from tests.fixtures.make_lbfgs_fixtures import CASES, MIXED, STEPS, TOLERANCE, bound, mlp_data

FIXTURES = np.load(Path(__file__).parent / "fixtures" / "lbfgs.npz")
MLP_KEYS = ("0.weight", "0.bias", "2.weight", "2.bias")
#: chaotic cases run past their horizon (all 200 steps, checked for finite losses) only in the deep sweep
DEEP = bool(os.environ.get("SYMNET_DEEP"))


def rosenbrock(a, b):
    return (1 - a) ** 2 + 100 * (b - a**2) ** 2


def problem(name: str, dtype: str, zero_d: bool = False):
    """The parameters and the loss function of a fixture problem (Rosenbrock's as one vector or two 0-d tensors;
    the dtype "mixed" makes them float32 and float64)."""
    if name == "rosen":
        if zero_d or dtype == "mixed":
            dtypes = ("float32", "float64") if dtype == "mixed" else (dtype, dtype)
            params = [sn.tensor(v, dtype=dt, requires_grad=True) for v, dt in zip((-1.5, 2.0), dtypes, strict=True)]
            return params, lambda: rosenbrock(params[0], params[1])
        params = [sn.tensor([-1.5, 2.0], dtype=dtype, requires_grad=True)]
        return params, lambda: rosenbrock(params[0][0], params[0][1])
    model = sn.nn.Sequential(sn.nn.Linear(1, 8), sn.nn.Tanh(), sn.nn.Linear(8, 1)).to(dtype)
    model.load_state_dict({k: FIXTURES[f"mlp/{k}"].astype(dtype) for k in MLP_KEYS})
    x, y = (sn.tensor(FIXTURES[f"mlp/{k}"], dtype=dtype) for k in ("x", "y"))
    return list(model.parameters()), lambda: sn.nn.functional.mse_loss(model(x), y)


def closure_of(optimizer, loss_fn, calls=None):
    def closure():
        if calls is not None:
            calls.append(1)
        optimizer.zero_grad()
        loss = loss_fn()
        loss.backward()
        return loss
    return closure


def trajectory(optimizer, params, loss_fn, steps):
    record = {"losses": [], "func_evals": [], "n_iter": []}
    closure = closure_of(optimizer, loss_fn)
    for _ in range(steps):
        record["losses"].append(float(optimizer.step(closure)))
        state = optimizer.state[id(params[0])]
        record["func_evals"].append(state["func_evals"])
        record["n_iter"].append(state["n_iter"])
    return {k: np.array(v) for k, v in record.items()}


def flat(params):
    return np.concatenate([q.numpy().reshape(-1) for q in params]).astype(np.float64)


RUNS = [(case, dtype) for case in sorted(CASES) for dtype in ("float64", "float32")] + [(c, "mixed") for c in MIXED]


@pytest.mark.parametrize(("case", "dtype"), RUNS)
def test_trajectory_matches_pytorch(case, dtype):
    """Losses, evaluation and iteration counts equal PyTorch's for as many steps as PyTorch agrees with itself
    from initial values a few ulps away (the stored horizon: all 200 where the case is not chaotic), the final
    parameters too when that is all of them; with SYMNET_DEEP=1 all 200 steps run, finite where PyTorch's are."""
    name, config = CASES[case]
    key, tolerance = f"{case}/{dtype}", TOLERANCE[dtype]
    horizon = int(FIXTURES[f"{key}/horizon"])
    params, loss_fn = problem(name, dtype)
    optimizer = LBFGS(params, **config)
    record = trajectory(optimizer, params, loss_fn, STEPS if DEEP else horizon)
    expected = FIXTURES[f"{key}/losses"]
    error = np.abs(record["losses"][:horizon] - expected[:horizon])
    assert (error <= bound(expected, tolerance)[:horizon]).all(), f"first off at step {np.argmax(error > 0)}"
    for counter in ("func_evals", "n_iter"):
        np.testing.assert_array_equal(record[counter][:horizon], FIXTURES[f"{key}/{counter}"][:horizon], counter)
    np.testing.assert_array_equal(np.isfinite(record["losses"]), np.isfinite(expected[:len(record["losses"])]))
    if horizon == STEPS:
        np.testing.assert_allclose(flat(params), FIXTURES[f"{key}/final"], rtol=tolerance, atol=tolerance * 1e-3)
    assert [q.dtype.name for q in params] == (["float32", "float64"] if dtype == "mixed" else [dtype] * len(params))


def test_the_horizons_cover_every_kind_of_run():
    """Which cases are compared over all 200 steps: with and without the line search, both problems and dtypes."""
    full = {key.rsplit("/", 1)[0] for key in FIXTURES.files if key.endswith("/horizon") and FIXTURES[key] == STEPS}
    assert {"rosen_fixed/float64", "rosen_fixed/float32", "rosen_fixed/mixed", "rosen_wolfe/float64",
            "mlp_wolfe_one/float64",
            "mlp_wolfe_one/float32", "mlp_tolerance/float64", "rosen_tolerance_grad/float64"} <= full


def test_zero_d_and_empty_parameters_follow_the_same_trajectory():
    """Rosenbrock over two 0-d tensors, with an empty parameter in the loss: PyTorch's vector trajectory."""
    params, loss_fn = problem("rosen", "float64", zero_d=True)
    empty = sn.zeros(0, dtype=sn.float64, requires_grad=True)
    params.append(empty)
    _, config = CASES["rosen_fixed"]
    record = trajectory(LBFGS(params, **config), params, lambda: loss_fn() + empty.sum(), STEPS)
    assert empty.grad.shape == (0,)
    expected = FIXTURES["rosen_fixed/float64/losses"]
    assert (np.abs(record["losses"] - expected) <= bound(expected, 1e-9)).all()
    np.testing.assert_allclose(flat(params), FIXTURES["rosen_fixed/float64/final"], rtol=1e-9)


def pytorch_two_loop(g, S, Y, ro, h_diag):
    """PyTorch's recursion transcribed (q starts at −g and is the direction at the end)."""
    q, al = -g, [None] * len(S)
    for i in range(len(S) - 1, -1, -1):
        al[i] = S[i].dot(q) * ro[i]
        q = q - al[i] * Y[i]
    r = q * h_diag
    for i in range(len(S)):
        be_i = Y[i].dot(r) * ro[i]
        r = r + (al[i] - be_i) * S[i]
    return r, np.array(al)


@pytest.mark.parametrize("name", backend.NAMES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_two_loop_program_is_pytorchs_recursion(name, dtype, monkeypatch):
    """One program per loop and (n, dtype) serves every history length m; it computes PyTorch's direction."""
    rng = np.random.default_rng(3)
    n, compiled = 7, []
    monkeypatch.setattr(lbfgs, "compile_graph", lambda *args: compiled.append(args) or compile_graph(*args))
    with backend.use(name):
        for m in (1, 2, 5):
            S, Y = rng.standard_normal((m, n)).astype(dtype), rng.standard_normal((m, n)).astype(dtype)
            ro = (1 / np.einsum("ij,ij->i", S, Y)).astype(dtype)
            g, h_diag = rng.standard_normal(n).astype(dtype), dtype(0.75)
            d, alphas = lbfgs.two_loop(g, S, Y, ro, h_diag)
            expected, expected_al = pytorch_two_loop(g, S, Y, ro, h_diag)
            assert d.dtype == dtype
            rtol = 1e-12 if dtype == np.float64 else 1e-4
            np.testing.assert_allclose(d, expected, rtol=rtol, atol=rtol * np.abs(expected).max())
            np.testing.assert_allclose(-alphas, expected_al, rtol=rtol, atol=rtol * np.abs(expected_al).max())
    assert len(compiled) <= 2


def test_history_keeps_the_last_history_size_pairs():
    params, loss_fn = problem("mlp", "float64")
    optimizer = LBFGS(params, history_size=3, max_iter=10)
    optimizer.step(closure_of(optimizer, loss_fn))
    state = optimizer.state[id(params[0])]
    assert state["n_iter"] == 10 and len(state["old_dirs"]) == len(state["old_stps"]) == len(state["ro"]) == 3
    n = sum(q.numel() for q in params)
    assert all(v.shape == (n,) for v in (*state["old_dirs"], *state["old_stps"], state["d"]))
    assert len(state["al"]) == 3


def test_max_eval_bounds_the_evaluations_of_a_step():
    params, loss_fn = problem("mlp", "float64")
    optimizer = LBFGS(params, line_search_fn="strong_wolfe", max_iter=10, max_eval=6)
    for _ in range(5):
        calls = []
        optimizer.step(closure_of(optimizer, loss_fn, calls))
        assert 1 < len(calls) <= 6
    assert LBFGS(params, max_iter=9).defaults["max_eval"] == 11          # max_iter · 5 // 4, as PyTorch


def test_a_converged_step_evaluates_once_and_stops():
    """tolerance_grad: with the gradient already below it, step evaluates the closure once and moves nothing."""
    x = sn.tensor([1.0, 1.0], dtype=sn.float64, requires_grad=True)
    optimizer = LBFGS([x], line_search_fn="strong_wolfe")
    calls = []
    loss = optimizer.step(closure_of(optimizer, lambda: ((x - 1) ** 2).sum(), calls))
    assert float(loss) == 0.0 and len(calls) == 1 and optimizer.state[id(x)]["n_iter"] == 0
    np.testing.assert_array_equal(x.numpy(), [1.0, 1.0])


def test_step_returns_the_first_loss_as_a_tensor():
    params, loss_fn = problem("rosen", "float64")
    optimizer = LBFGS(params, lr=0.002, max_iter=5)
    loss = optimizer.step(closure_of(optimizer, loss_fn))
    assert isinstance(loss, sn.Tensor) and float(loss) == 12.5


def test_a_parameter_without_gradient_stays_put():
    params, loss_fn = problem("rosen", "float64")
    unused = sn.tensor([3.0, 4.0], dtype=sn.float64, requires_grad=True)
    optimizer = LBFGS([*params, unused], line_search_fn="strong_wolfe", max_iter=5)
    optimizer.step(closure_of(optimizer, loss_fn))
    np.testing.assert_array_equal(unused.numpy(), [3.0, 4.0])
    assert unused.grad is None


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("through_file", [False, True])
def test_state_dict_round_trip_continues_the_same_trajectory(dtype, through_file, tmp_path):
    """A state_dict (kept, or written by sn.save and read back) loaded into a fresh optimizer over the same
    weights continues exactly as the original does."""
    config = dict(line_search_fn="strong_wolfe", history_size=4, max_iter=3)
    params, loss_fn = problem("mlp", dtype)
    optimizer = LBFGS(params, **config)
    first = trajectory(optimizer, params, loss_fn, 3)
    saved, weights = optimizer.state_dict(), [q.numpy().copy() for q in params]
    state = saved["state"][0]
    assert set(state) == {"func_evals", "n_iter", "d", "t", "old_dirs", "old_stps", "ro", "H_diag", "prev_flat_grad",
                          "prev_loss", "al"}
    assert state["old_dirs"].shape == state["old_stps"].shape == (4, 25) and state["ro"].shape == (4,)
    assert saved["param_groups"] == [{"lr": 1, "max_iter": 3, "max_eval": 3, "tolerance_grad": 1e-7,
                                      "tolerance_change": 1e-9, "history_size": 4,
                                      "line_search_fn": "strong_wolfe", "params": [0, 1, 2, 3]}]
    assert state["func_evals"] == first["func_evals"][-1]
    if through_file:
        sn.save({"optimizer": saved}, tmp_path / "lbfgs.npz")
        saved = sn.load(tmp_path / "lbfgs.npz")["optimizer"]
    straight = trajectory(optimizer, params, loss_fn, 4)

    again, loss_fn = problem("mlp", dtype)
    for q, w in zip(again, weights, strict=True):
        q.set_(w)
    restored = LBFGS(again, **config)
    restored.load_state_dict(saved)
    resumed = trajectory(restored, again, loss_fn, 4)
    for k in straight:
        np.testing.assert_array_equal(resumed[k], straight[k], k)
    np.testing.assert_array_equal(flat(again), flat(params))


@pytest.mark.parametrize("how", ["deepcopy", "pickle"])
def test_a_copy_mid_training_continues_as_the_original(how):
    """``copy.deepcopy`` or a pickle of the parameters and the optimizer: the copy's global state is under its own
    first parameter, and it continues as the original does."""
    params = [sn.tensor([-1.5, 2.0], dtype="float64", requires_grad=True)]
    optimizer = LBFGS(params, line_search_fn="strong_wolfe", history_size=4, max_iter=3)
    trajectory(optimizer, params, lambda: rosenbrock(params[0][0], params[0][1]), 3)
    pair = (params, optimizer)
    copied, copy_optimizer = copy.deepcopy(pair) if how == "deepcopy" else pickle.loads(pickle.dumps(pair))
    assert copy_optimizer.param_groups[0]["params"][0] is copied[0]
    resumed = trajectory(copy_optimizer, copied, lambda: rosenbrock(copied[0][0], copied[0][1]), 4)
    straight = trajectory(optimizer, params, lambda: rosenbrock(params[0][0], params[0][1]), 4)
    for k in straight:
        np.testing.assert_array_equal(resumed[k], straight[k], k)
    np.testing.assert_array_equal(flat(copied), flat(params))


def test_load_state_dict_rejects_another_optimizer():
    params, _ = problem("mlp", "float64")
    with pytest.raises(ValueError, match="doesn't match the size"):
        LBFGS(params[:2]).load_state_dict(LBFGS(params).state_dict())
    other, loss_fn = problem("rosen", "float64")
    optimizer = LBFGS(other, max_iter=3)
    optimizer.step(closure_of(optimizer, loss_fn))
    with pytest.raises(ValueError, match="another size"):
        LBFGS([params[1]]).load_state_dict(optimizer.state_dict())
    with pytest.raises(ValueError, match="not LBFGS's"):
        LBFGS(params).load_state_dict(sn.optim.SGD(params, lr=0.1).state_dict())


def test_formulas_print_the_two_loop_recursion():
    params, _ = problem("rosen", "float64")
    text = LBFGS(params, line_search_fn="strong_wolfe").formulas()
    lines = [line.strip() for line in text.splitlines()]
    backward, forward = lines.index("for i = k−1 … k−m:"), lines.index("for i = k−m … k−1:")
    assert lines[backward - 1] == "q ← g"
    assert lines[backward + 1:backward + 4] == ["(sᵢ·q) ← Σ q·sᵢ", "αᵢ ← (sᵢ·q)·ρᵢ", "q ← q - yᵢ·αᵢ"]
    assert lines[forward + 1:forward + 5] == ["r ← cᵢ·r", "(yᵢ·r) ← Σ r·yᵢ", "βᵢ ← (yᵢ·r)·ρᵢ", "r ← r + sᵢ·(αᵢ - βᵢ)"]
    assert "d ← −r" in text and "p ← p + d·t   (t = a strong-Wolfe line search's step)" in text
    assert "yᵢ·sᵢ > 1e-10" in text


@pytest.mark.parametrize("line_search", [None, "strong_wolfe"])
def test_compiled_step_runs_lbfgs_through_a_native_closure(line_search):
    """sn.compile with LBFGS: each closure call is one native loss-and-gradient call; the trajectory is the eager
    closure loop's, and fit is a step per batch."""
    rng = np.random.default_rng(4)
    x, y = rng.standard_normal((16, 3)), rng.standard_normal((16, 2))
    results = []
    for compiled in (False, True):
        sn.manual_seed(2)
        model = sn.nn.Sequential(sn.nn.Linear(3, 6), sn.nn.Tanh(), sn.nn.Linear(6, 2)).double()
        opt = LBFGS(model.parameters(), lr=0.5, max_iter=5, history_size=4, line_search_fn=line_search)
        if compiled:
            step = sn.compile(model, sn.nn.MSELoss(), opt)
            losses = [step.step(x, y) for _ in range(4)] + list(step.fit((x, y), epochs=2, progress=False))
            assert "αᵢ" in step.formulas() and "δ" in step.formulas()   # the gradients and the recursion
        else:
            def closure(opt=opt, model=model):
                opt.zero_grad()
                loss = sn.nn.functional.mse_loss(model(sn.tensor(x)), sn.tensor(y))
                loss.backward()
                return loss
            losses = [opt.step(closure).item() for _ in range(6)]
        results.append((np.array(losses), [p.numpy().copy() for p in model.parameters()]))
    (eager, eager_params), (native, native_params) = results
    np.testing.assert_allclose(native, eager, rtol=1e-9)
    assert native[-1] < native[0] / 2                                   # it trained
    for a, b in zip(native_params, eager_params, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-12)


def test_compiled_lbfgs_refuses_a_model_that_updates_buffers():
    model = sn.nn.Sequential(sn.nn.Linear(2, 3), sn.nn.BatchNorm1d(3))
    step = sn.compile(model, sn.nn.MSELoss(), LBFGS(model.parameters()))
    with pytest.raises(sn.NotSupportedError, match="several times per step"):
        step.step(np.ones((4, 2), np.float32), np.ones((4, 3), np.float32))


def step_once(optimizer, q):
    return optimizer.step(closure_of(optimizer, lambda: (q * q).sum()))


@pytest.mark.parametrize(("make", "error", "match"), [
    (lambda q: LBFGS([q]).step(), TypeError, "needs a closure"),
    (lambda q: LBFGS([q], lr=-1.0), ValueError, "Invalid learning rate: -1.0"),
    (lambda q: LBFGS([]), ValueError, "empty"),
    (lambda q: LBFGS([{"params": [q]}, {"params": [sn.zeros(1, requires_grad=True)]}]), ValueError,
     "doesn't support per-parameter options"),
    (lambda q: LBFGS([q], history_size=0), ValueError, "Invalid history_size: 0"),
    (lambda q: LBFGS([q], max_eval=0, line_search_fn="strong_wolfe"), ValueError, "Invalid max_eval: 0"),
    (lambda q: step_once(LBFGS([q], line_search_fn="backtracking"), q), RuntimeError,
     "only 'strong_wolfe' is supported"),
])
def test_errors(make, error, match):
    q = sn.tensor([1.0, 2.0], dtype=sn.float64, requires_grad=True)
    with pytest.raises(error, match=match):
        make(q)


def test_only_empty_parameters_raise_as_pytorch():
    q = sn.zeros(0, dtype=sn.float64, requires_grad=True)
    with pytest.raises(RuntimeError, match="numel\\(\\) == 0"):
        step_once(LBFGS([q]), q)


def test_fixtures_are_what_pytorch_computes_now():
    """With PyTorch installed, the stored trajectories are recomputed (two cases) and must match within the
    stored horizon: another CPU's BLAS rounds PyTorch's own sums differently in the last bit."""
    pytest.importorskip("torch")
    from tests.fixtures.make_lbfgs_fixtures import run

    data = mlp_data()
    for key in MLP_KEYS:
        np.testing.assert_array_equal(data[f"mlp/{key}"], FIXTURES[f"mlp/{key}"])
    for case in ("rosen_fixed", "mlp_wolfe"):
        name, config = CASES[case]
        key = f"{case}/float64"
        horizon = int(FIXTURES[f"{key}/horizon"])
        record = run(name, "float64", config, data)
        expected = FIXTURES[f"{key}/losses"]
        error = np.abs(record["losses"][:horizon] - expected[:horizon])
        assert (error <= bound(expected, TOLERANCE["float64"])[:horizon]).all(), case
        for counter in ("func_evals", "n_iter"):
            np.testing.assert_array_equal(record[counter][:horizon], FIXTURES[f"{key}/{counter}"][:horizon])


class _MeanByLen(sn.nn.Module):
    """A forward that divides by ``len(x)``: a Python number the traced batch would keep."""

    def __init__(self):
        super().__init__()
        self.fc = sn.nn.Linear(3, 2)

    def forward(self, x):
        return self.fc(x) * 4 / len(x)


def test_a_compiled_lbfgs_closure_is_made_for_each_batch_size_when_the_forward_takes_it():
    rng = np.random.default_rng(5)
    x, y = rng.standard_normal((7, 3)), rng.standard_normal((7, 2))
    results = []
    for compiled in (False, True):
        sn.manual_seed(2)
        model = _MeanByLen().double()
        opt = LBFGS(model.parameters(), lr=0.5, max_iter=3)
        batches = [(x[:4], y[:4]), (x[4:], y[4:]), (x[:4], y[:4])]
        if compiled:
            step = sn.compile(model, sn.nn.MSELoss(), opt)
            losses = [step.step(xb, yb) for xb, yb in batches]
        else:
            losses = []
            for xb, yb in batches:
                def closure(xb=xb, yb=yb, opt=opt, model=model):
                    opt.zero_grad()
                    loss = sn.nn.functional.mse_loss(model(sn.tensor(xb)), sn.tensor(yb))
                    loss.backward()
                    return loss
                losses.append(opt.step(closure).item())
        results.append((np.array(losses), model.fc.weight.numpy().copy()))
    (eager, w_eager), (native, w_native) = results
    np.testing.assert_allclose(native, eager, rtol=1e-9)
    np.testing.assert_allclose(w_native, w_eager, rtol=1e-8)
