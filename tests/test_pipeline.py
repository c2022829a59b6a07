"""The pipeline's named stages (shown, timed, used by every feature) and the generic repeat driver, native
against the reference backend."""

import os
import subprocess
import sys

import numpy as np
import pytest
import sympy as sp

import symnet as sn
from codegen.pool import POOL
from symnet import backend, pipeline
from symnet.core.ir import BATCH, Def, Graph, Input, Repeat, access, fresh_indices
from symnet.errors import ShapeError


def counts() -> dict[str, int]:
    return {stage: n for stage, (n, _) in pipeline.timings().items()}


@pytest.mark.parametrize("feature", ["backward", "grad", "formulas", "hessian", "compile"])
def test_every_feature_goes_through_the_stages(feature, tmp_path, monkeypatch):
    POOL.ensure()  # the pool's own object is cached where it was first made
    monkeypatch.setenv("SYMNET_CACHE_DIR", str(tmp_path))  # no step another test compiled is found on disk
    pipeline.cache_clear()
    before = counts()
    w = sn.tensor([0.5, -1.0], requires_grad=True, name="w")
    y = (w.tanh() * w).sum()
    if feature == "backward":
        y.backward()
    elif feature == "grad":
        sn.grad(y, w)
    elif feature == "formulas":
        str(sn.formulas(y))
    elif feature == "hessian":
        sn.hessian(y, w)
    else:
        model = sn.nn.Sequential(sn.nn.Linear(2, 3), sn.nn.Tanh(), sn.nn.Linear(3, 1))
        step = sn.compile(model, sn.nn.MSELoss(), sn.optim.SGD(model.parameters(), lr=0.1))
        step.step(np.ones((4, 2), np.float32), np.zeros((4, 1), np.float32))
    after = counts()
    ran = {stage for stage in after if after[stage] > before[stage]}
    assert {"lower", "simplify", "differentiate"} <= ran
    if feature in ("backward", "hessian", "compile"):
        assert "compile" in ran
    if feature == "compile":
        assert "extend" in ran
    seconds = pipeline.timings()
    assert all(t >= 0 for _, t in seconds.values()) and seconds["lower"][1] > 0


def test_symnet_show_logs_any_stage(tmp_path):
    script = ("import numpy as np, symnet as sn\n"
              "m = sn.nn.Linear(2, 1)\n"
              "s = sn.compile(m, sn.nn.MSELoss(), sn.optim.SGD(m.parameters(), lr=0.1))\n"
              "s.step(np.ones((3, 2), np.float32), np.zeros((3, 1), np.float32))\n")
    env = {**os.environ, "SYMNET_SHOW": "lower,differentiate,extend,loops", "SYMNET_CACHE_DIR": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    for stage in ("lower:", "differentiate:", "extend:", "loops of"):
        assert f"symnet.pipeline: {stage}" in out.stderr, stage
    assert "W_p0" in out.stderr or "SGD" in out.stderr or "W_" in out.stderr


def driver_graph():
    """acc ← acc + Σ_rows X·w, w ← w·decay^t: a gathered input, a feedback, a counter and a record."""
    n = BATCH
    X, acc, w, t = Input("X", (n, 2), np.dtype(np.float64)), Input("acc", (), np.dtype(np.float64)), \
        Input("w", (2,), np.dtype(np.float64)), Input("t", (), np.dtype(np.float64))
    b, j = fresh_indices([n, 2])
    (k,) = fresh_indices([2])
    total = Def("total", (), X.dtype, ((b, n), (j, 2)), (), access("X", (b, j)) * access("w", (j,)), "sum")
    new_acc = Def("new_acc", (), X.dtype, (), (), access("acc", ()) + access("total", ()))
    new_w = Def("new_w", (2,), X.dtype, ((k, 2),), (k,), access("w", (k,)) * sp.Rational(1, 2) ** access("t", ()))
    graph = Graph([X, acc, w, t], [total, new_acc, new_w], ["new_acc", "new_w"])
    return graph, Repeat(((new_acc, acc), (new_w, w)), counters=(t,), record=(new_acc, total), gathers=(X,),
                         rows=BATCH)


@pytest.mark.parametrize("gather", [True, False])
def test_repeat_driver_native_equals_reference(gather):
    graph, repeat = driver_graph()
    data = np.random.default_rng(0).standard_normal((7, 2))
    index = np.array([3, 1, 4, 0, 6, 5, 2], dtype=np.int64)
    starts = np.array([0, 3, 6, 7], dtype=np.int64)          # batches of 3, 3 and a short one of 1
    results = []
    for name in ("native", "reference"):
        with backend.use(name):
            exe = pipeline.compile_graph(graph, repeat)
        inputs = [None if gather else data, np.array(0.0), np.array([1.0, -2.0]), np.array(1.0)]
        if gather:
            records = exe.repeat(inputs, 5, (data,), index, starts)
        else:
            records = exe.repeat(inputs, 5)
        results.append((records, inputs[1], inputs[2], inputs[3]))
    (native, *native_state), (reference, *reference_state) = results
    np.testing.assert_allclose(native, reference, rtol=1e-14)
    for a, b in zip(native_state, reference_state, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-14)
    assert native_state[2] == 6.0                                # the counter ran five times from 1
    if gather:                                                   # iteration 3 wraps to the first batch again
        w = np.array([1.0, -2.0]) * 0.5 ** (1 + 2 + 3)
        np.testing.assert_allclose(native[3, 1], data[[3, 1, 4]].sum(0) @ w, rtol=1e-14)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_repeat_series_input_takes_element_s_at_iteration_s(dtype):
    """acc ← acc + lr·acc + lr with lr a series: a schedule read per iteration, native equal to reference."""
    dt = np.dtype(dtype)
    acc, lr = Input("acc", (), dt), Input("lr", (), dt)
    new_acc = Def("new_acc", (), dt, (), (), access("acc", ()) * (1 + access("lr", ())) + access("lr", ()))
    graph = Graph([acc, lr], [new_acc], ["new_acc"])
    repeat = Repeat(((new_acc, acc),), record=(new_acc,), series=(lr,))
    schedule = np.array([0.5, -0.25, 2.0, 0.125, 9.0], dtype=dt)
    expected, value = [], dt.type(1)
    for r in schedule[:4]:
        value = value * (1 + r) + r
        expected.append(value)
    for name in ("native", "reference"):
        with backend.use(name):
            exe = pipeline.compile_graph(graph, repeat)
        given_lr = np.array(7.0, dt)
        inputs = [np.array(1.0, dt), given_lr]
        records = exe.repeat(inputs, 4, series=(schedule,))
        np.testing.assert_array_equal(records[:, 0], np.array(expected, dtype=np.float64), err_msg=name)
        assert inputs[0] == expected[-1] and given_lr == 7.0, name   # the caller's lr array is not written
        with pytest.raises(ShapeError, match="3 values for 4 steps"):
            exe.repeat(inputs, 4, series=(schedule[:3],))
        with pytest.raises(ShapeError, match="1 series expected"):
            exe.repeat(inputs, 4)


@pytest.mark.parametrize("gather", [True, False])
def test_repeat_series_beside_gathered_inputs(gather):
    """A series in a plan that also gathers: found after the gather sources, given or not (in place)."""
    graph, repeat = driver_graph()
    rate = Input("rate", (), np.dtype(np.float64))
    acc = next(d for d in graph.defs if d.name == "new_acc")
    scaled = Def("new_acc", (), acc.dtype, (), (), acc.body * access("rate", ()))
    graph = Graph([*graph.inputs, rate], [d if d.name != "new_acc" else scaled for d in graph.defs], graph.outputs)
    repeat = Repeat(((scaled, graph.inputs[1]), *repeat.feedback[1:]), repeat.counters, (scaled,), repeat.gathers,
                    repeat.rows, series=(rate,))
    data = np.random.default_rng(1).standard_normal((4, 2))
    rates = np.array([1.0, 0.5, 2.0])
    results = []
    for name in ("native", "reference"):
        with backend.use(name):
            exe = pipeline.compile_graph(graph, repeat)
        inputs = [None if gather else data, np.array(0.0), np.array([1.0, -2.0]), np.array(1.0), np.array(0.0)]
        if gather:
            records = exe.repeat(inputs, 3, (data,), np.arange(4), np.array([0, 4]), series=(rates,))
        else:
            records = exe.repeat(inputs, 3, series=(rates,))
        results.append(records[:, 0])
    np.testing.assert_allclose(results[0], results[1], rtol=1e-14)
    acc, w = 0.0, np.array([1.0, -2.0])
    for s, r in enumerate(rates):
        acc = (acc + data.sum(0) @ w) * r
        w = w * 0.5 ** (s + 1)
        assert results[0][s] == pytest.approx(acc, rel=1e-14)


def test_repeat_rejects_rows_outside_the_sources():
    graph, repeat = driver_graph()
    exe = pipeline.compile_graph(graph, repeat)
    inputs = [None, np.array(0.0), np.array([1.0, -2.0]), np.array(1.0)]
    with pytest.raises(sn.IndexRangeError, match="row indices"):
        exe.repeat(inputs, 2, (np.zeros((3, 2)),), np.array([0, 5]), np.array([0, 2]))
    with pytest.raises(sn.IndexRangeError, match="starts"):
        exe.repeat(inputs, 2, (np.zeros((3, 2)),), np.array([0, 1]), np.array([0, 3]))


def test_fit_on_the_native_driver_equals_fit_on_the_reference_backend():
    """Shuffled minibatches with a short last batch, Adam state fed back, the step count as a counter."""
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((23, 3)), rng.integers(0, 2, 23)

    def train(name):
        pipeline.cache_clear()
        with backend.use(name):
            sn.manual_seed(3)
            model = sn.nn.Sequential(sn.nn.Linear(3, 5), sn.nn.ReLU(), sn.nn.Linear(5, 2)).double()
            step = sn.compile(model, sn.nn.CrossEntropyLoss(), sn.optim.Adam(model.parameters(), lr=0.05))
            loader = sn.data.DataLoader(sn.data.TensorDataset(sn.tensor(x, dtype=sn.float64), sn.tensor(y)),
                                        batch_size=5, shuffle=True, generator=1)
            losses = step.fit(loader, epochs=3)
            return losses, [p.numpy().copy() for p in model.parameters()]

    native, reference = train("native"), train("reference")
    pipeline.cache_clear()
    assert len(native[0]) == 15
    np.testing.assert_allclose(native[0], reference[0], rtol=1e-12)
    for a, b in zip(native[1], reference[1], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-11, atol=1e-14)
