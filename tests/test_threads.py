"""Threads: compiled functions run in several threads at once (ctypes releases the GIL), eager training in two
threads, and several threads compiling one new structure — each run in a subprocess, so a crash fails the test
with its signal instead of killing the suite, and each result must equal the single-threaded one."""

import subprocess
import sys
import textwrap

import pytest

PRELUDE = textwrap.dedent("""
    import threading
    import numpy as np
    import symnet as sn

    def in_threads(count, work):
        results, errors = [None] * count, []
        def run(k):
            try:
                results[k] = work(k)
            except BaseException as exc:
                errors.append(repr(exc))
        threads = [threading.Thread(target=run, args=(k,)) for k in range(count)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors
        return results
""")

SCRIPTS = {
    "one compiled graph from 4 threads": """
        rng = np.random.default_rng(0)
        w = sn.tensor(rng.standard_normal((16, 8)), dtype=sn.float32, requires_grad=True)
        inputs = [rng.standard_normal((32, 8)).astype(np.float32) for _ in range(4)]

        def loss(k):
            return ((sn.tensor(inputs[k]) @ w.T).tanh() ** 2).mean()

        expected = [float(loss(k).item()) for k in range(4)]
        def work(k):
            return [float(loss(k).item()) for _ in range(1000)]
        for k, values in enumerate(in_threads(4, work)):
            assert values == [expected[k]] * 1000, (k, set(values), expected[k])
    """,
    "two threads training two models eagerly": """
        def train(seed):
            model = sn.nn.Sequential(sn.nn.Linear(3, 8), sn.nn.Tanh(), sn.nn.Linear(8, 1))
            rng = np.random.default_rng(seed)         # not the global generator: the threads interleave
            model.load_state_dict({k: rng.uniform(-0.5, 0.5, v.shape).astype(np.float32)
                                   for k, v in model.state_dict().items()})
            opt = sn.optim.Adam(model.parameters(), lr=0.01)
            x = sn.tensor(np.random.default_rng(seed).standard_normal((16, 3)), dtype=sn.float32)
            y = (x.sum(1, keepdim=True)).tanh()
            for _ in range(150):
                opt.zero_grad()
                loss = sn.nn.functional.mse_loss(model(x), y)
                loss.backward()
                opt.step()
            return [p.numpy().copy() for p in model.parameters()]

        alone = [train(seed) for seed in (1, 2)]
        together = in_threads(2, lambda k: train(k + 1))
        for a, b in zip(alone, together):
            for pa, pb in zip(a, b):
                assert np.array_equal(pa, pb)
    """,
    "4 threads compiling one new structure": """
        def work(k):
            x = sn.tensor(np.linspace(-1, 1, 33), dtype=sn.float64, requires_grad=True)
            y = ((x * 1.25).sin() * x.exp()).sum()
            y.backward()
            return float(y.item()), x.grad.numpy().copy()

        results = in_threads(4, work)
        for value, grad in results[1:]:
            assert value == results[0][0] and np.array_equal(grad, results[0][1])
    """,
}


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_threads(name, tmp_path):
    code = PRELUDE + textwrap.dedent(SCRIPTS[name]) + "\nprint('ok')\n"
    env = {"SYMNET_CACHE_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env)
    assert out.returncode == 0, f"exit {out.returncode} (a negative code is a signal)\n{out.stderr[-3000:]}"
    assert out.stdout.strip().endswith("ok")
