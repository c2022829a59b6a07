"""In-place updates with PyTorch's semantics: views and aliases see them, gradients flow through the
functionalized graph, leaves follow PyTorch's rules (expected numbers worked out by hand, as PyTorch gives)."""

from __future__ import annotations

import numpy as np
import pytest

import symnet as sn


def test_a_view_updated_in_place_updates_its_base_and_its_siblings():
    x = sn.zeros(2, 3)
    row, col = x[0], x[:, 1]
    row.add_(1)
    np.testing.assert_array_equal(x.numpy(), [[1, 1, 1], [0, 0, 0]])
    np.testing.assert_array_equal(col.numpy(), [1, 0])
    x[1] += 5  # the base's update reaches the views made before it
    np.testing.assert_array_equal(col.numpy(), [1, 5])
    np.testing.assert_array_equal(row.numpy(), [1, 1, 1])


def test_a_view_of_a_view_writes_through_both():
    x = sn.zeros(2, 4)
    inner = x[1][1:3]
    inner.fill_(7)
    np.testing.assert_array_equal(x.numpy(), [[0, 0, 0, 0], [0, 7, 7, 0]])


def test_gradients_flow_through_an_updated_view_to_the_base_inputs_and_the_value():
    a = sn.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    b = sn.tensor([10.0, 20.0], requires_grad=True)
    y = a * 1
    y[0].mul_(b)  # y = [[10, 40], [3, 4]]
    (y * y).sum().backward()
    np.testing.assert_allclose(y.numpy(), [[10, 40], [3, 4]])
    np.testing.assert_allclose(a.grad.numpy(), [[2 * 10 * 10, 2 * 40 * 20], [6, 8]])
    np.testing.assert_allclose(b.grad.numpy(), [2 * 10 * 1, 2 * 40 * 2])


def test_tensors_made_before_an_update_keep_the_values_they_were_made_from():
    a = sn.tensor([1.0, 2.0], requires_grad=True)
    y = a * 1
    before = y * 3
    y[0] = 0.0
    after = y * 3
    (before + after).sum().backward()
    np.testing.assert_allclose(before.numpy(), [3, 6])
    np.testing.assert_allclose(after.numpy(), [0, 6])
    np.testing.assert_allclose(a.grad.numpy(), [3, 6])


def test_a_leaf_assigned_a_value_that_requires_grad_joins_the_graph():
    out = sn.zeros(3)
    w = sn.tensor([2.0], requires_grad=True)
    out[1:] = w * 4
    assert not out.is_leaf and out.requires_grad
    (out * sn.tensor([1.0, 2.0, 3.0])).sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), [20.0])


def test_leaf_rules():
    w = sn.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(sn.GradError, match="a leaf Variable that requires grad"):
        w.add_(1)
    with pytest.raises(sn.GradError, match="a leaf Variable that requires grad"):
        w[0] = 3.0
    with pytest.raises(sn.GradError, match="a view of a leaf Variable"):
        w[:1].mul_(2)
    with sn.no_grad():
        w[0] = 5.0
        w[1:].mul_(3)
    np.testing.assert_array_equal(w.numpy(), [5, 6])
    assert w.is_leaf and w.requires_grad
    w.data.add_(1)  # .data is outside the graph: allowed, and shared
    np.testing.assert_array_equal(w.numpy(), [6, 7])


def test_refusals_of_shape_and_dtype():
    with pytest.raises(sn.ShapeError, match="doesn't match the broadcast shape"):
        sn.zeros(3, 1).add_(sn.zeros(3, 4))
    with pytest.raises(sn.DTypeError, match="can't be cast"):
        sn.tensor([1, 2]).mul_(1.5)
    x = sn.tensor([1, 2])
    x.copy_(sn.tensor([2.7, -1.5]))  # copy_ converts, as in PyTorch
    np.testing.assert_array_equal(x.numpy(), [2, -1])
    x[0] = 9.9  # so does assignment
    assert x.tolist() == [9, -1]


def test_in_place_forms_and_their_function_forms():
    x = sn.tensor([-1.0, 0.5, 2.0])
    assert x.clip_(-0.5, 1.0) is x
    np.testing.assert_allclose(x.numpy(), [-0.5, 0.5, 1.0])
    sn.relu_(x)
    np.testing.assert_allclose(x.numpy(), [0.0, 0.5, 1.0])
    x.sub_(sn.tensor([1.0, 1.0, 1.0]), alpha=2).neg_()
    np.testing.assert_allclose(x.numpy(), [2.0, 1.5, 1.0])
    sn.zero_(x)
    assert x.tolist() == [0, 0, 0]
    assert x._version == 5


def test_augmented_assignment_is_in_place():
    x = sn.zeros(2)
    alias = x
    x += 1
    x *= 3
    assert alias is x and x.tolist() == [3, 3]


def _two(requires_grad=True):
    return sn.tensor([1.0, 2.0], requires_grad=requires_grad), sn.tensor([3.0, 4.0], requires_grad=requires_grad)


def _mul_then_add():
    a, b = _two()
    y = a * 1
    y.mul_(b)      # mul_ keeps y's original for b's gradient
    y.add_(1)
    y.sum().backward()


def _saved_sin_input():
    a, _ = _two()
    y = a * 1
    z = y.sin()    # sin saves its input
    y.add_(1)
    z.sum().backward()


def _unsaved_add_input():
    a, _ = _two()
    y = a * 1
    z = y + 3      # add saves nothing
    y.add_(1)
    (z * y).sum().backward()


def _matmul_operand():
    a, b = _two()
    y = a * 1
    z = y @ b
    y.mul_(2)
    z.backward()


def _relu_result():
    a, _ = _two()
    y = a.relu()   # relu saves its result
    z = y * 1
    y.zero_()
    z.sum().backward()


def _indexed_write_after_sum():
    a = sn.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    y = a * 1
    z = y.sum()
    y[0, 0] = 5.0
    z.backward()


def _leaf_updated_by_the_optimizer():
    w, _ = _two()
    loss = (w * w).sum()
    with sn.no_grad():
        w -= 0.1 * w
    loss.backward()


@pytest.mark.parametrize("case, pytorch", [
    (_mul_then_add, "ok"), (_saved_sin_input, "raises"), (_unsaved_add_input, "ok"), (_matmul_operand, "raises"),
    (_relu_result, "raises"), (_indexed_write_after_sum, "ok"), (_leaf_updated_by_the_optimizer, "raises"),
])
def test_what_backward_saved_and_was_changed_in_place_is_refused_as_pytorch(case, pytorch):
    """Each case's outcome as PyTorch 2.13 gives it: an op that saved a tensor for backward (its input, or its
    result for exp, tanh, sigmoid, relu...) refuses a graph where it changed in place afterwards."""
    if pytorch == "raises":
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            case()
    else:
        case()


def test_copying_a_leaf_that_requires_grad_keeps_its_graph():
    """``z.copy_(w)`` makes z a function of w, as in PyTorch (it stored w's values and dropped the gradient)."""
    w = sn.tensor([1.0, 2.0, 3.0], requires_grad=True)
    z = sn.zeros(3)
    z.copy_(w)
    assert z.requires_grad and not z.is_leaf
    (z * z).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [2.0, 4.0, 6.0])
    v = sn.tensor([1.0, 2.0], requires_grad=True)
    computed = sn.zeros(3) * 1
    computed[1:] = v
    computed.sum().backward()
    np.testing.assert_array_equal(v.grad.numpy(), [1.0, 1.0])


#: in-place forms and arguments: each must equal its out-of-place op written back (those are checked against
#: PyTorch), keep the tensor's dtype, and count as a write
NAME_ = {"tan": (), "floor": (), "round": (), "frac": (), "sgn": (), "rsqrt": (), "erfc": (), "lgamma": (),
         "digamma": (), "i0": (), "sinc": (), "eq": ("other",), "lt": ("other",), "not_equal": ("other",),
         "atan2": ("other",), "hypot": ("other",), "copysign": ("other",), "fmod": ("other",),
         "xlogy": ("other",), "clamp_min": (0.25,), "clamp_max": (0.25,), "addcmul": ("other", "other"),
         "addcdiv": ("other", "other"), "lerp": ("other", 0.5), "cumsum": (0,), "tril": (), "logical_not": (),
         "nan_to_num": (), "float_power": (2.0,), "polygamma": (1,)}


@pytest.mark.parametrize("name", sorted(NAME_))
def test_every_in_place_form_is_its_op_written_back(name):
    values, other = np.array([[0.5, 1.5], [2.0, 3.0]]), sn.tensor([[1.0, -2.0], [0.5, 4.0]], dtype=sn.float64)
    args = [other if a == "other" else a for a in NAME_[name]]
    x = sn.tensor(values, dtype=sn.float64)
    expected = getattr(sn.tensor(values, dtype=sn.float64), name)(*args)
    version = x._version
    assert getattr(x, f"{name}_")(*args) is x and x.dtype == sn.float64 and x._version == version + 1
    np.testing.assert_array_equal(x.numpy(), expected.to(sn.float64).numpy())


def test_in_place_forms_refuse_what_pytorch_cannot_write_back():
    with pytest.raises(sn.DTypeError):
        sn.tensor([1, 2]).sqrt_()  # a float result into an integer tensor
    with pytest.raises(sn.DTypeError, match="float64"):
        sn.tensor([1.0, 2.0]).float_power_(2)  # float32 base: PyTorch's refusal
