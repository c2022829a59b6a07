"""The seed workloads, whole runs, symnet next to PyTorch eager (and JAX jit when installed), one thread.

    python benchmarks/training_bench.py [--quick]

--quick runs the 80000-epoch sin fit for 8000 epochs in PyTorch and scales its time by 10.
"""

from __future__ import annotations

import math
import sys
import time

import _common  # noqa: F401 - sets single-threaded BLAS before NumPy loads
import numpy as np
from _common import table, torch_or_none

import symnet as sn


def timed(fn) -> tuple[float, object]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


class Polynomial(sn.nn.Module):
    """The seed's a + b·x + c·x² + d·x³ + e·x⁴ + f·x⁵ with six scalar parameters."""

    def __init__(self, coefficients):
        super().__init__()
        for name, value in zip("abcdef", coefficients, strict=True):
            setattr(self, name, sn.nn.Parameter(sn.tensor(value, dtype=sn.float64)))

    def forward(self, x):
        return self.a + self.b * x + self.c * x**2 + self.d * x**3 + self.e * x**4 + self.f * x**5


def eager_loop(torch_loss, optimizer, steps: int) -> None:
    """PyTorch's training loop: loss, zero_grad, backward, step."""
    for _ in range(steps):
        loss = torch_loss()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


def linear_regression(torch):
    x = np.array([[1.0], [2.0], [3.0]], dtype=np.float32)
    y = 2 * x
    w0, b0 = np.array([[0.3]], dtype=np.float32), np.array([-0.1], dtype=np.float32)
    model = sn.nn.Linear(1, 1)
    model.load_state_dict({"weight": w0, "bias": b0})
    step = sn.compile(model, sn.nn.MSELoss(reduction="sum"), sn.optim.SGD(model.parameters(), lr=0.01))
    step.fit((x, y), epochs=1)  # compile outside the timing
    model.load_state_dict({"weight": w0, "bias": b0})
    ours, _ = timed(lambda: step.fit((x, y), epochs=100))
    row = ["linear regression, 100 epochs", f"{ours * 1e3:.3f} ms"]
    if torch is not None:
        tm = torch.nn.Linear(1, 1)
        tm.load_state_dict({"weight": torch.from_numpy(w0), "bias": torch.from_numpy(b0)})
        opt = torch.optim.SGD(tm.parameters(), lr=0.01)
        tx, ty = torch.from_numpy(x), torch.from_numpy(y)

        theirs, _ = timed(lambda: eager_loop(lambda: torch.nn.functional.mse_loss(tm(tx), ty, reduction="sum"), opt,
                                             100))
        row += [f"{theirs * 1e3:.3f} ms", f"{theirs / ours:.0f}×"]
    return row


def sin_fit(torch, quick: bool):
    x = np.linspace(-math.pi, math.pi, 2000)
    y = np.sin(x)
    coefficients = np.random.default_rng(0).standard_normal(6)
    model = Polynomial(coefficients)
    step = sn.compile(model, lambda pred, target: ((pred - target) ** 2).sum(),
                      sn.optim.SGD(model.parameters(), lr=0.55e-7))
    step.fit((x, y), epochs=1)
    model.load_state_dict({k: np.array(v) for k, v in zip("abcdef", coefficients, strict=True)})
    ours, losses = timed(lambda: step.fit((x, y), epochs=80000))
    row = ["sin polynomial fit, 80000 epochs", f"{ours * 1e3:.1f} ms"]
    if torch is not None:
        epochs = 8000 if quick else 80000
        tx, ty = torch.from_numpy(x), torch.from_numpy(y)
        params = [torch.tensor(c, requires_grad=True) for c in coefficients]

        def eager():
            a, b, c, d, e, f = params
            for _ in range(epochs):
                loss = (a + b * tx + c * tx**2 + d * tx**3 + e * tx**4 + f * tx**5 - ty).pow(2).sum()
                loss.backward()
                with torch.no_grad():
                    for p in params:
                        p -= 0.55e-7 * p.grad
                        p.grad = None

        theirs, _ = timed(eager)
        theirs *= 80000 / epochs
        row += [f"{theirs * 1e3:.0f} ms" + (" (scaled)" if quick else ""), f"{theirs / ours:.0f}×"]
    return row, losses[-1]


def five_optimizers(torch):
    sn.manual_seed(10)
    x = sn.linspace(-1, 1, 500).unsqueeze(1)
    y = x**3
    configs = [("SGD", dict(lr=0.01)), ("SGD", dict(lr=0.01, momentum=0.6)), ("Adagrad", dict(lr=0.01)),
               ("RMSprop", dict(lr=0.01, alpha=0.9)), ("Adam", dict(lr=0.01, betas=(0.9, 0.99)))]
    steps = []
    for name, kwargs in configs:
        net = sn.nn.Sequential(sn.nn.Linear(1, 10), sn.nn.ReLU(), sn.nn.Linear(10, 1))
        steps.append(sn.compile(net, sn.nn.MSELoss(), getattr(sn.optim, name)(net.parameters(), **kwargs)))
    loader = sn.data.DataLoader(sn.data.TensorDataset(x, y), batch_size=15, shuffle=True)
    for s in steps:
        s.fit(loader, epochs=1)
    ours, _ = timed(lambda: [s.fit(loader, epochs=5) for s in steps])
    row = ["five optimizers, batch 15, 5 epochs", f"{ours * 1e3:.2f} ms"]
    if torch is not None:
        torch.manual_seed(10)
        tx = torch.unsqueeze(torch.linspace(-1, 1, 500), dim=1)
        ty = tx.pow(3)
        nets = [torch.nn.Sequential(torch.nn.Linear(1, 10), torch.nn.ReLU(), torch.nn.Linear(10, 1))
                for _ in configs]
        opts = [getattr(torch.optim, n)(net.parameters(), **kw) for net, (n, kw) in zip(nets, configs, strict=True)]
        tl = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(tx, ty), batch_size=15, shuffle=True)

        def eager():
            for _ in range(5):
                for bx, by in tl:
                    for net, opt in zip(nets, opts, strict=True):
                        loss = torch.nn.functional.mse_loss(net(bx), by)
                        opt.zero_grad()
                        loss.backward()
                        opt.step()

        theirs, _ = timed(eager)
        row += [f"{theirs * 1e3:.1f} ms", f"{theirs / ours:.0f}×"]
    return row


def mlp(torch):
    rng = np.random.default_rng(0)
    x = rng.random((256, 784), dtype=np.float32)
    y = rng.integers(0, 10, 256)
    net = sn.nn.Sequential(sn.nn.Linear(784, 256), sn.nn.ReLU(), sn.nn.Linear(256, 10))
    step = sn.compile(net, sn.nn.CrossEntropyLoss(), sn.optim.SGD(net.parameters(), lr=0.1))
    step.step(x, y)
    n = 50
    ours, _ = timed(lambda: [step.step(x, y) for _ in range(n)])
    row = ["784-256-10 MLP, batch 256, per step", f"{ours / n * 1e3:.2f} ms"]
    if torch is not None:
        tnet = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 10))
        opt = torch.optim.SGD(tnet.parameters(), lr=0.1)
        tx, ty = torch.from_numpy(x), torch.from_numpy(y)

        def eager():
            eager_loop(lambda: torch.nn.functional.cross_entropy(tnet(tx), ty), opt, n)

        eager()
        theirs, _ = timed(eager)
        row += [f"{theirs / n * 1e3:.2f} ms", f"{theirs / ours:.1f}×"]
    return row


def main() -> None:
    torch = torch_or_none()
    quick = "--quick" in sys.argv
    sin_row, final_loss = sin_fit(torch, quick)
    rows = [linear_regression(torch), sin_row, five_optimizers(torch), mlp(torch)]
    header = ["workload (whole run unless noted)", "symnet"] + (["PyTorch eager", "speed-up"] if torch else [])
    try:
        import jax  # noqa: F401
        note = "JAX is installed but not yet part of this table"
    except ImportError:
        note = "JAX: not installed, no column"
    table("Seed workloads, one thread", header, rows)
    print(f"\nsin fit final loss {final_loss:.4f}; {note}")


if __name__ == "__main__":
    main()
