"""LLVM for the host CPU: O3 with loop and SLP vectorization (new pass manager), MCJIT, objects, assembly.

A large module is compiled in parts on several threads (``partition``), their objects loaded into one engine: a
function's own instructions are optimized alike in a part or in the whole module (only calls across parts stay
calls, and the kernels are never inlined anyway), so the numbers are the same; each part's helpers (a matrix
product's micro-kernel) stay with the kernels that call them.

Native memory is released explicitly: each optimized module has an LLVM context of its own, every pass manager is
disposed after its run, and an ``Engine`` frees its code, modules and target machine on ``close()`` (called by its
owner's finalizer, or by hand).
"""

from __future__ import annotations

import ctypes
import functools
import re
import struct
import threading

import llvmlite
from llvmlite import binding as llvm
from llvmlite.binding import ffi


@functools.lru_cache(maxsize=1)
def target_machine() -> llvm.TargetMachine:
    """The host target machine for optimizing and emitting (engines get their own: MCJIT takes ownership)."""
    return _new_target_machine()


def _new_target_machine() -> llvm.TargetMachine:
    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()
    target = llvm.Target.from_triple(llvm.get_process_triple())
    return target.create_target_machine(cpu=llvm.get_host_cpu_name(),
                                        features=llvm.get_host_cpu_features().flatten(), opt=3,
                                        reloc="static", codemodel="jitdefault", jit=True)


@functools.lru_cache(maxsize=1)
def vector_bits() -> int:
    """Width of the host's widest float vector registers."""
    features = llvm.get_host_cpu_features()
    if features.get("avx512f"):
        return 512
    return 256 if features.get("avx2") or features.get("avx") else 128


@functools.lru_cache(maxsize=1)
def host_fingerprint() -> str:
    """What a compiled object depends on besides its IR: CPU, features, LLVM."""
    llvm.initialize_native_target()
    return f"{llvm.get_host_cpu_name()}|{llvm.get_host_cpu_features().flatten()}|llvmlite {llvmlite.__version__}"


def optimize(ir_text: str) -> llvm.ModuleRef | Parts:
    """Parse and run the O3 pipeline (loop vectorization, SLP vectorization, unrolling) on the module; a large
    module in parts on several threads, optimized and emitted at once (``Parts``).

    The module gets an LLVM context of its own, freed with it: the global context would keep every constant, type
    and metadata node any compile ever made (and it is not thread-safe)."""
    texts = partition(ir_text, _threads()) if len(ir_text) >= SPLIT_CHARS else [ir_text]
    if len(texts) == 1:
        return _optimized(ir_text, target_machine(), own_machine=False)
    from concurrent.futures import ThreadPoolExecutor  # (with logging) only a large module's compile needs it

    with ThreadPoolExecutor(len(texts)) as threads:
        done = list(threads.map(_compiled_part, texts))
    return Parts([module for module, _ in done], [obj for _, obj in done])


def _optimized(ir_text: str, tm: llvm.TargetMachine, own_machine: bool) -> llvm.ModuleRef:
    module = llvm.parse_assembly(ir_text, context=llvm.create_context())
    module.triple = llvm.get_process_triple()
    module.data_layout = str(tm.target_data)
    module.verify()
    run_o3(module, tm, own_machine)
    return module


def _compiled_part(ir_text: str) -> tuple[llvm.ModuleRef, bytes]:
    """One part optimized and emitted with a target machine of its own (a machine is not shared across threads)."""
    tm = _new_target_machine()
    module = _optimized(ir_text, tm, own_machine=True)
    return module, _emit(tm, module)


def compile_alone(ir_text: str) -> bytes:
    """The object of a module optimized and emitted on the calling thread, with a target machine of its own and
    without llvmlite's lock: it runs beside another thread's compile (a library made while a graph compiles)."""
    module, obj = _compiled_part(ir_text)
    module.close()
    return obj


def run_o3(module: llvm.ModuleRef, tm: llvm.TargetMachine, own_machine: bool = False) -> None:
    """LLVM's O3 pipeline on ``module`` for ``tm`` (the host's, or an export's target), its pass manager freed.
    ``own_machine``: no other thread uses ``tm`` (nor ``module``'s context), so the run need not hold llvmlite's
    lock (``_unlocked``)."""
    pto = llvm.create_pipeline_tuning_options(speed_level=3)
    pto.loop_vectorization = pto.slp_vectorization = pto.loop_unrolling = True
    pb = llvm.create_pass_builder(tm, pto)
    mpm = pb.getModulePassManager()
    try:
        if own_machine:
            _unlocked(ffi.lib.LLVMPY_RunNewModulePassManager)(mpm, module, pb)
        else:
            mpm.run(module, pb)
    finally:
        _dispose_pass_manager(mpm)


def _unlocked(function):
    """``function`` without llvmlite's process-wide lock, which would serialize the parts' threads. The lock
    guards the global context and shared objects; a part's calls made unlocked touch only its own module,
    context, pass manager and target machine (a machine caches per-function subtargets: never shared unlocked).
    """
    return getattr(function, "_cfn", function)


def _emit(tm: llvm.TargetMachine, module: llvm.ModuleRef) -> bytes:
    """``tm.emit_object(module)``, unlocked (``tm`` and ``module`` are this thread's alone)."""
    with ffi.OutputString() as error:
        buffer = _unlocked(ffi.lib.LLVMPY_TargetMachineEmitToMemory)(tm, module, 1, error)
        if not buffer:
            raise RuntimeError(str(error))
    try:
        return ctypes.string_at(ffi.lib.LLVMPY_GetBufferStart(buffer), ffi.lib.LLVMPY_GetBufferSize(buffer))
    finally:
        ffi.lib.LLVMPY_DisposeMemoryBuffer(buffer)


def _threads() -> int:
    """As many parts as the threads symnet may use (``sn.set_num_threads``, ``SYMNET_NUM_THREADS``), at most
    ``MAX_PARTS``."""
    from .pool import POOL  # the pool compiles through this module

    return max(1, min(POOL.threads, MAX_PARTS))


SPLIT_CHARS = 100_000  # IR text below which a module compiles whole (a part costs ~3 ms of fixed overhead)
MAX_PARTS = 4
_DEFINE = re.compile(r"^(?=define )", re.M)
_NAME = re.compile(r'^define (internal )?[^@]*@"([^"]+)"\(')
_REFERENCE = re.compile(r'@"([^"]+)"')
_USED = re.compile(r'^@"llvm\.compiler\.used" = appending global \[\d+ x ptr\] \[([^\]]*)\](.*)$', re.M)
_EXPORTED_DATA = re.compile(r'^@"[^"]+" = (?!internal |private |appending )', re.M)


def partition(ir_text: str, parts: int) -> list[str]:
    """The module as at most ``parts`` modules that together define each function once, balanced by IR size.

    A kernel goes with its launcher and job and with the heavy helpers it calls (micro-kernels, sin and cos and
    their vector variants; one helper's callers all go together), so the optimizer sees every call of a helper
    as in the whole module; the inlined math helpers are copied into each part that calls them. A function
    called from another part loses ``internal`` there and is declared where it is called. A module that defines
    external data (the pool's words) stays whole: two parts would each own a copy."""
    if parts < 2 or _EXPORTED_DATA.search(ir_text):
        return [ir_text]
    chunks = _DEFINE.split(ir_text)
    head, shared, bodies = chunks[0], [], {}
    internal, inlined, refs = set(), set(), {}
    for chunk in chunks[1:]:
        end = chunk.find("\n}\n")  # the closing brace; declarations and data follow it
        end = len(chunk) if end < 0 else end + 3
        found = _NAME.match(chunk)
        name = found.group(2)
        bodies[name] = chunk[:end]
        shared.append(chunk[end:])
        if found.group(1):
            internal.add(name)
        if "alwaysinline" in chunk[:chunk.index("\n")]:
            inlined.add(name)
        refs[name] = {r for r in _REFERENCE.findall(bodies[name]) if r != name}
    group = {n: n for n in bodies}

    def root(n):
        while group[n] != n:
            group[n] = group[group[n]]
            n = group[n]
        return n

    for name in bodies:
        if name not in internal:
            continue  # the entries call every kernel: each is a group of its own
        variant = re.match(r"(.*)_v\d+$", name)
        linked = {r for r in refs[name] if r in bodies and r not in inlined}
        if variant and variant.group(1) in bodies:
            linked.add(variant.group(1))
        for r in linked:
            group[root(r)] = root(name)
    members: dict[str, list[str]] = {}
    for name in bodies:
        if name not in inlined:
            members.setdefault(root(name), []).append(name)
    loads = [0] * parts
    home: dict[str, int] = {}
    for names in sorted(members.values(), key=lambda ns: -sum(len(bodies[n]) + 1500 for n in ns)):
        k = loads.index(min(loads))
        loads[k] += sum(len(bodies[n]) + 1500 for n in names)
        home.update(dict.fromkeys(names, k))
    used = sorted(set(home.values()))
    if len(used) < 2:
        return [ir_text]
    called_across = {r for n in home for r in refs[n] if r in home and home[r] != home[n]}
    texts = []
    for k in used:
        mine = [n for n in bodies if home.get(n) == k]
        wanted, stack = set(mine), list(mine)
        while stack:  # the inlined helpers these call, at any depth
            for r in refs[stack.pop()]:
                if r in inlined and r not in wanted:
                    wanted.add(r)
                    stack.append(r)
        out = [head]
        for n in bodies:
            if n in wanted:
                body = bodies[n]
                out.append(body.replace("define internal ", "define ", 1) if n in called_across else body)
        for r in sorted({r for n in mine for r in refs[n] if r in home and home[r] != k}):
            signature = bodies[r][:bodies[r].index(")") + 1]
            out.append(signature.replace("define internal ", "declare ", 1).replace("define ", "declare ", 1) +
                       "\n")
        out.extend(_USED.sub(lambda m, k=k: _used_here(m, home, k), tail) for tail in shared)
        texts.append("".join(out))
    return texts


def _used_here(m: re.Match, home: dict[str, int], k: int) -> str:
    """``llvm.compiler.used`` listing only the functions defined in part ``k`` (none: no global)."""
    kept = [entry.strip() for entry in m.group(1).split(",") if home.get(_REFERENCE.search(entry).group(1)) == k]
    return f'@"llvm.compiler.used" = appending global [{len(kept)} x ptr] [{", ".join(kept)}]{m.group(2)}' \
        if kept else ""


class Parts:
    """A module compiled in parts: their optimized modules (to print) and their objects packed as one."""

    def __init__(self, modules: list[llvm.ModuleRef], objects: list[bytes]):
        self.modules = modules
        self.object = PACKED + struct.pack(f"<I{len(objects)}Q", len(objects), *map(len, objects)) + \
            b"".join(objects)

    def __str__(self) -> str:
        return "\n".join(str(m) for m in self.modules)


PACKED = b"SNPARTS\n"


def _unpacked(obj: bytes) -> list[bytes]:
    """The objects of ``Parts.object`` (or ``[obj]`` for one object)."""
    if not obj.startswith(PACKED):
        return [obj]
    at = len(PACKED)
    (count,) = struct.unpack_from("<I", obj, at)
    sizes = struct.unpack_from(f"<{count}Q", obj, at + 4)
    at += 4 + 8 * count
    if at + sum(sizes) != len(obj):
        raise ValueError("a packed object's sizes do not add up")
    objects = []
    for size in sizes:
        objects.append(obj[at:at + size])
        at += size
    return objects


def _dispose_pass_manager(mpm) -> None:
    """Free a module pass manager. llvmlite 0.50's ``ModulePassManager`` inherits ``ObjectRef._dispose`` (a no-op)
    ahead of ``NewPassManager._dispose``, so ``close()`` alone leaks the whole O3 pipeline and the state its
    passes grew on the module (~0.13 MB per compile, more for large modules)."""
    if not mpm.closed:
        ffi.lib.LLVMPY_DisposeNewModulePassManger(mpm)
        mpm.detach()


def emit_object(module: llvm.ModuleRef | Parts) -> bytes:
    if isinstance(module, Parts):
        return module.object
    return target_machine().emit_object(module)


def emit_assembly(module: llvm.ModuleRef | Parts) -> str:
    if isinstance(module, Parts):
        return "\n".join(target_machine().emit_assembly(m) for m in module.modules)
    return target_machine().emit_assembly(module)


class Engine:
    """One MCJIT engine per compiled graph (llvmlite's remove_module leaks, so engines are never shared).

    The engine owns its (empty) module, its target machine and the loaded object's code and data; ``close()``
    frees them all. Addresses handed out before are dangling afterwards: only the owner of every function
    pointer made from them may close it (``CompiledGraph`` does so from a finalizer, once nothing can call it).
    """

    def __init__(self, obj: bytes):
        self._lock = threading.Lock()
        self._engine = llvm.create_mcjit_compiler(llvm.parse_assembly(""), _new_target_machine())
        try:
            for part in _unpacked(obj):
                loaded = llvm.ObjectFileRef.from_data(part)
                try:
                    self._engine.add_object_file(loaded)  # the engine takes the object's buffer over
                finally:
                    loaded.close()
            self._engine.finalize_object()
        except BaseException:
            self._engine.close()
            raise

    @property
    def closed(self) -> bool:
        return self._engine is None

    def address(self, name: str) -> int:
        with self._lock:
            if self._engine is None:
                raise RuntimeError("this engine is closed")
            addr = self._engine.get_function_address(name)
        if not addr:  # MCJIT answers 0 for a missing symbol; calling it would crash the process
            raise RuntimeError(f"compiled object has no function {name!r}")
        return addr

    def close(self) -> None:
        """Free the native code, the modules and the target machine (idempotent)."""
        with self._lock:
            engine, self._engine = self._engine, None
        if engine is not None:
            engine.close()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
