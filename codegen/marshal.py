"""Handing a call's arrays to native code in one native step: ``sn_marshal`` checks each input array against the
graph's recipe (exactly an ndarray, of its dtype, C-contiguous, of its shape, and where the recipe asks, holding no
NaN or infinity) and writes the data addresses of the inputs and of the fresh output arrays into the call's argument
block; given the graph's entry, it runs it too
(one transition from Python instead of two: for a small graph, the marshal's cost is most of the call's).

In Python the same work costs about 0.5 µs an array (an attribute read, a type check and a ctypes address read
each), most of a small call's fixed cost; natively it is a few nanoseconds. It reads CPython's and NumPy's object
layouts (the object header, a tuple's or list's items, ``PyArrayObject``'s fields), so ``load`` probes it on known
arrays first and answers None where the layout differs (another interpreter, a free-threaded build): the caller
then keeps the Python path. It runs with the GIL held (``ctypes.PYFUNCTYPE``), so no thread changes the objects
it reads — and the entry it runs, which therefore holds the GIL: only small graphs are run so; any mismatch
answers -1 and the caller's full validation decides, with its own error messages.

The function lives in the pool's library (one object per process holds both).
"""

from __future__ import annotations

import ctypes
from collections.abc import Collection, Sequence

import numpy as np
from llvmlite import ir

from .irloops import I32, I64, PTR, Callee, span

MARSHAL = "sn_marshal"

# CPython's 64-bit layout: the object header, then a tuple's items or a list's item pointer after the size;
# NumPy's PyArrayObject fields after the header
HEADER = 16
TYPE, SIZE, ITEMS = 8, HEADER, HEADER + 8
DATA, NDIM, DIMENSIONS, DESCR, FLAGS = HEADER, HEADER + 8, HEADER + 16, HEADER + 40, HEADER + 48
C_CONTIGUOUS = 0x1
#: the recipe's header: the list, tuple and ndarray type objects, the inputs' count, the word indices of the block's
#: sizes and of its error words, the outputs' count; then each output's slot, then per input its dtype object, ndim,
#: the item size of a float input that must be finite (else 0) and axes
LIST_T, TUPLE_T, ARRAY_T, N_INPUTS, SIZES_AT, ERRORS_AT, N_OUTPUTS = range(7)
FIRST_SLOT = 7
MISMATCH = -1
#: every input fits, but one the recipe asks to be finite holds a NaN or an infinity (nothing is run)
NONFINITE = -2
#: a compiled graph's entry, ``i32 entry(buffers, dims, error)``: what the marshal runs
ENTRY_TYPE = ir.FunctionType(I32, [PTR, PTR, PTR])


def _interface_address(arr: np.ndarray) -> int:
    return arr.__array_interface__["data"][0]


def _data_address_reader():
    """The fastest correct way to read an array's data address: NumPy's ``PyArray_DATA`` field, the first after
    the object header (≈0.15 µs against ≈1.3 µs for ``__array_interface__``), when a probe confirms where it is;
    otherwise the array interface."""
    offset = object.__basicsize__
    probe = np.empty(3)
    if ctypes.c_void_p.from_address(id(probe) + offset).value != _interface_address(probe):
        return _interface_address
    read = ctypes.c_void_p.from_address
    return lambda arr: read(id(arr) + offset).value


data_address = _data_address_reader()
_TYPE = ctypes.PYFUNCTYPE(ctypes.c_int64, ctypes.py_object, ctypes.py_object, ctypes.c_void_p, ctypes.c_void_p,
                         ctypes.c_void_p)


def define(module: ir.Module) -> None:
    """Add ``i64 sn_marshal(inputs, outputs, recipe, words, entry)`` to ``module``: when every input fits its
    recipe (every symbolic axis equal to the block's size for it) the addresses are written and, given an ``entry``
    (else null), it runs on the block: answers its status, else 0; ``MISMATCH`` otherwise, or ``NONFINITE`` when
    an input the recipe asks to be finite is not; nothing promised then about the block's input and output slots
    (a skipped input's slot is never written)."""
    fn = ir.Function(module, ir.FunctionType(I64, [PTR, PTR, PTR, PTR, PTR]), MARSHAL)
    inputs, outputs, recipe, words, entry = fn.args
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    fail, nonfinite = fn.append_basic_block("fail"), fn.append_basic_block("nonfinite")

    def i64(v: int) -> ir.Constant:
        return ir.Constant(I64, v)

    def word(base: ir.Value, index) -> ir.Value:
        return b.gep(base, [index if isinstance(index, ir.Value) else i64(index)], source_etype=I64)

    def get(base: ir.Value, index) -> ir.Value:
        return b.load(word(base, index), typ=I64)

    def field(obj: ir.Value, offset: int, typ=I64) -> ir.Value:
        return b.load(b.gep(obj, [i64(offset)], source_etype=ir.IntType(8)), typ=typ)

    def require(condition: ir.Value) -> None:
        ok = fn.append_basic_block("ok")
        b.cbranch(condition, ok, fail)
        b.position_at_end(ok)

    def require_finite(data: ir.Value, n: ir.Value, typ: ir.Type) -> None:
        """Every one of the ``n`` floats at ``data`` finite (else to ``nonfinite``): v - v is 0 for them and NaN
        for a NaN or an infinity; an and over the elements, no early exit, so the loop vectorizes."""
        b.store(ir.Constant(ir.IntType(1), 1), finite)
        with span(b, i64(0), n) as e:
            v = b.load(b.gep(data, [e], source_etype=typ), typ=typ)
            b.store(b.and_(b.load(finite, typ=ir.IntType(1)), b.fcmp_ordered("ord", b.fsub(v, v), v)), finite)
        ok = fn.append_basic_block("finite")
        b.cbranch(b.load(finite, typ=ir.IntType(1)), ok, nonfinite)
        b.position_at_end(ok)

    def items_of(sequence: ir.Value, count: ir.Value) -> ir.Value:
        """The item pointers of a tuple or list of ``count`` items (else to ``fail``)."""
        kind = b.ptrtoint(field(sequence, TYPE, PTR), I64)
        is_tuple = b.icmp_unsigned("==", kind, get(recipe, TUPLE_T))
        require(b.or_(is_tuple, b.icmp_unsigned("==", kind, get(recipe, LIST_T))))
        require(b.icmp_signed("==", field(sequence, SIZE), count))
        inline = b.gep(sequence, [i64(ITEMS)], source_etype=ir.IntType(8))
        return b.select(is_tuple, inline, field(sequence, ITEMS, PTR))

    array_t = get(recipe, ARRAY_T)
    n_inputs, n_outputs = get(recipe, N_INPUTS), get(recipe, N_OUTPUTS)
    sizes = word(words, get(recipe, SIZES_AT))
    items = items_of(inputs, n_inputs)
    cursor, count, finite = b.alloca(I64), b.alloca(I64), b.alloca(ir.IntType(1))
    b.store(b.add(n_outputs, i64(FIRST_SLOT)), cursor)
    with span(b, i64(0), n_inputs) as k:
        at = b.load(cursor, typ=I64)
        wanted = get(recipe, b.add(at, i64(1)))
        check, skip, done = (fn.append_basic_block(name) for name in ("check", "skip", "next"))
        b.cbranch(b.icmp_signed("<", wanted, i64(0)), skip, check)
        b.position_at_end(skip)  # an input the block holds its own array for: not read
        b.store(b.add(at, i64(2)), cursor)
        b.branch(done)
        b.position_at_end(check)
        a = b.load(word(items, k), typ=PTR)
        require(b.icmp_unsigned("==", b.ptrtoint(field(a, TYPE, PTR), I64), array_t))
        require(b.icmp_unsigned("==", b.ptrtoint(field(a, DESCR, PTR), I64), get(recipe, at)))
        require(b.icmp_unsigned("!=", b.and_(field(a, FLAGS, I32), ir.Constant(I32, C_CONTIGUOUS)),
                                ir.Constant(I32, 0)))
        ndim = b.sext(field(a, NDIM, I32), I64)
        require(b.icmp_signed("==", ndim, wanted))
        dims = field(a, DIMENSIONS, PTR)
        axes = b.add(at, i64(3))
        b.store(i64(1), count)
        with span(b, i64(0), ndim) as j:
            want = get(recipe, b.add(axes, j))
            fixed = b.icmp_signed(">=", want, i64(0))
            # want = ~d: the block's size of dim d (a fixed axis reads the first size, always in the block)
            symbolic = get(sizes, b.select(fixed, i64(0), b.sub(i64(-1), want)))
            expected = b.select(fixed, want, symbolic)
            require(b.icmp_signed("==", get(dims, j), expected))
            b.store(b.mul(b.load(count, typ=I64), expected), count)
        data = field(a, DATA, PTR)
        itemsize = get(recipe, b.add(at, i64(2)))
        for size, typ in ((4, ir.FloatType()), (8, ir.DoubleType())):
            with b.if_then(b.icmp_signed("==", itemsize, i64(size))):
                require_finite(data, b.load(count, typ=I64), typ)
        b.store(b.ptrtoint(data, I64), word(words, k))
        b.store(b.add(axes, ndim), cursor)
        b.branch(done)
        b.position_at_end(done)
    fresh = items_of(outputs, n_outputs)
    with span(b, i64(0), n_outputs) as m:
        out = b.load(word(fresh, m), typ=PTR)
        require(b.icmp_unsigned("==", b.ptrtoint(field(out, TYPE, PTR), I64), array_t))
        slot = get(recipe, b.add(m, i64(FIRST_SLOT)))
        b.store(b.ptrtoint(field(out, DATA, PTR), I64), word(words, slot))
    run, done = fn.append_basic_block("run"), fn.append_basic_block("done")
    b.cbranch(b.icmp_unsigned("==", b.ptrtoint(entry, I64), i64(0)), done, run)
    b.position_at_end(done)
    b.ret(i64(0))
    b.position_at_end(run)
    status = b.call(Callee(entry, ENTRY_TYPE), [words, sizes, word(words, get(recipe, ERRORS_AT))])
    b.ret(b.sext(status, I64))
    b.position_at_end(fail)
    b.ret(i64(MISMATCH))
    b.position_at_end(nonfinite)
    b.ret(i64(NONFINITE))


def recipe(inputs: Sequence[tuple[np.dtype, tuple[int, ...]] | None], sizes_at: int, errors_at: int,
           output_slots: Sequence[int], finite: Collection[int] = ()) -> np.ndarray:
    """The recipe of a graph: per input its dtype (NumPy's own object, compared by identity) and axes (a fixed
    extent, or ``~d`` for dimension d), or None for an input the block holds its own array for (not read); the
    word indices of the block's sizes and error words, and each output's slot. The inputs at the positions in
    ``finite`` (float32 or float64) must hold no NaN or infinity."""
    words = [id(list), id(tuple), id(np.ndarray), len(inputs), sizes_at, errors_at, len(output_slots),
             *output_slots]
    for k, given in enumerate(inputs):
        if given is None:
            words += [0, -1]
            continue
        dtype, axes = given
        if k in finite and dtype not in (np.float32, np.float64):
            raise TypeError(f"marshal: only float32 and float64 inputs are checked for finiteness, not {dtype}")
        words += [id(dtype), len(axes), dtype.itemsize if k in finite else 0, *axes]
    return np.array(words, dtype=np.int64)


def load(address: int):
    """The marshal function at ``address`` when it reads this process's layouts right (probed on known arrays),
    else None."""
    marshal = _TYPE(address)
    return marshal if _probe(marshal) else None


class _Subclass(np.ndarray):
    """An ndarray subclass (a masked array, a matrix) is another type: the probe's refused case (``numpy.ma``
    itself would cost a warm start 15 ms of imports)."""


def _probe(marshal) -> bool:
    """Whether ``marshal`` accepts exactly what the Python path accepts, on a few arrays it must and must not."""
    f32, f64 = np.dtype(np.float32), np.dtype(np.float64)
    plan = recipe([(f32, (2, ~0)), (f64, ())], 5, 6, [2])
    words = (ctypes.c_int64 * 8)()
    words[5] = 3
    a, b, out = np.arange(6, dtype=np.float32).reshape(2, 3), np.zeros((), np.float64), np.empty(4, np.int64)

    def run(inputs, outputs=(out,), size: int = 3) -> int:
        words[5] = size
        return marshal(inputs, outputs, data_address(plan), ctypes.addressof(words), None)

    if run([a, b]) != 0 or list(words[:3]) != [data_address(a), data_address(b), data_address(out)]:
        return False
    skipping = recipe([None, (f64, ())], 5, 6, [])
    words[0] = -1
    if marshal([None, b], (), data_address(skipping), ctypes.addressof(words), None) != 0 or words[0] != -1:
        return False
    words[0] = 0
    if run((a, b), [out]) != 0 or words[0] != data_address(a):
        return False
    checked = recipe([(f32, (2, ~0)), (f64, ())], 5, 6, [], finite=(0, 1))
    words[5] = 3
    b[()] = 1.0
    fine = marshal([a, b], (), data_address(checked), ctypes.addressof(words), None)
    a[1, 2], b[()] = np.inf, 0.0
    infinite = marshal([a, b], (), data_address(checked), ctypes.addressof(words), None)
    a[1, 2], b[()] = 5.0, np.nan
    nan = marshal([a, b], (), data_address(checked), ctypes.addressof(words), None)
    b[()] = 0.0
    if (fine, infinite, nan) != (0, NONFINITE, NONFINITE):
        return False
    refused = [run([a.T.copy().T, b]), run([a.astype(f64), b]), run([a, b], size=4), run([a]), run([a, b, b]),
               run([a.view(_Subclass), b]), run([a, b.reshape(1)]), run([a, None]), run({0: a, 1: b}),
               run([a, b], [[out]])]
    return all(r == MISMATCH for r in refused)
