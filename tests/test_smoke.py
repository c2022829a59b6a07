"""The README path, end to end, in seconds."""

import os
import subprocess
import sys

import pytest
import sympy as sp

import symnet as sn


def test_seed_autograd_and_formula():
    w = sn.tensor([1.0], requires_grad=True, name="w")
    x = sn.tensor([2.0], requires_grad=True, name="x")
    y = (x + w) * (w + 1)
    y.backward()
    assert w.grad.item() == 5 and x.grad.item() == 2
    ws, xs = sp.symbols("w x", real=True)
    assert sp.expand(sn.grad(y, w) - (xs + 2 * ws + 1)) == 0


def test_demo_command_runs():
    out = subprocess.run([sys.executable, "-m", "symnet", "demo"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "∂y/∂w = 2·w + x + 1" in out.stdout
    assert "δW0[i, j] = Σ_b X[b, j]·δmatmul1[b, i]" in out.stdout and "Adam: at step t" in out.stdout
    assert "each epoch is one native call" in out.stdout and "train accuracy 9" in out.stdout


def test_reference_backend_switch_gives_the_same_gradients():
    """The reference backend runs programs on the NumPy evaluator: same numbers as native code."""
    import numpy as np

    def gradients():
        rng = np.random.default_rng(0)
        x = sn.tensor(rng.standard_normal((5, 3)), dtype=sn.float64)
        w = sn.tensor(rng.standard_normal((2, 3)), dtype=sn.float64, requires_grad=True)
        loss = sn.nn.functional.cross_entropy((x @ w.T).tanh(), sn.tensor([0, 1, 1, 0, 1]))
        loss.backward()
        return loss.item(), w.grad.numpy()

    native = gradients()
    sn.pipeline.cache_clear()
    with sn.backend.use("reference"):
        assert sn.backend.name() == "reference"
        reference = gradients()
    sn.pipeline.cache_clear()
    assert native[0] == pytest.approx(reference[0], rel=1e-12)
    np.testing.assert_allclose(native[1], reference[1], rtol=1e-10)
    with pytest.raises(ValueError, match="SYMNET_BACKEND must be"), sn.backend.use("llvm"):
        pass


def test_symnet_backend_variable_is_read_once_at_import(tmp_path):
    code = ("import symnet as sn\nprint(sn.backend.name())\n"
            "w = sn.tensor([1.0], requires_grad=True); (w * w).sum().backward(); print(w.grad.item())")
    env = {**os.environ, "SYMNET_BACKEND": "reference", "SYMNET_CACHE_DIR": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.split() == ["reference", "2.0"]
    env["SYMNET_BACKEND"] = "llvm"
    bad = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert bad.returncode != 0 and "SYMNET_BACKEND must be 'native' or 'reference'" in bad.stderr


def test_the_readme_tour_runs_as_written(tmp_path):
    """The README's 30-second tour, copied from the README itself, run in a fresh process."""
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    tour = readme.split("## A 30-second tour", 1)[1].split("```python", 1)[1].split("```", 1)[0]
    script = tmp_path / "tour.py"
    script.write_text("import matplotlib\nmatplotlib.use('Agg')\n" + tour)
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300,
                         env={**os.environ, "SYMNET_CACHE_DIR": str(tmp_path / "cache")})
    assert out.returncode == 0, out.stderr
    assert "Adam: at step t" in out.stdout and "for " in out.stdout   # the formulas and the loop nests printed
