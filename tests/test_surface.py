"""The surface group (``symnet/frontend/surface.py``) beyond the OpInfo table: metadata and predicates as
PyTorch 2.13 reports them for a contiguous tensor, symnet's refusals (dtypes it has no storage for, negative
matrix powers), the ``new_*`` constructors' keywords, and the in-place and function forms. PyTorch's numbers
here are small enough to write down."""

from __future__ import annotations

import numpy as np
import pytest

import symnet as sn


def test_predicates_and_sizes():
    x = sn.zeros(2, 3)
    assert x.is_floating_point() and sn.is_floating_point(x) and not sn.tensor([1]).is_floating_point()
    assert not x.is_complex() and x.is_signed() and sn.tensor([1]).is_signed() and not sn.tensor(True).is_signed()
    assert x.is_contiguous() and not x.t().is_contiguous() and x.is_cpu and not x.is_inference()
    assert x.get_device() == sn.get_device(x) == -1
    assert x.is_same_size(sn.ones(2, 3)) and not sn.is_same_size(x, x.t())
    assert (x.nelement(), x.ndimension(), x.element_size(), x.itemsize, x.nbytes) == (6, 2, 4, 4, 24)
    assert (sn.tensor([True]).itemsize, sn.zeros(3, dtype=sn.float64).nbytes) == (1, 24)
    with pytest.raises(TypeError):
        x.is_same_size(3)
    with pytest.raises(sn.NotSupportedError, match="memory_format"):
        x.is_contiguous(memory_format="channels_last")


def test_strides_and_offsets_are_pytorchs():
    """A tensor of its own is contiguous; a view's layout is its base's read through the view (values checked
    against PyTorch 2.13)."""
    assert sn.zeros(2, 3, 4).stride() == (12, 4, 1)
    assert sn.zeros(2, 0, 3).stride() == (3, 3, 1)  # an empty dim counts as 1, as in PyTorch
    assert sn.zeros(2, 3).stride(-2) == 3 and sn.zeros(2, 3).stride(dim=1) == 1
    assert sn.tensor(1.0).stride() == ()
    x = sn.arange(6.0).reshape(2, 3)
    views = {"t": x.t(), "columns": x[:, 1:], "row": x[1], "new middle": x[:, None], "new first": x[None],
             "new last": x[..., None], "stepped": x[::2, ::2], "unsqueeze": x.unsqueeze(1),
             "reshaped transpose": x.t().reshape(3, 2, 1), "diagonal": x.diagonal(),
             "permuted and unsqueezed": x.permute(1, 0).unsqueeze(0), "narrow": x.narrow(1, 1, 2)}
    pytorch = {"t": ((1, 3), 0), "columns": ((3, 1), 1), "row": ((1,), 3), "new middle": ((3, 3, 1), 0),
               "new first": ((6, 3, 1), 0), "new last": ((3, 1, 1), 0), "stepped": ((6, 2), 0),
               "unsqueeze": ((3, 3, 1), 0), "reshaped transpose": ((1, 3, 3), 0), "diagonal": ((4,), 0),
               "permuted and unsqueezed": ((3, 1, 3), 0), "narrow": ((3, 1), 1)}
    assert {name: (v.stride(), v.storage_offset()) for name, v in views.items()} == pytorch
    assert [name for name, v in views.items() if not v.is_contiguous()] == [
        "t", "columns", "stepped", "reshaped transpose", "diagonal", "permuted and unsqueezed", "narrow"]


def test_reshape_of_a_layout_that_cannot_be_viewed_is_a_copy_and_view_refuses_it():
    """PyTorch's reshape, flatten and contiguous copy a tensor whose layout no view can give the new shape: writes
    into the copy do not reach the base (they did: every symnet reshape was a view)."""
    x = sn.arange(6.0).reshape(2, 3)
    x.t().reshape(-1)[0] = 100
    x.t().flatten()[1] = 50
    x[:, 1:].reshape(-1)[0] = -1
    x.t().contiguous()[0, 0] = -7
    x[:, 1:].ravel()[1] = -3
    assert x.tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    x[1].reshape(3)[2] = 99  # a row is contiguous: a view
    x.t().reshape(3, 2, 1)[0, 1, 0] = 33  # unit dims added to a transpose: a view
    x.t().contiguous().t()[0, 0] = 0  # no view of x any more
    assert x.tolist() == [[0.0, 1.0, 2.0], [33.0, 4.0, 99.0]]
    with pytest.raises(RuntimeError, match="view size is not compatible with input tensor's size and stride"):
        x.t().view(-1)
    assert x.transpose(0, 1).view(3, 2).shape == (3, 2)  # the same shape views any layout
    assert sn.zeros(4, 1, 3).transpose(0, 1).view(12).shape == (12,)  # moving a unit dim keeps it contiguous
    y = sn.arange(6.0, requires_grad=True)
    z = y.reshape(2, 3).t().reshape(-1)
    (z * sn.arange(6.0)).sum().backward()
    assert y.grad.tolist() == [0.0, 2.0, 4.0, 1.0, 3.0, 5.0]
    assert str(z.grad_fn.name()) == "UnsafeViewBackward0"
    with pytest.raises(IndexError):
        sn.tensor(1.0).stride(0)
    with pytest.raises(IndexError):
        sn.zeros(2, 3).stride(2)


def test_is_nonzero():
    assert sn.tensor([[float("nan")]]).is_nonzero() and not sn.is_nonzero(sn.tensor(False))
    assert sn.tensor(-0.5).is_nonzero() and not sn.tensor([0]).is_nonzero()
    with pytest.raises(sn.ShapeError, match="more than one value"):
        sn.tensor([1, 2]).is_nonzero()
    with pytest.raises(sn.ShapeError, match="no values"):
        sn.tensor([]).is_nonzero()


def test_matrix_transposes():
    x = sn.arange(24.0).reshape(2, 3, 4)
    np.testing.assert_array_equal(x.mT.numpy(), np.swapaxes(x.numpy(), -2, -1))
    np.testing.assert_array_equal(x.mH.numpy(), x.mT.numpy())
    np.testing.assert_array_equal(x[0].H.numpy(), x[0].numpy().T)
    assert sn.tensor(2.0).H.item() == sn.tensor(2.0).mT.item() == 2.0  # PyTorch still accepts 0-d (deprecated)
    for bad in (lambda: x.H, lambda: x[0, 0].H, lambda: x[0, 0].mT):
        with pytest.raises(sn.ShapeError, match="only supported on matrices"):
            bad()


def test_new_constructors_take_the_dtype_and_keywords():
    x = sn.zeros(1, dtype=sn.float64)
    z = x.new_zeros(2, 3)
    assert (z.shape, z.dtype, z.requires_grad, z.is_leaf) == ((2, 3), sn.float64, False, True)
    assert x.new_ones((2,), requires_grad=True).requires_grad
    assert x.new_full((2,), 3, dtype=sn.int64, device="cpu").tolist() == [3, 3]
    assert x.new_empty(0, 2).shape == (0, 2)
    i = sn.tensor([1])
    assert i.new_tensor([1.5, -2.5]).tolist() == [1, -2] and i.new_tensor([1.5]).dtype == sn.int64
    source = sn.tensor([1.0, 2.0], requires_grad=True)
    copy = x.new_tensor(source)
    assert copy.tolist() == [1.0, 2.0] and not copy.requires_grad and copy.dtype == sn.float64
    with pytest.raises(sn.DTypeError, match="floating point"):
        i.new_ones(2, requires_grad=True)
    with pytest.raises(TypeError, match="tuple of ints"):
        x.new_full(2, 1.0)
    with pytest.raises(TypeError, match="tuple of ints"):
        x.new_zeros(2, 3.0)
    with pytest.raises(sn.ShapeError, match="negative dimension"):
        x.new_zeros(-1)


def test_type_as_positive_absolute():
    x = sn.tensor([1.7, -2.7])
    assert x.type_as(sn.tensor([1])).tolist() == [1, -2] and x.type_as(x) is x
    assert x.positive() is x and sn.positive(sn.tensor([-3])).tolist() == [-3]
    assert sn.absolute(x).tolist() == pytest.approx([1.7, 2.7])
    y = sn.tensor([-1, 2])
    assert y.absolute_() is y and y.tolist() == [1, 2]
    with pytest.raises(sn.DTypeError):
        sn.tensor([True]).positive()
    with pytest.raises(sn.DTypeError):
        sn.tensor([True]).absolute()


@pytest.mark.parametrize(("method", "dtype"), [("int", "int32"), ("short", "int16"), ("byte", "uint8"),
                                               ("char", "int8"), ("half", "float16"), ("bfloat16", "bfloat16")])
def test_casts_to_dtypes_symnet_lacks_are_refused(method, dtype):
    with pytest.raises(sn.NotSupportedError, match=f"{dtype}.*not support"):
        getattr(sn.tensor([1.5]), method)()


def test_sum_to_size_is_expands_adjoint():
    x = sn.tensor(np.arange(24.0).reshape(2, 3, 4), requires_grad=True)
    y = x.sum_to_size(3, 1)
    np.testing.assert_array_equal(y.numpy(), x.numpy().sum((0, 2))[:, None])
    assert x.sum_to_size(2, 3, 4) is x
    assert sn.tensor([True, True]).sum_to_size(1).tolist() == [2]  # bool sums to int64, as PyTorch
    with pytest.raises(sn.ShapeError, match="not expandable"):
        x.sum_to_size(4, 4)


def test_unfold_windows_and_gradient():
    x = sn.arange(7.0, requires_grad=True)
    w = x.unfold(0, 3, 2)
    assert w.tolist() == [[0, 1, 2], [2, 3, 4], [4, 5, 6]]
    w.sum().backward()
    assert x.grad.tolist() == [1, 1, 2, 1, 2, 1, 1]  # overlapping elements count twice
    assert sn.tensor(5.0).unfold(0, 0, 1).shape == (0,) and sn.zeros(0).unfold(0, 0, 1).shape == (1, 0)
    with pytest.raises(sn.ShapeError, match="step"):
        x.unfold(0, 2, -1)


def test_masked_scatter_in_place_and_refusals():
    x = sn.zeros(2, 3)
    mask = sn.tensor([True, False, True])
    out = x.masked_scatter_(mask, sn.arange(10.0))
    assert out is x and x.tolist() == [[0, 0, 1], [2, 0, 3]]
    empty = sn.zeros(3).masked_scatter(sn.tensor([False] * 3), sn.zeros(0))
    assert empty.tolist() == [0, 0, 0]
    with pytest.raises(sn.ShapeError, match="Number of elements of source"):
        sn.zeros(3).masked_scatter(sn.tensor([True] * 3), sn.zeros(2))
    computed = sn.tensor([1.0, -1.0, 2.0]) > 0
    with pytest.raises(sn.IndexRangeError):  # a computed mask's count is checked by the gather at run time
        sn.zeros(3).masked_scatter(computed, sn.zeros(1)).numpy()
    with pytest.raises(sn.ShapeError):  # in place keeps the shape: no broadcasting of self
        sn.zeros(3).masked_scatter_(sn.tensor([[True], [False]]), sn.zeros(6))


def test_diagonal_scatter_reaches_both_gradients():
    a = sn.zeros(2, 3, requires_grad=True)
    src = sn.tensor([1.0, 2.0], requires_grad=True)
    out = a.diagonal_scatter(src, 1)
    assert out.tolist() == [[0, 1, 0], [0, 0, 2]]
    (out * sn.arange(6.0).reshape(2, 3)).sum().backward()
    assert src.grad.tolist() == [1, 5] and a.grad.tolist() == [[0, 0, 2], [3, 4, 0]]


def test_matrix_power():
    a = sn.tensor([[1, 1], [1, 0]])
    assert sn.matrix_power(a, 10).tolist() == [[89, 55], [55, 34]]  # Fibonacci numbers, exact in int64
    m = sn.tensor([[2.0, 1.0], [0.0, 3.0]], requires_grad=True)
    eye = m.matrix_power(0)
    assert eye.tolist() == [[1, 0], [0, 1]] and eye.requires_grad
    eye.sum().backward()
    assert m.grad.tolist() == [[0, 0], [0, 0]]
    with pytest.raises(sn.NotSupportedError, match="inverse"):
        m.matrix_power(-1)
    with pytest.raises(TypeError):
        m.matrix_power(1.5)


def test_bit_shifts_forms():
    x = sn.tensor([1, -3])
    assert (x << 2).tolist() == [4, -12] and (x >> 1).tolist() == [0, -2]
    assert (2 << sn.tensor([1, 3])).tolist() == [4, 16] and (-16 >> sn.tensor([2])).tolist() == [-4]
    assert sn.bitwise_right_shift(x, sn.tensor(1)).tolist() == [0, -2]
    assert sn.tensor(3).bitwise_left_shift(sn.tensor([1, 2])).tolist() == [6, 12]  # a 0-d tensor broadcasts
    y = sn.tensor([1, 2])
    y <<= 3
    assert y.tolist() == [8, 16]
    y.bitwise_right_shift_(2)
    assert y.tolist() == [2, 4]
    assert sn.tensor([True]).bitwise_left_shift(1).dtype == sn.int64
    with pytest.raises(sn.DTypeError):
        sn.tensor([True]).bitwise_left_shift_(1)  # an int64 result into a bool tensor
    with pytest.raises(sn.DTypeError):
        sn.tensor([1.0]) << 1
    with pytest.raises(TypeError):
        sn.bitwise_left_shift(1, 2)


def test_split_with_sizes_function_form():
    parts = sn.split_with_sizes(sn.arange(5.0), [2, 3])
    assert [p.tolist() for p in parts] == [[0, 1], [2, 3, 4]]
    with pytest.raises(sn.ShapeError):
        sn.arange(5.0).split_with_sizes([2, 2])


def test_view_and_reshape_take_numpy_integers_and_view_refuses_a_dtype_by_name():
    x = sn.zeros(6)
    assert x.view(np.int64(6)).shape == (6,) and x.reshape(np.int64(2), 3).shape == (2, 3)
    assert x.view(sn.Size([3, 2])).shape == (3, 2)
    with pytest.raises(sn.NotSupportedError, match="reinterpreting a tensor's bits"):
        x.view(sn.float64)
    with pytest.raises(sn.ShapeError, match="invalid shape"):
        x.reshape(2.0, 3)
