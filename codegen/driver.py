"""The driver: a graph run many times in one native call, as a ``Repeat`` describes (``symnet.core.ir``).

``i32 sn_repeat(ptr buffers, ptr dims, ptr error, i64 steps, ptr index, ptr starts, i64 period, ptr records)``:
``buffers`` holds the graph's inputs, its definitions, one source per gathered input, then one array per series
input; ``starts`` is always a valid array (it is read before the null test selects). Iteration s, when
``index`` is not null, copies rows ``index[starts[s mod period] … starts[s mod period + 1]]`` of each source
into its input and binds the ``rows`` dimension to their count; it sets each series input to element s of its
array; then it calls the kernels, writes the recorded 0-d definitions
to ``records[s, :]`` (as doubles), copies feedback definitions into their inputs and adds one to each
counter. Rows are checked against the sources by the runtime before the call. ``error`` holds two i64: the
value a kernel's index check reports, and the iteration it failed in (the number of iterations completed).

``i32 sn_repeat_block(ptr buffers, ptr dims, ptr error)`` is the same run with the other arguments read from the
words after the error words (``interface.STEPS`` …): the entry's signature, so a call passes three pointers (a
marshal runs it in its own native step); after a complete run it writes the first step whose loss (the first
record) is NaN or infinite, so a caller learns it without reading the records in Python.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir

from symnet.core.ir import Graph, Repeat
from symnet.core.lazy import sympy as sp

from .interface import FIRST_NONFINITE, INDEX, PERIOD, RECORDS, REPEAT, REPEAT_BLOCK, STARTS, STEPS
from .irloops import F32, F64, I1, I8, I32, I64, PTR, STORAGE, span
from .parts import call, int_of


def _memcpy(module: ir.Module) -> ir.Function:
    name = "llvm.memcpy.p0.p0.i64"
    if name in module.globals:
        return module.globals[name]
    return ir.Function(module, ir.FunctionType(ir.VoidType(), [PTR, PTR, I64, I1]), name)


def emit_repeat(module: ir.Module, graph: Graph, kernels: list, dims: list[sp.Symbol], slot: dict[str, int],
                repeat: Repeat) -> None:
    """Append ``sn_repeat`` to the module; ``kernels`` are the (function, buffer names) the entry calls."""
    tensors = graph.tensors()
    fn = ir.Function(module, ir.FunctionType(I32, [PTR, PTR, PTR, I64, PTR, PTR, I64, PTR]), REPEAT)
    fn.attributes.add("minsize")  # its time is in the kernels it calls: compiled small, as sn_entry
    fn.attributes.add("optsize")
    bufs, dim_array, error_slot, steps, index, starts, period, records = fn.args
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    memcpy = _memcpy(module)
    sources = {t.name: len(slot) + k for k, t in enumerate((*repeat.gathers, *repeat.series))}

    def i64(v):
        return ir.Constant(I64, v)

    def buffer(position: int):
        return b.load(b.gep(bufs, [i64(position)], source_etype=PTR), typ=PTR)

    def numel(name, dim_values):
        n = i64(1)
        env = dict(zip(dims, dim_values, strict=True))
        for d in tensors[name].shape:
            n = b.mul(n, int_of(b, sp.sympify(d), env))
        return n

    def load_i64(array, position):
        return b.load(b.gep(array, [position], source_etype=I64), typ=I64)

    if repeat.gathers:  # the step's place in the period: counted, not a division per step
        gather = b.icmp_unsigned("!=", b.ptrtoint(index, I64), i64(0))
        cycle, counted = b.select(gather, period, i64(1)), b.alloca(I64)
        b.store(i64(0), counted)
    with span(b, i64(0), steps) as step:
        b.store(step, b.gep(error_slot, [i64(1)], source_etype=I64))  # iterations completed, if one fails
        dim_values = [b.load(b.gep(dim_array, [i64(k)], source_etype=I64), typ=I64) for k in range(len(dims))]
        if repeat.gathers:
            phase = b.load(counted, typ=I64)
            following = b.add(phase, i64(1))
            b.store(b.select(b.icmp_signed("==", following, cycle), i64(0), following), counted)
            first = b.select(gather, load_i64(starts, phase), i64(0))
            rows = b.select(gather, b.sub(load_i64(starts, b.add(phase, i64(1))), first), i64(0))
            if repeat.rows is not None:
                position = dims.index(repeat.rows)
                dim_values[position] = b.select(gather, rows, dim_values[position])
            for target in repeat.gathers:
                t = tensors[target.name]
                row_bytes = i64(int(np.prod([int(d) for d in t.shape[1:]], dtype=np.int64)) * t.dtype.itemsize)
                dst, src = buffer(slot[target.name]), buffer(sources[target.name])
                with span(b, i64(0), rows) as r:
                    row = load_i64(index, b.add(first, r))
                    b.call(memcpy, [b.gep(dst, [b.mul(r, row_bytes)], source_etype=I8),
                                    b.gep(src, [b.mul(row, row_bytes)], source_etype=I8), row_bytes,
                                    ir.Constant(I1, 0)])
        for target in repeat.series:
            element = STORAGE[tensors[target.name].dtype]
            value = b.load(b.gep(buffer(sources[target.name]), [step], source_etype=element), typ=element)
            b.store(value, buffer(slot[target.name]))
        for kernel_fn, names in kernels:
            status = call(b, kernel_fn, [*(buffer(slot[n]) for n in names), *dim_values, error_slot])
            with b.if_then(b.icmp_signed("!=", status, ir.Constant(I32, 0)), likely=False):
                b.ret(status)
        for k, d in enumerate(repeat.record):
            record_type = STORAGE[tensors[d.name].dtype]
            value = b.load(buffer(slot[d.name]), typ=record_type)
            value = b.fpext(value, F64) if record_type == F32 else value
            if record_type not in (F32, F64):
                value = b.sitofp(value, F64)
            at = b.add(b.mul(step, i64(len(repeat.record))), i64(k))
            b.store(value, b.gep(records, [at], source_etype=F64))
        for source, target in repeat.feedback:
            nbytes = b.mul(numel(target.name, dim_values), i64(tensors[target.name].dtype.itemsize))
            b.call(memcpy, [buffer(slot[target.name]), buffer(slot[source.name]), nbytes, ir.Constant(I1, 0)])
        for counter in repeat.counters:
            counter_type = STORAGE[tensors[counter.name].dtype]
            at = buffer(slot[counter.name])
            b.store(b.fadd(b.load(at, typ=counter_type), ir.Constant(counter_type, 1.0)), at)
    b.ret(ir.Constant(I32, 0))
    _emit_repeat_block(module, fn, len(repeat.record))


def _emit_repeat_block(module: ir.Module, repeat_fn: ir.Function, records_per_step: int) -> None:
    """``sn_repeat_block``: ``repeat_fn`` with its arguments from the block, then the scan of the first records."""
    fn = ir.Function(module, ir.FunctionType(I32, [PTR, PTR, PTR]), REPEAT_BLOCK)
    fn.attributes.add("minsize")
    fn.attributes.add("optsize")
    bufs, dim_array, error = fn.args
    b = ir.IRBuilder(fn.append_basic_block("entry"))

    def word(k: int):
        return b.gep(error, [ir.Constant(I64, k)], source_etype=I64)

    steps, period = b.load(word(STEPS), typ=I64), b.load(word(PERIOD), typ=I64)
    index, starts, records = (b.load(word(k), typ=PTR) for k in (INDEX, STARTS, RECORDS))
    status = b.call(repeat_fn, [bufs, dim_array, error, steps, index, starts, period, records])
    with b.if_then(b.icmp_signed("!=", status, ir.Constant(I32, 0)), likely=False):
        b.ret(status)
    b.store(ir.Constant(I64, -1), word(FIRST_NONFINITE))
    if records_per_step:
        with span(b, ir.Constant(I64, 0), steps) as step:
            at = b.mul(step, ir.Constant(I64, records_per_step))
            loss = b.load(b.gep(records, [at], source_etype=F64), typ=F64)
            with b.if_then(b.fcmp_unordered("uno", b.fsub(loss, loss), loss), likely=False):
                b.store(step, word(FIRST_NONFINITE))
                b.ret(ir.Constant(I32, 0))
    b.ret(ir.Constant(I32, 0))
