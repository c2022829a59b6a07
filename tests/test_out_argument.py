"""PyTorch's ``out=``: results written into the caller's tensor with PyTorch's casting, resizing and autograd
rules (PyTorch's tensor tutorial writes ``torch.matmul(tensor, tensor.T, out=y3)``)."""

import warnings

import numpy as np
import pytest

import symnet as sn


def test_out_receives_the_result_and_is_returned():
    a = sn.tensor([[1.0, 2.0], [3.0, 4.0]])
    out = sn.zeros(2, 2)
    assert sn.matmul(a, a.T, out=out) is out
    np.testing.assert_array_equal(out.numpy(), [[5.0, 11.0], [11.0, 25.0]])
    version = out._version
    assert sn.mul(a, a, out=out) is out and out._version > version
    np.testing.assert_array_equal(out.numpy(), [[1.0, 4.0], [9.0, 16.0]])
    assert sn.cat([a, a], dim=0, out=sn.empty(0)).shape == (4, 2)  # a module-level function too


def test_out_casts_within_kind_or_up_and_refuses_down_as_pytorch():
    ints = sn.tensor([1, 2, 3])
    out = sn.zeros(3, dtype=sn.float64)
    sn.add(ints, ints, out=out)
    assert out.dtype == sn.float64 and out.tolist() == [2.0, 4.0, 6.0]
    narrow = sn.zeros(3)
    sn.exp(sn.tensor([0.0, 1.0, 2.0], dtype=sn.float64), out=narrow)
    assert narrow.dtype == sn.float32 and np.allclose(narrow.numpy(), np.exp([0.0, 1.0, 2.0]))
    with pytest.raises(sn.DTypeError, match="can't be cast to the desired output type int64"):
        sn.exp(sn.tensor([1.0]), out=sn.zeros(1, dtype=sn.int64))
    with pytest.raises(TypeError, match="argument 'out' must be Tensor"):
        sn.exp(sn.tensor([1.0]), out=np.zeros(1))


def test_out_of_another_shape_is_resized_with_pytorchs_warning_unless_empty():
    x = sn.tensor([1.0, 2.0, 3.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        empty = sn.empty(0)
        sn.neg(x, out=empty)  # an empty out is resized silently
    assert empty.tolist() == [-1.0, -2.0, -3.0]
    wrong = sn.zeros(2, 2)
    with pytest.warns(UserWarning, match=r"had shape \[2, 2\], which does not match the required output shape \[3\]"):
        sn.neg(x, out=wrong)
    assert wrong.shape == (3,) and wrong.tolist() == [-1.0, -2.0, -3.0]
    with pytest.raises(sn.NotSupportedError, match="view"):
        sn.neg(x, out=sn.zeros(4, 4)[0])


def test_out_takes_no_autograd_but_works_under_no_grad():
    w = sn.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(sn.GradError, match="don't support automatic differentiation"):
        sn.mul(w, 2, out=sn.zeros(2))
    out = sn.zeros(2)
    with sn.no_grad():
        sn.mul(w, 2, out=out)
    assert out.tolist() == [2.0, 4.0] and not out.requires_grad


def test_out_of_a_function_with_two_results_takes_a_tuple():
    x = sn.tensor([[3.0, 1.0], [0.0, 5.0]])
    values, indices = sn.zeros(2), sn.zeros(2, dtype=sn.int64)
    found = sn.max(x, 1, out=(values, indices))
    assert found.values is values and found.indices is indices
    assert values.tolist() == [3.0, 5.0] and indices.tolist() == [0, 1]
    with pytest.raises(TypeError, match="tuple of 2 Tensors"):
        sn.max(x, 1, out=values)
