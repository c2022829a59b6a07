"""SymPy and the derivation's modules load on first use: ``import symnet`` and a step found in the disk cache never
import them, and everything that derives still finds them."""

import subprocess
import sys
import textwrap
import threading
import types

import pytest

import symnet as sn
from symnet.core import lazy

#: modules only deriving, printing or compiling needs
HEAVY = ("sympy", "mpmath", "symnet.core.functions", "symnet.core.autodiff", "symnet.core.simplify",
         "symnet.core.affine", "symnet.core.elementwise", "codegen.emit", "codegen.loops",
         "codegen.lowering", "codegen.mathlib", "codegen.c_source", "codegen.export", "symnet.optim.lbfgs",
         "symnet.distributions",
         # and what only worker processes, the command line or package metadata need
         "multiprocessing", "symnet.data.pool", "argparse", "importlib.metadata", "socket", "logging",
         "concurrent.futures",
         "tqdm")  # a compile's bar, on a terminal only


def loaded_after(script: str, env: dict | None = None) -> set[str]:
    probe = script + f"\nimport sys\nprint('loaded:', *(m for m in {HEAVY!r} if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, env=env)
    return set(done.stdout.splitlines()[-1].split()[1:])


def test_importing_symnet_loads_none_of_it():
    assert loaded_after("import symnet") == set()


def test_a_step_from_the_disk_cache_loads_none_of_it(tmp_path):
    import os

    script = textwrap.dedent("""
        import numpy as np, symnet as sn
        rng = np.random.default_rng(0)
        x, y = rng.standard_normal((16, 1, 5, 5)).astype(np.float32), rng.integers(0, 4, 16)
        sn.manual_seed(1)
        net = sn.nn.Sequential(sn.nn.Conv2d(1, 2, 3, padding=1), sn.nn.MaxPool2d(2), sn.nn.Flatten(),
                               sn.nn.Linear(8, 8), sn.nn.ReLU(), sn.nn.Dropout(0.1), sn.nn.Linear(8, 4))
        step = sn.compile(net, sn.nn.CrossEntropyLoss(), sn.optim.Adam(net.parameters(), lr=0.01))
        step.fit([(x, y)], epochs=3, progress=False)
        print(step.step(x, y))
    """)
    env = {**os.environ, "SYMNET_CACHE_DIR": str(tmp_path)}
    first = loaded_after(script, env)
    assert "sympy" in first and "tqdm" not in first  # the first process derives (no bar: not on a terminal)
    assert loaded_after(script, env) == set()  # the next finds the step


def test_deriving_printing_and_the_eager_api_still_load_what_they_need():
    assert "sympy" in loaded_after("import symnet as sn; x = sn.tensor([1.0], requires_grad=True); "
                                   "print(sn.grad((x * x).sum(), x))")
    assert "symnet.optim.lbfgs" in loaded_after("import symnet as sn; sn.optim.LBFGS")
    assert "symnet.distributions" in loaded_after("import symnet as sn; sn.distributions.Normal")
    from symnet.optim import LBFGS

    assert LBFGS is sn.optim.LBFGS
    with pytest.raises(AttributeError):
        sn.optim.NoSuchOptimizer  # noqa: B018


def test_a_lazy_module_loads_on_first_read_and_sees_patches(monkeypatch):
    target = types.ModuleType("symnet_lazy_probe")
    target.value = 1
    monkeypatch.setitem(sys.modules, "symnet_lazy_probe", target)
    bound = lazy.module("symnet_lazy_probe")
    assert bound.value == 1
    monkeypatch.setattr(target, "value", 2)
    assert bound.value == 2  # not copied: a patched name is seen
    with pytest.raises(AttributeError):
        bound.__wrapped__  # noqa: B018 - dunders never load anything


def test_the_lazy_sympy_is_sympys_own_names():
    import sympy

    assert lazy.sympy.Symbol is sympy.Symbol and lazy.sympy.core.cache is sympy.core.cache
    x = lazy.sympy.Symbol("x")
    assert lazy.sympy.diff(x**2, x) == 2 * x


def test_first_reads_from_two_threads_at_once():
    code = textwrap.dedent("""
        import threading
        from symnet.core import lazy
        found, errors = [], []
        def read():
            try:
                found.append(lazy.sympy.Rational(1, 3) + lazy.sympy.Integer(1))
            except Exception as exc:
                errors.append(exc)
        threads = [threading.Thread(target=read) for _ in range(4)]
        [t.start() for t in threads]
        [t.join() for t in threads]
        assert not errors and len(set(found)) == 1, (errors, found)
        print("ok")
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "ok"
    assert threading.active_count() >= 1


def test_a_pytorch_style_loop_run_before_loads_none_of_it(tmp_path):
    import os

    script = textwrap.dedent("""
        import numpy as np, symnet as sn
        x = sn.tensor(np.array([[1.0], [2.0], [3.0]], dtype=np.float32))
        model = sn.nn.Linear(1, 1)
        criterion, opt = sn.nn.MSELoss(reduction="sum"), sn.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        for _ in range(20):
            loss = criterion(model(x), 2 * x)
            opt.zero_grad()
            loss.backward()
            opt.step()
        print(loss.item())
    """)
    env = {**os.environ, "SYMNET_CACHE_DIR": str(tmp_path)}
    assert "sympy" in loaded_after(script, env)
    assert loaded_after(script, env) == set()
