"""Kernels split across the pool's threads compute bitwise what one thread computes (1, 2 and 3 threads), with
index errors, concurrent callers, forked processes and the thread-count setting."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import threading

import numpy as np
import pytest

import symnet as sn
from codegen import compile_graph, pool
from codegen.emit import emit_module
from codegen.loops import lower_graph
from codegen.parts import split_kind
from tests import test_conv_parity, test_lenet_parity, test_pinn
from tests.codegen.test_runtime import mlp_graph

THREADS = (1, 2, 3)


@pytest.fixture(autouse=True)
def restore_threads():
    """Each test's thread count, and no backoff (a stall on this shared machine would make a count of forks
    flaky)."""
    before, backoff = sn.get_num_threads(), pool.POOL.backoff
    pool.POOL.ensure()
    pool.POOL.backoff = 0
    yield
    sn.set_num_threads(before)
    pool.POOL.backoff = backoff


def on_threads(fn):
    """``fn()`` on 1, 2 and 3 threads, and how many jobs the pool was given for each."""
    results, forks = [], []
    for n in THREADS:
        sn.set_num_threads(n)
        fn()  # compiled (and, from the second count on, cached) outside the count
        before = pool.POOL.forks
        results.append(fn())
        forks.append(pool.POOL.forks - before)
    return results, forks


def assert_bitwise(results) -> None:
    first = results[0]
    for other in results[1:]:
        for a, b in zip(first, other, strict=True):
            assert a.dtype == b.dtype and a.shape == b.shape
            assert np.array_equal(a, b, equal_nan=True), np.abs(a - b).max()


def arrays(*tensors) -> list[np.ndarray]:
    return [np.array(t.detach().numpy()) for t in tensors]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(300, 200, 500), (8, 700, 3000), (4000, 3, 50), (257, 129, 255)],
                         ids=["rows", "columns", "thin", "odd"])
def test_matmul_and_its_gradients(shape, dtype):
    """Rows split (tall outputs) and columns split (wide ones), odd edges, with both gradients."""
    m, k, n = shape
    rng = np.random.default_rng(0)
    a0, b0 = rng.standard_normal((m, k)).astype(dtype), rng.standard_normal((k, n)).astype(dtype)

    def run():
        a, b = sn.tensor(a0, requires_grad=True), sn.tensor(b0, requires_grad=True)
        out = a @ b
        out.tanh().sum().backward()
        return arrays(out, a.grad, b.grad)

    results, forks = on_threads(run)
    assert_bitwise(results)
    assert forks[0] == 0 and forks[1] > 0 and forks[2] > 0


def test_elementwise_and_row_reductions():
    rng = np.random.default_rng(1)
    x0 = rng.standard_normal((700, 900))

    def run():
        x = sn.tensor(x0, requires_grad=True)
        soft = sn.nn.functional.log_softmax(x * 2 + 1, dim=1)
        (soft.exp() * x).sum().backward()
        return arrays(soft, x.grad)

    results, forks = on_threads(run)
    assert_bitwise(results)
    assert forks[1] > 0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_convolution_step_through_fit(dtype):
    """A LeNet-like step (implicit GEMMs split by rows and by columns, pooling, padding) trained with the native
    loop, on 1, 2 and 3 threads."""
    rng = np.random.default_rng(2)
    x = rng.standard_normal((64, 1, 28, 28)).astype(dtype)
    y = rng.integers(0, 10, 64)

    def run():
        sn.manual_seed(0)
        net = sn.nn.Sequential(sn.nn.Conv2d(1, 6, 5, padding=2), sn.nn.ReLU(), sn.nn.MaxPool2d(2),
                               sn.nn.Conv2d(6, 16, 5), sn.nn.ReLU(), sn.nn.MaxPool2d(2), sn.nn.Flatten(),
                               sn.nn.Linear(400, 10)).to(dtype)
        step = sn.compile(net, sn.nn.CrossEntropyLoss(), sn.optim.SGD(net.parameters(), lr=0.05, momentum=0.9))
        losses = step.fit([(x, y)] * 3, epochs=1)
        return [np.asarray(losses, dtype=np.float64), *arrays(*net.parameters())]

    results, forks = on_threads(run)
    assert_bitwise(results)
    assert forks[1] > 0


def test_an_index_error_in_a_split_kernel_is_reported():
    """The failing part's status and value reach the caller, whichever thread ran it."""
    sn.set_num_threads(2)
    table = sn.tensor(np.random.default_rng(3).standard_normal((50, 4000)))
    labels = np.zeros(600, dtype=np.int64)
    labels[457] = 77
    with pytest.raises(sn.IndexRangeError, match="77"):
        sn.nn.functional.embedding(sn.tensor(labels), table).numpy()
    labels[457] = 49
    expected = table.numpy()[labels]
    assert np.array_equal(sn.nn.functional.embedding(sn.tensor(labels), table).numpy(), expected)


def test_concurrent_callers_share_the_pool():
    """Four Python threads call split kernels at once: each gets its own answer (a busy pool runs a caller alone)."""
    sn.set_num_threads(2)
    rng = np.random.default_rng(4)
    inputs = [rng.standard_normal((400, 300)) for _ in range(4)]
    weight = sn.tensor(rng.standard_normal((300, 500)))
    expected = [sn.tanh(sn.tensor(a) @ weight).numpy() for a in inputs]
    errors = []

    def worker(k):
        for _ in range(20):
            got = sn.tanh(sn.tensor(inputs[k]) @ weight).numpy()
            if not np.array_equal(got, expected[k]):
                errors.append(k)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def _child(queue):
    a = np.arange(600 * 500, dtype=np.float64).reshape(600, 500) / 1e5
    queue.put(float((sn.tensor(a) @ sn.tensor(a.T)).sum().item()))


@pytest.mark.skipif(sys.platform != "linux", reason="fork start method")
def test_a_forked_child_computes_without_the_parents_workers():
    sn.set_num_threads(2)
    a = np.arange(600 * 500, dtype=np.float64).reshape(600, 500) / 1e5
    expected = float((sn.tensor(a) @ sn.tensor(a.T)).sum().item())
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_child, args=(queue,))
    child.start()
    got = queue.get(timeout=60)
    child.join(timeout=60)
    assert child.exitcode == 0 and got == expected


def test_the_thread_count_setting():
    sn.set_num_threads(3)
    assert sn.get_num_threads() == 3
    for bad in (0, -1, 2.0, True, "2", 65):
        with pytest.raises(ValueError, match="set_num_threads"):
            sn.set_num_threads(bad)
    assert sn.get_num_threads() == 3
    script = "import symnet as sn; print(sn.get_num_threads())"
    env = {**os.environ, "SYMNET_NUM_THREADS": "3"}
    assert subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True,
                          check=True).stdout.strip() == "3"
    bad = subprocess.run([sys.executable, "-c", script], env={**env, "SYMNET_NUM_THREADS": "many"},
                         capture_output=True, text=True)
    assert bad.returncode != 0 and "SYMNET_NUM_THREADS" in bad.stderr


def test_small_kernels_stay_whole_and_exports_never_fork():
    """A kernel below the grain is called directly (and a batch too small to split runs whole); a module emitted
    without ``parallel`` has no pool symbol."""
    sn.set_num_threads(2)
    before = pool.POOL.forks
    (sn.tensor(np.ones(100)) * 2 + 1).numpy()
    assert pool.POOL.forks == before
    graph = mlp_graph()  # batch symbolic: its work, and so its parts, known only at run time
    kernels = lower_graph(graph)
    assert any(split_kind(k) for k in kernels)
    assert "sn_fork" in emit_module(graph, kernels, "m", parallel=True).ir
    assert "sn_fork" not in emit_module(graph, kernels, "m").ir
    compiled = compile_graph(graph)
    rng = np.random.default_rng(5)
    for batch, splits in ((4, False), (pool.GRAIN // 8, True)):
        inputs = {"X": rng.standard_normal((batch, 3)).astype(np.float32),
                  "Y": rng.integers(0, 3, batch), "W": np.full((3, 3), 0.1, np.float32)}
        before = pool.POOL.forks
        two = compiled(inputs)
        assert (pool.POOL.forks > before) == splits
        sn.set_num_threads(1)
        one = compiled(inputs)
        sn.set_num_threads(2)
        assert_bitwise([list(one.values()), list(two.values())])


def test_a_loop_of_one_iteration_is_called_directly_whatever_the_grain(every_kernel_split):
    """A one-element weight's update has one part: the pool's call would be the whole cost of it (in a short fit's
    repeat, a third of each step)."""
    from symnet.frontend.trace import trace
    from symnet.pipeline import lower

    def graph(*outputs):
        traced = trace(list(outputs))
        return lower(traced.specs, [traced.position(t) for t in outputs]).graph

    w = sn.tensor(np.ones((1, 1), np.float32), name="w")
    v = sn.tensor(np.ones((5, 1), np.float32), name="v")
    assert [split_kind(k) for k in lower_graph(graph(w * 2 + 1, v * 2 + 1))] == [None, "loop"]
    before = pool.POOL.forks
    compiled = compile_graph(graph(w * 2 + 1))
    out = compiled({t.name: np.full((1, 1), 3, np.float32) for t in compiled.graph.inputs})
    assert pool.POOL.forks == before and list(out.values())[0].tolist() == [[7.0]]


def test_a_bad_label_mid_fit_stops_at_the_same_step_on_any_thread_count():
    """An index error in a split kernel inside the native repeat loop: the same step fails, the same state stays."""
    rng = np.random.default_rng(6)
    x = rng.standard_normal((3 * 2048, 64))
    y = rng.integers(0, 10, 3 * 2048)
    y[2 * 2048 + 100] = 10  # in the third batch

    def run():
        sn.manual_seed(1)
        net = sn.nn.Sequential(sn.nn.Linear(64, 128), sn.nn.Tanh(), sn.nn.Linear(128, 10)).double()
        step = sn.compile(net, sn.nn.CrossEntropyLoss(), sn.optim.SGD(net.parameters(), lr=0.1))
        batches = [(x[k * 2048:(k + 1) * 2048], y[k * 2048:(k + 1) * 2048]) for k in range(3)]
        with pytest.raises(sn.IndexRangeError, match="10"):
            step.fit(batches, epochs=1)
        return [np.asarray(step.history, dtype=np.float64), *arrays(*net.parameters())]

    results, forks = on_threads(run)
    assert len(results[0][0]) == 2
    assert_bitwise(results)
    assert forks[1] > 0


@pytest.fixture
def every_kernel_split():
    """Three threads and a grain of 64 units: every kernel that can split does, into as many parts as it may."""
    before = pool.POOL.grain
    sn.set_num_threads(3)
    pool.POOL.grain = 64
    yield
    pool.POOL.grain = before


CONV_RUNS = test_conv_parity.RUNS[::4]  # a quarter of the layer fixtures: every layer kind, both dtypes


@pytest.mark.parametrize(("name", "dtype"), CONV_RUNS, ids=[f"{n}-{d}" for n, d in CONV_RUNS])
def test_conv_fixtures_hold_with_every_kernel_split(every_kernel_split, name, dtype):
    """(Some layers have no kernel that splits: their adjoints scatter, or reduce into memory.)"""
    before = pool.POOL.forks
    test_conv_parity.test_layer_matches_pytorch(name, dtype)
    assert pool.POOL.forks > before or not name.startswith("conv")


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_lenet_and_pinn_trajectories_hold_with_every_kernel_split(every_kernel_split, dtype):
    """PyTorch's 20 LeNet steps, and the PINN's 50 Adam steps, through compiled steps whose kernels all split."""
    test_lenet_parity.test_lenet_compiled_step_matches_pytorch(dtype)
    if dtype == "float64":
        test_pinn.test_fifty_compiled_adam_steps_match_pytorch()


def test_the_grain_and_backoff_settings():
    for bad in (0, -5, 1.5, True):
        with pytest.raises(ValueError, match="grain"):
            pool.POOL.grain = bad
    for bad in (-1, 2.0, False):
        with pytest.raises(ValueError, match="backoff"):
            pool.POOL.backoff = bad


def test_a_stalled_join_backs_off_to_one_thread():
    """More threads than cores: some join waits for a descheduled worker, and the forks after it run alone."""
    pool.POOL.backoff = 1 << 30
    sn.set_num_threads(min(pool.MAX_THREADS, 4 * (os.cpu_count() or 1)))
    a = sn.tensor(np.random.default_rng(8).standard_normal((600, 400)))
    expected = sn.tanh(a @ a.T).numpy()
    for _ in range(500):
        assert np.array_equal(sn.tanh(a @ a.T).numpy(), expected)
        if pool.POOL._words[pool.COOL] > 0:
            break
    before = pool.POOL.forks
    assert np.array_equal(sn.tanh(a @ a.T).numpy(), expected)
    assert pool.POOL._words[pool.COOL] > 0 and pool.POOL.forks == before


def test_changing_the_thread_count_while_kernels_run():
    """set_num_threads from one thread while another runs split kernels: no hang, every answer right."""
    rng = np.random.default_rng(7)
    a, w = sn.tensor(rng.standard_normal((500, 300))), sn.tensor(rng.standard_normal((300, 400)))
    expected = sn.tanh(a @ w).numpy()
    wrong, done = [], threading.Event()

    def compute():
        while not done.is_set():
            if not np.array_equal(sn.tanh(a @ w).numpy(), expected):
                wrong.append(1)

    worker = threading.Thread(target=compute)
    worker.start()
    try:
        for n in (1, 3, 2, 1, 2) * 4:
            sn.set_num_threads(n)
    finally:
        done.set()
        worker.join(timeout=60)
    assert not worker.is_alive() and wrong == []


ROUNDS = 200 if os.environ.get("SYMNET_DEEP") == "1" else 12


def test_random_thread_counts_grains_and_callers():
    """Fuzz the pool: random thread counts and grains, one to three Python threads calling kernels of random
    shapes at once; every answer is the one-thread answer, nothing hangs (SYMNET_DEEP=1 for 200 rounds)."""
    rng = np.random.default_rng(9)
    grain = pool.POOL.grain
    try:
        for _ in range(ROUNDS):
            shapes = [tuple(int(n) for n in rng.integers(1, 300, 3)) for _ in range(int(rng.integers(1, 4)))]
            data = [(rng.standard_normal((m, k)), rng.standard_normal((k, n))) for m, k, n in shapes]
            sn.set_num_threads(1)
            expected = [sn.tanh(sn.tensor(a) @ sn.tensor(b)).sum(1).numpy() for a, b in data]
            sn.set_num_threads(int(rng.integers(1, 5)))
            pool.POOL.grain = int(rng.choice([64, 4096, pool.GRAIN]))
            got: dict[int, np.ndarray] = {}

            def call(k, a, b, got=got):
                got[k] = sn.tanh(sn.tensor(a) @ sn.tensor(b)).sum(1).numpy()

            threads = [threading.Thread(target=call, args=(k, a, b)) for k, (a, b) in enumerate(data)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=60)
            assert not any(t.is_alive() for t in threads)
            assert all(np.array_equal(got[k], expected[k]) for k in range(len(data)))
    finally:
        pool.POOL.grain = grain
