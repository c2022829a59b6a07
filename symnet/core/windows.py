"""Sliding-window ops — convolution, pooling, padding, unfold/fold, concatenation — as op rows in index notation.

Each is one definition over the window's domain, so its derivatives come from the index algebra like any other
op's: a convolution reads ``X[b, c, s·y + d·i]`` (affine), and its input gradient comes out of
``symnet.core.affine`` as the correlation of the output gradient with the flipped kernel, with divisibility and
range guards where the stride skips positions. Inputs are batched and channel-first, ``(B, C, *spatial)``, and
already padded: padding is its own op (``Pad``), a guarded read.
"""

from __future__ import annotations

from collections.abc import Sequence
from math import prod
from typing import NamedTuple

from ..errors import ShapeError
from . import lazy
from .ir import Dim, Tensor, access, fmt_shape, fresh_indices
from .lazy import sympy as sp
from .ops import Lowered, constant, elementwise

# SymPy's side (element functions, the gather form of a window's adjoint): imported when first used
F = lazy.module("symnet.core.functions")
affine = lazy.module("symnet.core.affine")


def window_output(size: int, kernel: int, stride: int, dilation: int, op: str, shape: tuple) -> int:
    """Positions of a window sliding over ``size`` elements (the input already padded)."""
    span = dilation * (kernel - 1) + 1
    if span > size:
        raise ShapeError(f"{op}: kernel size {kernel} (dilated to {span}) is larger than the padded input size "
                         f"{size} (input shape {fmt_shape(shape)})")
    return (size - span) // stride + 1


def _spatial(shape: Sequence[Dim], n: int, op: str) -> tuple[int, ...]:
    spatial = tuple(shape[-n:]) if n else ()
    if len(shape) != n + 2 or not all(isinstance(s, int) for s in spatial):
        raise ShapeError(f"{op}: expected a batched input (N, C, {n} spatial dims), got shape {fmt_shape(shape)}")
    return spatial


def _window_indices(out_shape, kernel, stride, dilation, avoid=()):
    """Output-position symbols y, kernel-offset symbols i, and the read positions s·y + d·i."""
    ys = fresh_indices(out_shape, avoid=avoid)
    ks = fresh_indices(kernel, avoid=(*avoid, *ys))
    reads = tuple(s * y + d * i for y, i, s, d in zip(ys, ks, stride, dilation, strict=True))
    return ys, ks, reads


class Pad(NamedTuple):
    """Padding of the trailing dimensions: ``pads`` holds ``(before, after)`` per dimension (negative crops);
    ``mode`` constant (a guarded read filled with ``value``), reflect, replicate or circular (index maps)."""

    pads: tuple[tuple[int, int], ...]
    mode: str = "constant"
    value: float = 0.0

    label = "pad"

    def shape(self, shapes: Sequence[tuple]) -> tuple:
        (shape,) = shapes
        lead = len(shape) - len(self.pads)
        if lead < 0:
            raise ShapeError(f"pad: {len(self.pads)} padded dims for a tensor of shape {fmt_shape(shape)}")
        out = list(shape[:lead])
        for (lo, hi), d in zip(self.pads, shape[lead:], strict=True):
            if self.mode == "reflect" and (lo >= d or hi >= d):
                raise ShapeError(f"pad: reflect padding ({lo}, {hi}) must be less than the dimension {d} "
                                 f"(input shape {fmt_shape(shape)})")
            if self.mode == "circular" and (lo > d or hi > d):
                raise ShapeError(f"pad: circular padding ({lo}, {hi}) must be at most the dimension {d} "
                                 f"(input shape {fmt_shape(shape)})")
            if self.mode in ("replicate", "reflect", "circular") and d == 0:
                raise ShapeError(f"pad: {self.mode} padding of an empty dimension (input shape {fmt_shape(shape)})")
            if d + lo + hi < 0:
                raise ShapeError(f"pad: padding ({lo}, {hi}) of a dimension of size {d} leaves a negative size")
            out.append(d + lo + hi)
        return tuple(out)

    def define(self, ins: Sequence[Tensor]) -> Lowered:
        (src,) = ins
        shape = self.shape([src.shape])
        lead = len(shape) - len(self.pads)

        def body(syms):
            index, conditions = list(syms[:lead]), []
            for (lo, _), u, d in zip(self.pads, syms[lead:], src.shape[lead:], strict=True):
                t = u - lo
                if self.mode == "constant":
                    conditions.append(F.between(t, 0, d - 1))
                    index.append(t)
                elif self.mode == "reflect":
                    index.append((d - 1) - sp.Abs((d - 1) - sp.Abs(t)))
                elif self.mode == "replicate":
                    index.append(sp.Min(sp.Max(t, 0), d - 1))
                else:
                    index.append(sp.Mod(t, d))
            read = access(src.name, index)
            if not conditions:
                return read
            ranges = dict(zip(syms, shape, strict=True))
            return affine.prune_guards(F.guarded(read, constant(self.value), *conditions), ranges)

        return elementwise(shape, body)


class Conv(NamedTuple):
    """``out[b, o, y] = Σ_{c, i} W[o, c, i]·X[b, c, s·y + d·i]`` over every spatial dimension."""

    stride: tuple[int, ...]
    dilation: tuple[int, ...]

    label = "conv"

    def shape(self, shapes: Sequence[tuple]) -> tuple:
        x, w = shapes
        n, op = len(self.stride), f"conv{len(self.stride)}d"
        spatial = _spatial(x, n, op)
        if len(w) != n + 2:
            raise ShapeError(f"{op}: weight of shape {fmt_shape(w)} needs {n + 2} dims")
        if w[1] != x[1]:
            raise ShapeError(f"{op}: input of shape {fmt_shape(x)} has {x[1]} channels but the weight of shape "
                             f"{fmt_shape(w)} expects {w[1]}")
        return (x[0], w[0]) + tuple(window_output(size, k, s, d, op, x)
                                   for size, k, s, d in zip(spatial, w[2:], self.stride, self.dilation, strict=True))

    def define(self, ins: Sequence[Tensor]) -> Lowered:
        x, w = ins
        shape = self.shape([x.shape, w.shape])
        b, o = fresh_indices(shape[:2])
        ys, ks, reads = _window_indices(shape[2:], w.shape[2:], self.stride, self.dilation, avoid=(b, o))
        (c,) = fresh_indices([x.shape[1]], avoid=(b, o, *ys, *ks))
        body = access(w.name, (o, c, *ks)) * access(x.name, (b, c, *reads))
        domain = ((b, shape[0]), (o, shape[1]), *zip(ys, shape[2:], strict=True), (c, x.shape[1]),
                  *zip(ks, w.shape[2:], strict=True))
        return Lowered(shape, domain, (b, o, *ys), body, "sum")


class Pool(NamedTuple):
    """``combine`` (sum, max or argmax) of ``X[b, c, s·y + d·i]`` over each window; a sum is divided by
    ``divisor``: None, an int (``divisor_override``), or per dimension ``(padding, size, count_include_pad)``
    for PyTorch's average-pool count of each window."""

    combine: str
    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    dilation: tuple[int, ...]
    divisor: int | tuple | None = None
    #: for max and argmax: (before, after) padding per dimension, read as guarded positions that never win
    #: (PyTorch's window scan, ties="window"); the other combines take an already padded input
    padding: tuple[tuple[int, int], ...] = ()

    @property
    def label(self) -> str:
        return {"sum": "avg_pool" if self.divisor else "sum_pool", "max": "max_pool", "argmax": "argmax_pool"}[
            self.combine]

    def shape(self, shapes: Sequence[tuple]) -> tuple:
        (x,) = shapes
        n = len(self.kernel)
        spatial = _spatial(x, n, f"{self.label}{n}d")
        pads = self.padding or ((0, 0),) * n
        return tuple(x[:2]) + tuple(window_output(size + lo + hi, k, s, d, f"{self.label}{n}d", x)
                                    for size, k, s, d, (lo, hi) in
                                    zip(spatial, self.kernel, self.stride, self.dilation, pads, strict=True))

    def define(self, ins: Sequence[Tensor]) -> Lowered:
        (x,) = ins
        shape = self.shape([x.shape])
        b, c = fresh_indices(shape[:2])
        ys, ks, reads = _window_indices(shape[2:], self.kernel, self.stride, self.dilation, avoid=(b, c))
        domain = ((b, shape[0]), (c, shape[1]), *zip(ys, shape[2:], strict=True), *zip(ks, self.kernel, strict=True))
        if self.padding:
            reads = tuple(r - lo for r, (lo, _) in zip(reads, self.padding, strict=True))
            inside = [F.between(r, 0, size - 1) for r, size in zip(reads, x.shape[2:], strict=True)]
            body = affine.prune_guards(F.guarded(access(x.name, (b, c, *reads)), -sp.oo, *inside), dict(domain))
            return Lowered(shape, domain, (b, c, *ys), body, self.combine, "window")
        body = access(x.name, (b, c, *reads))
        if isinstance(self.divisor, int):
            body = body / self.divisor
        elif self.divisor:
            count = sp.Integer(1)
            for y, k, s, (pad, size, include_pad) in zip(ys, self.kernel, self.stride, self.divisor, strict=True):
                start = s * y - pad
                end = sp.Min(start + k, size + pad)
                count *= end - start if include_pad else sp.Min(end, size) - sp.Max(start, 0)
            body = body / count
        return Lowered(shape, domain, (b, c, *ys), body, self.combine, "window" if self.combine != "sum" else "first")


class WindowIndex(NamedTuple):
    """The flat index into each (unpadded) input plane of a max pool's argmax: ``return_indices``."""

    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    dilation: tuple[int, ...]
    padding: tuple[int, ...]
    size: tuple[int, ...]

    label = "indices"

    def shape(self, shapes: Sequence[tuple]) -> tuple:
        return tuple(shapes[0])

    def define(self, ins: Sequence[Tensor]) -> Lowered:
        (arg,) = ins

        def body(syms):
            position, flat = access(arg.name, syms), sp.Integer(0)
            for p, (y, k, s, d, pad) in enumerate(zip(syms[2:], self.kernel, self.stride, self.dilation,
                                                      self.padding, strict=True)):
                offset = sp.Mod(sp.floor(position / prod(self.kernel[p + 1:])), k)
                flat = flat * self.size[p] + s * y + d * offset - pad
            return flat

        return elementwise(arg.shape, body)


class ConvTranspose(NamedTuple):
    """The adjoint of a convolution: ``out[b, o, s·h + d·i − p] += X[b, c, h]·W[c, o, i]``, defined in its gather
    form (solved by the index algebra); ``extra`` is PyTorch's ``output_padding``."""

    stride: tuple[int, ...]
    dilation: tuple[int, ...]
    padding: tuple[int, ...]
    extra: tuple[int, ...]

    label = "conv_transpose"

    def shape(self, shapes: Sequence[tuple]) -> tuple:
        x, w = shapes
        n, op = len(self.stride), f"conv_transpose{len(self.stride)}d"
        spatial = _spatial(x, n, op)
        if len(w) != n + 2 or w[0] != x[1]:
            raise ShapeError(f"{op}: input of shape {fmt_shape(x)} has {x[1]} channels but the weight of shape "
                             f"{fmt_shape(w)} expects {w[0] if len(w) == n + 2 else '?'}")
        out = tuple((h - 1) * s - 2 * p + d * (k - 1) + e + 1 for h, k, s, d, p, e in
                    zip(spatial, w[2:], self.stride, self.dilation, self.padding, self.extra, strict=True))
        if any(size <= 0 for size in out):
            raise ShapeError(f"{op}: input of shape {fmt_shape(x)} gives an empty output {out}")
        return (x[0], w[1]) + out

    def define(self, ins: Sequence[Tensor]) -> Lowered:
        x, w = ins
        shape = self.shape([x.shape, w.shape])
        b, o = fresh_indices(shape[:2])
        hs = fresh_indices(x.shape[2:], avoid=(b, o))
        ks = fresh_indices(w.shape[2:], avoid=(b, o, *hs))
        (c,) = fresh_indices([x.shape[1]], avoid=(b, o, *hs, *ks))
        scatter = tuple(s * h + d * i - p for h, i, s, d, p in zip(hs, ks, self.stride, self.dilation, self.padding,
                                                                  strict=True))
        domain = ((b, shape[0]), (o, shape[1]), *zip(hs, x.shape[2:], strict=True), (c, x.shape[1]),
                  *zip(ks, w.shape[2:], strict=True))
        body = access(x.name, (b, c, *hs)) * access(w.name, (c, o, *ks))
        gathered = affine.gather_form(domain, (b, o, *scatter), body, shape)
        if gathered is None:  # cannot happen for affine windows; the scatter is the correct fallback
            return Lowered(shape, domain, (b, o, *scatter), body, "sum")
        domain, out, body = gathered
        return Lowered(shape, domain, out, body, "sum")


class Unfold(NamedTuple):
    """Sliding blocks as columns: ``out[b, c·K + flat(i), flat(y)] = X[b, c, s·y + d·i]`` (K = the kernel's
    size), a scatter-form definition whose adjoint (fold) is a gather."""

    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    dilation: tuple[int, ...]

    label = "unfold"

    def _positions(self, x) -> tuple[int, ...]:
        spatial = _spatial(x, len(self.kernel), "unfold")
        return tuple(window_output(size, k, s, d, "unfold", x)
                     for size, k, s, d in zip(spatial, self.kernel, self.stride, self.dilation, strict=True))

    def shape(self, shapes: Sequence[tuple]) -> tuple:
        (x,) = shapes
        return (x[0], x[1] * prod(self.kernel), prod(self._positions(x)))

    def define(self, ins: Sequence[Tensor]) -> Lowered:
        (x,) = ins
        positions = self._positions(x.shape)
        b, c = fresh_indices(x.shape[:2])
        ys, ks, reads = _window_indices(positions, self.kernel, self.stride, self.dilation, avoid=(b, c))
        row = c * prod(self.kernel) + _flat(ks, self.kernel)
        domain = ((b, x.shape[0]), (c, x.shape[1]), *zip(ks, self.kernel, strict=True),
                  *zip(ys, positions, strict=True))
        return Lowered(self.shape([x.shape]), domain, (b, row, _flat(ys, positions)),
                       access(x.name, (b, c, *reads)), "sum")


class Fold(NamedTuple):
    """Columns summed back into an image: ``out[b, c, s·y + d·i − p] += X[b, c·K + flat(i), flat(y)]``, the
    adjoint of unfold, defined in its gather form."""

    size: tuple[int, ...]
    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    dilation: tuple[int, ...]
    padding: tuple[int, ...]

    label = "fold"

    def _positions(self, x) -> tuple[int, ...]:
        k = prod(self.kernel)
        if len(x) != 3 or not isinstance(x[1], int) or x[1] % k:
            raise ShapeError(f"fold: expected an input (N, C·{k}, L) for kernel {self.kernel}, got shape "
                             f"{fmt_shape(x)}")
        padded = [s + 2 * p for s, p in zip(self.size, self.padding, strict=True)]
        positions = tuple(window_output(size, k, s, d, "fold", x) for size, k, s, d in
                          zip(padded, self.kernel, self.stride, self.dilation, strict=True))
        if prod(positions) != x[2]:
            raise ShapeError(f"fold: output size {self.size} with kernel {self.kernel} has {prod(positions)} blocks, "
                             f"but the input of shape {fmt_shape(x)} has {x[2]}")
        return positions

    def shape(self, shapes: Sequence[tuple]) -> tuple:
        (x,) = shapes
        self._positions(x)
        return (x[0], x[1] // prod(self.kernel), *self.size)

    def define(self, ins: Sequence[Tensor]) -> Lowered:
        (x,) = ins
        shape = self.shape([x.shape])
        positions = self._positions(x.shape)
        b, c = fresh_indices(shape[:2])
        ys, ks, reads = _window_indices(positions, self.kernel, self.stride, self.dilation, avoid=(b, c))
        scatter = tuple(r - p for r, p in zip(reads, self.padding, strict=True))
        domain = ((b, shape[0]), (c, shape[1]), *zip(ks, self.kernel, strict=True), *zip(ys, positions, strict=True))
        body = access(x.name, (b, c * prod(self.kernel) + _flat(ks, self.kernel), _flat(ys, positions)))
        gathered = affine.gather_form(domain, (b, c, *scatter), body, shape)
        if gathered is None:
            return Lowered(shape, domain, (b, c, *scatter), body, "sum")
        domain, out, body = gathered
        return Lowered(shape, domain, out, body, "sum")


def _flat(symbols: Sequence[sp.Symbol], extents: Sequence[int]) -> sp.Expr:
    flat = sp.Integer(0)
    for s, n in zip(symbols, extents, strict=True):
        flat = flat * n + s
    return flat


class AdaptivePool(NamedTuple):
    """Average or max over windows ``[⌊y·S/O⌋, ⌈(y+1)·S/O⌉)`` of varying size: a guarded read over the largest
    window (PyTorch's adaptive pooling; the frontend uses ``Pool`` when O divides S)."""

    combine: str
    size: tuple[int, ...]

    @property
    def label(self) -> str:
        return f"adaptive_{'avg' if self.combine == 'sum' else 'max'}_pool"

    def shape(self, shapes: Sequence[tuple]) -> tuple:
        (x,) = shapes
        _spatial(x, len(self.size), self.label)
        return tuple(x[:2]) + self.size

    def windows(self, x) -> list[tuple]:
        """Per dimension: (start(y), end(y), the largest window)."""
        out = []
        y = sp.Dummy("y", integer=True, nonnegative=True)
        for s, o in zip(x[2:], self.size, strict=True):
            if s == 0 or o == 0:
                raise ShapeError(f"{self.label}: cannot pool {fmt_shape(x)} to {self.size}")
            start, end = sp.floor(y * s / o), sp.floor(((y + 1) * s + o - 1) / o)
            widest = max((k + 1) * s // o + ((k + 1) * s % o > 0) - k * s // o for k in range(o))
            out.append((sp.Lambda(y, start), sp.Lambda(y, end), widest))
        return out

    def define(self, ins: Sequence[Tensor]) -> Lowered:
        (x,) = ins
        shape = self.shape([x.shape])
        windows = self.windows(x.shape)
        b, c = fresh_indices(shape[:2])
        ys = fresh_indices(self.size, avoid=(b, c))
        ks = fresh_indices([w for _, _, w in windows], avoid=(b, c, *ys))
        reads, conditions, count = [], [], sp.Integer(1)
        for y, k, (start, end, _) in zip(ys, ks, windows, strict=True):
            reads.append(start(y) + k)
            conditions.append(F.lt(k, end(y) - start(y)))
            count *= end(y) - start(y)
        fill = sp.Integer(0) if self.combine == "sum" else -sp.oo
        domain = ((b, shape[0]), (c, shape[1]), *zip(ys, self.size, strict=True),
                  *zip(ks, [w for _, _, w in windows], strict=True))
        ranges = dict(domain)
        body = affine.prune_guards(F.guarded(access(x.name, (b, c, *reads)), fill, *conditions), ranges)
        if self.combine == "sum":
            body = body / count
        return Lowered(shape, domain, (b, c, *ys), body, self.combine, "window" if self.combine != "sum" else "first")


class AdaptiveIndex(NamedTuple):
    """The flat index into each input plane of an adaptive max pool's argmax (``return_indices``)."""

    size: tuple[int, ...]
    input_size: tuple[int, ...]

    label = "indices"

    def shape(self, shapes: Sequence[tuple]) -> tuple:
        return tuple(shapes[0])

    def define(self, ins: Sequence[Tensor]) -> Lowered:
        (arg,) = ins
        windows = AdaptivePool("max", self.size).windows((0, 0, *self.input_size))
        widths = [w for _, _, w in windows]

        def body(syms):
            position, flat = access(arg.name, syms), sp.Integer(0)
            for p, (y, (start, _, width)) in enumerate(zip(syms[2:], windows, strict=True)):
                offset = sp.Mod(sp.floor(position / prod(widths[p + 1:])), width)
                flat = flat * self.input_size[p] + start(y) + offset
            return flat

        return elementwise(arg.shape, body)


class Concat(NamedTuple):
    """Tensors joined along ``dim``: each output element a guarded read of the input that holds it."""

    dim: int

    label = "cat"

    def shape(self, shapes: Sequence[tuple]) -> tuple:
        first = shapes[0]
        for s in shapes[1:]:
            if len(s) != len(first) or any(a != b for p, (a, b) in enumerate(zip(s, first, strict=True))
                                           if p != self.dim):
                raise ShapeError(f"cat: shapes {' and '.join(fmt_shape(s) for s in shapes)} differ outside "
                                 f"dim {self.dim}")
        return first[:self.dim] + (sum(s[self.dim] for s in shapes),) + first[self.dim + 1:]

    def define(self, ins: Sequence[Tensor]) -> Lowered:
        shape = self.shape([t.shape for t in ins])

        def body(syms):
            u, offset, total = syms[self.dim], 0, sp.Integer(0)
            ranges = dict(zip(syms, shape, strict=True))
            for t in ins:
                size = t.shape[self.dim]
                index = (*syms[:self.dim], u - offset, *syms[self.dim + 1:])
                read = F.guarded(access(t.name, index), 0, F.between(u - offset, 0, size - 1))
                total += affine.prune_guards(read, ranges)
                offset += size
            return total

        return elementwise(shape, body)
