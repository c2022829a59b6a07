"""Splitting a kernel across threads: which kernels split, into how many parts, and the launcher that forks them.

A kernel splits where its parts write disjoint memory and each part computes exactly what the whole kernel
would have computed there — so the result is bitwise the same on any number of threads:
- a loop nest whose every write is indexed by the outermost loop's symbol: the parts take slices of that loop;
- a contraction: the parts take slices of its rows or of its columns (whichever has more tiles), whole tiles
  each, so every element is summed in the same order.

The kernel's work is known at run time (its loop extents with the batch known); the pool turns it into parts
(one per ``pool.GRAIN`` units, so small kernels never pay for a fork). The launcher ``l_<name>`` has the
unsplit kernel's signature; it packs its arguments into a context and calls the pool's ``sn_fork`` with its
work and the job ``j_<name>``, which runs one part and reports the first failing part's status and value.
"""

from __future__ import annotations

import sympy as sp
from llvmlite import ir

from .driver import int_of
from .irloops import I32, I64, PTR
from .loops import Contraction, Kernel, Loop, MultiReduce, Reduce, Store
from .pool import FORK

ITERATION = 32  # units of work of one innermost iteration; a contraction's multiply-add (vectorized FMA) is 1
JOB = ir.FunctionType(I32, [PTR, I64, I64])


def _writes(stmts):
    for s in stmts:
        if isinstance(s, Loop):
            yield from _writes(s.body)
        elif isinstance(s, Store | Reduce):
            yield s.index
        elif isinstance(s, MultiReduce):
            yield from (r.index for r in s.reductions)
        else:
            yield None  # a zeroing or a contraction inside: not split by an outer loop


def split_kind(kernel: Kernel) -> str | None:
    """"loop", "contraction" or None (the kernel runs whole on the caller's thread)."""
    if len(kernel.body) != 1:
        return None
    top = kernel.body[0]
    if isinstance(top, Contraction):
        return "contraction"
    if isinstance(top, Loop) and all(index is not None and top.var in index for index in _writes(top.body)):
        return "loop"
    return None


def work(kernel: Kernel) -> sp.Expr:
    """The kernel's size in units of work (a polynomial in the dimensions): ``ITERATION`` per innermost
    iteration, one per multiply-add of a contraction."""
    d = kernel.definition

    def of(stmts) -> sp.Expr:
        total = sp.Integer(0)
        for s in stmts:
            if isinstance(s, Loop):
                inner = of(s.body)
                total += sp.sympify(s.extent) * (inner if inner != 0 else ITERATION)
            elif isinstance(s, Store):
                total += ITERATION
            elif isinstance(s, Reduce | MultiReduce):
                reductions = s.reductions if isinstance(s, MultiReduce) else [s]
                inner = of(reductions[0].loops)
                total += len(reductions) * (inner if inner != 0 else ITERATION)
            elif isinstance(s, Contraction):
                size = sp.Integer(1)
                for symbol in (*s.i, *s.j, *s.k, *s.outer):
                    size *= sp.sympify(d.extents[symbol])
                total += size
        return total

    return sp.expand(of(kernel.body))


def part_range(b: ir.IRBuilder, part: ir.Value, parts: ir.Value, units: ir.Value, unit: ir.Value | int,
               stop: ir.Value) -> tuple[ir.Value, ir.Value]:
    """Part ``part`` of ``parts`` of ``units`` units of ``unit`` elements each, clipped at ``stop``: [lo, hi)."""
    unit = ir.Constant(I64, unit) if isinstance(unit, int) else unit

    def edge(p):
        at = b.mul(b.sdiv(b.mul(p, units), parts), unit)
        return b.select(b.icmp_signed("<", at, stop), at, stop)

    return edge(part), edge(b.add(part, ir.Constant(I64, 1)))


def launcher(module: ir.Module, kernel: ir.Function, name: str, buffers: int, dims: list[sp.Symbol],
             size: sp.Expr) -> ir.Function:
    """``l_<name>(buffers…, dims…, error)``: the kernel's arguments packed for its job and its work handed to the
    pool, which runs it whole when it is small, else in parts."""
    fork = module.globals.get(FORK) or ir.Function(module, ir.FunctionType(ir.VoidType(), [PTR, PTR, I64]), FORK)
    arguments = [PTR] * buffers + [I64] * len(dims) + [PTR]
    launch = ir.Function(module, ir.FunctionType(I32, arguments), f"l_{name}")
    job = ir.Function(module, JOB, f"j_{name}")
    launch.linkage = job.linkage = "internal"
    status_word = len(arguments)

    b = ir.IRBuilder(launch.append_basic_block("entry"))
    given = list(launch.args)
    work = int_of(b, size, dict(zip(dims, given[buffers:buffers + len(dims)], strict=True)))
    context = b.alloca(I64, size=status_word + 1)
    for k, value in enumerate(given):
        b.store(b.ptrtoint(value, I64) if value.type == PTR else value,
                b.gep(context, [ir.Constant(I64, k)], source_etype=I64))
    status = b.gep(context, [ir.Constant(I64, status_word)], source_etype=I64)
    b.store(ir.Constant(I64, 0), status)
    b.call(fork, [job, context, work])
    b.ret(b.trunc(b.load(status, typ=I64), I32))

    b = ir.IRBuilder(job.append_basic_block("entry"))
    context, part, parts = job.args
    values = []
    for k, t in enumerate(arguments):
        word = b.load(b.gep(context, [ir.Constant(I64, k)], source_etype=I64), typ=I64)
        values.append(b.inttoptr(word, PTR) if t == PTR else word)
    error = b.alloca(I64, size=2)
    result = b.call(kernel, [*values[:-1], error, part, parts])
    with b.if_then(b.icmp_signed("!=", result, ir.Constant(I32, 0)), likely=False):
        slot = b.gep(context, [ir.Constant(I64, status_word)], source_etype=I64)
        first = b.extract_value(b.cmpxchg(slot, ir.Constant(I64, 0), b.sext(result, I64), "monotonic",
                                          "monotonic"), 1)
        with b.if_then(first):  # the status and its value come from the same part
            b.store(b.load(error, typ=I64), values[-1])
    b.ret(ir.Constant(I32, 0))
    return launch
