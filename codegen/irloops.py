"""Structured control flow for llvmlite's IRBuilder, which has no ``for_range``."""

from __future__ import annotations

import contextlib

from llvmlite import ir

I64 = ir.IntType(64)


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
