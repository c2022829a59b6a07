"""What the direct-convolution and dot-product kernels share: their signature ``(C, A, B, four extents, six
offset tables, scale, accumulate, …)`` and the IR helpers their tiles are written with."""

from __future__ import annotations

from llvmlite import ir

from . import mathlib
from .irloops import I1, I32, I64, PTR


def i64(v: int) -> ir.Constant:
    return ir.Constant(I64, v)


class TiledKernel:
    """An internal, never-inlined function of that signature (C, A, B ``noalias``) and a builder at its entry, with
    its vector type and intrinsics."""

    @classmethod
    def named(cls, module: ir.Module, T: ir.Type, lanes: int, name: str,
              extra: tuple[ir.Type, ...] = ()) -> TiledKernel | ir.Function:
        """The module's function of this name (``name`` with the precision after ``sn_``) if it has one, else a
        new kernel to build (with ``extra`` arguments after the common ones)."""
        precision = "f32" if isinstance(T, ir.FloatType) else "f64"
        name = name.replace("sn_", f"sn_{precision}_", 1)
        return module.globals[name] if name in module.globals else cls(module, T, lanes, name, extra)

    def __init__(self, module: ir.Module, T: ir.Type, lanes: int, name: str, extra: tuple[ir.Type, ...] = ()):
        self.precision = "f32" if isinstance(T, ir.FloatType) else "f64"
        arguments = [PTR] * 3 + [I64] * 4 + [PTR] * 6 + [T, I1, *extra]
        self.fn = ir.Function(module, ir.FunctionType(ir.VoidType(), arguments), name)
        self.fn.linkage = "internal"
        self.fn.attributes.add("noinline")
        for a in self.fn.args[:3]:
            a.add_attribute("noalias")
        self.module, self.T, self.lanes = module, T, lanes
        self.b = ir.IRBuilder(self.fn.append_basic_block("entry"))
        self.vec, self.ivec = ir.VectorType(T, lanes), ir.VectorType(I64, lanes)
        suffix = f"v{lanes}{self.precision}"
        mask = ir.VectorType(I1, lanes)
        self.fma = self.intrinsic(f"llvm.fma.{suffix}", ir.FunctionType(self.vec, [self.vec] * 3))
        self.masked_load = self.intrinsic(f"llvm.masked.load.{suffix}.p0",
                                          ir.FunctionType(self.vec, [PTR, I32, mask, self.vec]))
        self.masked_store = self.intrinsic(f"llvm.masked.store.{suffix}.p0",
                                           ir.FunctionType(ir.VoidType(), [self.vec, PTR, I32, mask]))
        self.zero, self.align = ir.Constant(self.vec, [0.0] * lanes), ir.Constant(I32, 4)

    def intrinsic(self, name: str, fnty: ir.FunctionType) -> ir.Function:
        return self.module.globals.get(name) or ir.Function(self.module, fnty, name)

    def splat(self, x: ir.Value, vector: ir.VectorType | None = None) -> ir.Value:
        vector = vector or self.vec
        undefined = ir.Constant(vector, None)
        mask = ir.Constant(ir.VectorType(I32, self.lanes), [0] * self.lanes)
        return self.b.shuffle_vector(self.b.insert_element(undefined, x, ir.Constant(I64, 0)), undefined, mask)

    def at(self, base: ir.Value, offset: ir.Value, etype: ir.Type | None = None) -> ir.Value:
        return self.b.gep(base, [offset], source_etype=etype or self.T)

    def entry_of(self, table: ir.Value, n: ir.Value) -> ir.Value:
        return self.b.load(self.at(table, n, I64), typ=I64)

    def clamped(self, n: ir.Value, top: ir.Value) -> ir.Value:
        return self.b.select(self.b.icmp_signed(">", n, top), top, n)

    def below(self, start: ir.Value, stop: ir.Value) -> ir.Value:
        """The mask of the lanes start, start + 1, … below ``stop``."""
        lanes = self.b.add(self.splat(start, self.ivec), ir.Constant(self.ivec, list(range(self.lanes))))
        return self.b.icmp_signed("<", lanes, self.splat(stop, self.ivec))

    def lanes_within(self, lo: ir.Value, hi: ir.Value) -> ir.Value:
        """The mask of the lanes l with lo ≤ l ≤ hi (i64 bounds, compared in i32: a tile's lanes are few)."""
        b, narrow = self.b, ir.VectorType(I32, self.lanes)
        lanes = ir.Constant(narrow, list(range(self.lanes)))
        clamp = [ir.Constant(I64, v) for v in (-1, self.lanes)]

        def bound(v):
            v = b.select(b.icmp_signed("<", v, clamp[0]), clamp[0], v)
            return self.splat(b.trunc(b.select(b.icmp_signed(">", v, clamp[1]), clamp[1], v), I32), narrow)

        return b.and_(b.icmp_signed(">=", lanes, bound(lo)), b.icmp_signed("<=", lanes, bound(hi)))

    def store(self, ptr: ir.Value, value: ir.Value, scale: ir.Value, mask: ir.Value, first: ir.Value) -> None:
        """``C = scale·value`` on the lanes of ``mask`` when ``first``, else ``C += scale·value``."""
        b = self.b
        v = mathlib.fast(b.fmul(value, scale))
        old = b.call(self.masked_load, [ptr, self.align, mask, self.zero])
        b.call(self.masked_store, [b.select(first, v, mathlib.fast(b.fadd(old, v))), ptr, self.align, mask])
