"""What keeps a cold compile short: kernels whose run time does not matter are compiled for size, the hot ones
at full O3; a large module is compiled in parts on several threads, and the pool while the first graph emits.
The numbers are the same either way."""

from __future__ import annotations

import ctypes
import os
import re
import subprocess
import sys

import numpy as np
import pytest
from llvmlite import binding as llvm

import symnet as sn
from codegen import compile_graph, emit, jit, library, pool
from symnet import trace
from symnet.pipeline import gradient_program


def wide_then_narrow():
    """A 4096×128 tanh layer (hot: a matrix product, the activation and their adjoints) then a 128→2 one whose
    products and element-wise kernel over 4096×2 are cold."""
    rng = np.random.default_rng(0)
    X = sn.tensor(rng.standard_normal((4096, 128)).astype(np.float32), name="X")
    W = sn.tensor(rng.standard_normal((128, 128)).astype(np.float32) / 11, requires_grad=True, name="W")
    V = sn.tensor(rng.standard_normal((128, 2)).astype(np.float32) / 11, requires_grad=True, name="V")
    out = ((X @ W).tanh() @ V) - 1.0
    traced = trace([(out * out).sum()])
    positions = tuple(p for p, t in enumerate(traced.tensors) if t is W or t is V)
    return gradient_program(traced.specs, len(traced.specs) - 1, positions, seeded=False).graph


def attributes(ir_text: str) -> dict[str, str]:
    """Each defined function's name → the attributes on its ``define`` line."""
    return {m.group(1): m.group(2) for m in re.finditer(r'^define [^@]*@"([^"]+)"\([^)]*\)(.*)$', ir_text, re.M)}


def test_small_share_kernels_are_compiled_for_size_and_the_large_ones_are_not():
    ir_text = compile_graph(wide_then_narrow(), use_cache=False).llvm_ir()
    attrs = attributes(ir_text)
    kernels = {name: a for name, a in attrs.items() if name.startswith("k_")}
    cold = {name for name, a in kernels.items() if "optsize" in a}
    # the 128→2 product, its weight's gradient and 2·(out − 1): 1/64 of the first product's work or less; the
    # input's gradient through it (4096×128 from a product over 2) writes as much as the activation: hot
    assert cold == {"k_matmul2", "k_dV", "k_dmatmul2"}
    assert "k_sum1" in kernels  # the loss: as small, but a float sum whose order its vectorization sets
    for name in ("sn_gemm_f32_16x1_s", "sn_gemm_f32_8x2_s"):  # the GEMM library's: declared, optimized once
        assert name not in attrs and re.search(rf'^declare .*@"?{name}"?\(', ir_text, re.M)
    assert "minsize" in attrs["sn_entry"] and "optsize" in attrs["sn_entry"]


def test_cold_kernels_give_the_same_numbers_as_hot_ones(monkeypatch):
    graph = wide_then_narrow()
    inputs = [np.random.default_rng(1).standard_normal(tuple(int(n) for n in t.shape)).astype(t.dtype)
              for t in graph.inputs]
    sized = compile_graph(graph, use_cache=False)
    assert "optsize" in sized.llvm_ir()
    monkeypatch.setattr(emit, "cold_kernels", lambda kernels: [False] * len(kernels))
    full = compile_graph(graph, use_cache=False)
    assert sized.llvm_ir() != full.llvm_ir()
    for a, b in zip(sized.call(inputs), full.call(inputs), strict=True):
        assert a.dtype == b.dtype and np.array_equal(a, b)


def test_a_module_in_parts_defines_each_function_once_and_keeps_helpers_with_their_callers():
    text = compile_graph(wide_then_narrow(), use_cache=False).llvm_ir()
    parts = jit.partition(text, 2)
    assert len(parts) == 2
    defined = [attributes(p) for p in parts]
    everywhere = [n for d in defined for n in d if not n.startswith("sn_tanh")]  # inlined: copied where called
    assert sorted(everywhere) == sorted(n for n in attributes(text) if not n.startswith("sn_tanh"))
    for d in defined:
        for name in d:
            if name.startswith("sn_gemm"):  # each micro-kernel with every kernel that calls it
                assert all(f'@"{name}"' not in p for p, other in zip(parts, defined, strict=True)
                           if name not in other)
    for p in parts:
        llvm.parse_assembly(p).verify()


def test_a_module_with_exported_data_stays_whole():
    text = pool._module(llvm.get_process_triple())
    assert jit.partition(text, 4) == [text]


def test_a_graph_compiled_in_parts_gives_the_numbers_of_the_whole(monkeypatch):
    graph = wide_then_narrow()
    inputs = [np.random.default_rng(2).standard_normal(tuple(int(n) for n in t.shape)).astype(t.dtype)
              for t in graph.inputs]
    monkeypatch.setattr(jit, "SPLIT_CHARS", 0)
    monkeypatch.setattr(jit, "_threads", lambda: 3)
    split = compile_graph(graph, use_cache=False)
    assert isinstance(jit.optimize(split.llvm_ir()), jit.Parts)
    monkeypatch.setattr(jit, "_threads", lambda: 1)
    whole = compile_graph(graph, use_cache=False)
    for a, b in zip(split.call(inputs), whole.call(inputs), strict=True):
        assert a.dtype == b.dtype and np.array_equal(a, b)


def test_packed_objects_unpack_and_a_torn_pack_is_refused():
    packed = jit.Parts([], [b"first", b"second!"]).object
    assert jit._unpacked(packed) == [b"first", b"second!"]
    assert jit._unpacked(b"\x7fELF...") == [b"\x7fELF..."]
    with pytest.raises(ValueError):
        jit._unpacked(packed[:-1])


def test_split_kernels_of_one_signature_share_a_launcher_and_give_the_one_thread_numbers():
    graph = wide_then_narrow()
    compiled = compile_graph(graph, use_cache=False)
    text = compiled.llvm_ir()
    launchers = [name for name in attributes(text) if name.startswith("l_")]
    assert sorted(launchers) == sorted(f"l_{name[2:]}" for name in attributes(text) if name.startswith("j_"))
    assert text.count('call i32 @"l_') > 2 * len(launchers)  # each call site (entry) passes its kernel's address
    inputs = [np.random.default_rng(3).standard_normal(tuple(int(n) for n in t.shape)).astype(t.dtype)
              for t in graph.inputs]
    threads, backoff = sn.get_num_threads(), pool.POOL.backoff
    try:
        pool.POOL.ensure()
        pool.POOL.backoff = 0
        sn.set_num_threads(2)
        before = pool.POOL.forks
        two = compiled.call(inputs)
        assert pool.POOL.forks > before
        sn.set_num_threads(1)
        one = compiled.call(inputs)
    finally:
        sn.set_num_threads(threads)
        pool.POOL.backoff = backoff
    for a, b in zip(one, two, strict=True):
        assert a.dtype == b.dtype and np.array_equal(a, b)


def test_a_new_process_makes_the_pool_while_its_first_graph_emits(tmp_path):
    script = """
import threading
import numpy as np
from codegen import pool
made, library = [], pool.POOL.library
original = library._object
def counted():
    made.append(threading.current_thread().name)
    return original()
library._object = counted
import symnet as sn
assert (sn.tensor(np.ones(100)) * 2 + 1).numpy().tolist() == [3.0] * 100
print(made)
"""
    done = subprocess.run([sys.executable, "-c", script], env={**os.environ, "SYMNET_CACHE_DIR": str(tmp_path)},
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["['symnet-pool-compile']"]  # once, on the prefetch thread


LIBRARY_SCRIPT = """
import threading
import numpy as np
from codegen import gemm, jit
made, library = [], gemm.LIBRARIES["f32"]
original = library._object
def counted():
    made.append(threading.current_thread().name)
    return original()
library._object = counted
optimized, compile_alone = [], jit.compile_alone
jit.compile_alone = lambda text: optimized.append(text) or compile_alone(text)
import symnet as sn
rng = np.random.default_rng(0)
a = rng.standard_normal((70, 50)).astype(np.float32)
b = rng.standard_normal((50, 30)).astype(np.float32)
c = rng.standard_normal((30, 9)).astype(np.float32)
first = (sn.tensor(a) @ sn.tensor(b)).numpy()  # one graph, then another with both tile shapes
second = ((sn.tensor(a) @ sn.tensor(b)).tanh() @ sn.tensor(c)).numpy()
assert np.allclose(first, a @ b, rtol=1e-5, atol=1e-5)
assert np.allclose(second, np.tanh(a @ b) @ c, rtol=1e-5, atol=1e-5)
print(made, sum("sn_gemm_f32" in text for text in optimized))
"""


def test_graphs_link_against_the_gemm_library_made_once_per_host(tmp_path):
    """Every graph calls the strided GEMM kernels of one library, made on its own thread while the first graph
    emits and kept in the cache: a second process loads it and compiles no GEMM at all."""
    env = {**os.environ, "SYMNET_CACHE_DIR": str(tmp_path)}
    runs = [subprocess.run([sys.executable, "-c", LIBRARY_SCRIPT], env=env, capture_output=True, text=True,
                           check=False) for _ in range(2)]
    for done in runs:
        assert done.returncode == 0, done.stderr
    assert runs[0].stdout.split("] ") == ["['symnet-gemm_f32-compile'", "1\n"]  # the library, once, on its thread
    # the graphs found in the cache: the library loaded with them, read from the cache too (no LLVM at all)
    assert runs[1].stdout.split("] ") == ["['MainThread'", "0\n"]


CONCURRENT_SCRIPT = """
import numpy as np
from codegen import gemm
made = []
for library in gemm.LIBRARIES.values():
    def counted(original=library._object, name=library.name):
        made.append(name)
        return original()
    library._object = counted
import symnet as sn
from tests.threads import in_threads
def product(case):
    dtype, m = case
    rng = np.random.default_rng(m)
    a, b = rng.standard_normal((m, 40)).astype(dtype), rng.standard_normal((40, 50)).astype(dtype)
    got = (sn.tensor(a) @ sn.tensor(b)).numpy()
    return bool(got.dtype == dtype and np.allclose(got, a @ b, rtol=1e-4, atol=1e-4))
print(in_threads(product, [(np.float32, 30), (np.float64, 31), (np.float32, 32), (np.float64, 33)]), sorted(made))
"""


def test_threads_compiling_at_once_share_each_library(tmp_path):
    """Four threads of a new process compile matrix products of both precisions at once, on a fresh cache: each
    library is made and loaded once, every product is right."""
    done = subprocess.run([sys.executable, "-c", CONCURRENT_SCRIPT], capture_output=True, text=True, check=False,
                          env={**os.environ, "SYMNET_CACHE_DIR": str(tmp_path)},
                          cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["[True,", "True,", "True,", "True]", "['gemm_f32',", "'gemm_f64']"]


def test_a_library_whose_make_failed_is_made_again_on_next_use(tmp_path, monkeypatch):
    """A failure (here the first source; in practice an LLVM error or a full disk) is raised to the graph that
    needed the library, and not kept: the next use makes it again, and its functions answer."""
    monkeypatch.setenv("SYMNET_CACHE_DIR", str(tmp_path))
    calls = []

    def source() -> str:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("the first make fails")
        return 'define i64 @"sn_test_answer"() {\n  ret i64 42\n}\n'

    answer = library.Library("test_answer", source, lambda: ["sn_test_answer"])
    answer.prefetch()
    with pytest.raises(RuntimeError, match="first make fails"):
        answer.ensure()
    engine = answer.ensure()
    assert ctypes.CFUNCTYPE(ctypes.c_int64)(engine.address("sn_test_answer"))() == 42
    assert answer.ensure() is engine and len(calls) == 2
