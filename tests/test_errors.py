"""Bad input: a clear error naming the op and the shapes, never a traceback from deep inside SymPy."""

import numpy as np
import pytest

import symnet as sn
import symnet.nn.functional as F

CASES = [
    ("matmul_mismatch", lambda: sn.ones(3, 1) @ sn.ones(2, 1), sn.ShapeError, r"matmul: shapes \(3, 1\) and \(2, 1\)"),
    ("broadcast_mismatch", lambda: sn.ones(3) + sn.ones(4), sn.ShapeError, r"add: shapes \(3,\) and \(4,\)"),
    ("reshape_invalid", lambda: sn.ones(2, 3).reshape(4, 2), sn.ShapeError, r"reshape: shape \(4, 2\)"),
    ("dim_out_of_range", lambda: sn.ones(2, 3).sum(2), sn.ShapeError, "dim 2 is out of range"),
    ("mse_shapes", lambda: F.mse_loss(sn.ones(3), sn.ones(4)), sn.ShapeError, r"mse_loss: input shape \(3,\)"),
    ("float_labels", lambda: F.cross_entropy(sn.ones(2, 3), sn.tensor([0.0, 1.0])), sn.DTypeError,
     "cross_entropy: target must hold integer class indices"),
    ("labels_shape", lambda: F.cross_entropy(sn.ones(2, 3), sn.tensor([0, 1, 1])), sn.ShapeError,
     r"cross_entropy: input of shape \(2, 3\) needs a target of shape \(2,\)"),
    ("label_out_of_range", lambda: F.cross_entropy(sn.ones(2, 3), sn.tensor([0, 3])), sn.IndexRangeError,
     "target 3 is out of bounds for 3 classes"),
    ("negative_label", lambda: F.cross_entropy(sn.ones(2, 3), sn.tensor([-1, 0])), sn.IndexRangeError,
     "target -1 is out of bounds"),
    ("int_requires_grad", lambda: sn.tensor([1, 2], requires_grad=True), sn.DTypeError,
     "only float tensors can require gradients"),
    ("gather_float_index", lambda: sn.ones(2, 3).gather(1, sn.tensor([[0.0]])), sn.DTypeError, "gather: index"),
    ("backward_non_scalar", lambda: (sn.ones(3, requires_grad=True) * 2).backward(), sn.GradError,
     r"one-element outputs; this one has shape \(3,\)"),
    ("backward_without_grad", lambda: (sn.ones(3) * 2).sum().backward(), sn.GradError, "does not require grad"),
    ("inplace_on_leaf_requiring_grad", lambda: sn.ones(2, requires_grad=True).__isub__(1.0), sn.GradError,
     "no_grad"),
    ("grad_of_non_leaf", lambda: sn.grad((sn.ones(1, requires_grad=True) * 2).sum(), sn.ones(1)), sn.GradError,
     "not a leaf of this graph"),
    ("bad_reduction", lambda: F.l1_loss(sn.ones(2), sn.ones(2), reduction="avg"), ValueError, "reduction must be"),
    ("item_of_many", lambda: sn.ones(2).item(), ValueError, "only one-element tensors"),
]


@pytest.mark.parametrize("name", [c[0] for c in CASES])
def test_clear_error(name):
    _, make, error, message = next(c for c in CASES if c[0] == name)
    with pytest.raises(error, match=message):
        make()


def test_gathered_index_out_of_range_is_checked_before_evaluation():
    """A label computed inside the graph (not visible at trace time) is checked when the graph runs."""
    logits = sn.ones(2, 3, requires_grad=True)
    labels = sn.tensor([1, 2]) + 2
    picked = logits.gather(1, labels.unsqueeze(1))
    with pytest.raises(sn.IndexRangeError, match="takes the value 3, outside"):
        picked.sum().backward()


def test_errors_are_symnet_errors_and_builtin_kinds():
    assert issubclass(sn.ShapeError, ValueError) and issubclass(sn.ShapeError, sn.SymnetError)
    assert issubclass(sn.DTypeError, TypeError) and issubclass(sn.IndexRangeError, IndexError)


def test_backward_with_gradient_argument():
    x = sn.tensor([1.0, 2.0, 3.0], requires_grad=True)
    (x * x).backward(gradient=np.array([1.0, 0.5, 0.0]))
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 2.0, 0.0])
    with pytest.raises(sn.ShapeError, match="gradient has shape"):
        (x * x).backward(gradient=np.ones(2))
