"""The LLVM types buffers are stored in, and structured control flow for llvmlite's IRBuilder (it has no
``for_range``)."""

from __future__ import annotations

import contextlib

import numpy as np
from llvmlite import ir

I1, I8, I32, I64 = ir.IntType(1), ir.IntType(8), ir.IntType(32), ir.IntType(64)
F32, F64 = ir.FloatType(), ir.DoubleType()
PTR = ir.PointerType()
#: each dtype's storage type: codegen reads and writes a buffer only as its own dtype
STORAGE = {np.dtype(np.float32): F32, np.dtype(np.float64): F64, np.dtype(np.int64): I64, np.dtype(np.bool_): I8}


class Callee:
    """A function's address as a callee: llvmlite reads a call's function type off the callee, and an opaque
    pointer carries none."""

    def __init__(self, pointer: ir.Value, function_type: ir.FunctionType):
        self.pointer, self.type, self.function_type = pointer, pointer.type, function_type

    def get_reference(self) -> str:
        return self.pointer.get_reference()


@contextlib.contextmanager
def span(b: ir.IRBuilder, start: ir.Value, stop: ir.Value, step: int = 1):
    """``for v in range(start, stop, step)`` over i64 values; yields the induction variable."""
    pre = b.block
    body, done = b.append_basic_block("loop.body"), b.append_basic_block("loop.done")
    b.cbranch(b.icmp_signed("<", start, stop), body, done)
    b.position_at_end(body)
    v = b.phi(I64)
    v.add_incoming(start, pre)
    yield v
    nxt = b.add(v, ir.Constant(I64, step))
    v.add_incoming(nxt, b.block)
    b.cbranch(b.icmp_signed("<", nxt, stop), body, done)
    b.position_at_end(done)
