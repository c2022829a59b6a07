"""Compiled callables: bad input is a clear exception, never a crash; the object cache; inspection."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import symnet as sn
import symnet.nn.functional as F
from codegen import cache, compile_graph, runtime
from symnet import trace
from symnet.core.ir import BATCH
from symnet.pipeline import gradient_program

from ..threads import in_threads


def mlp_graph():
    X = sn.tensor(np.ones((4, 3), dtype=np.float32), name="X")
    Y = sn.tensor([0, 1, 2, 1], name="Y")
    W = sn.tensor(np.full((3, 3), 0.1, dtype=np.float32), requires_grad=True, name="W")
    traced = trace([F.cross_entropy(X @ W.T, Y)])
    specs, nodes = traced.specs, traced.tensors
    specs = tuple(s._replace(shape=(BATCH, *s.shape[1:])) if s.name in ("X", "Y") else s
                  for s in specs)
    position = next(p for p, t in enumerate(nodes) if t is W)
    prog = gradient_program(specs, len(specs) - 1, (position,), seeded=False)
    return prog.graph


@pytest.fixture(scope="module")
def compiled():
    return compile_graph(mlp_graph())


def good_inputs(batch=4):
    return {"X": np.ones((batch, 3), np.float32), "Y": np.arange(batch, dtype=np.int64) % 3,
            "W": np.full((3, 3), 0.1, np.float32)}


def test_good_input_runs(compiled):
    out = compiled(good_inputs())
    assert set(out) == set(compiled.graph.outputs)


BAD = [
    ("wrong_dtype", {"X": np.ones((4, 3), np.float64)}, sn.DTypeError, "input X: expected dtype float32"),
    ("wrong_rank", {"X": np.ones((4, 3, 1), np.float32)}, sn.ShapeError, "input X: expected 2 dims"),
    ("wrong_features", {"X": np.ones((4, 5), np.float32)}, sn.ShapeError, r"expected shape \(N, 3\)"),
    ("mismatched_batch", {"Y": np.zeros(3, np.int64)}, sn.ShapeError, "N is 4 elsewhere but 3 here"),
    ("label_too_big", {"Y": np.array([0, 1, 3, 0])}, sn.IndexRangeError, "takes the value 3, outside \\[0, 3\\)"),
    ("label_negative", {"Y": np.array([0, -1, 2, 0])}, sn.IndexRangeError, "takes the value -1"),
    ("float_labels", {"Y": np.zeros(4)}, sn.DTypeError, "input Y: expected dtype int64"),
]


@pytest.mark.parametrize("name", [b[0] for b in BAD])
def test_bad_input_is_a_clear_error(compiled, name):
    _, change, error, message = next(b for b in BAD if b[0] == name)
    with pytest.raises(error, match=message):
        compiled({**good_inputs(), **change})


def test_missing_input(compiled):
    with pytest.raises(sn.ShapeError, match="missing input 'W'"):
        compiled({"X": good_inputs()["X"], "Y": good_inputs()["Y"]})


def test_non_contiguous_input_is_handled(compiled):
    wide = np.ones((4, 6), np.float32)
    expected = compiled(good_inputs())
    got = compiled({**good_inputs(), "X": wide[:, ::2]})
    for name in expected:
        np.testing.assert_array_equal(got[name], expected[name])


def test_inspection_stages(compiled):
    assert "Σ" not in compiled.show("sympy") and "sum over" in compiled.show("sympy")
    assert "for " in compiled.show("loops") and "acc +=" in compiled.show("loops")
    assert "define i32 @\"sn_entry\"" in compiled.show("llvm") or "@sn_entry" in compiled.show("llvm")
    assert "noalias" in compiled.show("llvm")
    assert "ret" in compiled.show("asm")
    with pytest.raises(ValueError, match="stage must be"):
        compiled.show("ptx")


def test_cache_hit_and_corrupt_entry_recompiles(tmp_path, monkeypatch):
    monkeypatch.setenv("SYMNET_CACHE_DIR", str(tmp_path))
    graph = mlp_graph()
    first = compile_graph(graph)
    assert not first.cache_hit and list(tmp_path.glob("*.o"))
    second = compile_graph(graph)
    assert second.cache_hit
    for entry in tmp_path.glob("*.o"):
        entry.write_bytes(entry.read_bytes()[:-10] + b"corrupted!")
    third = compile_graph(graph)
    assert not third.cache_hit
    np.testing.assert_array_equal(third(good_inputs())[graph.outputs[0]], first(good_inputs())[graph.outputs[0]])
    assert compile_graph(graph).cache_hit


def test_cache_store_is_atomic_and_survives_unwritable_folder(tmp_path, monkeypatch):
    target = tmp_path / "file-not-folder"
    target.write_text("x")
    monkeypatch.setenv("SYMNET_CACHE_DIR", str(target))
    with pytest.warns(RuntimeWarning, match="is not a directory"):
        cache.store("k", b"obj", {})      # cannot use the folder: a warning, no error, just no cache
    assert cache.load("k") is None
    monkeypatch.setenv("SYMNET_CACHE_DIR", str(tmp_path / "c"))
    cache.store("k", b"payload", {"checks": []})
    assert cache.load("k") == (b"payload", {"checks": []}) and not list((tmp_path / "c").glob("*.tmp"))


def test_two_processes_compiling_at_once_both_work(tmp_path):
    script = textwrap.dedent("""
        import numpy as np, symnet as sn
        x = sn.tensor(np.linspace(-1, 1, 7), requires_grad=True)
        y = (x.tanh() * x.exp()).sum()
        y.backward()
        print(float(y.item()), float(x.grad.numpy().sum()))
    """)
    env = {**os.environ, "SYMNET_CACHE_DIR": str(tmp_path)}
    procs = [subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, env=env) for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err for _, err in outs]
    assert outs[0][0] == outs[1][0] and outs[0][0].strip()


def test_llvmlite_string_escapes_are_ready_before_two_threads_emit_ir():
    # llvmlite fills its escape table on first use, unlocked; the pool's IR is built on a thread of its own while
    # the caller builds a graph's, so a half-filled table was a KeyError (seen in CI). Importing codegen fills it.
    script = textwrap.dedent("""
        import codegen
        from llvmlite.ir import values
        table = values._escape_string.__defaults__[0]
        print(len(table), values._escape_string(b"sn_pool!") == "sn_pool!")
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == ["256", "True"], out.stderr


def test_user_can_see_every_stage_of_a_tensor_program():
    x = sn.tensor([1.0, 2.0], requires_grad=True, name="x")
    y = (x.sigmoid() * x).sum()
    assert "dx[i] =" in sn.show(y, "loops")
    assert "σ(x[i])" in sn.show(y, "sympy") or "sigmoid(x[i])" in sn.show(y, "sympy")
    assert "fmul" in sn.show(y, "llvm-opt")
    assert sn.show(y, "asm").lstrip().startswith(".")


def test_symnet_show_environment_variable_logs_stages(tmp_path):
    script = "import symnet as sn; print(sn.tensor([1.0, 2.0]).exp().sum().item())"
    env = {**os.environ, "SYMNET_SHOW": "loops,llvm", "SYMNET_CACHE_DIR": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "symnet.pipeline: loops of" in out.stderr and "acc += exp(A[i])" in out.stderr
    assert "define" in out.stderr


def test_pack_shares_memory_only_between_buffers_whose_spans_do_not_meet():
    spans = [(0, 1), (1, 2), (2, 3), (3, 3), (0, 3)]
    nbytes = [100, 64, 64, 200, 8]
    total, offsets = runtime.pack(nbytes, spans)
    for a in range(len(spans)):
        for b in range(a + 1, len(spans)):
            meet = spans[a][0] <= spans[b][1] and spans[b][0] <= spans[a][1]
            apart = offsets[a] + nbytes[a] <= offsets[b] or offsets[b] + nbytes[b] <= offsets[a]
            assert apart or not meet, (a, b)
    assert all(o % 64 == 0 for o in offsets)
    assert total < sum(-(-n // 64) * 64 for n in nbytes)  # (0, 1) and (2, 3) share


def test_outputs_of_one_call_survive_the_next_and_the_workspace_is_reused(compiled):
    """The intermediate values live in a workspace kept between calls; what a call returns is the caller's."""
    first = compiled(good_inputs(4))
    kept = {k: v.copy() for k, v in first.items()}
    other = good_inputs(4)
    other["W"] = np.full((3, 3), -0.3, np.float32)
    second = compiled(other)
    for name in kept:
        np.testing.assert_array_equal(first[name], kept[name])
        assert not np.shares_memory(first[name], second[name])
    block = compiled._workspaces.block
    compiled(good_inputs(4))
    assert compiled._workspaces.block is block
    assert not any(np.shares_memory(block, v) for v in second.values())


def test_a_larger_batch_grows_the_workspace_and_gives_the_same_numbers(compiled):
    small = compiled(good_inputs(4))
    compiled(good_inputs(4096))
    again = compiled(good_inputs(4))
    for name in small:
        np.testing.assert_array_equal(small[name], again[name])


# ---------------------------------------------------------------- fixed shapes, and the per-thread argument blocks

def fixed_graph():
    """The same step with every shape fixed."""
    X = sn.tensor(np.ones((4, 3), dtype=np.float32), name="X")
    Y = sn.tensor([0, 1, 2, 1], name="Y")
    W = sn.tensor(np.full((3, 3), 0.1, dtype=np.float32), requires_grad=True, name="W")
    traced = trace([F.cross_entropy(X @ W.T, Y)])
    position = next(p for p, t in enumerate(traced.tensors) if t is W)
    return gradient_program(traced.specs, len(traced.specs) - 1, (position,), seeded=False).graph


@pytest.fixture(scope="module")
def fixed():
    compiled = compile_graph(fixed_graph())
    assert not compiled.dims
    return compiled


def _ordered(compiled, arrays):
    return [arrays[t.name] for t in compiled.graph.inputs]


@pytest.mark.parametrize("name", [b[0] for b in BAD if b[0] != "mismatched_batch"])
def test_fixed_shapes_refuse_bad_input_the_same_way(fixed, name):
    _, change, error, message = next(b for b in BAD if b[0] == name)
    message = message.replace(r"\(N, 3\)", r"\(4, 3\)")
    with pytest.raises(error, match=message):
        fixed.call(_ordered(fixed, {**good_inputs(), **change}))
    with pytest.raises(sn.ShapeError, match="expected shape"):
        fixed.call(_ordered(fixed, {**good_inputs(), "Y": np.zeros(3, np.int64)}))


def test_fixed_shapes_take_lists_subclasses_and_strided_arrays_through_the_full_path(fixed):
    expected = fixed.call(_ordered(fixed, good_inputs()))
    wide = np.ones((4, 6), np.float32)
    for x in (wide[:, ::2], np.ones((4, 3), np.float32).view(np.matrix), np.ones((4, 3), np.float32).tolist()):
        if isinstance(x, list):
            with pytest.raises(sn.DTypeError, match="expected dtype float32"):  # a list is float64: refused
                fixed.call(_ordered(fixed, {**good_inputs(), "X": x}))
            continue
        got = fixed.call(_ordered(fixed, {**good_inputs(), "X": x}))
        for a, b in zip(got, expected, strict=True):
            np.testing.assert_array_equal(a, b)


def test_fixed_shapes_give_each_thread_its_own_block(fixed):
    """Two threads calling at once (ctypes releases the GIL) each write only their own argument block."""

    weights = [np.full((3, 3), w, np.float32) for w in (0.1, -0.7)]
    expected = [fixed.call(_ordered(fixed, {**good_inputs(), "W": w})) for w in weights]

    def run(k):
        for _ in range(300):
            got = fixed.call(_ordered(fixed, {**good_inputs(), "W": weights[k]}))
            assert all(np.array_equal(a, b) for a, b in zip(got, expected[k], strict=True)), k

    in_threads(run, (0, 1))
    first = fixed.call(_ordered(fixed, good_inputs()))
    kept = [a.copy() for a in first]
    fixed.call(_ordered(fixed, {**good_inputs(), "W": weights[1]}))
    for a, b in zip(first, kept, strict=True):  # a call's outputs are the caller's
        np.testing.assert_array_equal(a, b)
