"""Indexing beyond the OpInfo table: index tensors computed lazily (checked at run time, never read out of
range), masks inside a compiled step, and the function forms."""

from __future__ import annotations

import numpy as np
import pytest

import symnet as sn
from symnet.frontend.batch import batch_trace


def test_a_computed_index_out_of_range_is_an_index_error_at_run_time():
    x = sn.tensor([1.0, 2.0, 3.0], requires_grad=True)
    i = sn.tensor([1, 2]) * 2  # a computed index: its values are not known when x[i] is made
    y = x[i]
    with pytest.raises(IndexError):
        y.numpy()
    j = sn.tensor([0, -1]) * 1
    np.testing.assert_array_equal(x[j].numpy(), [1.0, 3.0])


def test_a_mask_computed_from_data_is_refused_where_shapes_are_fixed():
    x = sn.tensor([1.0, -2.0, 3.0])
    w = sn.tensor([1.0, 1.0, -1.0])
    with batch_trace(x):
        with pytest.raises(sn.ShapeError, match="data-dependent shape"):
            x[x > 0]
        constant, of_constants = x[sn.tensor([True, False, True])], x[w > 0]  # masks that never change: fine
    np.testing.assert_array_equal(constant.numpy(), [1.0, 3.0])
    np.testing.assert_array_equal(of_constants.numpy(), [1.0, -2.0])
    np.testing.assert_array_equal(x[x > 0].numpy(), [1.0, 3.0])


def test_basic_indexing_makes_views_and_advanced_indexing_copies():
    x = sn.zeros(3)
    x[sn.tensor([0, 2])].fill_(1)  # a copy: x unchanged, as in PyTorch
    assert x.tolist() == [0, 0, 0]
    x[::2].fill_(1)
    assert x.tolist() == [1, 0, 1]


def test_function_forms():
    a = sn.tensor([[1.0, 2.0], [3.0, 4.0]])
    i = sn.tensor([1, 0])
    np.testing.assert_array_equal(sn.index_select(a, 1, i).numpy(), [[2, 1], [4, 3]])
    np.testing.assert_array_equal(sn.take(a, i).numpy(), [2, 1])
    np.testing.assert_array_equal(sn.masked_fill(a, a > 2, 0.0).numpy(), [[1, 2], [0, 0]])
    np.testing.assert_array_equal(sn.scatter(sn.zeros(2), 0, i, 5.0).numpy(), [5, 5])
    np.testing.assert_array_equal(sn.index_put_(sn.zeros(2), (i,), sn.tensor([1.0, 2.0])).numpy(), [2, 1])


def test_scatter_multiply_is_refused():
    with pytest.raises(NotImplementedError):
        sn.zeros(2).scatter(0, sn.tensor([0]), sn.ones(1), reduce="multiply")


@pytest.mark.parametrize("computed", [False, True])
def test_assignment_with_duplicate_destinations_keeps_the_last_value(computed):
    """PyTorch's loop leaves the last value written at a position (never their sum); a computed index is checked
    in the graph, a known one at the call."""
    index = sn.tensor([3, 1, 3, -1])
    if computed:
        index = index * 1
    x = sn.zeros(4)
    x[index] = sn.tensor([1.0, 2.0, 3.0, 4.0])
    assert x.tolist() == [0.0, 2.0, 0.0, 4.0]
    y = sn.zeros(3)
    y[sn.tensor([1, 1])] = sn.tensor(5.0)   # a 0-d value broadcast to both entries
    assert y.tolist() == [0.0, 5.0, 0.0]
    z = sn.zeros(2, 3).scatter(1, sn.tensor([[0, 0, 1]]), sn.tensor([[1.0, 2.0, 3.0]]))
    assert z.tolist() == [[2.0, 3.0, 0.0], [0.0, 0.0, 0.0]]


def test_logical_operators_on_bool_tensors():
    a, b = sn.tensor([True, False, True, False]), sn.tensor([True, True, False, False])
    assert (a & b).tolist() == [True, False, False, False]
    assert (a | b).tolist() == [True, True, True, False]
    assert (a ^ b).tolist() == [False, True, True, False]
    assert (~a).tolist() == [False, True, False, True]
    assert sn.logical_or(sn.tensor([0.0, 2.0]), sn.tensor([0, 0])).tolist() == [False, True]
    assert (sn.tensor([1, 2]) & sn.tensor([3, 4])).tolist() == [1, 0]  # int64: bits (tests/test_bitwise.py)
    with pytest.raises(sn.DTypeError, match="bitwise"):
        sn.tensor([1.0, 2.0]) & sn.tensor([3, 4])


def test_index_copy_writes_source_slices_with_gradients_to_both():
    x = np.arange(12.0).reshape(4, 3)
    source = np.array([[10.0, 11, 12], [20, 21, 22]])
    weights = sn.tensor(np.arange(12.0).reshape(4, 3), dtype=sn.float64)
    a = sn.tensor(x, dtype=sn.float64, requires_grad=True)
    s = sn.tensor(source, dtype=sn.float64, requires_grad=True)
    out = a.index_copy(0, sn.tensor([3, 1]), s)
    expected = x.copy()
    expected[[3, 1]] = source
    np.testing.assert_array_equal(out.numpy(), expected)
    (out * weights).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), np.where(np.isin(np.arange(4), [3, 1])[:, None], 0.0,
                                                           weights.numpy()))
    np.testing.assert_array_equal(s.grad.numpy(), weights.numpy()[[3, 1]])
    b = sn.tensor(x, dtype=sn.float64)
    assert b.index_copy_(1, sn.tensor([2]), sn.ones(4, 1, dtype=sn.float64)) is b
    np.testing.assert_array_equal(b.numpy()[:, 2], np.ones(4))
    with pytest.raises(sn.DTypeError, match="same dtype"):
        sn.index_copy(sn.tensor(x, dtype=sn.float64), 0, sn.tensor([3, 1]), sn.tensor(source, dtype=sn.float32))
    with pytest.raises(sn.ShapeError, match="does not match"):
        sn.tensor(x, dtype=sn.float64).index_copy(0, sn.tensor([3, 1]), sn.ones(3, 3, dtype=sn.float64))


def test_a_range_indexes_as_a_list_of_positions():
    """``input[range(n), target]``: the negative log-likelihood of PyTorch's "What is torch.nn really?"."""
    x = sn.arange(12.0, requires_grad=True)
    logp = x.reshape(3, 4)
    picked = logp[range(3), sn.tensor([0, 1, 2])]
    assert picked.tolist() == [0.0, 5.0, 10.0] and logp[range(1, 3)].shape == (2, 4)
    assert logp[range(0), []].shape == (0,)
    (-picked.mean()).backward()
    np.testing.assert_array_equal(x.grad.numpy().reshape(3, 4), -np.eye(3, 4, dtype=np.float32) / np.float32(3))


def test_a_zero_d_index_of_a_vector_is_one_position():
    """PyTorch's Transforms tutorial one-hot: ``zeros(10).scatter_(0, tensor(y), value=1)``; gather gives 0-d."""
    assert sn.zeros(4).scatter_(0, sn.tensor(2), value=1).tolist() == [0.0, 0.0, 1.0, 0.0]
    assert sn.zeros(4).scatter_add(0, sn.tensor(1), sn.tensor(5.0)).tolist() == [0.0, 5.0, 0.0, 0.0]
    assert sn.zeros(4).scatter_reduce(0, sn.tensor(3), sn.tensor(2.0), "sum").tolist() == [0.0, 0.0, 0.0, 2.0]
    x = sn.arange(4.0, requires_grad=True)
    picked = x.gather(0, sn.tensor(2))
    assert picked.shape == () and picked.item() == 2.0
    picked.backward()
    assert x.grad.tolist() == [0.0, 0.0, 1.0, 0.0]
    with pytest.raises(sn.ShapeError, match="same number of dimensions"):
        sn.zeros(2, 3).scatter(0, sn.tensor(1), 1.0)  # as PyTorch: only a vector reads it so
