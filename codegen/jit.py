"""LLVM for the host CPU: O3 with loop and SLP vectorization (new pass manager), MCJIT, objects, assembly.

Native memory is released explicitly: each optimized module has an LLVM context of its own, every pass manager is
disposed after its run, and an ``Engine`` frees its code, modules and target machine on ``close()`` (called by its
owner's finalizer, or by hand).
"""

from __future__ import annotations

import functools
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


def host_fingerprint() -> str:
    """What a compiled object depends on besides its IR: CPU, features, LLVM."""
    target_machine()
    return f"{llvm.get_host_cpu_name()}|{llvm.get_host_cpu_features().flatten()}|llvmlite {llvmlite.__version__}"


def optimize(ir_text: str) -> llvm.ModuleRef:
    """Parse and run the O3 pipeline (loop vectorization, SLP vectorization, unrolling) on the module.

    The module gets an LLVM context of its own, freed with it: the global context would keep every constant, type
    and metadata node any compile ever made (and it is not thread-safe)."""
    tm = target_machine()
    module = llvm.parse_assembly(ir_text, context=llvm.create_context())
    module.triple = llvm.get_process_triple()
    module.data_layout = str(tm.target_data)
    module.verify()
    run_o3(module, tm)
    return module


def run_o3(module: llvm.ModuleRef, tm: llvm.TargetMachine) -> None:
    """LLVM's O3 pipeline on ``module`` for ``tm`` (the host's, or an export's target), its pass manager freed."""
    pto = llvm.create_pipeline_tuning_options(speed_level=3)
    pto.loop_vectorization = pto.slp_vectorization = pto.loop_unrolling = True
    pb = llvm.create_pass_builder(tm, pto)
    mpm = pb.getModulePassManager()
    try:
        mpm.run(module, pb)
    finally:
        _dispose_pass_manager(mpm)


def _dispose_pass_manager(mpm) -> None:
    """Free a module pass manager. llvmlite 0.50's ``ModulePassManager`` inherits ``ObjectRef._dispose`` (a no-op)
    ahead of ``NewPassManager._dispose``, so ``close()`` alone leaks the whole O3 pipeline and the state its
    passes grew on the module (~0.13 MB per compile, more for large modules)."""
    if not mpm.closed:
        ffi.lib.LLVMPY_DisposeNewModulePassManger(mpm)
        mpm.detach()


def emit_object(module: llvm.ModuleRef) -> bytes:
    return target_machine().emit_object(module)


def emit_assembly(module: llvm.ModuleRef) -> str:
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
            loaded = llvm.ObjectFileRef.from_data(obj)
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
