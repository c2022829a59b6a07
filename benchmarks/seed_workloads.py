"""Every seed workload of issue 14 in one run: symnet next to PyTorch eager, JAX jit (its best form) and NumPy,
with each row's ratio against its target.

    python benchmarks/seed_workloads.py [--quick]

Each cell is the median of a few repeats (three with --quick, five without). PyTorch runs on one thread, JAX
with its default threads, NumPy on one BLAS thread twice: with the environment as it is and, in a subprocess,
with ``OPENBLAS_CORETYPE`` unset (this machine class pins it, which halves NumPy's GEMM; a user's machine does
not). Cold compiles run in subprocesses on a ``SYMNET_CACHE_DIR`` without the step, where another graph has
made the host's libraries (the pool, the GEMM kernels; the note gives the compile that makes them too); the last
row starts a new process whose cache holds the step already. JAX and PyTorch are optional
(``pip install -e '.[bench]'``): a missing one's cells print "—". --quick runs the 80000-epoch sin fit for 8000
epochs in the slow peers (scaled by 10) and skips the 2-, 5- and 20-layer cold compiles.
"""

from __future__ import annotations

import compileall
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import _common  # noqa: F401 - sets single-threaded BLAS before NumPy loads
import numpy as np
from _common import jax_or_none, measure, table, torch_or_none

import symnet as sn

HERE = Path(__file__).resolve()
COLUMNS = ("PyTorch eager", "JAX jit", "NumPy", "NumPy, no pin", "symnet")
SIN_EPOCHS = 80000


@dataclass
class Row:
    """A workload's cells (seconds, None for none) and its target: symnet at most ``factor`` × the ``peer``
    column, or at most ``factor`` seconds when ``peer`` is None."""

    name: str
    peer: str | None
    factor: float
    cells: dict[str, float | None] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)

    def verdict(self) -> str:
        ours = self.cells.get("symnet")
        base = self.factor if self.peer is None else self.cells.get(self.peer)
        if ours is None or base is None:
            return "—"
        if self.peer is None:
            return f"{fmt(ours)}, target ≤ {fmt(self.factor)} {'✓' if ours <= self.factor else '✗'}"
        ratio = ours / base
        return f"{ratio:.2f}× {self.peer.split()[0]}, target ≤ {self.factor} {'✓' if ratio <= self.factor else '✗'}"


def fmt(seconds: float | None, note: str = "") -> str:
    if seconds is None:
        return "—"
    if seconds < 1e-3:
        text = f"{seconds * 1e6:.1f} µs"
    elif seconds < 1:
        text = f"{seconds * 1e3:.2f} ms"
    else:
        text = f"{seconds:.2f} s"
    return f"{text} {note}".strip()


# ---------------------------------------------------------------- the workloads' data

def linear_data():
    x = np.array([[1.0], [2.0], [3.0]], dtype=np.float32)
    return x, 2 * x, np.array([[0.3]], dtype=np.float32), np.array([-0.1], dtype=np.float32)


def sin_data():
    x = np.linspace(-math.pi, math.pi, 2000)
    return x, np.sin(x), np.random.default_rng(0).standard_normal(6)


def mlp_data(sizes: tuple[int, ...], batch: int):
    """Inputs, labels and PyTorch-style initial weights (W as out × in) of an MLP."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, sizes[0])).astype(np.float32)
    y = rng.integers(0, sizes[-1], batch)
    weights = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True):
        bound = 1 / math.sqrt(n_in)
        weights += [rng.uniform(-bound, bound, (n_out, n_in)).astype(np.float32),
                    rng.uniform(-bound, bound, n_out).astype(np.float32)]
    return x, y, weights


FIVE = [("SGD", dict(lr=0.01)), ("SGD", dict(lr=0.01, momentum=0.6)), ("Adagrad", dict(lr=0.01)),
        ("RMSprop", dict(lr=0.01, alpha=0.9)), ("Adam", dict(lr=0.01, betas=(0.9, 0.99)))]


# ---------------------------------------------------------------- symnet

def symnet_cells(quick: bool, repeats: int, runs: dict | None = None) -> dict[str, float]:
    """symnet's cells; ``runs`` collects each row's workload (its function and its calls per sample) for
    ``where_time_goes``."""
    cells, runs = {}, {} if runs is None else runs

    def timed(key: str, fn: Callable, number: int = 1) -> float:
        """``fn`` measured, and kept to run again (so it binds what it uses: later rows reuse the names)."""
        runs[key] = fn, number
        return measure(fn, repeats, number)

    w, xs = sn.tensor([1.0], requires_grad=True), sn.tensor([2.0], requires_grad=True)
    cells["seed"] = timed("seed", lambda: ((xs + w) * (w + 1)).backward(), 2000)

    x, y, w0, b0 = linear_data()
    model = sn.nn.Linear(1, 1)
    model.load_state_dict({"weight": w0, "bias": b0})
    step = sn.compile(model, sn.nn.MSELoss(reduction="sum"), sn.optim.SGD(model.parameters(), lr=0.01))
    cells["linear fit"] = timed("linear fit", lambda step=step: step.fit((x, y), epochs=100, progress=False), 20)

    model = sn.nn.Linear(1, 1)
    model.load_state_dict({"weight": w0, "bias": b0})
    criterion, opt = sn.nn.MSELoss(reduction="sum"), sn.optim.SGD(model.parameters(), lr=0.01)
    tx, ty = sn.tensor(x), sn.tensor(y)

    def loop(model=model, criterion=criterion, opt=opt):
        for _ in range(100):
            loss = criterion(model(tx), ty)
            opt.zero_grad()
            loss.backward()
            opt.step()

    cells["linear loop"] = timed("linear loop", loop)
    # the loop's optimizer.step() program, called alone: two parameters, their gradients, lr and t in; two out
    program = opt._last_program[1]
    inputs = [a for p in model.parameters() for a in (p._array(), p.grad._array())] + program.scalars
    cells["call"] = timed("call", lambda inputs=inputs: program.executable.call(inputs), 20000)

    xs_, ys_, coefficients = sin_data()
    poly = Polynomial(coefficients)
    step = sn.compile(poly, lambda pred, target: ((pred - target) ** 2).sum(),
                      sn.optim.SGD(poly.parameters(), lr=0.55e-7))
    cells["sin"] = timed("sin", lambda step=step: step.fit((xs_, ys_), epochs=SIN_EPOCHS, progress=False))

    sn.manual_seed(10)
    inputs = sn.linspace(-1, 1, 500).unsqueeze(1)
    loader = sn.data.DataLoader(sn.data.TensorDataset(inputs, inputs**3), batch_size=15, shuffle=True)
    steps = []
    for name, kwargs in FIVE:
        net = sn.nn.Sequential(sn.nn.Linear(1, 10), sn.nn.ReLU(), sn.nn.Linear(10, 1))
        steps.append(sn.compile(net, sn.nn.MSELoss(), getattr(sn.optim, name)(net.parameters(), **kwargs)))
    cells["five"] = timed("five", lambda: [s.fit(loader, epochs=5, progress=False) for s in steps])

    for key, sizes, batch, adam in mlp_rows():
        xb, yb, weights = mlp_data(sizes, batch)
        layers = []
        for k in range(len(sizes) - 1):
            layers += [sn.nn.Linear(sizes[k], sizes[k + 1]), sn.nn.Tanh() if adam else sn.nn.ReLU()]
        net = sn.nn.Sequential(*layers[:-1])
        net.load_state_dict(dict(zip(net.state_dict(), weights, strict=True)))
        opt = sn.optim.Adam(net.parameters(), lr=1e-3) if adam else sn.optim.SGD(net.parameters(), lr=0.1)
        step = sn.compile(net, sn.nn.CrossEntropyLoss(), opt)
        cells[key] = timed(key, lambda step=step, xb=xb, yb=yb: step.step(xb, yb), 10 if batch > 64 else 50)
    return cells


class Polynomial(sn.nn.Module):
    """The seed's a + b·x + c·x² + d·x³ + e·x⁴ + f·x⁵ with six scalar parameters."""

    def __init__(self, coefficients):
        super().__init__()
        for name, value in zip("abcdef", coefficients, strict=True):
            setattr(self, name, sn.nn.Parameter(sn.tensor(value, dtype=sn.float64)))

    def forward(self, x):
        return self.a + self.b * x + self.c * x**2 + self.d * x**3 + self.e * x**4 + self.f * x**5


def mlp_rows() -> list[tuple[str, tuple[int, ...], int, bool]]:
    """The MLP step rows: key, layer sizes, batch, Adam (tanh) or SGD (ReLU)."""
    deep = (64, *[128] * 9, 10)
    return [("mlp", (784, 256, 10), 256, False), ("digits", (64, 256, 10), 256, False),
            ("deep32", deep, 32, True), ("deep256", deep, 256, True)]


# ---------------------------------------------------------------- PyTorch eager

def torch_cells(torch, quick: bool, repeats: int) -> dict[str, float]:
    cells = {}
    tw, tx = torch.tensor([1.0], requires_grad=True), torch.tensor([2.0], requires_grad=True)
    cells["seed"] = measure(lambda: ((tx + tw) * (tw + 1)).backward(), repeats, 2000)

    x, y, w0, b0 = linear_data()
    model = torch.nn.Linear(1, 1)
    model.load_state_dict({"weight": torch.from_numpy(w0), "bias": torch.from_numpy(b0)})
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    bx, by = torch.from_numpy(x), torch.from_numpy(y)

    def loop():
        for _ in range(100):
            loss = torch.nn.functional.mse_loss(model(bx), by, reduction="sum")
            opt.zero_grad()
            loss.backward()
            opt.step()

    cells["linear fit"] = cells["linear loop"] = measure(loop, repeats)

    xs, ys, coefficients = sin_data()
    epochs = SIN_EPOCHS // 10 if quick else SIN_EPOCHS
    sx, sy = torch.from_numpy(xs), torch.from_numpy(ys)
    params = [torch.tensor(c, requires_grad=True) for c in coefficients]

    def sin_fit():
        a, b, c, d, e, f = params
        for _ in range(epochs):
            loss = (a + b * sx + c * sx**2 + d * sx**3 + e * sx**4 + f * sx**5 - sy).pow(2).sum()
            loss.backward()
            with torch.no_grad():
                for p in params:
                    p -= 0.55e-7 * p.grad
                    p.grad = None

    cells["sin"] = measure(sin_fit, 1 if quick else repeats) * SIN_EPOCHS / epochs

    torch.manual_seed(10)
    inputs = torch.unsqueeze(torch.linspace(-1, 1, 500), dim=1)
    nets = [torch.nn.Sequential(torch.nn.Linear(1, 10), torch.nn.ReLU(), torch.nn.Linear(10, 1)) for _ in FIVE]
    opts = [getattr(torch.optim, n)(net.parameters(), **kw) for net, (n, kw) in zip(nets, FIVE, strict=True)]
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(inputs, inputs.pow(3)), batch_size=15,
                                         shuffle=True)

    def five():
        for _ in range(5):
            for bx, by in loader:
                for net, opt in zip(nets, opts, strict=True):
                    loss = torch.nn.functional.mse_loss(net(bx), by)
                    opt.zero_grad()
                    loss.backward()
                    opt.step()

    cells["five"] = measure(five, repeats)

    for key, sizes, batch, adam in mlp_rows():
        xb, yb, weights = mlp_data(sizes, batch)
        layers = []
        for k in range(len(sizes) - 1):
            layers += [torch.nn.Linear(sizes[k], sizes[k + 1]), torch.nn.Tanh() if adam else torch.nn.ReLU()]
        net = torch.nn.Sequential(*layers[:-1])
        net.load_state_dict({k: torch.from_numpy(w) for k, w in zip(net.state_dict(), weights, strict=True)})
        opt = torch.optim.Adam(net.parameters(), lr=1e-3) if adam else torch.optim.SGD(net.parameters(), lr=0.1)
        bx, by = torch.from_numpy(xb), torch.from_numpy(yb)

        def one(net=net, opt=opt, bx=bx, by=by):
            loss = torch.nn.functional.cross_entropy(net(bx), by)
            opt.zero_grad()
            loss.backward()
            opt.step()

        cells[key] = measure(one, repeats, 10 if batch > 64 else 50)
    return cells


# ---------------------------------------------------------------- JAX jit, each row in its best form

def jax_cells(jax, quick: bool, repeats: int) -> dict[str, float]:
    jnp, lax = jax.numpy, jax.lax
    cells = {}
    seed = jax.jit(jax.value_and_grad(lambda x, w: ((x + w) * (w + 1)).sum(), argnums=(0, 1)))
    sx, sw = jnp.array([2.0], jnp.float32), jnp.array([1.0], jnp.float32)
    cells["seed"] = measure(lambda: jax.block_until_ready(seed(sx, sw)), repeats, 2000)

    x, y, w0, b0 = linear_data()

    def linear_step(params, _=None):
        loss, grads = jax.value_and_grad(lambda p: (((x @ p[0].T + p[1]) - y) ** 2).sum())(params)
        return tuple(p - 0.01 * g for p, g in zip(params, grads, strict=True)), loss

    fori = jax.jit(lambda p: lax.fori_loop(0, 100, lambda _, q: linear_step(q)[0], p))
    start = (jnp.asarray(w0), jnp.asarray(b0))
    cells["linear fit"] = measure(lambda: jax.block_until_ready(fori(start)), repeats, 20)
    stepped = jax.jit(linear_step)

    def step_loop():
        params = start
        for _ in range(100):
            params, loss = stepped(params)
        return jax.block_until_ready(loss)

    cells["linear loop"] = measure(step_loop, repeats)
    update = jax.jit(lambda w, gw, b, gb, lr, t: (w - lr * gw, b - lr * gb))
    args = [jnp.asarray(a) for a in (w0, w0, b0, b0, np.float64(0.01), np.float64(1))]
    cells["call"] = measure(lambda: jax.block_until_ready(update(*args)), repeats, 20000)

    xs, ys, coefficients = sin_data()
    epochs = SIN_EPOCHS // 10 if quick else SIN_EPOCHS

    def sin_epoch(_, c):
        grads = jax.grad(lambda c: ((sum(c[k] * xs**k for k in range(6)) - ys) ** 2).sum())(c)
        return c - 0.55e-7 * grads

    sin = jax.jit(lambda c: lax.fori_loop(0, epochs, sin_epoch, c))
    cells["sin"] = measure(lambda: jax.block_until_ready(sin(jnp.asarray(coefficients))), repeats) \
        * SIN_EPOCHS / epochs

    cells["five"] = measure(five_optimizers_scan(jax), repeats)

    for key, sizes, batch, adam in mlp_rows():
        xb, yb, weights = mlp_data(sizes, batch)
        cells[key] = measure(jax_mlp_step(jax, xb, yb, weights, adam), repeats, 10 if batch > 64 else 50)
    return cells


def jax_mlp_loss(jax, tanh: bool):
    jnp = jax.numpy

    def loss(params, x, y):
        h = x
        for k in range(0, len(params), 2):
            h = h @ params[k].T + params[k + 1]
            if k + 2 < len(params):
                h = jnp.tanh(h) if tanh else jax.nn.relu(h)
        return -jnp.take_along_axis(jax.nn.log_softmax(h), y[:, None], axis=1).mean()

    return loss


def jax_mlp_step(jax, xb, yb, weights, adam: bool) -> Callable[[], object]:
    """One jitted training step (loss, gradient, SGD or Adam written out) called from Python."""
    jnp = jax.numpy
    grad = jax.value_and_grad(jax_mlp_loss(jax, adam))

    @jax.jit
    def step(params, m, v, t, x, y):
        loss, grads = grad(params, x, y)
        if not adam:
            return [p - 0.1 * g for p, g in zip(params, grads, strict=True)], m, v, loss
        m = [0.9 * a + 0.1 * g for a, g in zip(m, grads, strict=True)]
        v = [0.999 * b + 0.001 * g * g for b, g in zip(v, grads, strict=True)]
        scale = 1e-3 / (1 - 0.9**t)
        params = [p - scale * a / (jnp.sqrt(b) / jnp.sqrt(1 - 0.999**t) + 1e-8)
                  for p, a, b in zip(params, m, v, strict=True)]
        return params, m, v, loss

    state = {"p": [jnp.asarray(w) for w in weights], "m": [jnp.zeros_like(w) for w in weights],
             "v": [jnp.zeros_like(w) for w in weights], "t": 0}
    x, y = jnp.asarray(xb), jnp.asarray(yb)

    def one():
        state["t"] += 1
        state["p"], state["m"], state["v"], loss = step(state["p"], state["m"], state["v"],
                                                        jnp.float32(state["t"]), x, y)
        return jax.block_until_ready(loss)

    return one


def five_optimizers_scan(jax) -> Callable[[], object]:
    """The five 1-10-1 networks trained together for 5 epochs of batches of 15 (the last of each epoch 5), the
    batches drawn by NumPy and scanned in one jitted call (short batches masked)."""
    jnp, lax = jax.numpy, jax.lax
    x = np.linspace(-1, 1, 500, dtype=np.float32)[:, None]
    y = x**3
    rng = np.random.default_rng(10)

    def init(k):
        r = np.random.default_rng(k)
        return [jnp.asarray(r.uniform(-1, 1, (10, 1)), jnp.float32), jnp.asarray(r.uniform(-1, 1, 10), jnp.float32),
                jnp.asarray(r.uniform(-0.3, 0.3, (1, 10)), jnp.float32), jnp.asarray(r.uniform(-0.3, 0.3, 1),
                                                                                     jnp.float32)]

    def loss(p, xb, yb, mask):
        h = jax.nn.relu(xb @ p[0].T + p[1]) @ p[2].T + p[3]
        return ((h - yb) ** 2 * mask).sum() / mask.sum()

    grad = jax.grad(loss)

    def update(kind, p, s, g, t):
        if kind == 0:
            return [a - 0.01 * b for a, b in zip(p, g, strict=True)], s
        if kind == 1:
            buf = [jnp.where(t == 1, b, 0.6 * a + b) for a, b in zip(s[0], g, strict=True)]
            return [a - 0.01 * b for a, b in zip(p, buf, strict=True)], (buf, s[1])
        if kind == 2:
            acc = [a + b * b for a, b in zip(s[0], g, strict=True)]
            return [a - 0.01 * b / (jnp.sqrt(c) + 1e-10) for a, b, c in zip(p, g, acc, strict=True)], (acc, s[1])
        if kind == 3:
            sq = [0.9 * a + 0.1 * b * b for a, b in zip(s[0], g, strict=True)]
            return [a - 0.01 * b / (jnp.sqrt(c) + 1e-8) for a, b, c in zip(p, g, sq, strict=True)], (sq, s[1])
        m = [0.9 * a + 0.1 * b for a, b in zip(s[0], g, strict=True)]
        v = [0.99 * a + 0.01 * b * b for a, b in zip(s[1], g, strict=True)]
        return [a - 0.01 / (1 - 0.9**t) * b / (jnp.sqrt(c) / jnp.sqrt(1 - 0.99**t) + 1e-8)
                for a, b, c in zip(p, m, v, strict=True)], (m, v)

    def body(carry, batch):
        params, states, t = carry
        index, mask = batch
        xb, yb, mb = x_all[index], y_all[index], mask[:, None]
        new = [update(k, p, s, grad(p, xb, yb, mb), t) for k, (p, s) in enumerate(zip(params, states,
                                                                                       strict=True))]
        return ([n[0] for n in new], [n[1] for n in new], t + 1), None

    x_all, y_all = jnp.asarray(x), jnp.asarray(y)
    params = [init(k) for k in range(5)]
    states = [([jnp.zeros_like(a) for a in p], [jnp.zeros_like(a) for a in p]) for p in params]
    train = jax.jit(lambda params, states, index, mask: lax.scan(body, (params, states, jnp.float32(1)),
                                                                 (index, mask))[0])
    steps = math.ceil(500 / 15)

    def run():
        index = np.zeros((5 * steps, 15), np.int32)
        mask = np.zeros((5 * steps, 15), np.float32)
        for epoch in range(5):
            order = rng.permutation(500)
            for b in range(steps):
                rows = order[b * 15:(b + 1) * 15]
                index[epoch * steps + b, :len(rows)], mask[epoch * steps + b, :len(rows)] = rows, 1
        return jax.block_until_ready(train(params, states, index, mask))

    return run


# ---------------------------------------------------------------- NumPy, gradients written out

def numpy_cells(quick: bool, repeats: int) -> dict[str, float]:
    cells = {}
    x, w = np.array([2.0], np.float32), np.array([1.0], np.float32)

    def seed():
        a, b = x + w, w + 1
        return (a * b).sum(), b, a + b  # value, ∂/∂x, ∂/∂w

    cells["seed"] = measure(seed, repeats, 2000)

    xs, ys, w0, b0 = linear_data()

    def linear():
        wv, bv = w0.copy(), b0.copy()
        for _ in range(100):
            r = 2 * (xs @ wv.T + bv - ys)
            wv, bv = wv - 0.01 * (r.T @ xs), bv - 0.01 * r.sum(0)
        return wv

    cells["linear fit"] = measure(linear, repeats, 5)

    sx, sy, coefficients = sin_data()
    epochs = SIN_EPOCHS // 10 if quick else SIN_EPOCHS
    powers = np.stack([sx**k for k in range(6)])

    def sin():
        c = coefficients.copy()
        for _ in range(epochs):
            r = 2 * (c @ powers - sy)
            c = c - 0.55e-7 * (powers @ r)
        return c

    cells["sin"] = measure(sin, 1 if quick else repeats) * SIN_EPOCHS / epochs

    for key, sizes, batch, adam in mlp_rows():
        xb, yb, weights = mlp_data(sizes, batch)
        cells[key] = measure(numpy_mlp_step(xb, yb, weights, adam), repeats, 10 if batch > 64 else 50)
    return cells


def numpy_mlp_step(xb, yb, weights, adam: bool) -> Callable[[], None]:
    """Forward, backward by hand and SGD or Adam, on arrays updated in place."""
    params = [w.copy() for w in weights]
    m, v = [np.zeros_like(w) for w in weights], [np.zeros_like(w) for w in weights]
    onehot = np.eye(params[-1].shape[0], dtype=np.float32)[yb]
    t = [0]

    def one():
        hs = [xb]
        for k in range(0, len(params), 2):
            z = hs[-1] @ params[k].T + params[k + 1]
            hs.append((np.tanh(z) if adam else np.maximum(z, 0)) if k + 2 < len(params) else z)
        z = hs.pop()
        e = np.exp(z - z.max(1, keepdims=True))
        delta = (e / e.sum(1, keepdims=True) - onehot) / len(xb)
        grads = [None] * len(params)
        for k in range(len(params) - 2, -1, -2):
            h = hs.pop()
            grads[k], grads[k + 1] = delta.T @ h, delta.sum(0)
            if k:
                delta = (delta @ params[k]) * ((1 - h * h) if adam else (h > 0))
        t[0] += 1
        for p, g, a, b in zip(params, grads, m, v, strict=True):
            if not adam:
                p -= 0.1 * g
                continue
            a += 0.1 * (g - a)
            b *= 0.999
            b += 0.001 * g * g
            p -= 1e-3 / (1 - 0.9 ** t[0]) * a / (np.sqrt(b) / math.sqrt(1 - 0.999 ** t[0]) + 1e-8)

    return one


def numpy_without_pin(quick: bool, repeats: int) -> dict[str, float] | None:
    """The NumPy cells again in a process whose environment lacks ``OPENBLAS_CORETYPE``."""
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_CORETYPE"}
    args = [sys.executable, str(HERE), "--numpy-json", str(repeats)] + (["--quick"] if quick else [])
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    return json.loads(done.stdout) if done.returncode == 0 else None


# ---------------------------------------------------------------- compile latency and a new process

#: the data are mlp_data's (made here: importing this module would count its own imports in a start's time)
COLD_MLP = """
import sys, time
import numpy as np
import symnet as sn
{preload}rng = np.random.default_rng(0)
x = rng.standard_normal(({batch}, {sizes}[0])).astype(np.float32)
y = rng.integers(0, {sizes}[-1], {batch})
start = time.perf_counter()
layers = []
for k in range({n}):
    layers += [sn.nn.Linear({sizes}[k], {sizes}[k + 1]), sn.nn.{act}()]
net = sn.nn.Sequential(*layers[:-1])
opt = sn.optim.{opt}(net.parameters(), lr={lr})
sn.compile(net, sn.nn.CrossEntropyLoss(), opt).step(x, y)
print(time.perf_counter() - start)
"""


#: a cold compile is timed without imports, as JAX's is: SymPy and the derivation's modules, which symnet loads
#: on first use, are imported before the clock starts (the warm row counts every import)
PRELOAD = "import symnet.core.autodiff, symnet.core.simplify, codegen.emit\n"


def cold_symnet(sizes: tuple[int, ...], batch: int, adam: bool, cache: str) -> float | None:
    """Seconds from building the model to the end of its first compiled step, in a new process on ``cache``
    (a fresh folder: the whole trace, derivation and compile)."""
    script = COLD_MLP.format(preload=PRELOAD, sizes=sizes, batch=batch, n=len(sizes) - 1,
                             act="Tanh" if adam else "ReLU", opt="Adam" if adam else "SGD", lr=1e-3 if adam else 0.1)
    done = subprocess.run([sys.executable, "-c", script], env={**os.environ, "SYMNET_CACHE_DIR": cache},
                          capture_output=True, text=True, check=False)
    return float(done.stdout.split()[-1]) if done.returncode == 0 and done.stdout.split() else None


def process_seconds(script: str, env: dict | None = None) -> float | None:
    """Wall seconds of a new Python process running ``script`` (interpreter start and imports included)."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=False)
    return time.perf_counter() - start if done.returncode == 0 else None


def cold_jax_mlp() -> float | None:
    """Seconds of the first call (trace and XLA compile) of the jitted 784-256-10 step, in a new process."""
    script = f"""
import sys, time
sys.path.insert(0, {str(HERE.parent)!r})
from seed_workloads import jax_or_none, jax_mlp_step, mlp_data
jax = jax_or_none(x64=True)
x, y, w = mlp_data((784, 256, 10), 256)
one = jax_mlp_step(jax, x, y, w, False)
start = time.perf_counter()
one()
print(time.perf_counter() - start)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
    return float(done.stdout.split()[-1]) if done.returncode == 0 and done.stdout.split() else None


def latency_rows(quick: bool, has_torch: bool, has_jax: bool) -> list[Row]:
    mlp, deep = ((784, 256, 10), 256), ((64, *[128] * 9, 10), 32)
    with tempfile.TemporaryDirectory() as cache:
        # a machine's first compile also makes the process's libraries (the thread pool, the GEMM kernels), which
        # every later graph on the host links against, as JAX's graphs call the kernels jaxlib ships compiled
        first_on_host = cold_symnet(*mlp, False, tempfile.mkdtemp(dir=cache))
        cold_symnet((16, 8, 4), 8, False, cache)  # the libraries made in this cache, by another graph
        cold = Row("cold compile of the 784-256-10 step", None, 0.4,
                   {"symnet": cold_symnet(*mlp, False, cache), "JAX jit": cold_jax_mlp() if has_jax else None})
        cold.notes["symnet"] = f"(the host's libraries made; {fmt(first_on_host)} when it makes them too)"
        depth = Row("cold derive + compile of the 10-layer step", None, 1.5,
                    {"symnet": cold_symnet(*deep, True, cache)})
        if not quick:
            others = [cold_symnet((64, *[128] * (n - 1), 10), 32, True, cache) for n in (2, 5, 20)]
            depth.notes["symnet"] = "(2 / 5 / 20 layers: " + " / ".join(fmt(s) for s in others) + ")"
        warm = COLD_MLP.format(preload="", sizes=mlp[0], batch=mlp[1], n=2, act="ReLU",
                               opt="SGD", lr=0.1)
        # bytecode compiled, as pip install and any first import do (this machine sets PYTHONDONTWRITEBYTECODE,
        # which would otherwise make every start compile every module of symnet again)
        compileall.compile_dir(str(HERE.parent.parent / "symnet"), quiet=1)
        compileall.compile_dir(str(HERE.parent.parent / "codegen"), quiet=1)
        env = {**os.environ, "SYMNET_CACHE_DIR": cache}
        runs = [process_seconds(warm, env) for _ in range(3)]
        first = Row("new process to its first compiled step from the disk cache, imports included", None, 0.25,
                    {"symnet": None if None in runs else sorted(runs)[1]})
        first.notes["symnet"] = "(median of 3; SymPy not imported)" if process_seconds(
            warm + "\nassert 'sympy' not in sys.modules", env) else "(SymPy was imported)"
    if has_torch:
        first.cells["PyTorch eager"] = process_seconds("import torch")
        first.notes["PyTorch eager"] = "(import alone)"
    if has_jax:
        first.cells["JAX jit"] = process_seconds("import jax")
        first.notes["JAX jit"] = "(import alone)"
    return [cold, depth, first]


# ---------------------------------------------------------------- where symnet's time goes

def where_time_goes(runs: dict[str, tuple[Callable, int]], cells: dict[str, float]) -> list[str]:
    """A profile-backed line per symnet row: the share of its time in the compiled code itself (every compiled
    graph's entry and driver, timed around each call while the row's workload runs again; a small graph's run
    inside the native marshal, its checks included), the rest Python and glue, and the three functions of that
    rest cProfile finds the most time in (by own time)."""
    import cProfile
    import gc
    import pstats

    from codegen.runtime import CompiledGraph

    native = [0.0]

    def timing(function, runs_graph=lambda args: True):
        def timed_call(*args):
            if not runs_graph(args):
                return function(*args)
            start = time.perf_counter()
            try:
                return function(*args)
            finally:
                native[0] += time.perf_counter() - start
        return timed_call

    # (by type: isinstance would read __class__ of every object, lazy modules' deprecated ones too)
    graphs = [(g, g._fn, g._repeat_fn, g._marshal) for g in gc.get_objects()
              if type(g) is CompiledGraph and getattr(g, "_fn", None) is not None]
    lines = []
    try:
        for g, fn, repeat_fn, marshal in graphs:
            g._fn = timing(fn)
            if repeat_fn is not None:
                g._repeat_fn = timing(repeat_fn)
            if marshal is not None:  # the marshal runs the graph (or a bound fit's repeat) when given its entry
                g._marshal = timing(marshal, lambda args: args[4] is not None)
        for key, (fn, number) in runs.items():
            native[0] = 0.0
            start = time.perf_counter()
            for _ in range(number):
                fn()
            share = min(native[0] / (time.perf_counter() - start), 1.0)
            profile = cProfile.Profile()
            profile.runcall(lambda fn=fn, number=number: [fn() for _ in range(number)])
            own = sorted(pstats.Stats(profile).stats.items(), key=lambda item: -item[1][2])
            top = [name if path == "~" else f"{Path(path).stem}.{name}" for (path, _, name), _ in own
                   if path != __file__ and not name.startswith("<")][:3]
            lines.append(f"  {key:12s} native {fmt(cells[key] * share)} ({share:.0%}), Python and glue "
                         f"{fmt(cells[key] * (1 - share))}: most in {', '.join(top)}")
    finally:
        for g, fn, repeat_fn, marshal in graphs:
            g._fn, g._repeat_fn, g._marshal = fn, repeat_fn, marshal
    return lines


# ---------------------------------------------------------------- the table

STEP_ROWS = [
    ("seed", "(x+w)(w+1) + backward, per call", "JAX jit", 0.5),
    ("linear fit", "linear regression, 100 epochs, whole run, fit", "JAX jit", 1.0),
    ("linear loop", "same, PyTorch-style loop (forward, zero_grad, backward, step)", "PyTorch eager", 0.2),
    ("call", "a compiled call's fixed cost (the loop's SGD update: 6 inputs, 2 outputs)", None, 3e-6),
    ("sin", "sin polynomial fit, 80000 epochs", "JAX jit", 0.1),
    ("five", "five optimizers, batch 15, 5 epochs", "JAX jit", 0.7),
    ("mlp", "784-256-10 MLP, batch 256, SGD, one step", "JAX jit", 0.75),
    ("digits", "64-256-10 digits MLP, batch 256, SGD, one step", "JAX jit", 0.4),
    ("deep32", "10-layer tanh MLP (64→128×9→10), Adam, batch 32, one step", "JAX jit", 0.75),
    ("deep256", "same, batch 256", "JAX jit", 0.75),
]
FORMS = {"linear fit": "fori_loop", "linear loop": "step loop", "sin": "fori_loop", "five": "scan"}


def main() -> None:
    quick = "--quick" in sys.argv
    if "--numpy-json" in sys.argv:
        print(json.dumps(numpy_cells(quick, int(sys.argv[sys.argv.index("--numpy-json") + 1]))))
        return
    repeats = 3 if quick else 5
    torch, jax = torch_or_none(), jax_or_none(x64=True)  # the sin fit is float64
    runs: dict[str, tuple[Callable, int]] = {}
    columns = {"symnet": symnet_cells(quick, repeats, runs), "NumPy": numpy_cells(quick, repeats),
               "NumPy, no pin": numpy_without_pin(quick, repeats) or {},
               "PyTorch eager": torch_cells(torch, quick, repeats) if torch is not None else {},
               "JAX jit": jax_cells(jax, quick, repeats) if jax is not None else {}}
    rows = []
    for key, name, peer, factor in STEP_ROWS:
        row = Row(name, peer, factor, {c: columns[c].get(key) for c in COLUMNS})
        if key in FORMS and row.cells["JAX jit"] is not None:
            row.notes["JAX jit"] = f"({FORMS[key]})"
        if quick and key == "sin":
            for column in ("PyTorch eager", "JAX jit", "NumPy", "NumPy, no pin"):
                row.notes[column] = "(8000 epochs ×10)"
        rows.append(row)
    rows += latency_rows(quick, torch is not None, jax is not None)
    table("Seed workloads (issue 14): medians of " f"{repeats} runs", ["workload", *COLUMNS, "against the target"],
          [[r.name, *(fmt(r.cells.get(c), r.notes.get(c, "")) for c in COLUMNS), r.verdict()] for r in rows])
    print("\nWhere symnet's time goes (the compiled code timed around each call; the rest by cProfile):")
    print("\n".join(where_time_goes(runs, columns["symnet"])))
    pinned = os.environ.get("OPENBLAS_CORETYPE")
    print(f"\nOPENBLAS_CORETYPE={pinned}" if pinned else "\nOPENBLAS_CORETYPE is not set here: both NumPy columns "
          "run with the same BLAS kernels")


if __name__ == "__main__":
    main()
