"""Cases of the rest of ``torch.Tensor``'s surface (``symnet/frontend/surface.py``): aliases, ``sum_to_size``,
``unfold``, ``masked_scatter``, ``diagonal_scatter``, ``matrix_power``, the matrix transposes, the ``new_*``
constructors and the int64 bit shifts, with 0-d and empty tensors, int64/bool operands and PyTorch's
refusals."""

from tests.opinfo.spec import Case, arg

F64 = ("float64",)  # forward-only and refused calls: the float dtype does not matter (grad=False: none to check)

#: int64 values at the edges of a shift: the extremes, ±1, and a bit that a shift by 1 carries into the sign
EDGES = [1, -1, -8, 5, 2**62, -(2**63), 2**63 - 1, 0]
#: shifts PyTorch defines beyond [0, 64): negative ones and ones of 64 and more
SHIFTS = [0, 1, 3, 63, 64, -1, 70, 62]


def _shift(t, name, values, shifts):
    return getattr(t, name)(t.tensor(values), t.tensor(shifts))


def _masked(t, a, mask, source):
    return a.masked_scatter(t.tensor(mask), source)


CASES = [
    # ---------------------------------------------------------------- aliases
    Case("absolute/kinks", lambda t, a: t.absolute(a), [arg(3, 4, kind="kinks")]),
    Case("absolute/int", lambda t, a: a.absolute(), [arg(5, kind="int")], dtypes=F64, grad=False),
    Case("positive", lambda t, a: t.positive(a) * 1, [arg(2, 3)], dtypes=F64),
    Case("positive/bool", lambda t, a: a.positive(), [arg(3, kind="bool")], dtypes=F64, grad=False),
    Case("type_as/int", lambda t, a, b: a.type_as(b), [arg(2, 3, kind="big"), arg(1, kind="int")], dtypes=F64,
         grad=False),
    Case("type_as/float32", lambda t, a, b: a.type_as(b), [arg(2, 3), arg(1, dtype="float32", grad=False)],
         dtypes=F64, fd=False),  # finite differences through a float32 rounding are off by its step
    # ---------------------------------------------------------------- sums back to a broadcast operand's size
    Case("sum_to_size/lead-and-ones", lambda t, a: a.sum_to_size(3, 1), [arg(2, 3, 4)]),
    Case("sum_to_size/tuple", lambda t, a: a.sum_to_size((1, 1, 4)), [arg(2, 3, 4)], dtypes=F64),
    Case("sum_to_size/same", lambda t, a: a.sum_to_size(2, 3), [arg(2, 3)], dtypes=F64),
    Case("sum_to_size/scalar", lambda t, a: a.sum_to_size(()), [arg(2, 3)], dtypes=F64),
    Case("sum_to_size/bool", lambda t, a: a.sum_to_size(1, 3), [arg(4, 3, kind="bool")], dtypes=F64, grad=False),
    Case("sum_to_size/not-expandable", lambda t, a: a.sum_to_size(2, 2), [arg(2, 3)], dtypes=F64, grad=False),
    Case("sum_to_size/too-long", lambda t, a: a.sum_to_size(1, 2, 3), [arg(2, 3)], dtypes=F64, grad=False),
    # ---------------------------------------------------------------- parts and windows
    Case("split_with_sizes", lambda t, a: t.split_with_sizes(a, [1, 0, 3], dim=-1), [arg(2, 4)]),
    Case("split_with_sizes/bad-sum", lambda t, a: a.split_with_sizes([1, 1]), [arg(3)], dtypes=F64, grad=False),
    Case("split_with_sizes/int", lambda t, a: a.split_with_sizes(3), [arg(3)], dtypes=F64, grad=False),
    Case("unfold/overlapping", lambda t, a: a.unfold(0, 3, 2), [arg(8)]),
    Case("unfold/middle-dim", lambda t, a: a.unfold(1, 2, 1), [arg(2, 5, 3)]),
    Case("unfold/negative-dim-gaps", lambda t, a: a.unfold(-1, 2, 3), [arg(3, 7)], dtypes=F64),
    Case("unfold/whole", lambda t, a: a.unfold(0, 4, 1), [arg(4, 2)], dtypes=F64),
    Case("unfold/empty-window", lambda t, a: a.unfold(0, 0, 2), [arg(3)], dtypes=F64),
    Case("unfold/0d", lambda t, a: a.unfold(0, 1, 1), [arg()], dtypes=F64),
    Case("unfold/0d-empty", lambda t, a: a.unfold(-1, 0, 1), [arg()], dtypes=F64, grad=False),
    Case("unfold/int", lambda t, a: a.unfold(0, 2, 1), [arg(4, kind="int")], dtypes=F64, grad=False),
    Case("unfold/too-big", lambda t, a: a.unfold(0, 4, 1), [arg(3)], dtypes=F64, grad=False),
    Case("unfold/zero-step", lambda t, a: a.unfold(0, 1, 0), [arg(3)], dtypes=F64, grad=False),
    Case("unfold/negative-size", lambda t, a: a.unfold(0, -1, 1), [arg(3)], dtypes=F64, grad=False),
    Case("unfold/bad-dim", lambda t, a: a.unfold(2, 1, 1), [arg(3, 2)], dtypes=F64, grad=False),
    # ---------------------------------------------------------------- scatters
    Case("masked_scatter", lambda t, a, m, s: a.masked_scatter(m, s), [arg(3, 4), arg(3, 4, kind="bool"), arg(12)]),
    Case("masked_scatter/longer-source", lambda t, a, s: _masked(t, a, [True, False, True], s),
         [arg(2, 3), arg(4, 5)]),
    Case("masked_scatter/self-broadcast", lambda t, a, s: _masked(t, a, [[True, False], [True, True]], s),
         [arg(2), arg(3)]),
    Case("masked_scatter/0d", lambda t, a, s: _masked(t, a, True, s), [arg(), arg(2)], dtypes=F64),
    Case("masked_scatter/int", lambda t, a, m, s: a.masked_scatter(m, s),
         [arg(5, kind="int"), arg(5, kind="bool"), arg(5, kind="int")], dtypes=F64, grad=False),
    Case("masked_scatter/short-source", lambda t, a, s: _masked(t, a, [True, True, False], s), [arg(3), arg(1)],
         dtypes=F64, grad=False),
    Case("masked_scatter/int-mask", lambda t, a, m, s: a.masked_scatter(m, s),
         [arg(3), arg(3, kind="int"), arg(3)], dtypes=F64, grad=False),
    Case("masked_scatter/dtypes-differ", lambda t, a, m, s: a.masked_scatter(m, s),
         [arg(3), arg(3, kind="bool"), arg(3, dtype="float32")], dtypes=F64, grad=False),
    Case("diagonal_scatter", lambda t, a, s: t.diagonal_scatter(a, s), [arg(3, 4), arg(3)]),
    Case("diagonal_scatter/offset", lambda t, a, s: a.diagonal_scatter(s, -1), [arg(3, 4), arg(2)]),
    Case("diagonal_scatter/dims", lambda t, a, s: a.diagonal_scatter(s, offset=1, dim1=2, dim2=0),
         [arg(3, 2, 4), arg(2, 3)], dtypes=F64),
    Case("diagonal_scatter/int-src", lambda t, a, s: a.diagonal_scatter(s), [arg(2, 2), arg(2, kind="int")],
         dtypes=F64),
    Case("diagonal_scatter/wrong-size", lambda t, a, s: a.diagonal_scatter(s), [arg(2, 3), arg(3)], dtypes=F64,
         grad=False),
    # ---------------------------------------------------------------- matrix powers and transposes
    Case("matrix_power/0", lambda t, a: t.matrix_power(a, 0), [arg(3, 3)]),
    Case("matrix_power/1", lambda t, a: a.matrix_power(1), [arg(3, 3)], dtypes=F64),
    Case("matrix_power/3", lambda t, a: a.matrix_power(3), [arg(3, 3, kind="unit")]),
    Case("matrix_power/6-batched", lambda t, a: a.matrix_power(6), [arg(2, 3, 3, kind="unit")]),
    Case("matrix_power/7", lambda t, a: a.matrix_power(7), [arg(2, 2, kind="unit")], dtypes=F64),
    Case("matrix_power/empty", lambda t, a: a.matrix_power(4), [arg(2, 0, 0)], dtypes=F64),
    Case("matrix_power/int", lambda t, a: a.matrix_power(5), [arg(3, 3, kind="int")], dtypes=F64, grad=False),
    Case("matrix_power/bool-0", lambda t, a: a.matrix_power(0), [arg(2, 2, kind="bool")], dtypes=F64, grad=False),
    Case("matrix_power/bool-2", lambda t, a: a.matrix_power(2), [arg(2, 2, kind="bool")], dtypes=F64, grad=False),
    Case("matrix_power/not-square", lambda t, a: a.matrix_power(2), [arg(2, 3)], dtypes=F64, grad=False),
    Case("matrix_power/1d", lambda t, a: a.matrix_power(2), [arg(3)], dtypes=F64, grad=False),
    Case("mT/batched", lambda t, a: a.mT, [arg(2, 3, 4)]),
    Case("mH", lambda t, a: a.mH, [arg(3, 2)], dtypes=F64),
    Case("H", lambda t, a: a.H, [arg(3, 2)]),
    Case("mT/1d", lambda t, a: a.mT, [arg(3)], dtypes=F64, grad=False),
    Case("H/3d", lambda t, a: a.H, [arg(2, 2, 2)], dtypes=F64, grad=False),
    # ---------------------------------------------------------------- constructors like a tensor
    Case("new_zeros", lambda t, a: a.new_zeros(2, 3), [arg(1)], grad=False),
    Case("new_ones/dtype", lambda t, a: a.new_ones((2,), dtype=t.int64), [arg(1)], dtypes=F64, grad=False),
    Case("new_full/int-truncates", lambda t, a: a.new_full((3,), -2.7), [arg(1, kind="int")], dtypes=F64,
         grad=False),
    Case("new_full/size-int", lambda t, a: a.new_full(3, 1.0), [arg(1)], dtypes=F64, grad=False),
    Case("new_empty/shape", lambda t, a: a.new_empty(0, 2), [arg(1)], dtypes=F64, grad=False),
    Case("new_zeros/negative", lambda t, a: a.new_zeros(-1), [arg(1)], dtypes=F64, grad=False),
    Case("new_tensor", lambda t, a: a.new_tensor([[1, 2], [3, 4]]), [arg(1)], grad=False),
    Case("new_tensor/int-truncates", lambda t, a: a.new_tensor([1.5, -2.5]), [arg(1, kind="int")], dtypes=F64,
         grad=False),
    # ---------------------------------------------------------------- int64 bit shifts
    Case("bitwise_left_shift/edges", lambda t: _shift(t, "bitwise_left_shift", EDGES, SHIFTS), [], dtypes=F64,
         grad=False),
    Case("bitwise_right_shift/edges", lambda t: _shift(t, "bitwise_right_shift", EDGES, SHIFTS), [], dtypes=F64,
         grad=False),
    Case("shift/operators-broadcast", lambda t, a, s: (a << s, a >> s),
         [arg(3, 1, kind="int"), arg(4, kind="index", high=5)], dtypes=F64, grad=False),
    Case("shift/scalar-first", lambda t, s: t.bitwise_left_shift(-3, s), [arg(4, kind="index", high=5)],
         dtypes=F64, grad=False),
    Case("shift/bool-by-int", lambda t, a: a.bitwise_left_shift(2), [arg(3, kind="bool")], dtypes=F64, grad=False),
    Case("shift/float", lambda t, a: a.bitwise_right_shift(1), [arg(3)], dtypes=F64, grad=False),
    Case("shift/bool-by-bool", lambda t, a: a >> a, [arg(3, kind="bool")], dtypes=F64, grad=False),
    Case("shift/by-float", lambda t, a: a << 1.5, [arg(3, kind="int")], dtypes=F64, grad=False),
]
