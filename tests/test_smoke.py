"""The README path, end to end, in seconds."""

import subprocess
import sys

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
