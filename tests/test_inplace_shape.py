"""The in-place shape methods (squeeze_, unsqueeze_, t_, transpose_, swapaxes_, swapdims_, resize_, resize_as_),
detach_ and nn.Buffer, compared with PyTorch: values, shapes, ``_version``, gradients, views and refusals."""

import numpy as np
import pytest

import symnet as sn

torch = pytest.importorskip("torch")

A = np.arange(6, dtype=np.float32).reshape(2, 3)

CASES = [  # (shape, method, args)
    ((1, 3, 1), "squeeze_", ()), ((1, 3, 1), "squeeze_", (2,)), ((2, 3), "squeeze_", (0,)),
    ((1, 3, 1), "squeeze_", ((0, 2),)), ((2, 3), "unsqueeze_", (1,)), ((2, 3), "unsqueeze_", (-1,)),
    ((2, 3), "t_", ()), ((3,), "t_", ()), ((2, 3, 4), "transpose_", (0, 2)), ((2, 3), "transpose_", (1, 1)),
    ((2, 3, 4), "swapaxes_", (1, 2)), ((2, 3, 4), "swapdims_", (0, -1)),
    ((2, 3), "resize_", (6,)), ((2, 3), "resize_", (2, 2)), ((2, 3), "resize_", ((3, 3),)),
    ((2, 3), "resize_", (2, 3)), ((2, 3), "resize_", (0,)),
]


def _pair(shape):
    values = np.arange(np.prod(shape), dtype=np.float32).reshape(shape)
    return sn.tensor(values), torch.tensor(values)


def _same(s, t):
    assert tuple(s.shape) == tuple(t.shape)
    assert s.tolist() == t.tolist()  # (not numpy(): it shares the array, which then cannot grow)


@pytest.mark.parametrize(("shape", "method", "args"), CASES)
def test_a_leaf_changes_shape_as_pytorchs(shape, method, args):
    s, t = _pair(shape)
    assert getattr(s, method)(*args) is s
    getattr(t, method)(*args)
    if t.numel() > np.prod(shape):  # torch leaves the new elements unset; symnet's are zeros
        np.testing.assert_array_equal(np.ravel(s.tolist())[:6], t.numpy().reshape(-1)[:6])
        assert tuple(s.shape) == tuple(t.shape) and not np.ravel(s.tolist())[6:].any()
    else:
        _same(s, t)
    assert s._version == t._version


@pytest.mark.parametrize("chain", [
    (("squeeze_", ()), ("t_", ())), (("squeeze_", ()), ("t_", ()), ("unsqueeze_", (0,))),
    (("transpose_", (1, 2)), ("squeeze_", (0,))),
])
def test_resize_after_a_permutation_reads_the_storage_in_order(chain):
    s, t = _pair((1, 2, 3))
    for x in (s, t):
        for method, args in chain:
            getattr(x, method)(*args)
        x.resize_(4)
    _same(s, t)


def test_resize_as_takes_the_other_shape():
    s, t = _pair((2, 3))
    s.resize_as_(sn.zeros(3, 2))
    t.resize_as_(torch.zeros(3, 2))
    _same(s, t)
    assert s._version == t._version == 1


@pytest.mark.parametrize(("method", "args"), [("t_", ()), ("unsqueeze_", (0,)), ("squeeze_", ()),
                                              ("transpose_", (0, 1))])
def test_gradients_flow_through_a_computed_tensors_shape_change(method, args):
    x = sn.tensor(A, requires_grad=True)
    tx = torch.tensor(A, requires_grad=True)
    results = []
    for leaf in (x, tx):
        y = leaf * leaf
        assert getattr(y, method)(*args) is y
        results.append(y)
        weights = np.arange(y.numel(), dtype=np.float32).reshape(tuple(y.shape)) + 1
        (y * (sn.tensor(weights) if leaf is x else torch.tensor(weights))).sum().backward()
    _same(results[0].detach(), results[1].detach())
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy())
    assert results[0]._version == results[1]._version == 1


def test_a_view_made_before_its_base_changes_shape_reads_the_same_elements():
    s, t = _pair((2, 3))
    sv, tv = s[:, 1], t[:, 1]
    s.t_()
    t.t_()
    _same(sv, tv)
    sv.mul_(10)
    tv.mul_(10)
    _same(s, t)
    s.unsqueeze_(0)
    t.unsqueeze_(0)
    s[0, 2, 0] = -1.0
    t[0, 2, 0] = -1.0
    _same(sv, tv)
    s.resize_(8)
    t.resize_(8)
    sv.add_(1)
    tv.add_(1)
    _same(s[:6], t[:6])
    _same(sv, tv)


def test_a_view_changes_its_own_shape_and_still_writes_through():
    s, t = _pair((2, 3))
    sv, tv = s.t(), t.t()
    for v in (sv, tv):
        v.squeeze_()
        v.unsqueeze_(0)
        v.t_() if v.dim() <= 2 else v.transpose_(0, 2)
        v.mul_(2)
    _same(sv, tv)
    _same(s, t)


def test_gradients_flow_through_a_view_that_changed_shape():
    x = sn.tensor(A, requires_grad=True)
    tx = torch.tensor(A, requires_grad=True)
    for leaf in (x, tx):
        y = leaf * 1
        v = y[0]
        v.unsqueeze_(1)
        v.mul_(3)
        (y * y).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy())


def test_a_view_of_a_tensor_resized_to_fewer_elements_is_refused_when_used():
    s = sn.tensor(A)
    v = s[1]
    s.resize_(2)
    with pytest.raises(sn.NotSupportedError, match="resized in place to fewer elements"):
        v.add_(1)
    with pytest.raises(sn.NotSupportedError, match="resized in place"):
        v + 1


def test_the_numpy_bridge_keeps_sharing_after_a_shape_change():
    n = np.zeros((1, 3), dtype=np.float32)
    s = sn.from_numpy(n)
    before = s + 1
    s.squeeze_()
    s[0] = 5.0
    n[0, 2] = 7.0
    assert n.tolist() == [[5.0, 0.0, 7.0]] and s.tolist() == [5.0, 0.0, 7.0]
    assert before.tolist() == [[1.0, 1.0, 1.0]]
    n = np.zeros((2, 3), dtype=np.float32)
    s = sn.from_numpy(n)
    s.t_()
    s[0, 1] = 5.0
    assert n[1, 0] == 5.0
    s.resize_(2)
    s[1] = 4.0
    assert n[0, 1] == 4.0 and s.tolist() == [0.0, 4.0]  # the storage in order, as PyTorch's resize_ reads it
    with pytest.raises(RuntimeError, match="not resizable"):
        sn.from_numpy(np.zeros(3)).resize_(4)


def test_refusals_as_pytorchs():
    for lib, Err in ((sn, sn.GradError), (torch, RuntimeError)):
        w = lib.ones(1, 3, requires_grad=True)
        for x, method, args in ((w, "squeeze_", ()), (w, "t_", ()), (w, "unsqueeze_", (0,)),
                                (w[0], "unsqueeze_", (0,))):
            with pytest.raises(Err, match="leaf Variable that requires grad"):
                getattr(x, method)(*args)
        for x in (w, w * 2):
            with pytest.raises(Err, match="cannot resize variables that require grad"):
                x.resize_(3)
        with lib.no_grad():
            w.squeeze_()
        assert tuple(w.shape) == (3,) and w.requires_grad and w.is_leaf and w._version == 1
        with pytest.raises(Err, match="Can't detach views in-place"):
            (w * 1)[0:2].detach_()
    with pytest.raises(sn.ShapeError, match="t_"):
        sn.zeros(2, 3, 4).t_()
    with pytest.raises(IndexError):
        sn.zeros(2, 3).unsqueeze_(5)
    with pytest.raises(sn.ShapeError, match="non-negative"):
        sn.zeros(2).resize_(-1)
    with pytest.raises(sn.NotSupportedError, match="resize_ of a view"):
        sn.tensor(A).t().resize_(6)  # PyTorch reads the transposed view's storage in order
    with pytest.raises(sn.NotSupportedError, match="resize_ of a view"):
        sn.tensor(A)[0].resize_(5)


def test_resize_of_a_contiguous_view_within_its_elements():
    s, t = _pair((2, 3))
    s[1].resize_(2).mul_(10)
    t[1].resize_(2).mul_(10)
    _same(s, t)


def test_detach_in_place():
    for lib in (sn, torch):
        x = lib.ones(2, requires_grad=True)
        y = x * 2
        assert y.detach_() is y
        assert not y.requires_grad and y.is_leaf and y.grad_fn is None and y._version == 0
        assert y.tolist() == [2.0, 2.0]
        z = (y * x).sum()
        z.backward()
        assert x.grad.tolist() == [2.0, 2.0]
        assert x.detach_() is x and not x.requires_grad


def test_an_alias_written_after_a_shape_change_is_refused_not_wrong():
    w = sn.ones(1, 3)
    alias = w.detach()
    w.squeeze_()
    with pytest.raises(sn.NotSupportedError, match="alias"):
        alias.add_(1)
    assert tuple(w.shape) == (3,)


# ---------------------------------------------------------------- nn.Buffer
def _module(lib):
    class M(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = lib.nn.Parameter(lib.ones(2))
            self.kept = lib.nn.Buffer(lib.zeros(2))
            self.scratch = lib.nn.Buffer(lib.ones(3), persistent=False)
            self.child = lib.nn.Linear(1, 1)
            self.child.stat = lib.nn.Buffer(lib.zeros(1))
    return M()


def test_buffer_registers_as_pytorchs():
    m, tm = _module(sn), _module(torch)
    assert list(m.state_dict()) == list(tm.state_dict())
    assert [n for n, _ in m.named_buffers()] == [n for n, _ in tm.named_buffers()]
    assert [n for n, _ in m.named_parameters()] == [n for n, _ in tm.named_parameters()]
    assert isinstance(m.kept, sn.nn.Buffer) and isinstance(tm.kept, torch.nn.Buffer)
    for lib, mod in ((sn, m), (torch, tm)):
        mod.kept = lib.nn.Buffer(lib.ones(2), persistent=False)  # a Buffer assigned again sets persistence
        mod.scratch = lib.ones(3)  # a plain tensor assigned to a buffer stays one, persistence kept
        mod.fresh = lib.ones(1)  # a plain tensor is no buffer
    assert list(m.state_dict()) == list(tm.state_dict()) == ["weight", "child.weight", "child.bias", "child.stat"]
    assert [n for n, _ in m.named_buffers()] == [n for n, _ in tm.named_buffers()]


def test_buffer_keeps_requires_grad_and_not_the_graph():
    for lib in (sn, torch):
        x = lib.ones(2, requires_grad=True)
        b = lib.nn.Buffer(x * 2)
        assert b.requires_grad and b.is_leaf and b.tolist() == [2.0, 2.0] and b.persistent
        empty = lib.nn.Buffer()
        assert tuple(empty.shape) == (0,)
