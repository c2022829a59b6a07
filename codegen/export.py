"""Export: a graph as a standalone native artifact for any LLVM target, with the C header that describes it.

The same loop nests the JIT runs (``loops`` → ``emit``), optimized by the same O3 pipeline, but for a target
machine made from a triple (``x86_64-unknown-linux-gnu``, ``aarch64-…``, ``thumbv7em-none-eabi``,
``riscv64-…``, ``wasm32-unknown-unknown``) and a CPU — ``generic`` unless asked, so no host-specific
instruction slips in. The graph's ``sn_entry`` (a training step's ``sn_repeat``, run for one step) becomes
internal; the one exported symbol is a wrapper with a C signature people can read::

    int32_t <name>_forward([const void *weights,] const T *input, T *output, int64_t batch, void *workspace);
    int32_t <name>_train_step(void *state, const T *input, const L *target, int64_t batch, const double *lr,
                              double *loss, void *workspace);

It lays out every intermediate tensor in the caller's ``workspace`` (its size for a batch is
``<name>_workspace_bytes(batch)``, a static inline function of the header), points the weights at constants in
the object or at the caller's copy of the weights file (a training step's state: the same format, updated in
place by the driver's feedback copies and counters), and allocates nothing: the only state is on the stack,
so calls from several threads never interfere. Statuses: 0 success, -1 a batch the function was not made for
(or no workspace), -2 a weights file that is not this model's, > 0 a data-dependent index out of range.
``c_source`` prints the same kernels as readable C99 behind this same entry point, layout and header.

The weights file is little-endian: a 64-byte header (``SNWEIGHT``, then u32 ABI version, u32 tensor count,
u64 payload bytes, u64 the model's fingerprint, zeros), then each tensor's elements in C order, each starting
at a multiple of 64 bytes from the file's start (offsets in the header).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from llvmlite import binding as llvm
from llvmlite import ir

from symnet.core.ir import Def, Graph, Repeat, dims_of
from symnet.core.lazy import sympy as sp

from .emit import emit_module
from .interface import ENTRY, REPEAT, REPEAT_BLOCK
from .irloops import I8, I32, I64, PTR, STORAGE
from .jit import run_o3
from .loops import lower_graph, pad_guarded_reads

ABI_VERSION = 1
MAGIC = b"SNWEIGHT"
HEADER_BYTES = 64
ALIGN = 64
#: the C type of each dtype a port may have
C_TYPES = {np.dtype(np.float32): "float", np.dtype(np.float64): "double", np.dtype(np.int64): "int64_t",
           np.dtype(np.bool_): "uint8_t"}
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
#: the features a generic CPU of an architecture has on the platforms that run it, where LLVM's generic CPU has
#: fewer (RV64GC, with the hard-float ABI, is what every riscv64 Linux builds for)
BASELINE = {"riscv64": "+m,+a,+f,+d,+c"}


@dataclass(frozen=True)
class Machine:
    """A target: its triple, CPU and features, and the LLVM target machine made from them."""

    triple: str
    cpu: str
    features: str
    tm: llvm.TargetMachine

    @property
    def hosted(self) -> bool:
        """Whether objects for it can be linked and run here."""
        return _arch(self.triple) == _arch(llvm.get_process_triple()) and "-none" not in self.triple


def _arch(triple: str) -> str:
    return triple.split("-", 1)[0]


def machine(triple: str | None = None, cpu: str = "generic", features: str = "") -> Machine:
    """The target machine of a triple (None: this machine's). ``cpu="native"`` takes the host's CPU and features,
    and only for the host's architecture; anything else is generic code for the triple."""
    llvm.initialize_all_targets()
    llvm.initialize_all_asmprinters()
    triple = triple or llvm.get_process_triple()
    if cpu == "native":
        if _arch(triple) != _arch(llvm.get_process_triple()):
            raise ValueError(f"export: cpu='native' means this machine's CPU ({llvm.get_host_cpu_name()}), which "
                             f"cannot run {triple}; name a CPU of that target or leave cpu='generic'")
        cpu, features = llvm.get_host_cpu_name(), features or llvm.get_host_cpu_features().flatten()
    try:
        target = llvm.Target.from_triple(triple)
    except RuntimeError as exc:
        raise ValueError(f"export: LLVM knows no target for the triple {triple!r} ({exc}); examples: "
                         "x86_64-unknown-linux-gnu, aarch64-unknown-linux-gnu, thumbv7em-none-eabi, "
                         "riscv64-unknown-linux-gnu, wasm32-unknown-unknown") from None
    if cpu == "generic" and not features and "-none" not in triple:
        features = BASELINE.get(_arch(triple), "")
    reloc = "static" if "-none" in triple else "pic"
    tm = target.create_target_machine(cpu=cpu, features=features, opt=3, reloc=reloc, codemodel="default")
    if not str(tm.target_data).startswith("e"):
        raise ValueError(f"export: {triple} is big-endian; exported weights are little-endian only")
    return Machine(triple, cpu, features, tm)


@dataclass(frozen=True)
class Port:
    """A tensor that crosses the C ABI: the input, the output, or a weight (with its dotted name)."""

    name: str
    shape: tuple
    dtype: np.dtype
    label: str = ""


@dataclass(frozen=True)
class Layout:
    """Where the weights lie in the weights file (byte offsets from its start) and the file's total size."""

    offsets: tuple[int, ...]
    size: int


def weights_layout(weights: Sequence[np.ndarray]) -> Layout:
    offsets, at = [], HEADER_BYTES
    for w in weights:
        offsets.append(at)
        at += _round_up(w.nbytes)
    return Layout(tuple(offsets), max(at, HEADER_BYTES))


def _round_up(n: int) -> int:
    return -(-n // ALIGN) * ALIGN


def weights_file(weights: Sequence[np.ndarray], fingerprint: int) -> bytes:
    """The documented weights file: header, then each tensor's little-endian elements at its 64-byte offset."""
    layout = weights_layout(weights)
    data = bytearray(layout.size)
    payload = layout.size - HEADER_BYTES
    header = MAGIC + ABI_VERSION.to_bytes(4, "little") + len(weights).to_bytes(4, "little") + \
        payload.to_bytes(8, "little") + fingerprint.to_bytes(8, "little")
    data[:len(header)] = header
    for w, at in zip(weights, layout.offsets, strict=True):
        raw = np.ascontiguousarray(w).astype(w.dtype.newbyteorder("<"), copy=False).tobytes()
        data[at:at + len(raw)] = raw
    return bytes(data)


@dataclass(frozen=True)
class Program:
    """A graph ready for export. A forward pass: the caller's ``inputs`` (the batch) and ``output`` buffer, its
    weights (the graph's other inputs, in order, with their values). A training step (``repeat``, the driver's plan
    of one step): the caller's batch (inputs and targets) and learning rates (``rates``, the plan's series), the
    state (every other input: parameters, optimizer state, counters) updated in place, the loss (``output``)
    written as a double. ``batch``: a fixed batch size, or None for a run-time batch (the graph's one
    dimension)."""

    graph: Graph
    name: str
    inputs: tuple[Port, ...]
    output: Port
    weights: tuple[Port, ...]
    values: tuple[np.ndarray, ...]
    batch: int | None
    repeat: Repeat | None = None
    rates: tuple[Port, ...] = ()

    @property
    def fingerprint(self) -> int:
        """64 bits of a hash of the graph and the weights' shapes: a weights file is checked against it."""
        h = hashlib.sha256(repr([(t.name, t.shape, t.dtype.str) for t in self.graph.inputs]).encode())
        for d in self.graph.defs:
            h.update(sp.srepr((d.name, d.body)).encode())
        return int.from_bytes(h.digest()[:8], "little")

    @property
    def entry(self) -> str:
        return f"{self.name}_{'train_step' if self.repeat else 'forward'}"


def _numel(shape) -> sp.Expr:
    n = sp.Integer(1)
    for d in shape:
        n *= sp.sympify(d)
    return sp.expand(n)


def _scratch(program: Program, graph: Graph) -> list:
    """The definitions that live in the workspace (a forward pass writes its output to the caller's buffer)."""
    return [d for d in graph.defs if program.repeat or d.name != program.output.name]


def workspace_terms(program: Program, graph: Graph) -> list[tuple[Def, str]]:
    """Each workspace definition with its size in bytes as a C expression of the entry point's ``batch``, in the
    order the workspace holds them, each at a multiple of 64 bytes: the layout the header adds up and both entry
    points (the object's and the C source's) lay out."""
    dims = dims_of(graph)
    terms = []
    for d in _scratch(program, graph):
        size = _numel(d.shape) * d.dtype.itemsize
        terms.append((d, sp.ccode(size).replace(str(dims[0]), "(size_t)batch") if dims else str(size)))
    return terms


def check_program(program: Program) -> Graph:
    """The graph as the kernels see it (guarded reads padded), after the checks export makes of it."""
    if program.repeat is None:
        graph = pad_guarded_reads(program.graph)
    else:  # what the driver copies and records stays as it is
        graph = pad_guarded_reads(program.graph, frozenset(d.name for d, _ in program.repeat.feedback) |
                                  frozenset(d.name for d in program.repeat.record))
    if not IDENTIFIER.match(program.name):
        raise ValueError(f"export: the name {program.name!r} is not a C identifier")
    if program.output.name not in {d.name for d in graph.defs}:
        raise ValueError(f"export: the output {program.output.name!r} is an input of the graph, not computed by it")
    dims = dims_of(graph)
    if len(dims) > 1:
        raise ValueError(f"export: the graph has several symbolic dimensions ({', '.join(map(str, dims))}); only "
                         "the batch may be decided at run time")
    for port in (*program.inputs, program.output, *program.weights):
        if port.dtype not in C_TYPES:
            raise ValueError(f"export: {port.name} is {port.dtype}, which has no C type here")
    return graph


def module_texts(program: Program, embed: bool) -> tuple[str, str]:
    """The LLVM IR of the graph's kernels (``sn_entry``, or ``sn_repeat`` for a step) and of the C entry points
    that wrap it."""
    graph = check_program(program)
    kernels_ir = emit_module(graph, lower_graph(graph), program.name, program.repeat).ir
    return kernels_ir, _wrapper(program, graph, embed)


def _wrapper(program: Program, graph: Graph, embed: bool) -> str:
    """The C entry point (declaring the kernels' entry, defined in their text)."""
    module = ir.Module(name=f"{program.name}_abi")
    dims = dims_of(graph)
    scratch = _scratch(program, graph)
    train = program.repeat is not None
    weights = [] if embed else [PTR]
    data = [PTR] * len(program.inputs)
    tail = [I64, PTR, PTR, PTR] if train else [PTR, I64, PTR]  # batch, rates, loss, workspace | output, …
    fn = ir.Function(module, ir.FunctionType(I32, [*weights, *data, *tail]), program.entry)
    args = list(fn.args)
    weights_arg = None if embed else args.pop(0)
    xs, args = args[:len(program.inputs)], args[len(program.inputs):]
    if train:
        batch, rates, out, workspace = args
    else:
        out, batch, workspace = args
    for a in fn.args:
        if isinstance(a.type, ir.PointerType):
            a.add_attribute("noalias")
    b = ir.IRBuilder(fn.append_basic_block("entry"))

    def fail(condition, status: int) -> None:
        with b.if_then(condition, likely=False):
            b.ret(ir.Constant(I32, status))

    def null(pointer):
        return b.icmp_unsigned("==", b.ptrtoint(pointer, I64), ir.Constant(I64, 0))

    if program.batch is None:
        fail(b.icmp_signed("<", batch, ir.Constant(I64, 0)), -1)
    else:
        fail(b.icmp_signed("!=", batch, ir.Constant(I64, program.batch)), -1)
    offsets = _offsets(b, scratch, dims, batch)
    fail(b.and_(null(workspace), b.icmp_unsigned("!=", offsets[-1], ir.Constant(I64, 0))), -1)
    if weights_arg is not None:
        fail(null(weights_arg), -2)
        magic = b.load(weights_arg, typ=I64)
        stamp = b.load(b.gep(weights_arg, [ir.Constant(I64, 24)], source_etype=I8), typ=I64)
        fail(b.or_(b.icmp_unsigned("!=", magic, ir.Constant(I64, int.from_bytes(MAGIC, "little"))),
                   b.icmp_unsigned("!=", stamp, ir.Constant(I64, program.fingerprint))), -2)
    pointers = {port.name: x for port, x in zip(program.inputs, xs, strict=True)}
    if not train:
        pointers[program.output.name] = out
    layout = weights_layout(program.values)
    for k, (port, value) in enumerate(zip(program.weights, program.values, strict=True)):
        if embed:
            pointers[port.name] = _constant(module, f"{program.name}_w{k}", value)
        else:
            pointers[port.name] = b.gep(weights_arg, [ir.Constant(I64, layout.offsets[k])], source_etype=I8)
    for d, offset in zip(scratch, offsets, strict=False):
        pointers[d.name] = b.gep(workspace, [offset], source_etype=I8)
    sources = []
    if train:  # each learning rate: a slot the driver writes, and its series (the caller's value)
        for k, port in enumerate(program.rates):
            pointers[port.name] = b.alloca(STORAGE[port.dtype])
            sources.append(b.gep(rates, [ir.Constant(I64, k)], source_etype=STORAGE[port.dtype]))
        sources = [ir.Constant(PTR, None)] * len(program.repeat.gathers) + sources  # nothing gathered
    order = [pointers[t.name] for t in graph.inputs] + [pointers[d.name] for d in graph.defs] + sources
    buffers = b.alloca(PTR, size=len(order))
    for slot, pointer in enumerate(order):
        b.store(pointer, b.gep(buffers, [ir.Constant(I64, slot)], source_etype=PTR))
    dim_values = b.alloca(I64, size=max(len(dims), 1))
    for k in range(len(dims)):
        b.store(batch, b.gep(dim_values, [ir.Constant(I64, k)], source_etype=I64))
    error = b.alloca(I64, size=2)
    if not train:
        entry = ir.Function(module, ir.FunctionType(I32, [PTR, PTR, PTR]), ENTRY)
        b.ret(b.call(entry, [buffers, dim_values, error]))
        return str(module)
    repeat = ir.Function(module, ir.FunctionType(I32, [PTR, PTR, PTR, I64, PTR, PTR, I64, PTR]), REPEAT)
    starts = b.alloca(I64, size=2)
    for k in range(2):
        b.store(ir.Constant(I64, 0), b.gep(starts, [ir.Constant(I64, k)], source_etype=I64))
    one = ir.Constant(I64, 1)
    b.ret(b.call(repeat, [buffers, dim_values, error, one, ir.Constant(PTR, None), starts, one, out]))
    return str(module)


def _offsets(b: ir.IRBuilder, scratch, dims, batch) -> list[ir.Value]:
    """Each workspace definition's byte offset, then the total: sizes rounded up to 64 bytes, as the header's
    ``<name>_workspace_bytes`` computes them."""
    at, offsets = ir.Constant(I64, 0), []
    for d in scratch:
        offsets.append(at)
        nbytes = _polynomial(b, _numel(d.shape) * d.dtype.itemsize, dims, batch)
        rounded = b.and_(b.add(nbytes, ir.Constant(I64, ALIGN - 1)), ir.Constant(I64, -ALIGN))
        at = b.add(at, rounded)
    return [*offsets, at]


def _polynomial(b: ir.IRBuilder, e: sp.Expr, dims, batch) -> ir.Value:
    """A size polynomial in the batch (Horner), as i64."""
    coefficients = sp.Poly(e, *dims).all_coeffs() if dims else [e]
    value = ir.Constant(I64, 0)
    for c in coefficients:
        value = b.add(b.mul(value, batch), ir.Constant(I64, int(c)))
    return value


def _constant(module: ir.Module, name: str, value: np.ndarray) -> ir.GlobalVariable:
    """A weight as read-only data in the object (its little-endian bytes, 64-byte aligned)."""
    raw = bytearray(np.ascontiguousarray(value).astype(value.dtype.newbyteorder("<"), copy=False).tobytes())
    typ = ir.ArrayType(I8, max(len(raw), 1))
    g = ir.GlobalVariable(module, typ, name)
    g.initializer = ir.Constant(typ, raw or bytearray(1))
    g.global_constant, g.linkage, g.align = True, "internal", ALIGN
    return g


def optimize(texts: Sequence[str], target: Machine) -> llvm.ModuleRef:
    """Parse and link for the target, keep only the C entry points visible, and run the O3 pipeline for its
    machine."""
    context = llvm.create_context()
    module, *others = (llvm.parse_assembly(text, context=context) for text in texts)
    for m in (module, *others):
        m.triple = target.triple
        m.data_layout = str(target.tm.target_data)
    for other in others:
        module.link_in(other)
    for name in (ENTRY, REPEAT, REPEAT_BLOCK):
        with contextlib.suppress(NameError):
            module.get_function(name).linkage = "internal"
    module.verify()
    run_o3(module, target.tm)
    return module


def c_header(program: Program, embed: bool, target: Machine, version: str) -> str:
    """The one header of an export: the entry point, the shapes, the dtypes, the versions and the workspace."""
    n, N = program.name, program.name.upper()
    x, out = program.inputs[0], program.output
    T, out_t = C_TYPES[x.dtype], C_TYPES[out.dtype]
    graph = check_program(program)
    train = program.repeat is not None
    blob = "state" if train else "weights"

    def shape(port: Port) -> str:
        return "{" + ", ".join("batch" if not sp.sympify(d).is_Integer else str(d) for d in port.shape) + "}"

    def per_sample(port: Port) -> int:
        return int(np.prod([int(d) for d in port.shape[1:]], dtype=np.int64))

    if train:
        y = program.inputs[1]
        rates = ", ".join(p.name for p in program.rates)
        what = [f" * {n}_train_step runs one training step (forward, backward, the optimizer's update) on a batch:",
                f" * input {shape(x)} {T}, target {shape(y)} {C_TYPES[y.dtype]}, learning rates lr[] ({rates}),",
                " * updating the state in place (parameters, optimizer state, step count) and writing the loss."]
        signature = (f"int32_t {n}_train_step(void *state, const {T} *input, const {C_TYPES[y.dtype]} *target, "
                     "int64_t batch, const double *lr, double *loss, void *workspace);")
    else:
        what = [f" * {n}_forward computes the output of a batch of inputs: input {shape(x)} {T},",
                f" * output {shape(out)} {out_t}, both C order."]
        signature = (f"int32_t {n}_forward({'' if embed else 'const void *weights, '}const {T} *input, {out_t} "
                     "*output, int64_t batch, void *workspace);")
    lines = [
        f"/* {n}.h: a network exported by symnet {version} for {target.triple} (cpu {target.cpu}).",
        " *", *what,
        " * It allocates nothing and writes no global: every intermediate tensor lives in the caller's workspace",
        f" * (aligned to 16 bytes at least; 64 is best) of {n}_workspace_bytes(batch) bytes, so threads may call",
        " * it at once, each with its own workspace. Returns 0 on success, -1 for a batch it was not made for (or",
        f" * no workspace), -2 for {blob} that are not this model's, > 0 for a data-dependent index out of range.",
    ]
    if not embed:
        lines += [
            " *",
            f" * The {blob} come from the file written beside this header ({N}_{blob.upper()}_BYTES bytes): read",
            f" * it whole into memory aligned to 64 bytes and pass its start as `{blob}`. Its layout: a 64-byte",
            " * header (\"SNWEIGHT\", u32 ABI version, u32 tensor count, u64 payload bytes, u64 model",
            " * fingerprint), then each tensor's little-endian elements at its offset below.",
        ]
    lines += [
        " */", f"#ifndef {N}_H", f"#define {N}_H", "", "#include <stddef.h>", "#include <stdint.h>", "",
        "#ifdef __cplusplus", 'extern "C" {', "#endif", "",
        f"#define {N}_ABI_VERSION {ABI_VERSION}",
        f'#define {N}_SYMNET_VERSION "{version}"',
        f'#define {N}_TARGET "{target.triple}"',
        f"typedef {T} {n}_input_t;",
        f"typedef {out_t} {n}_output_t;",
        "/* a fixed batch size, or 0 where any batch size is accepted */",
        f"#define {N}_BATCH {program.batch or 0}",
        f"#define {N}_INPUT_RANK {len(x.shape)}",
        f"#define {N}_INPUT_SIZE {per_sample(x)} /* elements of one sample */",
    ]
    if not train:
        lines += [f"#define {N}_OUTPUT_RANK {len(out.shape)}",
                  f"#define {N}_OUTPUT_SIZE {per_sample(out)} /* elements of one sample's output */"]
    for label, port in (("INPUT", x), *([] if train else [("OUTPUT", out)])):
        dims_text = ", ".join("0" if not sp.sympify(d).is_Integer else str(d) for d in port.shape)
        lines.append(f"#define {N}_{label}_SHAPE {{{dims_text}}} /* 0: the batch */")
    if not embed:
        layout = weights_layout(program.values)
        lines += ["", f"#define {N}_{blob.upper()}_BYTES {layout.size}",
                  f"#define {N}_FINGERPRINT 0x{program.fingerprint:016x}ULL"]
        for k, (port, offset) in enumerate(zip(program.weights, layout.offsets, strict=True)):
            lines.append(f"#define {N}_{blob.upper()}{k}_OFFSET {offset} /* {port.label or port.name}: "
                         f"{C_TYPES[port.dtype]} {shape(port)} */")
    lines += ["", "/* the workspace: each intermediate tensor's bytes, rounded up to 64 */",
              f"static inline size_t {n}_workspace_bytes(int64_t batch) {{", "    size_t total = 0;",
              "    (void)batch;"]
    for d, size in workspace_terms(program, graph):
        lines.append(f"    total += (({size}) + 63) / 64 * 64; /* {d.name} */")
    lines += ["    return total;", "}", "", signature, "", "#ifdef __cplusplus", "}", "#endif", f"#endif /* {N}_H */",
              ""]
    return "\n".join(lines)


def write_atomically(path: Path, data: bytes) -> None:
    """A temporary file beside the target, then a rename: a reader never sees half an artifact."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _tool(*names: str) -> str:
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    raise FileNotFoundError(f"export: needs one of {', '.join(names)} on PATH")


def _run(command: list[str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"export: {' '.join(command)} failed:\n{done.stderr.strip()}")


def link_shared(obj: bytes, path: Path, target: Machine) -> None:
    """A shared library from the object, linked by the system C compiler (for this machine's architecture)."""
    if not target.hosted:
        raise ValueError(f"export: a shared library for {target.triple} needs that target's linker; export an "
                         "object (or a static library) and link it with the target's toolchain")
    with tempfile.TemporaryDirectory(dir=path.parent) as folder:
        o, so = Path(folder) / "model.o", Path(folder) / path.name
        o.write_bytes(obj)
        _run([os.environ.get("CC", _tool("cc", "gcc", "clang")), "-shared", "-o", str(so), str(o)])
        os.replace(so, path)


def archive(obj: bytes, path: Path, member: str) -> None:
    """A static library holding the object (``llvm-ar`` or ``ar``, with a symbol index)."""
    with tempfile.TemporaryDirectory(dir=path.parent) as folder:
        o, a = Path(folder) / member, Path(folder) / path.name
        o.write_bytes(obj)
        _run([_tool("llvm-ar", "ar"), "rcs", str(a), str(o)])
        os.replace(a, path)


def compile_object(program: Program, target: Machine, embed: bool) -> bytes:
    """The object file of a program for a target."""
    return target.tm.emit_object(optimize(module_texts(program, embed), target))


def values_by_port(weights: Sequence[Port], values: Mapping[str, np.ndarray]) -> tuple[np.ndarray, ...]:
    """The weights' values in port order, each checked against its port's shape and dtype."""
    found = []
    for port in weights:
        value = np.asarray(values[port.name])
        if value.dtype != port.dtype or value.shape != tuple(int(d) for d in port.shape):
            raise ValueError(f"export: weight {port.label or port.name} is {value.dtype} {value.shape}, the graph "
                             f"reads {port.dtype} {port.shape}")
        found.append(value)
    return tuple(found)
