"""The object cache is untrusted input: payloads in its fields are never run, swapped entries are never used for
another graph, special files never hang or exhaust memory, and a folder others control is not used."""

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

import symnet as sn
from codegen import cache, compile_graph
from codegen.pool import POOL
from symnet.core.ir import Def, Graph, Input, access, fresh_indices

PAYLOAD = "__import__('os').system('touch {marker}')"


def graph(scale: float) -> Graph:
    """X[i] · scale, with a data-dependent read, so its entry lists an index check."""
    x, idx = Input("X", (4,), np.dtype(np.float64)), Input("I", (4,), np.dtype(np.int64))
    (i,) = fresh_indices([4])
    body = access("X", (access("I", (i,)),)) * scale
    return Graph([x, idx], [Def("Y", (4,), x.dtype, ((i, 4),), (i,), body)], ["Y"])


def run(g: Graph) -> np.ndarray:
    return compile_graph(g)({"X": np.arange(4.0), "I": np.array([3, 2, 1, 0])})["Y"]


@pytest.fixture
def folder(tmp_path, monkeypatch):
    POOL.ensure()  # the pool's own object is cached where it was first made, not among this test's entries
    monkeypatch.setenv("SYMNET_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def entries(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.o"))


def rewrite(path: Path, mutate) -> None:
    """Rebuild an entry around mutated metadata, with a valid digest (a careful tamperer's entry)."""
    data = path.read_bytes()
    body = data[len(cache.MAGIC) + 32:]
    own = int.from_bytes(body[:2], "little")
    start = 2 + own
    size = int.from_bytes(body[start:start + 4], "little")
    meta = json.loads(body[start + 4:start + 4 + size])
    encoded = json.dumps(mutate(meta)).encode()
    body = body[:start] + len(encoded).to_bytes(4, "little") + encoded + body[start + 4 + size:]
    path.write_bytes(cache.MAGIC + __import__("hashlib").sha256(body).digest() + body)


def test_payloads_in_every_text_field_are_never_run(folder, tmp_path):
    marker = tmp_path / "pwned"
    expected = run(graph(2.0))
    (entry,) = entries(folder)
    for field in ("definition", "tensor", "index", "position"):
        def mutate(meta, field=field):
            for c in meta["checks"]:
                c[field] = PAYLOAD.format(marker=marker)
            return meta
        rewrite(entry, mutate)
        got = run(graph(2.0))
        assert np.array_equal(got, expected) and not marker.exists(), field
    rewrite(entry, lambda meta: {"checks": PAYLOAD.format(marker=marker)})
    assert np.array_equal(run(graph(2.0)), expected) and not marker.exists()


def test_an_entry_links_only_against_this_process_s_libraries(folder, tmp_path):
    marker = tmp_path / "pwned"
    expected = run(graph(2.0))
    (entry,) = entries(folder)
    for bad in (["evil"], "gemm_f32", [PAYLOAD.format(marker=marker)], None, [["gemm_f32"]], {"gemm_f32": 1}):
        rewrite(entry, lambda meta, bad=bad: {**meta, "libraries": bad})
        again = compile_graph(graph(2.0))
        assert not again.cache_hit, bad  # a miss: compiled again (and the entry rewritten)
        assert np.array_equal(again({"X": np.arange(4.0), "I": np.array([3, 2, 1, 0])})["Y"], expected)
    assert compile_graph(graph(2.0)).cache_hit and not marker.exists()


def test_swapped_entries_are_never_used_for_another_graph(folder):
    a, b = run(graph(2.0)), run(graph(3.0))
    first, second = entries(folder)
    first_bytes, second_bytes = first.read_bytes(), second.read_bytes()
    first.write_bytes(second_bytes)
    second.write_bytes(first_bytes)
    assert np.array_equal(run(graph(2.0)), a) and np.array_equal(run(graph(3.0)), b)
    assert not compile_graph(graph(2.0)).cache_hit or entries(folder)  # rewritten by the recompile


@pytest.mark.parametrize("target", ["fifo", "/dev/zero", "directory"])
def test_special_files_are_a_miss_not_a_hang(folder, tmp_path, target):
    expected = run(graph(2.0))
    (entry,) = entries(folder)
    entry.unlink()
    if target == "fifo":
        fifo = tmp_path / "fifo"
        os.mkfifo(fifo)
        entry.symlink_to(fifo)
    elif target == "directory":
        entry.mkdir()
    else:
        entry.symlink_to(target)
    result = []
    worker = threading.Thread(target=lambda: result.append(run(graph(2.0))), daemon=True)
    worker.start()
    worker.join(timeout=60)
    assert not worker.is_alive(), "reading the cache hung"
    assert np.array_equal(result[0], expected)


@pytest.mark.parametrize("problem", ["world-writable", "foreign-owned"])
def test_a_folder_others_control_is_not_used(tmp_path, monkeypatch, problem):
    folder = tmp_path / problem
    folder.mkdir(mode=0o700)
    if problem == "world-writable":
        folder.chmod(0o777)
    else:
        if os.getuid() != 0:
            pytest.skip("changing a folder's owner needs root")
        os.chown(folder, 4242, 4242)
    monkeypatch.setenv("SYMNET_CACHE_DIR", str(folder))
    with pytest.warns(RuntimeWarning, match="compiling in memory"):
        got = run(graph(5.0))
    assert np.array_equal(got, np.arange(4.0)[::-1] * 5.0) and not entries(folder)


def test_created_folders_are_private(tmp_path, monkeypatch):
    monkeypatch.setenv("SYMNET_CACHE_DIR", str(tmp_path / "new" / "cache"))
    run(graph(2.0))
    assert (tmp_path / "new" / "cache").stat().st_mode & 0o777 == 0o700


def test_the_cache_keeps_under_its_cap_evicting_the_least_recently_used(folder, monkeypatch):
    for scale in (1.0, 2.0, 3.0, 4.0, 5.0):
        run(graph(scale))
    largest = max(e.stat().st_size for e in entries(folder))
    monkeypatch.setenv("SYMNET_CACHE_MAX_MB", str(2.5 * largest / (1 << 20)))
    run(graph(6.0))                                       # a store evicts down to the cap
    assert len(entries(folder)) == 2
    assert compile_graph(graph(6.0)).cache_hit and not compile_graph(graph(1.0)).cache_hit


def test_a_store_counts_its_bytes_instead_of_measuring_the_folder(folder, monkeypatch):
    """The folder is measured at a process's first store there and when the count passes the cap: a large
    cache is not scanned at every compile. Another process's entries count from the next measure."""
    scans, measure = [], cache.evict
    monkeypatch.setattr(cache, "evict", lambda directory: scans.append(directory) or measure(directory))
    for scale in (1.0, 2.0, 3.0, 4.0):
        run(graph(scale))
    assert len(scans) == 1 and len(entries(folder)) == 4
    size = max(e.stat().st_size for e in entries(folder))
    (folder / f"{'0' * 64}.o").write_bytes(b"x" * 3 * size)  # another process's entry, older than ours
    os.utime(folder / f"{'0' * 64}.o", (1, 1))
    monkeypatch.setenv("SYMNET_CACHE_MAX_MB", str(5.5 * size / (1 << 20)))
    run(graph(5.0))  # counted: within the cap
    assert len(scans) == 1
    run(graph(6.0))  # past it: measured, and the least recent evicted to 9/10 of the cap (5.5 · 0.9 < 6 · size)
    assert len(scans) == 2 and len(entries(folder)) == 5 and not (folder / f"{'0' * 64}.o").exists()
    assert cache._usage[str(folder)] == sum(e.stat().st_size for e in entries(folder)) <= 5.5 * size * 0.9


def test_a_tampered_cache_in_another_process_runs_no_code(folder, tmp_path):
    """End to end through the user API: a poisoned folder, then a fresh process computing with it."""
    marker = tmp_path / "pwned"
    script = ("import numpy as np, symnet as sn\n"
              "x = sn.tensor(np.arange(3.0), requires_grad=True)\n"
              "(x.exp() * x).sum().backward(); print(x.grad.tolist())\n")
    env = {**os.environ, "SYMNET_CACHE_DIR": str(folder)}
    clean = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True)
    for entry in entries(folder):
        rewrite(entry, lambda meta: {**meta, "checks": [{"definition": PAYLOAD.format(marker=marker)}]})
    again = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True)
    assert again.stdout == clean.stdout and not marker.exists()
    assert sn.__name__ == "symnet"
