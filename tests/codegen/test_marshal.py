"""The native marshal (``codegen/marshal.py``): a call's checks and addresses in one native step. It accepts exactly
what the Python path accepts, answers every mismatch with the Python path's own error, keeps each thread's block
and a regrown workspace apart, and gives the Python path's numbers."""

from __future__ import annotations

import ctypes
import dataclasses
import threading

import numpy as np
import pytest

import symnet as sn
from codegen import marshal, runtime
from codegen.interface import Slot
from codegen.pool import POOL
from codegen.runtime import CompiledGraph, data_address
from symnet.core import cache
from tests.codegen.test_runtime import BAD, fixed_graph, good_inputs, mlp_graph
from tests.threads import in_threads


def ordered(graph: CompiledGraph, arrays: dict) -> list:
    return [arrays[t.name] for t in graph.interface.inputs]


def native_and_python(make_graph) -> tuple[CompiledGraph, CompiledGraph]:
    """The graph with the native marshal, and the same graph on the Python path alone."""
    POOL.ensure()
    native = CompiledGraph(make_graph())
    saved, POOL.marshal = POOL.marshal, None
    try:
        python = CompiledGraph(make_graph())
    finally:
        POOL.marshal = saved
    return native, python


@pytest.fixture(scope="module")
def both():
    """The MLP graph, natively and on the Python path."""
    return native_and_python(mlp_graph)


def test_this_process_uses_the_native_marshal(both):
    native, python = both
    assert POOL.marshal is not None and native._marshal is not None and python._marshal is None


def test_after_the_first_call_the_python_checks_are_skipped(both, monkeypatch):
    native, _ = both
    inputs = ordered(native, good_inputs())
    native.call(inputs)
    monkeypatch.setattr(CompiledGraph, "_exact_sizes", lambda *a: pytest.fail("the Python path ran"))
    for _ in range(3):
        native.call(inputs)
        native.call(tuple(inputs))


@pytest.mark.parametrize("name", [b[0] for b in BAD])
def test_a_bad_input_after_good_calls_is_the_python_paths_error(both, name):
    native, python = both
    _, bad, error, message = next(b for b in BAD if b[0] == name)
    for graph in both:
        graph.call(ordered(graph, good_inputs()))  # the fast path is primed
        with pytest.raises(error, match=message):
            graph(good_inputs() | bad)


def test_every_input_shape_and_layout_gives_the_python_paths_numbers(both):
    native, python = both
    rng = np.random.default_rng(0)
    for batch in [4, 4, 7, 1, 300, 4, 0, 7, 2000, 3, 3]:  # 300 and 2000 regrow the workspace
        arrays = good_inputs(batch)
        arrays["X"] = rng.standard_normal((batch, 3)).astype(np.float32)
        inputs = ordered(native, arrays)
        if batch == 7:  # a non-contiguous X of the same values
            k = [t.name for t in native.interface.inputs].index("X")
            inputs[k] = np.asfortranarray(inputs[k])
        for a, b in zip(native.call(inputs), python.call(ordered(python, arrays)), strict=True):
            assert a.shape == b.shape and np.array_equal(a, b, equal_nan=True)


def test_threads_calling_with_their_own_batch_sizes_keep_their_blocks_apart(both):
    native, python = both
    expected = {batch: python.call(ordered(python, good_inputs(batch))) for batch in (3, 5, 64)}
    failures = []

    def work(batch: int) -> None:
        inputs = ordered(native, good_inputs(batch))
        for _ in range(300):
            got = native.call(inputs)
            if not all(np.array_equal(a, b) for a, b in zip(got, expected[batch], strict=True)):
                failures.append(batch)
                return

    threads = [threading.Thread(target=work, args=(batch,)) for batch in (3, 5, 64, 3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []


def _accepts(inputs, want: list[tuple[np.dtype, tuple[int, ...]]], sizes: list[int]) -> bool:
    """The Python oracle: a list or tuple of exactly ndarrays of these dtypes, C-contiguous, of these axes (``~d``:
    the size of dimension d)."""
    if type(inputs) not in (list, tuple) or len(inputs) != len(want):
        return False
    for a, (dtype, axes) in zip(inputs, want, strict=True):
        if type(a) is not np.ndarray or a.dtype is not dtype or not a.flags.c_contiguous or a.ndim != len(axes):
            return False
        if any(got != (n if n >= 0 else sizes[~n]) for got, n in zip(a.shape, axes, strict=True)):
            return False
    return True


def test_the_marshal_agrees_with_the_python_oracle_on_random_arrays():
    POOL.ensure()
    rng = np.random.default_rng(1)
    dtypes = [np.dtype(t) for t in (np.float32, np.float64, np.int64, np.bool_)] + [np.dtype(">f4")]
    accepted = refused = 0
    for _ in range(3000):
        sizes = [int(n) for n in rng.integers(0, 4, 2)]
        want = []
        for _ in range(int(rng.integers(0, 4))):
            axes = tuple(int(n) if rng.random() < 0.5 else ~int(rng.integers(0, 2)) for n in rng.integers(0, 4, int(
                rng.integers(0, 4))))
            want.append((dtypes[int(rng.integers(0, 4))], axes))
        inputs = []
        for dtype, axes in want:  # mostly fitting arrays; now and then one off in a single respect
            shape = tuple(n if n >= 0 else sizes[~n] for n in axes)
            change = rng.integers(0, 12)
            if change == 0:
                shape = (*shape, 1)
            elif change == 1 and shape:
                shape = (shape[0] + 1, *shape[1:])
            a = np.zeros(shape, dtypes[int(rng.integers(0, 5))] if change == 2 else dtype)
            if change == 3 and a.ndim >= 2 and a.shape[0] > 1 and a.shape[1] > 1:
                a = np.asfortranarray(a)
            elif change == 4:
                a = np.ma.masked_array(a)
            elif change == 5:
                a = None
            inputs.append(a)
        if rng.random() < 0.5:
            inputs = tuple(inputs)
        if rng.random() < 0.05:
            inputs = inputs[:-1] if inputs else [np.zeros(1)]
        out = np.empty(2)
        words = (ctypes.c_int64 * 10)()
        words[:3] = [-1, -1, -1]
        words[6:8] = sizes
        plan = marshal.recipe(want, 6, 8, [5])
        status = POOL.marshal(inputs, [out], data_address(plan), ctypes.addressof(words), None)
        expected = _accepts(inputs, want, sizes)
        assert status == (0 if expected else marshal.MISMATCH), (want, sizes, inputs)
        if expected:
            accepted += 1
            assert list(words[:len(inputs)]) == [data_address(a) for a in inputs] and words[5] == data_address(out)
        else:
            refused += 1
    assert accepted > 1000 and refused > 500


def _verdict(inputs: list, want: list, sizes: list[int], finite: set[int]) -> int:
    """The Python oracle of a recipe with finiteness checks: input by input, the first that does not fit is a
    mismatch, and one asked to be finite holding a NaN or an infinity is ``NONFINITE``."""
    for k, (a, (dtype, axes)) in enumerate(zip(inputs, want, strict=True)):
        if not _accepts([a], [(dtype, axes)], sizes):
            return marshal.MISMATCH
        if k in finite and not np.isfinite(a).all():
            return marshal.NONFINITE
    return 0


def test_inputs_asked_to_be_finite_are_checked_natively():
    """Float32 and float64 inputs of every size (the vectorized loop and its remainder), a NaN, +inf or -inf at
    any position, checked or not; a mismatch before a non-finite input is still a mismatch."""
    POOL.ensure()
    rng = np.random.default_rng(2)
    seen = {0: 0, marshal.MISMATCH: 0, marshal.NONFINITE: 0}
    for _ in range(2000):
        sizes = [int(n) for n in rng.integers(0, 40, 2)]
        want, inputs = [], []
        for _ in range(int(rng.integers(1, 4))):
            dtype = np.dtype(np.float32 if rng.random() < 0.5 else np.float64)
            axes = (~int(rng.integers(0, 2)), int(rng.integers(1, 4)))
            want.append((dtype, axes))
            a = rng.standard_normal((sizes[~axes[0]], axes[1])).astype(dtype)
            if a.size and rng.random() < 0.4:
                a.flat[int(rng.integers(0, a.size))] = rng.choice([np.nan, np.inf, -np.inf])
            if rng.random() < 0.05:
                a = a.astype(np.float64 if dtype == np.float32 else np.float32)
            inputs.append(a)
        finite = {k for k in range(len(want)) if rng.random() < 0.7}
        plan = marshal.recipe(want, 6, 8, [], finite)
        words = (ctypes.c_int64 * 10)()
        words[6:8] = sizes
        status = POOL.marshal(inputs, (), data_address(plan), ctypes.addressof(words), None)
        expected = _verdict(inputs, want, sizes, finite)
        assert status == expected, (want, sizes, finite, inputs)
        seen[status] += 1
    assert min(seen.values()) > 100
    with pytest.raises(TypeError, match="float32 and float64"):
        marshal.recipe([(np.dtype(np.int64), (3,))], 1, 2, [], finite={0})


def _fit_sequence() -> tuple[list[float], list[np.ndarray]]:
    """In-place fits, a shuffled fit whose gathered batch has the same sizes (the same block, its serial inputs
    replaced), a fit with a learning-rate series, and another in-place fit."""
    sn.manual_seed(0)
    model = sn.nn.Sequential(sn.nn.Linear(3, 4), sn.nn.Tanh(), sn.nn.Linear(4, 2))
    opt = sn.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    step = sn.compile(model, sn.nn.MSELoss(), opt)
    x = np.linspace(-1, 1, 24, dtype=np.float32).reshape(8, 3)
    y = np.stack([x.sum(1), x[:, 0] * x[:, 1]], 1)
    losses = list(step.fit((x, y), epochs=3, progress=False))
    loader = sn.data.DataLoader(sn.data.TensorDataset(sn.tensor(x), sn.tensor(y)), batch_size=8, shuffle=True)
    losses += step.fit(loader, epochs=2, progress=False)
    losses += step.fit((x, y), epochs=3, progress=False, scheduler=sn.optim.lr_scheduler.StepLR(opt, 1, 0.5))
    losses += step.fit((x, y), epochs=2, progress=False)
    return losses, [p.detach().numpy().copy() for p in model.parameters()]


def test_fits_through_the_native_repeat_path_give_the_python_paths_numbers(monkeypatch):
    native = _fit_sequence()
    cache.clear_all()  # the next graphs are loaded anew: with the Python path
    monkeypatch.setattr(POOL, "marshal", None)
    python = _fit_sequence()
    cache.clear_all()
    assert native[0] == python[0]
    for a, b in zip(native[1], python[1], strict=True):
        assert np.array_equal(a, b)


def test_a_second_in_place_fit_skips_the_python_checks(monkeypatch):
    model = sn.nn.Linear(2, 1)
    step = sn.compile(model, sn.nn.MSELoss(), sn.optim.Adam(model.parameters(), lr=0.01))
    x, y = np.ones((5, 2), np.float32), np.zeros((5, 1), np.float32)
    step.fit((x, y), epochs=2, progress=False)
    monkeypatch.setattr(CompiledGraph, "_validated", lambda *a: pytest.fail("the Python path ran"))
    monkeypatch.setattr(CompiledGraph, "_exact_sizes", lambda *a: pytest.fail("the Python path ran"))
    before = len(step.history)
    step.fit((x.copy(), y.copy()), epochs=3, progress=False)  # other arrays of the same sizes: no identity needed
    assert len(step.history) == before + 3


# ---------------------------------------------------------------- a small graph runs inside the marshal

@pytest.fixture(scope="module")
def small():
    """The step with every shape fixed (a few dozen elements: the marshal runs it), natively and on the Python
    path."""
    return native_and_python(fixed_graph)


def test_only_a_small_graph_of_fixed_shapes_runs_inside_the_marshal(both, small):
    assert small[0]._run_held is not None
    assert both[0]._run_held is None  # a symbolic batch: any size may come
    interface = small[0].interface
    assert runtime._small(interface)
    big = Slot("big", np.dtype(np.float32), (runtime.SMALL_GRAPH,))
    assert not runtime._small(dataclasses.replace(interface, inputs=(*interface.inputs, big)))


def test_a_small_graph_gives_the_python_paths_numbers_and_errors(small, monkeypatch):
    native, python = small
    rng = np.random.default_rng(2)
    for _ in range(20):
        arrays = good_inputs() | {"X": rng.standard_normal((4, 3)).astype(np.float32),
                                  "W": rng.standard_normal((3, 3)).astype(np.float32)}
        if native._workspaces.__dict__.get("last_call") is not None:  # primed: only the marshal may run it
            monkeypatch.setattr(native, "_fn", lambda *a: pytest.fail("the graph ran outside the marshal"))
        got, expected = native.call(ordered(native, arrays)), python.call(ordered(python, arrays))
        for a, b in zip(got, expected, strict=True):
            assert np.array_equal(a, b)
    for change in ([0, 1, 3, 0], [0, -1, 2, 0]):  # the graph's own index check, reported from inside the marshal
        with pytest.raises(sn.IndexRangeError, match=f"takes the value {min(change) if -1 in change else 3}"):
            native.call(ordered(native, good_inputs() | {"Y": np.array(change)}))
    native.call(ordered(native, good_inputs()))  # and the next call is fine


def test_threads_running_a_small_graph_inside_the_marshal_keep_their_blocks_apart(small):
    native, python = small
    weights = [np.full((3, 3), w, np.float32) for w in (0.1, -0.7, 2.5)]
    expected = [python.call(ordered(python, good_inputs() | {"W": w})) for w in weights]

    def work(k: int) -> bool:
        inputs = ordered(native, good_inputs() | {"W": weights[k]})
        return all(all(np.array_equal(a, b) for a, b in zip(native.call(inputs), expected[k], strict=True))
                   for _ in range(300))

    assert all(in_threads(work, (0, 1, 2, 0)))
