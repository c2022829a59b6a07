"""A physics-informed training step: symnet next to PyTorch eager, JAX jit (two forms) and NumPy, every peer on
the same threads (``BENCH_THREADS``, default 1).

    python benchmarks/pinn_bench.py [--dtype float32|float64]

The problem is Poisson's equation on the unit square, -Δu = f with f(x, y) = 2π² sin(πx) sin(πy) and u = 0 on
the boundary (its solution is sin(πx) sin(πy)). The network is an MLP 2-32-32-1 with tanh; one step is the loss

    mean over 1024 interior points of (Δu + f)²  +  mean over 256 boundary points of u²

with Δu from second derivatives of the network by its inputs, its gradient by the parameters, and an Adam update
(lr 1e-3). A PINN step is the case where the derivative is itself differentiated: what a compiler of derivatives
should win on, and what PyTorch (autograd.grad with create_graph) and JAX (nested grad) do with graphs at run time.

Rows, all from the same initial weights (symnet's, copied into the others) and the same points:

- symnet: ``sn.compile`` of an ``@sn.objective``, timed with ``step.step(X, Y)`` per step and with
  ``step.fit((X, Y), epochs=E)`` (E steps in one native call). The batch dimension of an objective is symbolic,
  so the interior and boundary rows are told apart by a mask column of ``Y``, not by slicing: symnet computes
  Δu on all 1280 rows and weighs the boundary ones out; the peers compute it on the 1024 interior points only,
  as PINN code is usually written.
- PyTorch eager: ``autograd.grad(u.sum(), x, create_graph=True)`` and once more per input dimension, then
  ``backward`` and ``torch.optim.Adam``.
- JAX jit, the whole step (loss, gradient, Adam written out) under one ``jax.jit``, in its two usual forms: the
  batched sum trick (``grad`` of the summed output, twice) and ``vmap(hessian)`` of the network at one point.
- NumPy by hand: value, first and second derivatives carried forward through the layers, then backpropagated.

Before any timing the peers are checked to compute the same thing: the loss of the first steps and the gradient
at the initial weights (symnet's: the update of the same compiled objective under SGD with lr 1) against the
first of PyTorch, JAX and NumPy that is available. symnet's first call is a cold compile (an empty cache folder).
Times are the best of several repeats of ms per step (the machine is shared; the best is the least disturbed).
Targets (from the issue): ≥ 3× faster than JAX's best form and ≥ 5× faster than PyTorch eager.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time

import _common  # noqa: F401 - sets single-threaded BLAS before NumPy loads
import numpy as np
from _common import THREADS, best_of, jax_or_none, table, torch_or_none

import symnet as sn

N_INTERIOR, N_BOUNDARY, WIDTH = 1024, 256, 32
LR, BETAS, EPS = 1e-3, (0.9, 0.999), 1e-8
CHECK_STEPS = 3  # losses compared between peers, from the same weights and points
REPEAT_SECONDS = 0.1  # timed calls per repeat: about this long
REPEATS = 10  # rounds over all the peers, so that a busy spell of the machine falls on each of them alike
TARGET_JAX, TARGET_TORCH = 3.0, 5.0
KEYS = ["0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"]
TOLERANCES = {"float32": (1e-4, 1e-3), "float64": (1e-10, 1e-8)}  # initial loss, gradient (norm-wise)


def poisson_points(dtype) -> tuple[np.ndarray, np.ndarray]:
    """X: 1024 interior points then 256 boundary points (64 per side); Y: column 0 = f, column 1 = 1 on boundary
    rows."""
    rng = np.random.default_rng(0)
    interior = rng.random((N_INTERIOR, 2))
    t, side = rng.random(N_BOUNDARY), np.repeat(np.arange(4), N_BOUNDARY // 4)
    boundary = np.stack([np.where(side == 0, 0.0, np.where(side == 1, 1.0, t)),
                         np.where(side == 2, 0.0, np.where(side == 3, 1.0, t))], axis=1)
    X = np.concatenate([interior, boundary])
    Y = np.zeros((len(X), 2))
    Y[:N_INTERIOR, 0] = 2 * np.pi**2 * np.sin(np.pi * interior[:, 0]) * np.sin(np.pi * interior[:, 1])
    Y[N_INTERIOR:, 1] = 1
    return X.astype(dtype), Y.astype(dtype)


def mlp():
    return sn.nn.Sequential(sn.nn.Linear(2, WIDTH), sn.nn.Tanh(), sn.nn.Linear(WIDTH, WIDTH), sn.nn.Tanh(),
                            sn.nn.Linear(WIDTH, 1))


def laplacian(u, x, method: str):
    """Δu per row: grad of the summed output, then of each component (the sum trick, as PyTorch code writes it),
    or two second derivatives along the axes in Taylor mode (``sn.autograd.derivatives``: no Hessian rows)."""
    if method == "taylor":
        return sum(sn.autograd.derivatives(u, x, sn.tensor(e, dtype=x.dtype), order=2, create_graph=True)[1][:, 0]
                   for e in ([1.0, 0.0], [0.0, 1.0]))
    (g,) = sn.autograd.grad(u.sum(), x, create_graph=True)
    return sum(sn.autograd.grad(g[:, i].sum(), x, create_graph=True)[0][:, i] for i in range(2))


def poisson_objective(Y: np.ndarray, method: str):
    """The loss as a symnet objective: the two means are sums weighted by 1 / (count of their rows)."""
    n_boundary = float(Y[:, 1].sum())
    w_interior, w_boundary = 1 / (len(Y) - n_boundary), 1 / n_boundary

    @sn.objective
    def pinn(model, x, y):
        u = model(x)
        lap = laplacian(u, x, method)
        f, b = y[:, 0], y[:, 1]
        return (w_interior * (1 - b) * (lap + f) ** 2 + w_boundary * b * u[:, 0] ** 2).sum()

    return pinn


class Peer:
    """One row: the losses of its first steps, its gradient at the initial weights, its first call (s, compile
    included) and its time per step (s); ``note`` stands for the time when the peer cannot run."""

    def __init__(self, name: str, label: str, note: str = ""):
        self.name, self.label, self.note = name, label, note
        self.losses: list[float] | None = None
        self.grads: dict[str, np.ndarray] | None = None
        self.first_call: float | None = None
        self.seconds: float | None = None
        self.step, self.steps_per_call, self.calls = None, 1, 1

    def run(self, step, grads: dict[str, np.ndarray], check=None, steps_per_call: int = 1) -> Peer:
        """``check()`` runs the first CHECK_STEPS steps and returns their losses (by default ``step()`` that many
        times: one step, returning the loss before its update); ``step()`` is timed later, by ``time_all``."""
        self.grads, self.step, self.steps_per_call = grads, step, steps_per_call
        start = time.perf_counter()
        if check is None:
            self.losses = [float(step())]
            self.first_call = time.perf_counter() - start
            self.losses += [float(step()) for _ in range(CHECK_STEPS - 1)]
        else:
            self.losses = [float(v) for v in check()]
            self.first_call = time.perf_counter() - start
        start = time.perf_counter()
        step()
        self.calls = max(1, round(REPEAT_SECONDS / (time.perf_counter() - start)))
        return self


def time_all(peers: list[Peer]) -> None:
    """Seconds per step of every peer: the best of REPEATS rounds, each round timing every peer in turn."""
    timed = [p for p in peers if p.step is not None]
    for _ in range(REPEATS):
        for p in timed:
            seconds = best_of(p.step, 1, p.calls) / p.steps_per_call
            p.seconds = min(p.seconds or math.inf, seconds)


# ---------------------------------------------------------------- symnet

def symnet_peers(state, X, Y, dtype) -> list[Peer]:
    def fresh():
        model = mlp().to(dtype)
        model.load_state_dict(state)
        return model

    peers = []
    for method, how in (("nested", "nested grad"), ("taylor", "Taylor-mode Δu")):
        objective = poisson_objective(Y, method)

        def adam(model, objective=objective):
            return sn.compile(model, objective, sn.optim.Adam(model.parameters(), lr=LR, betas=BETAS, eps=EPS))

        # the compiled objective's own gradient: one SGD step with lr 1 moves every parameter by minus its gradient
        probe = fresh()
        sn.compile(probe, objective, sn.optim.SGD(probe.parameters(), lr=1.0)).step(X, Y)
        grads = {k: state[k] - v for k, v in probe.state_dict().items()}

        step = adam(fresh())
        stepped = Peer(f"symnet compiled step ({how}), step.step(X, Y)", f"symnet {method} step.step").run(
            lambda step=step: step.step(X, Y), grads)
        # fit((X, Y)) is one full batch, its epochs one native loop; the same program, so its first call is a
        # cache hit (trace and derive only)
        fit, epochs = adam(fresh()), stepped.calls  # as many steps per call as one timed batch of step.step
        fitted = Peer(f"symnet fit ({how}), {epochs} epochs per call, per step", f"symnet {method} fit").run(
            lambda fit=fit, epochs=epochs: fit.fit((X, Y), epochs=epochs, progress=False), grads,
            check=lambda fit=fit: fit.fit((X, Y), epochs=CHECK_STEPS, progress=False), steps_per_call=epochs)
        peers += [stepped, fitted]
    return peers


# ---------------------------------------------------------------- PyTorch

def torch_peer(torch, state, X, Y, dtype: str) -> Peer:
    name, label = "PyTorch eager, autograd.grad(create_graph=True)", "PyTorch eager"
    if torch is None:
        return Peer(name, label, "not installed")
    net = torch.nn.Sequential(torch.nn.Linear(2, WIDTH), torch.nn.Tanh(), torch.nn.Linear(WIDTH, WIDTH),
                              torch.nn.Tanh(), torch.nn.Linear(WIDTH, 1)).to(getattr(torch, dtype))
    net.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})
    xi = torch.from_numpy(X[:N_INTERIOR]).requires_grad_()
    f, xb = torch.from_numpy(Y[:N_INTERIOR, 0]), torch.from_numpy(X[N_INTERIOR:])

    def loss_fn():
        u = net(xi)
        (g,) = torch.autograd.grad(u.sum(), xi, create_graph=True)
        lap = sum(torch.autograd.grad(g[:, i].sum(), xi, create_graph=True)[0][:, i] for i in range(2))
        return ((lap + f) ** 2).mean() + (net(xb) ** 2).mean()

    named = dict(net.named_parameters())
    grads = dict(zip(named, (g.numpy() for g in torch.autograd.grad(loss_fn(), list(named.values()))), strict=True))
    optimizer = torch.optim.Adam(net.parameters(), lr=LR, betas=BETAS, eps=EPS)

    def step() -> float:
        loss = loss_fn()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss.item()

    return Peer(name, label).run(step, grads)


# ---------------------------------------------------------------- JAX

def jax_peers(jax, state, X, Y) -> list[Peer]:
    names = [("JAX jit, sum trick (grad of the summed output, twice)", "JAX sum trick"),
             ("JAX jit, vmap(hessian) per point", "JAX vmap(hessian)")]
    if jax is None:
        return [Peer(*n, "not installed") for n in names]
    jnp = jax.numpy

    def net(p, x):
        h = jnp.tanh(x @ p["0.weight"].T + p["0.bias"])
        h = jnp.tanh(h @ p["2.weight"].T + p["2.bias"])
        return h @ p["4.weight"].T + p["4.bias"]

    def sum_trick(p, x):
        g = jax.grad(lambda x: net(p, x).sum())
        return sum(jax.grad(lambda x, i=i: g(x)[:, i].sum())(x)[:, i] for i in range(2))

    def vmap_hessian(p, x):
        return jax.vmap(lambda q: jnp.trace(jax.hessian(lambda q: net(p, q)[0])(q)))(x)

    def adam_step(loss_fn):
        """The whole step under one jit: loss, gradient and PyTorch's Adam (t counts from 1)."""
        (b1, b2) = BETAS

        @jax.jit
        def train_step(p, m, v, t, xi, f, xb):
            loss, g = jax.value_and_grad(loss_fn)(p, xi, f, xb)
            m = {k: b1 * m[k] + (1 - b1) * g[k] for k in p}
            v = {k: b2 * v[k] + (1 - b2) * g[k] ** 2 for k in p}
            size, root = LR / (1 - b1**t), jnp.sqrt(1 - b2**t)
            return {k: p[k] - size * m[k] / (jnp.sqrt(v[k]) / root + EPS) for k in p}, m, v, loss

        return train_step

    data = tuple(jnp.asarray(a) for a in (X[:N_INTERIOR], Y[:N_INTERIOR, 0], X[N_INTERIOR:]))
    peers = []
    for (name, label), laplacian in zip(names, [sum_trick, vmap_hessian], strict=True):
        def loss_fn(p, xi, f, xb, laplacian=laplacian):
            return jnp.mean((laplacian(p, xi) + f) ** 2) + jnp.mean(net(p, xb)[:, 0] ** 2)

        p = {k: jnp.asarray(v) for k, v in state.items()}
        grads = {k: np.asarray(g) for k, g in jax.jit(jax.grad(loss_fn))(p, *data).items()}
        train_step = adam_step(loss_fn)
        carry = [p, {k: jnp.zeros_like(v) for k, v in p.items()}, {k: jnp.zeros_like(v) for k, v in p.items()}, 0]

        def step(carry=carry, train_step=train_step) -> float:
            carry[3] += 1
            t = jnp.asarray(carry[3], dtype=carry[0]["0.bias"].dtype)
            carry[0], carry[1], carry[2], loss = train_step(carry[0], carry[1], carry[2], t, *data)
            return jax.block_until_ready(loss)

        peers.append(Peer(name, label).run(step, grads))
    return peers


# ---------------------------------------------------------------- NumPy by hand

def numpy_loss_and_grads(p, xi, f, xb) -> tuple[float, dict[str, np.ndarray]]:
    """The loss and its gradient, derived by hand. Interior points carry through the layers the value h, the
    first derivatives ∂h/∂x_i and the second ∂²h/∂x_i² (i = 0, 1; tanh' = 1 - a², tanh'' = -2a(1 - a²));
    these are then backpropagated, each step of the forward pass read backwards. The five quantities go through
    the hidden matrix as one product."""
    W1, b1, W2, b2, W3, b3 = (p[k] for k in KEYS)
    w3, n, nb = W3[0], len(xi), len(xb)
    w = W1.T[:, None, :]                                 # (2, 1, 32): ∂z1/∂x_i
    a1 = np.tanh(xi @ W1.T + b1)
    s1 = 1 - a1 * a1
    H1 = np.concatenate([a1[None], s1 * w, -2 * a1 * s1 * w * w])  # h1, ∂h1/∂x_i, ∂²h1/∂x_i²: (5, n, 32)
    Z2 = H1 @ W2.T
    Z2[0] += b2
    dz2, ddz2 = Z2[1:3], Z2[3:5]
    a2 = np.tanh(Z2[0])
    s2 = 1 - a2 * a2
    lap = (s2 * ddz2 - 2 * a2 * s2 * dz2 * dz2).sum(0)  # Σ_i ∂²h2/∂x_i², (n, 32); the last layer is linear
    r = lap @ w3 + f
    hb1 = np.tanh(xb @ W1.T + b1)
    hb2 = np.tanh(hb1 @ W2.T + b2)
    ub = hb2 @ w3 + b3[0]
    loss = float((r * r).mean() + (ub * ub).mean())

    g_lap = np.outer(2 * r / n, w3)                      # ∂loss/∂(Σ_i ∂²h2/∂x_i²)
    g_a2 = g_lap * (-2 * a2 * ddz2.sum(0) - 2 * (1 - 3 * a2 * a2) * (dz2 * dz2).sum(0))
    G2 = np.concatenate([(g_a2 * s2)[None], -4 * g_lap * a2 * s2 * dz2, np.broadcast_to(g_lap * s2, (2, n, WIDTH))])
    GH1 = G2 @ W2
    g_d1, g_dd1 = GH1[1:3], GH1[3:5]
    g_a1 = GH1[0] + (g_d1 * -2 * a1 * w + g_dd1 * -2 * (1 - 3 * a1 * a1) * w * w).sum(0)
    g_w = (g_d1 * s1 + g_dd1 * -4 * a1 * s1 * w).sum(1)  # (2, 32): through ∂z1/∂x_i = W1[:, i] itself
    g_z1 = g_a1 * s1
    g_ub = 2 * ub / nb                                   # boundary: plain backprop
    g_zb2 = np.outer(g_ub, w3) * (1 - hb2 * hb2)
    g_zb1 = (g_zb2 @ W2) * (1 - hb1 * hb1)
    return loss, {
        "0.weight": g_z1.T @ xi + g_w.T + g_zb1.T @ xb, "0.bias": g_z1.sum(0) + g_zb1.sum(0),
        "2.weight": G2.reshape(-1, WIDTH).T @ H1.reshape(-1, WIDTH) + g_zb2.T @ hb1,
        "2.bias": G2[0].sum(0) + g_zb2.sum(0),
        "4.weight": (lap.T @ (2 * r / n) + hb2.T @ g_ub)[None], "4.bias": np.array([g_ub.sum()], dtype=b3.dtype)}


def numpy_peer(state, X, Y) -> Peer:
    p = {k: v.copy() for k, v in state.items()}
    m = {k: np.zeros_like(v) for k, v in p.items()}
    v = {k: np.zeros_like(x) for k, x in p.items()}
    data = X[:N_INTERIOR], Y[:N_INTERIOR, 0], X[N_INTERIOR:]
    t = [0]

    def step() -> float:
        loss, g = numpy_loss_and_grads(p, *data)
        t[0] += 1
        (b1, b2) = BETAS
        size, root = LR / (1 - b1 ** t[0]), np.sqrt(1 - b2 ** t[0])
        for k in p:
            m[k] = b1 * m[k] + (1 - b1) * g[k]
            v[k] = b2 * v[k] + (1 - b2) * g[k] ** 2
            p[k] -= size * m[k] / (np.sqrt(v[k]) / root + EPS)
        return loss

    return Peer("NumPy by hand (forward-mode 2nd derivatives + backprop)", "NumPy").run(
        step, numpy_loss_and_grads(p, *data)[1])


# ---------------------------------------------------------------- report

def agreement(peers: list[Peer], dtype: str) -> bool:
    """Prints the losses of the first steps and the gradient's difference to the reference peer; True when
    every peer computes the same loss and gradient."""
    ran = [p for p in peers if p.losses is not None]
    order = ["PyTorch eager", "JAX sum trick", "NumPy"]
    ref = next((p for key in order for p in ran if p.label == key), ran[0])
    loss_tol, grad_tol = TOLERANCES[dtype]
    rows, agree = [], True
    for p in peers:
        if p.losses is None:
            rows.append([p.name, p.note, "", "", ""])
            continue
        first = abs(p.losses[0] - ref.losses[0]) / abs(ref.losses[0])
        later = max(abs(a - b) / abs(b) for a, b in zip(p.losses, ref.losses, strict=True))
        grad = max(np.linalg.norm(p.grads[k] - ref.grads[k]) / np.linalg.norm(ref.grads[k]) for k in KEYS)
        same = first <= loss_tol and grad <= grad_tol
        agree = agree and same
        rows.append([p.name, "  ".join(f"{v:.7g}" for v in p.losses), f"{first:.1e} / {later:.1e}", f"{grad:.1e}",
                     "yes" if same else "NO"])
    table(f"Same computation? Losses of the first {CHECK_STEPS} steps and the gradient at the initial weights, "
          f"relative to {ref.label} (tolerances: loss {loss_tol:.0e}, gradient {grad_tol:.0e})",
          ["", "losses", "rel. diff step 1 / max", "gradient rel. diff", "agree"], rows)
    return agree


def ms(seconds: float | None) -> str:
    return "" if seconds is None else f"{seconds * 1e3:.3f}"


def timings(peers: list[Peer], dtype: str) -> None:
    torch = next((p for p in peers if p.label == "PyTorch eager" and p.seconds), None)
    jaxs = [p for p in peers if p.label.startswith("JAX") and p.seconds]
    best_jax = min(jaxs, key=lambda p: p.seconds, default=None)
    rows = []
    for p in peers:
        if p.seconds is None:
            rows.append([p.name, p.note, "", "", ""])
            continue
        rows.append([p.name, ms(p.seconds), f"{p.first_call:.3f}",
                     f"{torch.seconds / p.seconds:.2f}×" if torch else "", f"{best_jax.seconds / p.seconds:.2f}×"
                     if best_jax else ""])
    table(f"PINN Poisson training step, MLP 2-{WIDTH}-{WIDTH}-1 tanh, {N_INTERIOR} interior + {N_BOUNDARY} "
          f"boundary points, Adam, {dtype}, {THREADS} thread(s) (best of {REPEATS})",
          ["", "ms / step", "first call (s)", "PyTorch eager / this", "JAX best / this"], rows)
    print("\nfirst call: symnet step.step's is a cold compile (empty cache folder), fit's the same program from the "
          "cache\n(trace and derive only), JAX's a trace and XLA compile. symnet computes Δu on all the rows and "
          "masks the\nboundary ones out (its batch dimension is symbolic); the others compute it on the interior "
          "points only.\n")
    for p in peers:
        if not p.label.startswith("symnet") or p.seconds is None:
            continue
        verdicts = []
        for peer, target, label in [(best_jax, TARGET_JAX, "JAX best"), (torch, TARGET_TORCH, "PyTorch eager")]:
            if peer is None:
                verdicts.append(f"{label}: not installed")
                continue
            ratio = peer.seconds / p.seconds
            verdicts.append(f"{ratio:.2f}× {label} (target ≥ {target:.0f}×: "
                            f"{'reached' if ratio >= target else 'not reached'})")
        print(f"{p.label}: " + "; ".join(verdicts))
    if best_jax is not None:
        print(f"(JAX best form: {best_jax.label.removeprefix('JAX ')}, {ms(best_jax.seconds)} ms)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    args = parser.parse_args()
    jax = jax_or_none(args.dtype == "float64", one_thread=THREADS == 1)
    torch = torch_or_none()
    X, Y = poisson_points(np.dtype(args.dtype))
    sn.manual_seed(0)
    model = mlp().to(getattr(sn, args.dtype))
    state = dict(model.state_dict())
    print(f"{os.cpu_count()} CPUs, every peer on {THREADS} thread(s); {len(X)} points, dtype {args.dtype}")

    with tempfile.TemporaryDirectory() as cache:
        os.environ["SYMNET_CACHE_DIR"] = cache  # symnet's first call is a cold compile
        peers = symnet_peers(state, X, Y, getattr(sn, args.dtype))
    peers += [torch_peer(torch, state, X, Y, args.dtype), *jax_peers(jax, state, X, Y), numpy_peer(state, X, Y)]
    agree = agreement(peers, args.dtype)
    time_all(peers)
    timings(peers, args.dtype)
    if not agree:
        print("\nThe peers do NOT compute the same loss and gradient: the times above compare different work.")
    return 0 if agree else 1


if __name__ == "__main__":
    sys.exit(main())
