"""A bound call gives what ``call`` gives, swaps inputs by one store, and refuses what ``call`` refuses."""

from __future__ import annotations

import numpy as np
import pytest

from codegen import runtime
from symnet.errors import DTypeError, IndexRangeError, ShapeError
from tests.codegen.test_runtime import compiled, good_inputs  # noqa: F401 - the fixture


def ordered(compiled, arrays):  # noqa: F811
    return [arrays[t.name] for t in compiled.graph.inputs]


def test_run_equals_call_and_set_swaps_one_input(compiled):  # noqa: F811
    inputs = ordered(compiled, good_inputs())
    bound = compiled.bind(inputs)
    for a, b in zip(bound.run(), compiled.call(inputs), strict=True):
        assert np.array_equal(a, b)
    k = [t.name for t in compiled.graph.inputs].index("W")
    other = list(inputs)
    other[k] = np.linspace(-1, 1, 9, dtype=np.float32).reshape(3, 3)
    bound.set(k, other[k].T.copy().T)  # a non-contiguous view is copied
    for a, b in zip(bound.run(), compiled.call(other), strict=True):
        assert np.array_equal(a, b)


def test_set_refuses_another_dtype_or_shape(compiled):  # noqa: F811
    inputs = ordered(compiled, good_inputs())
    bound = compiled.bind(inputs)
    k = [t.name for t in compiled.graph.inputs].index("W")
    with pytest.raises(DTypeError):
        bound.set(k, np.zeros((3, 3), np.float64))
    with pytest.raises(ShapeError):
        bound.set(k, np.zeros((3, 4), np.float32))


def test_a_bad_label_is_an_index_error_from_run(compiled):  # noqa: F811
    inputs = ordered(compiled, good_inputs())
    bound = compiled.bind(inputs)
    k = [t.name for t in compiled.graph.inputs].index("Y")
    bound.set(k, np.array([0, 1, 7, 1], dtype=np.int64))
    with pytest.raises(IndexRangeError):
        bound.run()


@pytest.mark.parametrize("make", [lambda: np.arange(10.0), lambda: np.arange(10.0)[3:], lambda: np.zeros((4, 5))[:, 1],
                                  lambda: np.array(2.0, np.float32), lambda: np.empty(0)])
def test_data_address_is_the_array_interface_address(make):
    arr = make()
    assert runtime.data_address(arr) == arr.__array_interface__["data"][0]
