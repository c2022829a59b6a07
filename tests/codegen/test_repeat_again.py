"""A repeat called again on the arrays of the thread's last one (``fit`` once more), or gathering again rows as many as
its last one did (a shuffled ``fit`` once more), skips their validation: it must
give what a first call gives, follow every array it updates, and notice whatever changed in between — another
array, one freed, a dtype or shape assigned in place, another call's workspace, another thread."""

import numpy as np
import pytest

from codegen import compile_graph
from symnet.errors import DTypeError, IndexRangeError, ShapeError

from ..threads import in_threads
from .test_interface import scaled

RATES = np.array([0.1, 0.2, 0.3, 0.4])


@pytest.fixture(scope="module")
def compiled():
    graph, repeat = scaled()
    return compile_graph(graph, repeat=repeat)


def fresh(rows: int = 5, seed: int = 0) -> list:
    return [np.random.default_rng(seed).standard_normal((rows, 3)), np.ones(3), np.zeros(()), None]


def first_call(compiled, inputs: list, steps: int = 4) -> tuple[np.ndarray, np.ndarray, float]:
    """What a repeat gives on copies of ``inputs`` (new objects: validated in full), and the state after it."""
    state = [None if a is None else np.array(a) for a in inputs]
    records = compiled.repeat(state, steps, series=[RATES])
    return records, state[1], float(state[2])


def test_calls_on_the_same_arrays_follow_what_each_call_updates(compiled):
    inputs = fresh()
    for _ in range(3):
        expected, w, t = first_call(compiled, inputs)
        records = compiled.repeat(inputs, 4, series=[RATES])
        np.testing.assert_array_equal(records, expected)
        np.testing.assert_array_equal(inputs[1], w)
        assert float(inputs[2]) == t  # the counter, held by value, is copied back to the caller's array
    assert t == 12.0


def test_a_new_array_a_new_zero_d_value_and_a_freed_array_are_followed(compiled):
    inputs = fresh()
    compiled.repeat(inputs, 4, series=[RATES])
    inputs[1] = np.full(3, 2.0)  # the bound w is freed: only its weak reference remained
    inputs[2] = np.array(7.0)
    expected, w, t = first_call(compiled, inputs)
    np.testing.assert_array_equal(compiled.repeat(inputs, 4, series=[RATES]), expected)
    np.testing.assert_array_equal(inputs[1], w)
    assert float(inputs[2]) == t == 11.0


def test_a_dtype_or_shape_assigned_in_place_is_an_error_not_a_misread(compiled):
    inputs = fresh()
    compiled.repeat(inputs, 4, series=[RATES])
    inputs[0].dtype = np.int64  # the same object, its bytes now read as integers
    with pytest.raises(DTypeError, match="X"):
        compiled.repeat(inputs, 4, series=[RATES])
    inputs = fresh()
    compiled.repeat(inputs, 4, series=[RATES])
    inputs[1].shape = (3, 1)
    with pytest.raises(ShapeError, match="w"):
        compiled.repeat(inputs, 4, series=[RATES])


def test_calls_in_between_that_move_the_workspace_or_gather(compiled):
    inputs = fresh()
    compiled.repeat(inputs, 4, series=[RATES])
    big = fresh(rows=4096, seed=1)
    compiled.call([big[0], big[1], np.zeros(()), np.full((), 0.1)])  # a larger workspace: the old block goes
    expected, w, _ = first_call(compiled, inputs)
    np.testing.assert_array_equal(compiled.repeat(inputs, 4, series=[RATES]), expected)
    rows = fresh(rows=6, seed=2)[0]
    gathered = [None, np.ones(3), np.zeros(()), None]
    compiled.repeat(gathered, 4, (rows,), np.arange(6), np.array([0, 3, 6]), series=[RATES])
    expected, w, _ = first_call(compiled, inputs)
    np.testing.assert_array_equal(compiled.repeat(inputs, 4, series=[RATES]), expected)
    np.testing.assert_array_equal(inputs[1], w)


def test_a_non_contiguous_input_is_copied_every_call_and_still_fed_back(compiled):
    wide = np.ones(6)
    inputs = [fresh()[0], wide[::2], np.zeros(()), None]
    for _ in range(2):
        expected, w, _ = first_call(compiled, inputs)
        np.testing.assert_array_equal(compiled.repeat(inputs, 4, series=[RATES]), expected)
        np.testing.assert_array_equal(inputs[1], w)
    assert np.all(wide[1::2] == 1.0)


def test_two_threads_repeating_on_their_own_arrays(compiled):
    def work(seed):
        inputs = fresh(seed=seed)
        return np.array([compiled.repeat(inputs, 4, series=[RATES]) for _ in range(200)])

    expected = [work(seed) for seed in (1, 2)]
    for alone, together in zip(expected, in_threads(work, (1, 2)), strict=True):
        np.testing.assert_array_equal(together, alone)


def gathering(compiled, sources: list, order: np.ndarray, starts: np.ndarray, w: np.ndarray | None = None):
    """A gathering repeat of the rows of ``sources`` by ``order``: its records and the weights after it."""
    state = [None, np.ones(3) if w is None else w, np.zeros(()), None]
    records = compiled.repeat(state, 4, sources, order, starts, series=[RATES])
    return records, state[1]


def alone(sources: list, order: np.ndarray, starts: np.ndarray):
    """The same on a graph compiled afresh (no block of an earlier call to reuse)."""
    graph, repeat = scaled()
    return gathering(compile_graph(graph, repeat=repeat, use_cache=False), sources, order, starts)


def test_gathering_again_follows_new_sources_orders_and_row_counts(compiled):
    rng = np.random.default_rng(3)
    calls = [(rng.standard_normal((8, 3)), rng.permutation(8), np.array([0, 3, 6, 8])) for _ in range(3)]
    calls.append((rng.standard_normal((12, 3)), rng.permutation(12)[:8], np.array([0, 4, 8])))  # 4 rows a step
    calls.append((rng.standard_normal((8, 3)), rng.permutation(8), np.array([0, 3, 6, 8])))  # 3 again
    for rows, order, starts in calls:
        expected = alone([rows], order, starts)
        for got, want in zip(gathering(compiled, [rows], order, starts), expected, strict=True):
            np.testing.assert_array_equal(got, want)


def test_gathering_again_checks_every_index_and_source(compiled):
    rows, starts = np.ones((8, 3)), np.array([0, 3, 6, 8])
    gathering(compiled, [rows], np.arange(8), starts)
    with pytest.raises(IndexRangeError, match=r"\[0, 8\)"):
        gathering(compiled, [rows], np.array([0, 1, 2, 3, 4, 5, 6, 8]), starts)
    with pytest.raises(DTypeError, match="X"):
        gathering(compiled, [rows.astype(np.float32)], np.arange(8), starts)
    with pytest.raises(IndexRangeError, match="starts must rise"):
        gathering(compiled, [rows], np.arange(8), np.array([0, 6, 3, 8]))
    gathering(compiled, [rows], np.arange(8), starts)
    with pytest.raises(ShapeError, match="w"):  # an input the marshal checks: the fast path declines it
        gathering(compiled, [rows], np.arange(8), starts, w=np.ones(4))


def test_gathering_and_in_place_repeats_in_turn(compiled):
    inputs = fresh()
    rows, order, starts = np.arange(24.0).reshape(8, 3), np.arange(8)[::-1].copy(), np.array([0, 3, 6, 8])
    for _ in range(2):
        expected, w, _ = first_call(compiled, inputs)
        np.testing.assert_array_equal(compiled.repeat(inputs, 4, series=[RATES]), expected)
        np.testing.assert_array_equal(inputs[1], w)
        for got, want in zip(gathering(compiled, [rows], order, starts), alone([rows], order, starts), strict=True):
            np.testing.assert_array_equal(got, want)
