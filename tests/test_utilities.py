"""torch's utility functions where the OpInfo table cannot reach: PyTorch's refusals, dtypes and limits,
memory sharing, print options, grad and anomaly modes, eager-only ops inside a compiled step, method and in-place
forms, 0-d and empty operands. Expected values are PyTorch 2.13's, written out."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import symnet as sn


def test_type_helpers():
    x = sn.ones(2, 3)
    assert sn.is_tensor(x) and not sn.is_tensor(np.ones(2)) and not sn.is_storage(x)
    assert sn.numel(x) == 6 and sn.numel(sn.tensor(1.0)) == 1 and sn.numel(sn.ones(0, 4)) == 0
    with pytest.raises(TypeError):
        sn.numel([1, 2])
    assert sn.broadcast_shapes((2, 1), (3,)) == (2, 3) and sn.broadcast_shapes() == ()
    assert sn.broadcast_shapes(2, (3, 1)) == (3, 2)
    with pytest.raises(sn.ShapeError):
        sn.broadcast_shapes((2,), (3,))
    assert sn.promote_types(sn.int64, sn.float32) == sn.float32 and sn.promote_types(sn.bool, sn.int64) == sn.int64
    assert sn.result_type(sn.tensor([1]), 1.0) == sn.float32 and sn.result_type(True, 2) == sn.int64
    assert sn.result_type(sn.tensor([1.0], dtype=sn.float32), sn.tensor(2.0, dtype=sn.float64)) == sn.float32
    assert [sn.can_cast(a, b) for a, b in ((sn.float32, sn.int64), (sn.int64, sn.float32), (sn.bool, sn.int64),
                                           (sn.float64, sn.float32), (sn.int64, sn.bool))] == [False, True, True,
                                                                                                True, False]


def test_finfo_and_iinfo():
    f = sn.finfo(sn.float32)
    assert (f.bits, f.eps, f.max, f.tiny, f.smallest_normal, f.resolution, f.dtype) == (
        32, 2.0 ** -23, float(np.finfo(np.float32).max), 2.0 ** -126, 2.0 ** -126, 1e-6, "float32")
    assert sn.finfo().dtype == "float32" and sn.finfo(sn.float64).eps == 2.0 ** -52 and sn.finfo(sn.float64).min < 0
    i = sn.iinfo(sn.int64)
    assert (i.bits, i.max, i.min, i.dtype) == (64, 2 ** 63 - 1, -2 ** 63, "int64")
    for bad in (lambda: sn.finfo(sn.int64), lambda: sn.iinfo(sn.float32), lambda: sn.iinfo(sn.bool),
                lambda: sn.iinfo(np.int32)):
        with pytest.raises(sn.DTypeError):
            bad()


def test_as_tensor_and_asarray_share_memory_as_torch():
    a = np.ones(3)
    t = sn.as_tensor(a)
    a[0] = 5
    assert t.dtype == sn.float64 and t.tolist() == [5.0, 1.0, 1.0]
    copied = sn.as_tensor(a, dtype=sn.float32)
    a[1] = 7
    assert copied.tolist() == [5.0, 1.0, 1.0]
    x = sn.tensor([1.0, 2.0])
    assert sn.as_tensor(x) is x and sn.asarray(x) is x and sn.asarray(x, copy=True) is not x
    assert sn.as_tensor([1, 2]).dtype == sn.int64 and sn.asarray([1.0]).dtype == sn.float32
    with pytest.raises(ValueError, match="alias"):
        sn.asarray(np.ones(3, np.float32), dtype=sn.float64, copy=False)
    with pytest.raises(ValueError, match="alias"):
        sn.asarray([1.0], copy=False)
    assert sn.asarray([1.0, 2.0], requires_grad=True).requires_grad
    assert sn.asarray(x, dtype=sn.float64).dtype == sn.float64 and sn.asarray(x, copy=True).dtype == sn.float32
    assert sn.as_tensor(np.ones(2, np.float32), dtype=sn.float64).dtype == sn.float64
    s = sn.scalar_tensor(3)
    assert s.shape == () and s.dtype == sn.float32 and s.item() == 3.0
    assert sn.scalar_tensor(True, dtype=sn.int64).dtype == sn.int64


def test_print_options():
    try:
        sn.set_printoptions(precision=2)
        assert repr(sn.tensor([1.23456, 2.0])) == "tensor([1.23, 2.00])"
        sn.set_printoptions(sci_mode=True)
        assert repr(sn.tensor([1.5, 2.0])) == "tensor([1.50e+00, 2.00e+00])"
        sn.set_printoptions(profile="default", sci_mode=False)
        assert repr(sn.tensor([1e-5, 1.0])) == "tensor([0.0000, 1.0000])"
        sn.set_printoptions(profile="short")
        assert repr(sn.arange(2000.0)).startswith("tensor([0.00e+00, 1.00e+00,  ...,")
        sn.set_printoptions(threshold=5, edgeitems=1, profile="default")
        assert "..." in repr(sn.arange(10))
        sn.set_printoptions(profile="full")
        assert "..." not in repr(sn.arange(2000))
        with pytest.raises(ValueError, match="profile"):
            sn.set_printoptions(profile="long")
    finally:
        sn.set_printoptions(profile="default")
    assert repr(sn.tensor([1.23456])) == "tensor([1.2346])"


#: PyTorch 2.13's repr of each (as printed by it): the mode and width follow the nonzero finite elements shown
PRINTED = [
    (np.array([np.nan, np.inf, -np.inf, 1.5], np.float32), "tensor([   nan,    inf,   -inf, 1.5000])"),
    (np.array([-np.inf, 1.0], np.float32), "tensor([-inf, 1.])"),
    (np.array([-0.0, 0.0], np.float32), "tensor([-0., 0.])"),
    (np.array([1e9, 1.0], np.float32), "tensor([1.0000e+09, 1.0000e+00])"),
    (np.array([True, True]), "tensor([True, True])"),
    (np.array([True, False]), "tensor([ True, False])"),
    (np.zeros((0, 3), np.float32), "tensor([], size=(0, 3))"),
    (np.zeros((2, 0), np.int64), "tensor([], size=(2, 0), dtype=symnet.int64)"),
    (np.zeros(0, bool), "tensor([], dtype=symnet.bool)"),
    (np.arange(2000), "tensor([   0,    1,    2,  ..., 1997, 1998, 1999])"),
    (np.ones(2000, bool), "tensor([True, True, True,  ..., True, True, True])"),
    (np.r_[np.full(3, 1.5), np.full(1995, 1e-6), np.full(3, 2.5)].astype(np.float32),  # the hidden ones count not
     "tensor([1.5000, 1.5000, 1.5000,  ..., 2.5000, 2.5000, 2.5000])"),
    (np.ones((40, 40), np.float32), "tensor([[1., 1., 1.,  ..., 1., 1., 1.],\n        [1., 1., 1.,  ..., 1., 1., 1.],\n"
     "        [1., 1., 1.,  ..., 1., 1., 1.],\n        ...,\n        [1., 1., 1.,  ..., 1., 1., 1.],\n"
     "        [1., 1., 1.,  ..., 1., 1., 1.],\n        [1., 1., 1.,  ..., 1., 1., 1.]])"),
    # rows wrapped as PyTorch wraps them: as many elements of width + 2 as fit in 80 − the indent
    (np.arange(30, dtype=np.float32).reshape(3, 10) / 7,
     "tensor([[0.0000, 0.1429, 0.2857, 0.4286, 0.5714, 0.7143, 0.8571, 1.0000, 1.1429,\n         1.2857],\n"
     "        [1.4286, 1.5714, 1.7143, 1.8571, 2.0000, 2.1429, 2.2857, 2.4286, 2.5714,\n         2.7143],\n"
     "        [2.8571, 3.0000, 3.1429, 3.2857, 3.4286, 3.5714, 3.7143, 3.8571, 4.0000,\n         4.1429]])"),
    (np.linspace(-1, 1, 25).astype(np.float32),
     "tensor([-1.0000, -0.9167, -0.8333, -0.7500, -0.6667, -0.5833, -0.5000, -0.4167,\n"
     "        -0.3333, -0.2500, -0.1667, -0.0833,  0.0000,  0.0833,  0.1667,  0.2500,\n"
     "         0.3333,  0.4167,  0.5000,  0.5833,  0.6667,  0.7500,  0.8333,  0.9167,\n         1.0000])"),
    (np.arange(-20, 20).reshape(2, 20) * 1001,
     "tensor([[-20020, -19019, -18018, -17017, -16016, -15015, -14014, -13013, -12012,\n"
     "         -11011, -10010,  -9009,  -8008,  -7007,  -6006,  -5005,  -4004,  -3003,\n          -2002,  -1001],\n"
     "        [     0,   1001,   2002,   3003,   4004,   5005,   6006,   7007,   8008,\n"
     "           9009,  10010,  11011,  12012,  13013,  14014,  15015,  16016,  17017,\n          18018,  19019]])"),
    (np.arange(24) % 3 == 0,
     "tensor([ True, False, False,  True, False, False,  True, False, False,  True,\n"
     "        False, False,  True, False, False,  True, False, False,  True, False,\n"
     "        False,  True, False, False])"),
]


@pytest.mark.parametrize(("values", "printed"), PRINTED)
def test_repr_is_pytorchs(values, printed):
    assert repr(sn.tensor(values)) == printed


#: PyTorch 2.13's repr under other print options: rows of as many elements as fit the line width after the
#: indent (a summary's ellipsis one of them), suffixes on lines of their own past it, no edge items: the size said
PRINTED_WITH_OPTIONS = [
    ({"linewidth": 50}, np.arange(2000, dtype=np.float32).reshape(40, 50),
     "tensor([[0.0000e+00, 1.0000e+00, 2.0000e+00,\n          ..., 4.7000e+01, 4.8000e+01,\n         4.9000e+01],\n"
     "        [5.0000e+01, 5.1000e+01, 5.2000e+01,\n          ..., 9.7000e+01, 9.8000e+01,\n         9.9000e+01],\n"
     "        [1.0000e+02, 1.0100e+02, 1.0200e+02,\n          ..., 1.4700e+02, 1.4800e+02,\n         1.4900e+02],\n"
     "        ...,\n"
     "        [1.8500e+03, 1.8510e+03, 1.8520e+03,\n          ..., 1.8970e+03, 1.8980e+03,\n         1.8990e+03],\n"
     "        [1.9000e+03, 1.9010e+03, 1.9020e+03,\n          ..., 1.9470e+03, 1.9480e+03,\n         1.9490e+03],\n"
     "        [1.9500e+03, 1.9510e+03, 1.9520e+03,\n          ..., 1.9970e+03, 1.9980e+03,\n         1.9990e+03]])"),
    ({"linewidth": 50, "precision": 2, "threshold": 10}, np.arange(24, dtype=np.float32).reshape(2, 12) * 1000.5,
     "tensor([[    0.00,  1000.50,  2001.00,  ...,\n          9004.50, 10005.00, 11005.50],\n"
     "        [12006.00, 13006.50, 14007.00,  ...,\n         21010.50, 22011.00, 23011.50]])"),
    ({"linewidth": 40, "precision": 2, "threshold": 10}, np.arange(24, dtype=np.float32).reshape(2, 12) * 1000.5,
     "tensor([[    0.00,  1000.50,  2001.00,\n          ...,  9004.50, 10005.00,\n         11005.50],\n"
     "        [12006.00, 13006.50, 14007.00,\n          ..., 21010.50, 22011.00,\n         23011.50]])"),
    ({"linewidth": 30}, np.arange(12).reshape(2, 6) * 1001,
     "tensor([[    0,  1001,  2002,\n          3003,  4004,  5005],\n        [ 6006,  7007,  8008,\n"
     "          9009, 10010, 11011]])"),
    ({"edgeitems": 0}, np.array([1e-8, 1.0, 1e8], np.float32),
     "tensor([1.0000e-08, 1.0000e+00, 1.0000e+08], size=(3,))"),
    ({"edgeitems": 0, "threshold": 5}, np.arange(60.0, dtype=np.float32).reshape(3, 4, 5),
     "tensor([...], size=(3, 4, 5))"),
    ({"edgeitems": 1, "threshold": 5, "linewidth": 40}, np.arange(60.0, dtype=np.float32).reshape(3, 4, 5) / 7,
     "tensor([[[0.0000,  ..., 0.5714],\n         ...,\n         [2.1429,  ..., 2.7143]],\n\n        ...,\n\n"
     "        [[5.7143,  ..., 6.2857],\n         ...,\n         [7.8571,  ..., 8.4286]]])"),
    ({"edgeitems": 2, "threshold": 10, "linewidth": 30}, np.arange(40) % 3 == 0,
     "tensor([ True, False,  ...,\n        False,  True])"),
]


@pytest.mark.parametrize(("options", "values", "printed"), PRINTED_WITH_OPTIONS)
def test_repr_under_print_options_is_pytorchs(options, values, printed):
    try:
        sn.set_printoptions(**options)
        assert repr(sn.tensor(values)) == printed
    finally:
        sn.set_printoptions(profile="default")


def test_suffixes_past_the_line_width_go_on_lines_of_their_own():
    try:
        sn.set_printoptions(linewidth=40)  # PyTorch 2.13's, with its module's name
        assert repr(sn.tensor([1.5, 2.0], dtype=sn.float64, requires_grad=True)) == \
            "tensor([1.5000, 2.0000],\n       dtype=symnet.float64,\n       requires_grad=True)"
    finally:
        sn.set_printoptions(profile="default")


def test_inference_mode_as_torch():
    with sn.inference_mode():
        assert not sn.is_grad_enabled() and sn.is_inference_mode_enabled()
        y = sn.tensor([1.0], requires_grad=True) * 2
        assert not y.requires_grad
    with sn.no_grad(), sn.inference_mode(False):  # mode=False turns grad mode on, as PyTorch's
        assert sn.is_grad_enabled() and not sn.is_inference_mode_enabled()

    @sn.inference_mode
    def bare():
        return sn.is_grad_enabled()

    @sn.inference_mode(mode=True)
    def called():
        return sn.is_inference_mode_enabled()

    assert bare() is False and called() is True and sn.is_grad_enabled() and not sn.is_inference_mode_enabled()


def test_anomaly_mode_names_the_nan_gradient():
    x = sn.tensor([1.0, -1.0], requires_grad=True, name="w")
    assert not sn.is_anomaly_enabled()
    with sn.autograd.detect_anomaly():
        assert sn.is_anomaly_enabled()
        with pytest.raises(sn.GradError, match="nan values in the gradient of the tensor 'w'"):
            x.sqrt().sum().backward()
        with pytest.raises(sn.GradError, match="nan"):
            sn.autograd.grad(x.sqrt().sum(), x)
    assert not sn.is_anomaly_enabled() and x.grad is None
    x.sqrt().sum().backward()  # off again: NaN is a value, as in PyTorch
    assert np.isnan(x.grad.numpy()[1])
    sn.autograd.set_detect_anomaly(True, check_nan=False)
    try:
        assert sn.is_anomaly_enabled() and not sn.autograd.is_anomaly_check_nan_enabled()
        x.sqrt().sum().backward()
    finally:
        sn.set_anomaly_enabled(False)


def test_meshgrid_refusals_and_warning():
    a, b = sn.arange(2), sn.arange(3)
    with pytest.warns(UserWarning, match="indexing"):
        x, y = sn.meshgrid(a, b)
    assert x.shape == (2, 3) and y.tolist() == [[0, 1, 2], [0, 1, 2]]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        x, y = sn.meshgrid(a, b, indexing="xy")
    assert x.tolist() == [[0, 1], [0, 1], [0, 1]]
    with pytest.raises(ValueError, match="indexing"):
        sn.meshgrid(a, indexing="foo")
    with pytest.raises(sn.DTypeError, match="same dtype"):
        sn.meshgrid(a, b.float(), indexing="ij")
    with pytest.raises(sn.ShapeError):
        sn.meshgrid(sn.ones(2, 2), indexing="ij")
    with pytest.raises(ValueError):
        sn.meshgrid(indexing="ij")


def test_block_diag_row_stack_t_detach_rsub():
    out = sn.block_diag(sn.tensor(2), sn.tensor([1, 2]), sn.ones(2, 2))
    assert out.dtype == sn.float32 and out.shape == (4, 5) and out.tolist()[1] == [0, 1, 2, 0, 0]
    assert sn.block_diag().shape == (1, 0) and sn.block_diag(sn.tensor([1, 2])).dtype == sn.int64
    # a 1-d empty block is one empty row (PyTorch's forward; its backward drops that row, a PyTorch bug)
    b = sn.ones(1, 2, requires_grad=True)
    out = sn.block_diag(sn.zeros(0), b)
    assert out.tolist() == [[0.0, 0.0], [1.0, 1.0]]
    (out * sn.tensor([[1.0, 2.0], [3.0, 4.0]])).sum().backward()
    assert b.grad.tolist() == [[3.0, 4.0]]
    with pytest.raises(sn.ShapeError, match="2 or fewer"):
        sn.block_diag(sn.ones(2, 2, 2))
    assert sn.row_stack is sn.vstack
    m = sn.ones(2, 3)
    assert sn.t(m).shape == (3, 2) and sn.t(sn.ones(3)).shape == (3,)
    w = sn.ones(2, requires_grad=True)
    assert not sn.detach(w * 2).requires_grad
    assert sn.rsub(sn.tensor([1, 2]), 5, alpha=2).tolist() == [3, 1]
    assert sn.rsub(sn.tensor([1, 2]), sn.tensor(1.5)).tolist() == [0.5, -0.5]  # a 0-d float outranks int64
    with pytest.raises(sn.DTypeError):
        sn.rsub(sn.tensor([True]), sn.tensor([False]))
    with pytest.raises(sn.DTypeError, match="alpha"):
        sn.rsub(sn.tensor([1]), sn.tensor([2]), alpha=0.5)


def test_gcd_lcm_integers_only_with_method_and_inplace_forms():
    a, b = sn.tensor([0, -4, 6, 0]), sn.tensor([0, 6, -9, 5])
    assert sn.gcd(a, b).tolist() == [0, 2, 3, 5] and a.lcm(b).tolist() == [0, 12, 18, 0]
    assert sn.gcd(sn.tensor([[4], [6]]), sn.tensor(8)).tolist() == [[4], [2]]
    assert sn.gcd(sn.tensor(12), sn.tensor(18)).shape == () and sn.lcm(sn.ones(0, 1, dtype=sn.int64), a).shape == (0, 4)
    c = sn.tensor([3, 4])
    assert c.gcd_(sn.tensor([6, 6])) is c and c.tolist() == [3, 2]
    c.lcm_(sn.tensor(5))
    assert c.tolist() == [15, 10]
    with pytest.raises(TypeError, match="must be Tensor"):
        sn.gcd(a, 2)
    for x in (sn.tensor([1.0]), sn.tensor([True])):
        with pytest.raises(sn.NotSupportedError, match="integer"):
            sn.gcd(x, x)
    with pytest.raises(sn.ShapeError):
        sn.gcd(sn.tensor([1, 2]), sn.tensor([1, 2, 3]))


def test_frexp_refusals_and_edges():
    m, e = sn.tensor([0.0, -0.0, float("inf"), float("nan"), 1e-310], dtype=sn.float64).frexp()
    assert e.tolist() == [0, 0, 0, 0, -1029] and m.numpy()[2] == np.inf and np.signbit(m.numpy()[1])
    assert m.numpy()[4] == np.frexp(1e-310)[0] and m.dtype == sn.float64
    m, e = sn.frexp(sn.tensor(3.0))
    assert (m.item(), e.item(), m.shape) == (0.75, 2, ())
    assert sn.frexp(sn.ones(0)).mantissa.shape == (0,)
    with pytest.raises(sn.DTypeError, match="floating-point"):
        sn.frexp(sn.tensor([1, 2]))


def test_corrcoef_and_cumulative_trapezoid_edges():
    assert sn.corrcoef(sn.tensor([1.0, 2.0, 3.0])).item() == 1.0
    assert np.isnan(sn.corrcoef(sn.tensor([2.0, 2.0])).item())  # a variable of variance 0: c/c
    with pytest.raises(sn.ShapeError, match="two or fewer"):
        sn.ones(2, 2, 2).corrcoef()
    assert sn.cumulative_trapezoid(sn.tensor([1, 2, 4]), dx=2).tolist() == [3.0, 9.0]
    assert sn.cumulative_trapezoid(sn.ones(0)).shape == (0,) and sn.cumulative_trapezoid(sn.ones(1)).shape == (0,)
    with pytest.raises(sn.ShapeError):
        sn.cumulative_trapezoid(sn.tensor(1.0))
    with pytest.raises(sn.ShapeError, match="one `x` value"):
        sn.cumulative_trapezoid(sn.ones(3), sn.ones(2))
    with pytest.raises(sn.DTypeError, match="bool"):
        sn.cumulative_trapezoid(sn.tensor([True, False]))
    with pytest.raises(TypeError, match="both"):
        sn.cumulative_trapezoid(sn.ones(3), sn.ones(3), dx=1.0)


def test_histogram_refusals_and_edges():
    hist, edges = sn.histogram(sn.tensor([2.0, 2.0]), bins=2)
    assert hist.tolist() == [0.0, 2.0] and edges.tolist() == [1.5, 2.0, 2.5]
    assert sn.histogram(sn.tensor([]), bins=2).bin_edges.tolist() == [0.0, 0.5, 1.0]
    hist, _ = sn.tensor([1.0, 2.0, float("nan"), 9.0]).histogram(2, range=(0.0, 4.0))
    assert hist.tolist() == [1.0, 1.0]
    x = sn.tensor([1.0, 2.0, 3.0])
    bad = [(sn.NotSupportedError, lambda: sn.histogram(sn.tensor([1, 2]), bins=2)),
           (ValueError, lambda: x.histogram(0)),
           (ValueError, lambda: x.histogram(2, range=(3.0, 1.0))),
           (ValueError, lambda: sn.tensor([1.0, float("inf")]).histogram(2)),
           (sn.ShapeError, lambda: x.histogram(sn.tensor([0.0, 1.0], dtype=sn.float64))),
           (sn.ShapeError, lambda: x.histogram(sn.tensor([[0.0, 1.0]]))),
           (ValueError, lambda: x.histogram(sn.tensor([1.0, 0.0]))),
           (sn.ShapeError, lambda: x.histogram(2, weight=sn.ones(2)))]
    for error, call in bad:
        with pytest.raises(error):
            call()


def test_windows_and_polar_refusals():
    assert sn.hann_window(0).shape == (0,) and sn.kaiser_window(1).tolist() == [1.0]
    assert sn.hann_window(4).dtype == sn.float32 and sn.bartlett_window(3, dtype=sn.float64).dtype == sn.float64
    assert sn.hann_window(3, requires_grad=True).requires_grad
    with pytest.raises(sn.DTypeError, match="floating point"):
        sn.hann_window(3, dtype=sn.int64)
    with pytest.raises(ValueError, match="non-negative"):
        sn.blackman_window(-1)
    with pytest.raises(sn.NotSupportedError, match="complex"):
        sn.polar(sn.ones(2), sn.zeros(2))


def test_eager_only_ops_refused_in_a_compiled_step():
    class Model(sn.nn.Module):
        def __init__(self, op):
            super().__init__()
            self.lin, self.op = sn.nn.Linear(2, 1), op

        def forward(self, x):
            return self.lin(x) + self.op(x).sum() * 0

    data = np.ones((4, 2), np.float32), np.ones((4, 1), np.float32)
    for op, name in ((lambda x: x.histogram(3).hist, "histogram"), (lambda x: x.long().gcd(x.long()), "gcd")):
        model = Model(op)
        step = sn.compile(model, sn.nn.MSELoss(), sn.optim.SGD(model.parameters(), lr=0.1))
        with pytest.raises(sn.NotSupportedError, match=name):
            step.step(*data)
