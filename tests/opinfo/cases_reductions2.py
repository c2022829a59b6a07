"""Cases of the running extremes, order statistics and searches (symnet.frontend.ordering) and of the eager
counting ops (symnet.frontend.counting): cummax/cummin ties (the last index) and NaN, logcumsumexp far below the
row's max, mode's tie rule, kthvalue, median/nanmedian with NaN, quantile's interpolations and tensor q,
searchsorted/bucketize/isin, histc/bincount/unique/nonzero. Indices among equal elements are only compared
where PyTorch defines them (cummax, cummin, mode); kthvalue and the medians use tie-free data."""

from tests.opinfo.spec import Case, arg

NAN = float("nan")
F64 = ("float64",)  # integer and bool operands: the float dtype of the case does not matter
#: variants of a case checked above in full: float64 against PyTorch only (keeps the table quick)
QUICK = {"compile": False, "dtypes": F64, "fd": False}


def with_nans(a):
    """a with NaN where a > 1 (about one element in six of N(0, 1))."""
    return a.masked_fill(a > 1, NAN)


CASES = [
    # running extremes
    Case("cummax/ties", lambda t, a: a.cummax(1), [arg(3, 6, kind="ties")], fd=False),
    Case("cummax/nan", lambda t, a: t.cummax(with_nans(a), 0), [arg(8, 2)], **QUICK),
    Case("cummin/ties-3d", lambda t, a: t.cummin(a, -2), [arg(2, 5, 3, kind="ties")], **QUICK),
    Case("cummin/nan", lambda t, a: with_nans(a).cummin(1), [arg(2, 8)], **QUICK),
    Case("cummax/int", lambda t, a: a.cummax(0), [arg(7, kind="int")], dtypes=F64),
    Case("cummin/bool", lambda t, a: a.cummin(0), [arg(6, kind="bool")], dtypes=F64),
    Case("cummax/0-d", lambda t, a: a.cummax(0), [arg(())], compile=False),
    Case("cummin/empty", lambda t, a: a.cummin(1), [arg(2, 0)], dtypes=F64),
    Case("logcumsumexp/dim", lambda t, a: a.logcumsumexp(1), [arg(3, 5)]),
    Case("logcumsumexp/far-below-max", lambda t, a: t.logcumsumexp(a * 400 - 800, 0), [arg(6, 2)], fd=False),
    Case("logcumsumexp/big", lambda t, a: a.logcumsumexp(0), [arg(5, 3, kind="big")], fd=False, compile=False,
         rtol={"float32": 3e-3}),  # float32 inputs of size 1e4 carry exponents only to ~1e4·6e-8,
    Case("logcumsumexp/0-d", lambda t, a: a.logcumsumexp(0), [arg(())], compile=False),
    Case("logcumsumexp/int-refused", lambda t, a: a.logcumsumexp(0), [arg(3, kind="int")], dtypes=F64,
         grad=False),
    # order statistics
    Case("mode/ties", lambda t, a: a.mode(1), [arg(4, 7, kind="ties")], fd=False),
    Case("mode/dim-0-keepdim", lambda t, a: t.mode(a, 0, keepdim=True), [arg(6, 3, kind="ties")], **QUICK),
    Case("mode/int", lambda t, a: a.mode(), [arg(9, kind="int")], dtypes=F64),
    Case("mode/bool", lambda t, a: a.mode(0), [arg(5, 2, kind="bool")], dtypes=F64),
    Case("mode/0-d", lambda t, a: a.mode(), [arg(())], compile=False),
    Case("kthvalue/dim", lambda t, a: a.kthvalue(2, 1), [arg(3, 5)]),
    Case("kthvalue/keepdim-dim-0", lambda t, a: t.kthvalue(a, 4, 0, True), [arg(4, 3)], compile=False),
    Case("kthvalue/int", lambda t, a: a.kthvalue(1), [arg(2, 9, kind="index", high=100)], dtypes=F64),
    Case("kthvalue/k-out-of-range-refused", lambda t, a: a.kthvalue(6), [arg(3, 5)], dtypes=F64, grad=False),
    Case("nanmedian/all", lambda t, a: with_nans(a).nanmedian(), [arg(3, 5)]),
    Case("nanmedian/all-ties", lambda t, a: a.nanmedian(), [arg(3, 4, kind="ties")], fd=False, compile=False),
    Case("nanmedian/dim", lambda t, a: t.nanmedian(with_nans(a), 1), [arg(4, 6)], **QUICK),
    Case("nanmedian/int-keepdim", lambda t, a: a.nanmedian(0, keepdim=True), [arg(5, 2, kind="index", high=100)],
         dtypes=F64),
    Case("median/dim-nan", lambda t, a: with_nans(a).median(1), [arg(4, 6)], **QUICK),
    Case("quantile/linear-dim", lambda t, a: a.quantile(0.3, 1), [arg(3, 5)]),
    Case("quantile/tensor-q-keepdim", lambda t, a, q: t.quantile(a, q.abs(), 0, keepdim=True),
         [arg(6, 2), arg(3, kind="unit")], fd=False),
    Case("quantile/all-keepdim", lambda t, a: a.quantile(0.75, keepdim=True), [arg(2, 3)], compile=False),
    Case("quantile/lower", lambda t, a: a.quantile(0.3, 1, interpolation="lower"), [arg(3, 6)], **QUICK),
    Case("quantile/higher", lambda t, a: a.quantile(0.3, 1, interpolation="higher"), [arg(3, 6)], **QUICK),
    Case("quantile/midpoint", lambda t, a: a.quantile(0.3, 1, interpolation="midpoint"), [arg(3, 6)],
         **QUICK),
    Case("quantile/nearest-half-to-even", lambda t, a: a.quantile(0.5, 0, interpolation="nearest"), [arg(4, 3)],
         **QUICK),
    Case("quantile/nan", lambda t, a: with_nans(a).quantile(0.4, 1), [arg(4, 6)], **QUICK),
    Case("quantile/q-out-of-range-refused", lambda t, a: a.quantile(1.5), [arg(4)], dtypes=F64, grad=False),
    Case("quantile/int-refused", lambda t, a: a.quantile(0.5), [arg(4, kind="int")], dtypes=F64, grad=False),
    Case("quantile/bad-interpolation-refused", lambda t, a: a.quantile(0.5, interpolation="cubic"), [arg(4)],
         dtypes=F64, grad=False),
    Case("nanquantile/dim", lambda t, a: t.nanquantile(with_nans(a), 0.6, 1), [arg(4, 6)]),
    Case("nanquantile/all-nan-row", lambda t, a: (a * NAN).nanquantile(0.5, 1), [arg(2, 3)], grad=False),
    # searching
    Case("searchsorted/left", lambda t, s, v: t.searchsorted(s.sort().values, v), [arg(6, kind="ties"),
         arg(3, 4, kind="ties")], grad=False),
    Case("searchsorted/right-rows", lambda t, s, v: t.searchsorted(s.sort(1).values, v, right=True),
         [arg(2, 6, kind="ties"), arg(2, 3, kind="ties")], grad=False),
    Case("searchsorted/side-sorter-nan", lambda t, s, v, i: t.searchsorted(s, with_nans(v), side="right",
         sorter=s.argsort()), [arg(5), arg(7), arg(5, kind="index")], grad=False),
    Case("searchsorted/int-scalar", lambda t, s: t.searchsorted(s.sort().values, 2), [arg(6, kind="int")],
         dtypes=F64),
    Case("bucketize/right", lambda t, x, b: t.bucketize(x, b.sort().values, right=True),
         [arg(3, 4, kind="ties"), arg(3, kind="ties")], grad=False),
    Case("isin/int", lambda t, a, b: t.isin(a, b), [arg(3, 4, kind="int"), arg(2, 2, kind="int")], dtypes=F64),
    Case("isin/invert-float-nan", lambda t, a, b: t.isin(with_nans(a), b, invert=True),
         [arg(7, kind="ties"), arg(2, kind="ties")], grad=False),
    # counting (eager)
    Case("histc/range", lambda t, a: a.histc(7, -1, 1), [arg(40)], grad=False),
    Case("histc/data-range", lambda t, a: t.histc(a, bins=5), [arg(6, 5)], grad=False),
    Case("histc/int-refused", lambda t, a: a.histc(), [arg(4, kind="int")], dtypes=F64, grad=False),
    Case("bincount/weights", lambda t, a, w: a.bincount(w, minlength=7), [arg(9, kind="index", high=5), arg(9)],
         grad=False),
    Case("bincount/counts", lambda t, a: t.bincount(a), [arg(9, kind="index", high=5)], dtypes=F64),
    Case("unique/inverse-counts", lambda t, a: a.unique(return_inverse=True, return_counts=True),
         [arg(3, 4, kind="ties")], grad=False),
    Case("unique/int-dim", lambda t, a: t.unique(a, dim=0, return_counts=True), [arg(6, 2, kind="index")],
         dtypes=F64),
    Case("unique_consecutive/all", lambda t, a: a.unique_consecutive(return_inverse=True, return_counts=True),
         [arg(9, kind="index")], dtypes=F64),
    Case("nonzero/2d", lambda t, a: a.nonzero(), [arg(3, 4, kind="kinks")], grad=False),
    Case("nonzero/as-tuple", lambda t, a: t.nonzero(a, as_tuple=True), [arg(2, 3, kind="bool")], dtypes=F64),
    Case("argwhere/int", lambda t, a: t.argwhere(a), [arg(2, 3, kind="int")], dtypes=F64),
]
