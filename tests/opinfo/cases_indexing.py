"""Cases of indexing (``t[key]``), index assignment and the index methods; assignments work on a copy
(``a * 1``), since PyTorch refuses in-place updates of a leaf that requires grad."""

from tests.opinfo.spec import Case, arg


def _set(a, key, value):
    b = a * 1
    b[key] = value
    return b


def _add_at(a, key, value):
    b = a * 1
    b[key] += value
    return b


def _view_update(a, value):
    b = a * 1
    row = b[1]
    row.mul_(value)
    return b


def _ints(t, values):
    return t.tensor(values)


CASES = [
    # reads
    Case("index/int-slice", lambda t, a: a[1, 1:-1:2], [arg(3, 5)]),
    Case("index/negative-int", lambda t, a: a[-1, -2], [arg(3, 4)]),
    Case("index/ellipsis-none", lambda t, a: a[..., None, 0], [arg(2, 3, 4)]),
    Case("index/slice-past-end", lambda t, a: a[2:10], [arg(4, 2)]),
    Case("index/empty-slice", lambda t, a: a[3:1], [arg(4, 2)]),
    Case("index/negative-step", lambda t, a: a[::-1], [arg(4)]),
    Case("index/out-of-range-int", lambda t, a: a[4], [arg(4)]),
    Case("index/too-many", lambda t, a: a[0, 0, 0], [arg(2, 2)]),
    Case("index/tensor-duplicates", lambda t, a, i: a[i], [arg(5, 3), arg(7, kind="index", high=5)]),
    Case("index/tensor-negative", lambda t, a: a[_ints(t, [-1, 0, -5, -1])], [arg(5, 2)]),
    Case("index/tensor-out-of-range", lambda t, a: a[_ints(t, [0, 5])], [arg(5, 2)]),
    Case("index/tensor-too-negative", lambda t, a: a[_ints(t, [-6])], [arg(5, 2)]),
    Case("index/tensor-empty", lambda t, a: a[_ints(t, [0, 1])[:0]], [arg(5, 2)]),
    Case("index/tensor-0d", lambda t, a: a[_ints(t, 2)], [arg(4, 3)]),
    Case("index/list", lambda t, a: a[[0, 2, 2]], [arg(3, 2)]),
    Case("index/two-tensors-broadcast", lambda t, a, i, j: a[i, j],
         [arg(4, 5), arg(3, 1, kind="index", high=4), arg(2, kind="index", high=5)]),
    Case("index/adjacent-after-slice", lambda t, a, i, j: a[:, i, j],
         [arg(2, 4, 5), arg(3, kind="index", high=4), arg(3, kind="index", high=5)]),
    Case("index/separated-go-first", lambda t, a, i, j: a[i, :, j],
         [arg(4, 2, 5), arg(3, kind="index", high=4), arg(3, kind="index", high=5)]),
    Case("index/int-between-tensors", lambda t, a, i, j: a[i, 1, j],
         [arg(4, 2, 5), arg(3, kind="index", high=4), arg(3, kind="index", high=5)]),
    Case("index/none-separates", lambda t, a, i, j: a[i, None, j],
         [arg(4, 5), arg(3, kind="index", high=4), arg(3, kind="index", high=5)]),
    Case("index/tensor-and-slices", lambda t, a, i: a[1:, i, ::2],
         [arg(3, 4, 5), arg(2, 2, kind="index", high=4)]),
    Case("index/float-tensor", lambda t, a, b: a[b], [arg(3), arg(2)], grad=False),
    Case("index/mask", lambda t, a, m: a[m], [arg(4, 3), arg(4, 3, kind="bool")]),
    Case("index/mask-leading", lambda t, a, m: a[m], [arg(4, 3), arg(4, kind="bool")]),
    Case("index/mask-after-slice", lambda t, a, m: a[:, m], [arg(2, 4, 3), arg(4, kind="bool")]),
    Case("index/mask-list", lambda t, a: a[[True, False, True]], [arg(3, 2)]),
    Case("index/mask-empty", lambda t, a: a[a > 100], [arg(3, 2)], compile=False),
    Case("index/mask-computed", lambda t, a: a[a > 0], [arg(3, 4)], compile=False),
    Case("index/mask-wrong-shape", lambda t, a, m: a[m], [arg(4, 3), arg(3, kind="bool")]),
    Case("index/int64-data", lambda t, a, i: a[i], [arg(5, kind="int"), arg(3, kind="index", high=5)]),
    Case("index/bool-data", lambda t, a: a[1:, 0], [arg(3, 2, kind="bool")]),
    Case("index/0d-ellipsis", lambda t, a: a[...], [arg(())]),
    Case("index/0d-none", lambda t, a: a[None], [arg(())]),
    # assignment
    Case("setitem/int-scalar", lambda t, a: _set(a, 0, 2.5), [arg(3, 2)]),
    Case("setitem/column-tensor", lambda t, a, b: _set(a, (slice(None), 1), b), [arg(3, 4), arg(3)]),
    Case("setitem/broadcast-value", lambda t, a, b: _set(a, slice(1, None), b), [arg(3, 4), arg(1, 4)]),
    Case("setitem/stepped", lambda t, a, b: _set(a, slice(None, None, 2), b), [arg(5, 2), arg(3, 2)]),
    Case("setitem/mask-zero", lambda t, a, m: _set(a, m, 0), [arg(4, 3), arg(4, 3, kind="bool")]),
    Case("setitem/mask-tensor", lambda t, a, m, b: _set(a, m, b),
         [arg(4, 3), arg(4, kind="bool"), arg(3)]),
    Case("setitem/index-tensor", lambda t, a, b: _set(a, _ints(t, [2, -4]), b), [arg(4, 3), arg(2, 3)]),
    Case("setitem/index-add", lambda t, a, b: _add_at(a, _ints(t, [0, 2]), b), [arg(3, 2), arg(2, 2)]),
    Case("setitem/0d-value", lambda t, a, b: _set(a, (1, 1), b), [arg(2, 3), arg(())]),
    Case("setitem/value-mismatch", lambda t, a, b: _set(a, 0, b), [arg(3, 2), arg(3)]),
    Case("setitem/int64", lambda t, a: _set(a, _ints(t, [1]), 7), [arg(3, kind="int")]),
    Case("setitem/view-write-through", lambda t, a, b: _view_update(a, b), [arg(3, 2), arg(2)], compile=False),
    # methods
    Case("index_put/accumulate-duplicates", lambda t, a, i, b: a.index_put((i,), b, accumulate=True),
         [arg(4, 2), arg(6, kind="index", high=4), arg(6, 2)]),
    Case("index_select/duplicates", lambda t, a, i: a.index_select(1, i), [arg(2, 4), arg(5, kind="index", high=4)]),
    Case("index_select/function", lambda t, a, i: t.index_select(a, 0, i), [arg(3, 2), arg(2, kind="index", high=3)]),
    Case("index_select/2d-index", lambda t, a, i: a.index_select(0, i), [arg(3, 2), arg(2, 2, kind="index", high=3)]),
    Case("index_fill/scalar", lambda t, a, i: a.index_fill(1, i, -1.5), [arg(2, 4), arg(2, kind="index", high=4)]),
    Case("index_add/duplicates", lambda t, a, i, s: a.index_add(0, i, s, alpha=2),
         [arg(3, 2), arg(5, kind="index", high=3), arg(5, 2)]),
    Case("index_add/wrong-source", lambda t, a, i, s: a.index_add(0, i, s),
         [arg(3, 2), arg(5, kind="index", high=3), arg(4, 2)]),
    Case("masked_fill/broadcast-mask", lambda t, a, m: a.masked_fill(m, 3.0), [arg(3, 4), arg(4, kind="bool")]),
    Case("masked_fill/0d-tensor-value", lambda t, a, m, v: a.masked_fill(m, v),
         [arg(3, 2), arg(3, 2, kind="bool"), arg(())]),
    Case("masked_fill/int64", lambda t, a, m: a.masked_fill(m, -7), [arg(4, kind="int"), arg(4, kind="bool")]),
    Case("masked_fill/float-mask", lambda t, a, m: a.masked_fill(m, 0.0), [arg(4), arg(4)], grad=False),
    Case("masked_select/broadcast", lambda t, a, m: a.masked_select(m), [arg(3, 1), arg(3, 4, kind="bool")]),
    Case("masked_select/function", lambda t, a, m: t.masked_select(a, m), [arg(5), arg(5, kind="bool")]),
    Case("scatter/src", lambda t, a, s: a.scatter(1, _ints(t, [[0, 4], [2, 1], [3, 0]]), s), [arg(3, 5), arg(3, 2)]),
    Case("scatter/value", lambda t, a: a.scatter(0, _ints(t, [[1, 0, 2]]), 9.0), [arg(3, 3)]),
    Case("scatter/reduce-add", lambda t, a, i, s: a.scatter(0, i, s, reduce="add"),
         [arg(3, 2), arg(4, 2, kind="index", high=3), arg(4, 2)], grad=False),
    Case("scatter_add/duplicates", lambda t, a, i, s: a.scatter_add(1, i, s),
         [arg(2, 3), arg(2, 5, kind="index", high=3), arg(2, 5)]),
    Case("scatter_add/function", lambda t, a, i, s: t.scatter_add(a, 0, i, s),
         [arg(4), arg(6, kind="index", high=4), arg(6)]),
    Case("scatter/index-out-of-range", lambda t, a: a.scatter(0, _ints(t, [3]), 1.0), [arg(3)]),
    Case("take/negative", lambda t, a: a.take(_ints(t, [[0, -1], [5, 5]])), [arg(2, 3)]),
    Case("take/function", lambda t, a, i: t.take(a, i), [arg(3, 2), arg(4, kind="index", high=6)]),
    Case("take_along_dim/broadcast", lambda t, a, i: a.take_along_dim(i, 1),
         [arg(3, 4), arg(1, 2, kind="index", high=4)]),
    Case("take_along_dim/flat", lambda t, a, i: t.take_along_dim(a, i), [arg(2, 3), arg(4, kind="index", high=6)]),
    # in-place forms on a copy
    Case("inplace/add-alpha", lambda t, a, b: (a * 1).add_(b, alpha=-2), [arg(2, 3), arg(3)]),
    Case("inplace/mul-div-sub", lambda t, a, b: (a * 1).mul_(b).div_(b + 3).sub_(1), [arg(4), arg(4, kind="positive")]),
    Case("inplace/clamp-neg-exp", lambda t, a: (a * 1).clamp_(-0.5, 0.5).neg_().exp_(), [arg(5)], fd=False),
    Case("inplace/pow-abs", lambda t, a: (a * 1).abs_().pow_(3), [arg(4, kind="nonzero")]),
    Case("inplace/copy-broadcast", lambda t, a, b: (a * 1).copy_(b) * a, [arg(2, 3), arg(3)]),
    Case("inplace/fill-zero", lambda t, a: ((a * 1).fill_(2.0) + (a * 1).zero_()) * a, [arg(3)]),
    Case("inplace/masked_fill_", lambda t, a, m: (a * 1).masked_fill_(m, 0.5), [arg(3, 2), arg(3, 2, kind="bool")]),
    Case("inplace/index_add_", lambda t, a, i, s: (a * 1).index_add_(0, i, s),
         [arg(3), arg(4, kind="index", high=3), arg(4)]),
    Case("inplace/scatter_", lambda t, a: (a * 1).scatter_(0, _ints(t, [2, 0]), 1.5), [arg(4)]),
    Case("inplace/relu-function", lambda t, a: t.relu_(a * 1), [arg(5)], fd=False),
    Case("inplace/shape-change", lambda t, a, b: (a * 1).add_(b), [arg(3, 1), arg(3, 4)]),
    Case("inplace/int-float-result", lambda t, a: (a * 1).mul_(1.5), [arg(3, kind="int")]),
    Case("inplace/int-ok", lambda t, a: (a * 1).mul_(3).add_(1), [arg(3, kind="int")]),
    Case("inplace/leaf-requires-grad", lambda t, a: a.add_(1), [arg(3)]),
    Case("inplace/view-of-leaf", lambda t, a: a[0].mul_(2), [arg(3, 2)]),
]
