"""Shaping and creation ops beyond the OpInfo table (tests/opinfo/cases_shaping.py): derived gradients that are
gathers, the legacy constructors of old tutorials, creation functions' shapes, dtypes and refusals."""

from __future__ import annotations

import numpy as np
import pytest

import symnet as sn
from symnet.frontend.shaping import one_hot


def adjoint_lines(y: sn.Tensor) -> list[str]:
    return [line for line in str(sn.formulas((y * y).sum())).splitlines() if line.startswith("δx")]


@pytest.mark.parametrize(("name", "fn"), [
    ("flip", lambda x: x.flip(1)),
    ("roll", lambda x: x.roll(1, 1)),
    ("repeat", lambda x: x.repeat(2, 2)),
    ("repeat_interleave", lambda x: x.repeat_interleave(2, 1)),
    ("expand", lambda x: x.unsqueeze(0).expand(3, 2, 3)),
    ("tril", lambda x: x.tril()),
    ("diagonal", lambda x: x.diagonal()),
    ("diag_embed", lambda x: x.diag_embed()),
])
def test_gradients_are_gathers(name, fn):
    """Each element of the adjoint is read, never scattered into (``+=``)."""
    x = sn.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True, name="x")
    (line,) = adjoint_lines(fn(x))
    assert "+=" not in line, f"{name}: {line}"


def test_flip_and_repeat_print_their_index_maps():
    x = sn.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True, name="x")
    assert "x[i, 2 - j]" in str(sn.formulas((x.flip(1) * x.flip(1)).sum()))
    assert adjoint_lines(x.repeat(2, 2)) == ["δx[i, j] = Σ_k,l 2·repeat1[i + 2·k, j + 3·l]"]


def test_function_forms_and_aliases():
    x = sn.tensor(np.arange(24.0).reshape(2, 3, 4))
    np.testing.assert_array_equal(sn.moveaxis(x, 0, -1).numpy(), np.moveaxis(x.numpy(), 0, -1))
    np.testing.assert_array_equal(sn.swapdims(x, 0, 2).numpy(), np.swapaxes(x.numpy(), 0, 2))
    np.testing.assert_array_equal(x.view_as(sn.zeros(4, 6)).numpy(), x.numpy().reshape(4, 6))
    assert x.contiguous() is x
    assert x.clone() is not x and x.clone().shape == x.shape
    assert [t.shape for t in sn.split(x, 1, 1)] == [(2, 1, 4)] * 3
    assert [t.shape for t in sn.atleast_3d(sn.tensor(1.0), sn.ones(2))] == [(1, 1, 1), (1, 2, 1)]


def test_one_hot_reads_values_only_where_needed():
    labels = sn.tensor([0, 2, 1])
    np.testing.assert_array_equal(one_hot(labels).numpy(), np.eye(3, dtype=np.int64)[[0, 2, 1]])
    assert one_hot(labels, num_classes=5).dtype == sn.int64
    with pytest.raises(ValueError, match="non-negative"):
        one_hot(sn.tensor([0, -1]))
    with pytest.raises(ValueError, match="empty"):
        one_hot(sn.tensor(np.zeros(0, dtype=np.int64)))


def test_legacy_constructors():
    t = sn.FloatTensor([[1, 2], [3, 4]])
    assert t.dtype == sn.float32 and t.shape == (2, 2)
    assert sn.FloatTensor(2, 3).shape == (2, 3) and sn.FloatTensor().shape == (0,)
    assert sn.FloatTensor((2, 3)).tolist() == [2.0, 3.0]  # a tuple is data, as in PyTorch
    np.testing.assert_array_equal(sn.LongTensor([1.7, -2.5]).numpy(), [1, -2])  # truncated toward zero
    assert sn.DoubleTensor([1]).dtype == sn.float64 and sn.BoolTensor([1, 0]).dtype == sn.bool
    with pytest.raises(TypeError):
        sn.FloatTensor(2, [3])


def test_creation_functions():
    x = sn.arange(-8.0, 8.0, 0.1, requires_grad=True)
    assert x.shape == (160,) and x.requires_grad and x.dtype == sn.float32
    assert sn.arange(5).dtype == sn.int64
    with pytest.raises(ValueError):
        sn.arange(0, 1, 0)
    np.testing.assert_array_equal(sn.eye(2, 3).numpy(), np.eye(2, 3))
    assert sn.empty(2, 3).shape == (2, 3) and sn.empty_like(sn.ones(2, dtype=sn.float64)).dtype == sn.float64
    assert sn.full_like(sn.tensor([1, 2]), 7).tolist() == [7, 7]
    r = sn.randint(3, 5, (100,))
    assert r.dtype == sn.int64 and set(r.tolist()) <= {3, 4}
    assert set(sn.randint(2, (50,)).tolist()) <= {0, 1}
    assert sorted(sn.randperm(5).tolist()) == [0, 1, 2, 3, 4]
    assert sn.randn_like(sn.zeros(2, 3, dtype=sn.float64)).dtype == sn.float64
    with pytest.raises(sn.DTypeError):
        sn.rand_like(sn.tensor([1, 2]))
    assert sn.normal(sn.zeros(3), sn.ones(2, 1)).shape == (2, 3)
    assert sn.normal(2.0, 0.0, (2,)).tolist() == [2.0, 2.0]
    with pytest.raises(ValueError):
        sn.normal(0.0, 1.0)


def test_repeat_interleave_reads_tensor_counts_at_trace_time():
    x = sn.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    y = x.repeat_interleave(sn.tensor([2, 1]), dim=0)
    assert y.shape == (3, 2)
    (y * sn.tensor([[1.0, 1.0], [2.0, 2.0], [5.0, 5.0]])).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[3.0, 3.0], [5.0, 5.0]])
    with pytest.raises(sn.ShapeError):
        x.repeat_interleave(2, output_size=5)
