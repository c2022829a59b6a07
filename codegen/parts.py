"""Splitting a kernel across threads: which kernels split, into how many parts, and the launcher that forks them.

A kernel splits where its parts write disjoint memory and each part computes exactly what the whole kernel
would have computed there — so the result is bitwise the same on any number of threads:
- a loop nest whose every write is indexed by the outermost loop's symbol: the parts take slices of that loop;
- a contraction: the parts take slices of its rows or of its columns (whichever has more tiles), whole tiles
  each, so every element is summed in the same order.

The kernel's work is known at run time (its loop extents with the batch known); the pool turns it into parts
(one per ``pool.GRAIN`` units, so small kernels never pay for a fork). A caller computes the work and calls the
launcher ``l_<b>`` shared by every kernel of ``b`` buffers with the kernel's address, its work and the unsplit
kernel's arguments; the launcher packs them into a context and calls the pool's ``sn_fork`` with the work and
the job ``j_<b>``, which runs one part of the kernel it finds in the context and reports the first failing
part's status and value. One launcher and one job a signature, not one a kernel: the ~115 kernels of a 10-layer
step that split have 4 signatures, and LLVM compiles each function once.
"""

from __future__ import annotations

from typing import NamedTuple

from llvmlite import ir

from symnet.core.lazy import sympy as sp
from symnet.errors import LoweringError

from .irloops import I32, I64, PTR, Callee
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
    if isinstance(top, Loop) and sp.sympify(top.extent) != 1 and \
            all(index is not None and top.var in index for index in _writes(top.body)):
        return "loop"  # (a loop of one iteration has one part: called directly, it skips the pool's call)
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


def int_of(b: ir.IRBuilder, e: sp.Expr, env: dict) -> ir.Value:
    """A shape expression (integers, dimension symbols, their sums and products) as an i64 value."""
    if e.is_Integer:
        return ir.Constant(I64, int(e))
    if isinstance(e, sp.Symbol):
        return env[e]
    if isinstance(e, sp.Mul | sp.Add):
        v = ir.Constant(I64, int(isinstance(e, sp.Mul)))
        for a in e.args:
            v = (b.mul if isinstance(e, sp.Mul) else b.add)(v, int_of(b, a, env))
        return v
    if isinstance(e, sp.Pow) and e.exp.is_Integer and e.exp > 0:
        base, v = int_of(b, e.base, env), ir.Constant(I64, 1)
        for _ in range(int(e.exp)):
            v = b.mul(v, base)
        return v
    raise LoweringError(f"codegen: shape {e} is not a polynomial in the dimensions")


class Launch(NamedTuple):
    """A split kernel as its callers see it: the launcher of its signature, the kernel, and its work."""

    launcher: ir.Function
    kernel: ir.Function
    dims: list[sp.Symbol]
    size: sp.Expr


def call(b: ir.IRBuilder, callee: ir.Function | Launch, arguments: list[ir.Value]) -> ir.Value:
    """Call a kernel with its arguments (buffers, dimensions, error): directly, or through its launcher with its
    address and its work (computed here from the dimensions)."""
    if isinstance(callee, ir.Function):
        return b.call(callee, arguments)
    buffers = len(arguments) - len(callee.dims) - 1
    work = int_of(b, callee.size, dict(zip(callee.dims, arguments[buffers:-1], strict=True)))
    return b.call(callee.launcher, [callee.kernel, work, *arguments])


def launcher(module: ir.Module, kernel: ir.Function, buffers: int, dims: list[sp.Symbol], size: sp.Expr) -> Launch:
    """The kernel's ``Launch``, with ``l_<buffers>(kernel, work, buffers…, dims…, error)`` (made on first use):
    the kernel's address and arguments packed for the job ``j_<buffers>`` and the work handed to the pool, which
    runs it whole when it is small, else in parts."""
    name = f"l_{buffers}"
    launch = module.globals.get(name) or _launcher(module, name, buffers, len(dims))
    return Launch(launch, kernel, dims, size)


def _launcher(module: ir.Module, name: str, buffers: int, dims: int) -> ir.Function:
    fork = module.globals.get(FORK) or ir.Function(module, ir.FunctionType(ir.VoidType(), [PTR, PTR, I64]), FORK)
    arguments = [PTR] * buffers + [I64] * dims + [PTR]
    kernel_type = ir.FunctionType(I32, [*arguments, I64, I64])
    launch = ir.Function(module, ir.FunctionType(I32, [PTR, I64, *arguments]), name)
    job = ir.Function(module, JOB, f"j_{buffers}")
    launch.linkage = job.linkage = "internal"
    status_word = len(arguments) + 1  # after the kernel's address and its arguments

    b = ir.IRBuilder(launch.append_basic_block("entry"))
    kernel, work, *given = launch.args
    context = b.alloca(I64, size=status_word + 1)
    for k, value in enumerate([kernel, *given]):
        b.store(b.ptrtoint(value, I64) if value.type == PTR else value,
                b.gep(context, [ir.Constant(I64, k)], source_etype=I64))
    status = b.gep(context, [ir.Constant(I64, status_word)], source_etype=I64)
    b.store(ir.Constant(I64, 0), status)
    b.call(fork, [job, context, work])
    b.ret(b.trunc(b.load(status, typ=I64), I32))

    b = ir.IRBuilder(job.append_basic_block("entry"))
    context, part, parts = job.args
    words = [b.load(b.gep(context, [ir.Constant(I64, k)], source_etype=I64), typ=I64) for k in range(status_word)]
    values = [b.inttoptr(word, PTR) if t == PTR else word for word, t in zip(words[1:], arguments, strict=True)]
    error = b.alloca(I64, size=2)
    result = b.call(Callee(b.inttoptr(words[0], PTR), kernel_type), [*values[:-1], error, part, parts])
    with b.if_then(b.icmp_signed("!=", result, ir.Constant(I32, 0)), likely=False):
        slot = b.gep(context, [ir.Constant(I64, status_word)], source_etype=I64)
        first = b.extract_value(b.cmpxchg(slot, ir.Constant(I64, 0), b.sext(result, I64), "monotonic",
                                          "monotonic"), 1)
        with b.if_then(first):  # the status and its value come from the same part
            b.store(b.load(error, typ=I64), values[-1])
    b.ret(ir.Constant(I32, 0))
    return launch
