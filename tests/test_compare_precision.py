"""Comparisons and argmaxes happen in the precision of the values compared, as in PyTorch: a float32 tensor meets a
Python number as float32 (``x == 0.1`` holds for float32's 0.1), and a pooling window whose values tie in float32
routes its gradient to the first of them, even where the exact sums would differ."""

from __future__ import annotations

import operator

import numpy as np
import pytest

import symnet as sn

OPS = [operator.eq, operator.ne, operator.lt, operator.le, operator.gt, operator.ge]
SCALARS = [0.1, 1 / 3, 1e-8, 16777217.0, -2.5e-39, 3.4028235e38]


BACKENDS = pytest.mark.parametrize("backend", ["native", "reference"])


@BACKENDS
@pytest.mark.parametrize("op", OPS, ids=lambda op: op.__name__)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_float_tensor_meets_a_python_number_in_its_own_precision(op, dtype, backend):
    values = np.array([*SCALARS, *np.nextafter(np.array(SCALARS, dtype), 0), 0.0], dtype=dtype)
    t = sn.tensor(values)
    for scalar in SCALARS:
        expected = op(values, dtype(scalar))  # the scalar rounded to the tensor's dtype, as torch.result_type says
        with sn.backend.use(backend):
            assert op(t, scalar).numpy().tolist() == expected.tolist(), scalar


@BACKENDS
def test_a_0d_float64_tensor_meets_a_float32_tensor_in_float32(backend):
    """Dimensioned tensors outrank 0-d ones of the same category: the comparison is in float32."""
    x = sn.tensor(np.array([0.1, 0.2], dtype=np.float32))
    threshold = sn.tensor(0.1, dtype=sn.float64)
    with sn.backend.use(backend):
        assert (x == threshold).numpy().tolist() == [True, False]
        assert (x > threshold).numpy().tolist() == [False, True]


INTEGERS = [16777217, 16777216, -16777217, 2**53 + 1, 3, 0, -1]


@BACKENDS
@pytest.mark.parametrize("op", OPS, ids=lambda op: op.__name__)
@pytest.mark.parametrize("default", [sn.float32, sn.float64])
def test_an_integer_tensor_meets_a_python_float_in_the_default_float_dtype(op, default, backend):
    """torch.result_type(long tensor, float) is the default dtype: 16777217 > 16777216.5 is False in float32
    (both round to 2²⁴), True in float64. A 0-d float64 tensor outranks it: float64."""
    values = np.array(INTEGERS)
    before = sn.get_default_dtype()
    sn.set_default_dtype(default)
    try:
        with sn.backend.use(backend):
            for scalar in (16777216.5, 16777216.0, 2.0**53, 0.1, -0.0, float("inf"), float("nan")):
                expected = op(values.astype(default), default.type(scalar))
                assert op(sn.tensor(values), scalar).numpy().tolist() == expected.tolist(), scalar
                assert op(sn.tensor(values[:0]), scalar).shape == (0,)
            assert op(sn.tensor([True, False]), 0.5).numpy().tolist() == op(np.array([1.0, 0.0]), 0.5).tolist()
            exact = op(values.astype(np.float64), 16777216.5)
            assert op(sn.tensor(values), sn.tensor(16777216.5, dtype=sn.float64)).numpy().tolist() == exact.tolist()
    finally:
        sn.set_default_dtype(before)


@BACKENDS
@pytest.mark.parametrize("dtype", [sn.float32, sn.float64])
def test_a_pooling_window_that_ties_after_rounding_routes_to_its_first_element(dtype, backend):
    """relu(x + b) in the window is 10⁴ four times over in float32 (the bias swamps x), so PyTorch's max-pool
    gradient goes to the first element; in float64 the last x is the largest."""
    x = np.array([[[[1e-4, 2e-4], [3e-4, 4e-4]]]])
    X = sn.tensor(x, dtype=dtype, requires_grad=True)
    b = sn.tensor([1e4], dtype=dtype, requires_grad=True)
    with sn.backend.use(backend):
        pooled = sn.nn.functional.max_pool2d(sn.relu(X + b.view(1, -1, 1, 1)), 2)
        pooled.sum().backward()
    first = [1.0, 0.0, 0.0, 0.0] if dtype == sn.float32 else [0.0, 0.0, 0.0, 1.0]
    assert X.grad.numpy().ravel().tolist() == first
    assert b.grad.item() == 1.0


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_comparisons_and_pooling_agree_with_pytorch(dtype):
    torch = pytest.importorskip("torch")
    values = np.array([*SCALARS, 0.0], dtype=dtype)
    for op in OPS:
        for scalar in SCALARS:
            assert op(sn.tensor(values), scalar).numpy().tolist() == \
                op(torch.from_numpy(values), scalar).numpy().tolist(), (op.__name__, scalar)
            integers = np.array(INTEGERS)
            assert op(sn.tensor(integers), scalar).numpy().tolist() == \
                op(torch.from_numpy(integers), scalar).numpy().tolist(), (op.__name__, scalar, "int64")
    x = np.array([[[[1e-4, 2e-4], [3e-4, 4e-4]]]], dtype=dtype)
    grads = []
    for lib, make in ((sn, sn.tensor), (torch, torch.tensor)):
        X, b = make(x, requires_grad=True), make(np.array([1e4], dtype=dtype), requires_grad=True)
        lib.nn.functional.max_pool2d(lib.relu(X + b.view(1, -1, 1, 1)), 2).sum().backward()
        grads.append(np.asarray(X.grad.numpy()).ravel().tolist())
    assert grads[0] == grads[1]
