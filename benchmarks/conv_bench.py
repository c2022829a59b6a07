"""Convolutions: a LeNet-5 training step and single conv layers, symnet next to PyTorch eager and JAX jit.

    python benchmarks/conv_bench.py [--quick]

Prints, from one run, every peer on the same number of threads (symnet's; one unless ``sn.get_num_threads``
says otherwise):

1. LeNet-5 (28×28, batch 64, cross entropy, SGD momentum 0.9): median µs per training step of symnet's compiled
   step (``step.step(x, y)`` with NumPy arrays; also per step of ``fit``'s native repeat loop), PyTorch eager
   and JAX jit; the losses of the first steps from the same weights; the cold compile of symnet's step
   (a fresh process and an empty ``SYMNET_CACHE_DIR``) and its cache hit (another fresh process, same folder).
2. Each LeNet conv layer and a bigger 16→32 3×3 layer at batch 64: forward + backward (out, dX, dW, db of
   ``sum(conv2d(X, W, b) · G)``), median µs and GFLOP/s. symnet's row is the derived program compiled once and
   called with arrays in its input order (native code, least Python); symnet eager (``backward()``) is next
   to it. FLOPs: forward 2·B·O·(C/groups)·kh·kw·OH·OW, backward twice that; bias and the seed not counted.
3. The GEMM micro-kernel's GFLOP/s (C = X·Wᵀ, 256×512×256, compiled as in codegen_bench) and each conv's
   forward + backward GFLOP/s as a share of it.

Targets are printed as measured vs target with OK/MISS; nothing is asserted. --quick takes fewer samples.
A symnet row that fails reads "n/a (failed)" and its error is printed after the tables.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import traceback

import _common  # noqa: F401 - sets single-threaded BLAS before NumPy loads
import numpy as np
from _common import jax_or_none, median_of, table, torch_or_none

import symnet as sn

BATCH = 64
LR, MOMENTUM = 0.01, 0.9
CHECK_STEPS = 3  # losses compared between peers, from the same weights and batch
#: name, (C, O, k, stride, padding, dilation, groups), input H = W
LAYERS = [("conv1 1→6 5×5 pad 2, 28×28", (1, 6, 5, 1, 2, 1, 1), 28),
          ("conv2 6→16 5×5, 14×14", (6, 16, 5, 1, 0, 1, 1), 14),
          ("conv 16→32 3×3 pad 1, 14×14", (16, 32, 3, 1, 1, 1, 1), 14)]
MICRO = (256, 512, 256)  # m, k, n of the micro-kernel's reference contraction
BUDGET = 2.0  # seconds of timed calls per measurement at most (a slow row takes fewer samples, at least 5)
NOT_IMPLEMENTED = "n/a (failed)"
errors: list[str] = []  # symnet failures, printed after the tables


class Missing(Exception):
    """symnet does not have the layer or function yet."""


def symnet_call(what: str, fn):
    """``fn()``; when symnet cannot run it, notes why and raises Missing."""
    try:
        return fn()
    except Exception as exc:  # noqa: BLE001 - a benchmark reports and goes on to its peers
        errors.append(f"{what}: {type(exc).__name__}: {exc}\n{traceback.format_exc(limit=6)}")
        raise Missing(str(exc)) from exc


def median_us(fn, calls: int, warmup: int = 3) -> float:
    """Median µs of one call over ``calls`` timed calls (fewer, at least 5, past BUDGET seconds), after ``warmup``
    untimed ones."""
    for _ in range(warmup):
        fn()
    samples: list[float] = []
    while len(samples) < calls and (len(samples) < 5 or sum(samples) < BUDGET):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return median_of(samples) * 1e6


def us(t: float | None) -> str:
    return NOT_IMPLEMENTED if t is None else f"{t:,.0f}"


def ratio(num: float | None, den: float | None) -> str:
    return "—" if num is None or den is None else f"{num / den:.2f}×"


def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("OK" if ok else "MISS")


# ---------------------------------------------------------------- LeNet-5

def lenet_init() -> dict[str, np.ndarray]:
    """PyTorch's default init (U(±1/√fan_in) for weights and biases), drawn once, loaded into every peer."""
    rng = np.random.default_rng(0)
    shapes = {"0": ((6, 1, 5, 5), (6,)), "3": ((16, 6, 5, 5), (16,)), "7": ((120, 400), (120,)),
              "9": ((84, 120), (84,)), "11": ((10, 84), (10,))}
    state = {}
    for layer, (w, b) in shapes.items():
        bound = 1 / np.sqrt(np.prod(w[1:]))
        state[f"{layer}.weight"] = rng.uniform(-bound, bound, w).astype(np.float32)
        state[f"{layer}.bias"] = rng.uniform(-bound, bound, b).astype(np.float32)
    return state


def lenet_batch() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    return rng.standard_normal((BATCH, 1, 28, 28)).astype(np.float32), rng.integers(0, 10, BATCH)


def lenet(nn):
    """The model with ``nn`` = ``sn.nn`` or ``torch.nn`` (the same names)."""
    return nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84),
                         nn.ReLU(), nn.Linear(84, 10))


def symnet_lenet_step():
    model = lenet(sn.nn)
    model.load_state_dict(lenet_init())
    return sn.compile(model, sn.nn.CrossEntropyLoss(), sn.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM))


def cold_compile_child() -> None:
    """In a fresh process (``--cold-compile-child``): the first step (trace, derive, compile, run) and the next."""
    x, y = lenet_batch()
    try:
        step = symnet_lenet_step()
        start = time.perf_counter()
        step.step(x, y)
        first = time.perf_counter() - start
        start = time.perf_counter()
        step.step(x, y)
        result = {"first": first, "steady": time.perf_counter() - start}
    except Exception as exc:  # noqa: BLE001 - reported by the parent
        result = {"error": f"{type(exc).__name__}: {exc}"}
    print(json.dumps(result))


def cold_compile() -> tuple[float | None, float | None]:
    """symnet's LeNet step compile, cold (fresh process, empty cache folder) and from the on-disk cache (fresh
    process, same folder): seconds of the first step minus a steady step, or None."""
    times = []
    with tempfile.TemporaryDirectory() as folder:
        env = {**os.environ, "SYMNET_CACHE_DIR": folder}
        for run in ("cold", "cache hit"):
            proc = subprocess.run([sys.executable, os.path.abspath(__file__), "--cold-compile-child"], env=env,
                                  capture_output=True, text=True, timeout=600)
            try:
                result = json.loads(proc.stdout.strip().splitlines()[-1])
            except (IndexError, json.JSONDecodeError):
                result = {"error": f"child exited {proc.returncode}: {proc.stderr.strip()[-2000:]}"}
            if "first" in result:
                times.append(result["first"] - result["steady"])
                continue
            errors.append(f"LeNet {run} compile: {result['error']}")
            return None, None
    return times[0], times[1]


def lenet_symnet(calls: int) -> tuple[float, float, list[float]]:
    """Median µs of ``step.step(x, y)``, µs per step of ``fit``'s native loop, the first losses."""
    x, y = lenet_batch()
    step = symnet_lenet_step()
    losses = [step.step(x, y) for _ in range(CHECK_STEPS)]
    per_step = median_us(lambda: step.step(x, y), calls)
    step.fit((x, y), epochs=2)
    epochs = max(5, min(calls, int(BUDGET / (per_step * 1e-6))))
    start = time.perf_counter()
    step.fit((x, y), epochs=epochs)
    native = (time.perf_counter() - start) / epochs * 1e6
    return per_step, native, losses


def lenet_torch(torch, calls: int) -> tuple[float, list[float]]:
    x, y = lenet_batch()
    model = lenet(torch.nn)
    model.load_state_dict({k: torch.from_numpy(v) for k, v in lenet_init().items()})
    opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)

    def step() -> float:
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(tx), ty)
        loss.backward()
        opt.step()
        return loss.item()

    losses = [step() for _ in range(CHECK_STEPS)]
    return median_us(step, calls), losses


def lenet_jax(jax, calls: int) -> tuple[float, list[float]]:
    """The same model, loss and PyTorch's SGD momentum (buffer = m·buffer + grad, from 0) under one jit."""
    jnp, lax = jax.numpy, jax.lax
    dims = ("NCHW", "OIHW", "NCHW")

    def conv(x, w, b, pad):
        return lax.conv_general_dilated(x, w, (1, 1), [(pad, pad)] * 2, dimension_numbers=dims) + b[None, :, None, None]

    def pool(x):
        return lax.reduce_window(x, -jnp.inf, lax.max, (1, 1, 2, 2), (1, 1, 2, 2), "VALID")

    def loss_fn(p, x, y):
        h = pool(jax.nn.relu(conv(x, p["0.weight"], p["0.bias"], 2)))
        h = pool(jax.nn.relu(conv(h, p["3.weight"], p["3.bias"], 0))).reshape(x.shape[0], -1)
        h = jax.nn.relu(h @ p["7.weight"].T + p["7.bias"])
        h = jax.nn.relu(h @ p["9.weight"].T + p["9.bias"])
        logits = h @ p["11.weight"].T + p["11.bias"]
        picked = jnp.take_along_axis(logits, y[:, None], axis=1)[:, 0]
        return jnp.mean(jax.nn.logsumexp(logits, axis=1) - picked)

    @jax.jit
    def train_step(p, buf, x, y):
        loss, grads = jax.value_and_grad(loss_fn)(p, x, y)
        buf = {k: MOMENTUM * buf[k] + grads[k] for k in p}
        return {k: p[k] - LR * buf[k] for k in p}, buf, loss

    x, y = lenet_batch()
    x, y = jnp.asarray(x), jnp.asarray(y.astype(np.int32))
    state = [{k: jnp.asarray(v) for k, v in lenet_init().items()}, None]
    state[1] = {k: jnp.zeros_like(v) for k, v in state[0].items()}

    def step() -> float:
        state[0], state[1], loss = train_step(state[0], state[1], x, y)
        return jax.block_until_ready(loss)

    losses = [float(step()) for _ in range(CHECK_STEPS)]
    return median_us(step, calls), losses


def lenet_tables(torch, jax, calls: int, compile_times) -> float | None:
    """Prints the LeNet tables; returns symnet's speed-up over PyTorch eager (None when either is missing)."""
    try:
        ours, native, ours_losses = symnet_call("LeNet step", lambda: lenet_symnet(calls))
    except Missing:
        ours = native = ours_losses = None
    theirs, torch_losses = lenet_torch(torch, calls) if torch is not None else (None, None)
    jaxs, jax_losses = lenet_jax(jax, calls) if jax is not None else (None, None)
    rows = [["symnet compiled step, step(x, y)", us(ours), ratio(theirs, ours)],
            ["symnet fit((x, y), epochs=n), mean per step (native loop)", us(native), ratio(theirs, native)]]
    if torch is not None:
        rows.append(["PyTorch eager", us(theirs), "1.00×"])
    if jax is not None:
        rows.append(["JAX jit (value_and_grad + SGD momentum)", us(jaxs), ratio(theirs, jaxs)])
    table(f"LeNet-5 training step, batch {BATCH}, 28×28, cross entropy, SGD momentum {MOMENTUM}",
          ["", "median µs / step", "speed-up vs PyTorch"], rows)

    cold, hit = compile_times
    table("symnet LeNet step compile (first step − a steady step, fresh process)", ["", "s"],
          [["cold: empty SYMNET_CACHE_DIR (trace → derive → LLVM O3 → object)", NOT_IMPLEMENTED if cold is None
            else f"{cold:.2f}"],
           ["cache hit: same folder (trace, the step from disk: no derivation)", NOT_IMPLEMENTED if hit is None
            else f"{hit:.2f}"]])

    print(f"\nlosses of the first {CHECK_STEPS} steps from the same weights and batch "
          "(max relative difference to PyTorch):")
    for name, losses in [("symnet", ours_losses), ("PyTorch", torch_losses), ("JAX", jax_losses)]:
        if losses is None:
            print(f"  {name:8s} {NOT_IMPLEMENTED if name == 'symnet' else 'not installed'}")
            continue
        note = ""
        if torch_losses is not None and name != "PyTorch":
            diff = max(abs(a - b) / max(abs(b), 1e-12) for a, b in zip(losses, torch_losses, strict=True))
            note = f"   ({diff:.1e})"
        print(f"  {name:8s} {'  '.join(f'{v:.6f}' for v in losses)}{note}")
    return None if ours is None or theirs is None else theirs / ours


# ---------------------------------------------------------------- single conv layers

def layer_arrays(config, size: int):
    C, out_ch, k, stride, padding, dilation, groups = config
    rng = np.random.default_rng(2)
    x = rng.standard_normal((BATCH, C, size, size)).astype(np.float32)
    w = (rng.standard_normal((out_ch, C // groups, k, k)) / np.sqrt(C // groups * k * k)).astype(np.float32)
    b = rng.standard_normal(out_ch).astype(np.float32)
    out = (size + 2 * padding - dilation * (k - 1) - 1) // stride + 1
    g = rng.standard_normal((BATCH, out_ch, out, out)).astype(np.float32)
    flops = 2 * BATCH * out_ch * (C // groups) * k * k * out * out
    return x, w, b, g, 3 * flops


def layer_symnet_compiled(config, arrays, calls: int):
    """sum(conv2d(X, W, b)·G) traced, derived (value, dX, dW, db), compiled once; the executable is called with
    arrays in its input order. Returns median µs and the gradients by name."""
    from symnet import pipeline

    _, _, stride, padding, dilation, groups = config[1:]
    x, w, b, g, _ = arrays
    X = sn.tensor(x, requires_grad=True, name="X")
    W = sn.tensor(w, requires_grad=True, name="W")
    B = sn.tensor(b, requires_grad=True, name="b")
    G = sn.tensor(g, name="G")
    loss = (sn.nn.functional.conv2d(X, W, B, stride, padding, dilation, groups) * G).sum()
    traced = sn.trace([loss])
    specs, nodes = traced.specs, traced.tensors
    wrt = tuple(p for p, t in enumerate(nodes) if t.is_leaf and t.requires_grad)
    program = pipeline.gradient_program(specs, len(specs) - 1, wrt, seeded=False)
    executable = pipeline.compile_graph(program.graph)
    by_name = {program.names[p]: t.numpy() for p, t in enumerate(nodes) if t.is_leaf}
    inputs = [by_name[inp.name] for inp in executable.graph.inputs]
    _, *grads = executable.call(inputs)
    names = {id(X): "dX", id(W): "dW", id(B): "db"}
    return median_us(lambda: executable.call(inputs), calls), dict(zip((names[id(nodes[p])] for p in wrt), grads,
                                                                        strict=True))


def layer_symnet_eager(config, arrays, calls: int) -> float:
    _, _, stride, padding, dilation, groups = config[1:]
    x, w, b, g, _ = arrays
    X, W, B = (sn.tensor(a, requires_grad=True) for a in (x, w, b))
    G = sn.tensor(g)

    def step():
        X.grad = W.grad = B.grad = None
        (sn.nn.functional.conv2d(X, W, B, stride, padding, dilation, groups) * G).sum().backward()

    return median_us(step, calls)


def layer_torch(torch, config, arrays, calls: int):
    _, _, stride, padding, dilation, groups = config[1:]
    x, w, b, g, _ = arrays
    X, W, B = (torch.from_numpy(a).requires_grad_() for a in (x, w, b))
    G = torch.from_numpy(g)

    def step():
        X.grad = W.grad = B.grad = None
        (torch.nn.functional.conv2d(X, W, B, stride, padding, dilation, groups) * G).sum().backward()

    step()
    grads = {"dX": X.grad.numpy().copy(), "dW": W.grad.numpy().copy(), "db": B.grad.numpy().copy()}
    return median_us(step, calls), grads


def layer_jax(jax, config, arrays, calls: int) -> float:
    _, _, stride, padding, dilation, groups = config[1:]
    x, w, b, g = (jax.numpy.asarray(a) for a in arrays[:4])

    def loss(x, w, b):
        y = jax.lax.conv_general_dilated(x, w, (stride, stride), [(padding, padding)] * 2,
                                         rhs_dilation=(dilation, dilation), dimension_numbers=("NCHW", "OIHW", "NCHW"),
                                         feature_group_count=groups)
        return ((y + b[None, :, None, None]) * g).sum()

    fn = jax.jit(jax.value_and_grad(loss, argnums=(0, 1, 2)))
    return median_us(lambda: jax.block_until_ready(fn(x, w, b)), calls)


def max_relative_error(ours: dict, theirs: dict) -> float:
    return max(float(np.abs(ours[k] - theirs[k]).max() / max(np.abs(theirs[k]).max(), 1e-30)) for k in theirs)


def cell(t: float | None, flops: int) -> str:
    return NOT_IMPLEMENTED if t is None else f"{t:,.0f} ({flops / t / 1e3:.1f})"


def layer_tables(torch, jax, calls: int) -> list[tuple[str, int, float | None, float | None, float | None]]:
    """Prints the per-layer table; returns (name, FLOPs, symnet µs, PyTorch µs, JAX µs) per layer."""
    results, rows = [], []
    for name, config, size in LAYERS:
        arrays = layer_arrays(config, size)
        flops = arrays[-1]
        try:
            ours, grads = symnet_call(f"{name}: compiled", lambda: layer_symnet_compiled(config, arrays, calls))  # noqa: B023
        except Missing:
            ours, grads = None, None
        try:
            eager = symnet_call(f"{name}: eager", lambda: layer_symnet_eager(config, arrays, calls))  # noqa: B023
        except Missing:
            eager = None
        theirs, torch_grads = layer_torch(torch, config, arrays, calls) if torch is not None else (None, None)
        jaxs = layer_jax(jax, config, arrays, calls) if jax is not None else None
        check = "—" if grads is None or torch_grads is None else f"{max_relative_error(grads, torch_grads):.1e}"
        row = [name, f"{flops / 1e6:.1f}", cell(ours, flops), cell(eager, flops)]
        row += [cell(theirs, flops)] if torch is not None else []
        row += [cell(jaxs, flops)] if jax is not None else []
        rows.append(row + [ratio(theirs, ours), check])
        results.append((name, flops, ours, theirs, jaxs))
    header = ["layer (batch 64, float32)", "MFLOP f+b", "symnet compiled", "symnet eager"]
    header += ["PyTorch eager"] if torch is not None else []
    header += ["JAX jit"] if jax is not None else []
    header += ["speed-up vs PyTorch", "dX,dW,db rel. err vs PyTorch"]
    table("Conv layer forward + backward (out, dX, dW, db): median µs (GFLOP/s)", header, rows)
    return results


# ---------------------------------------------------------------- the micro-kernel

def micro_kernel(torch, calls: int) -> float:
    """GFLOP/s of the compiled contraction C = X·Wᵀ (symnet's GEMM micro-kernel) and its peers; prints them."""
    from codegen_bench import contraction_graph

    from codegen import compile_graph

    m, k, n = MICRO
    rng = np.random.default_rng(3)
    X = rng.standard_normal((m, k)).astype(np.float32)
    W = rng.standard_normal((n, k)).astype(np.float32)
    compiled = compile_graph(contraction_graph(m, k, n))
    flops = 2 * m * n * k
    ours = flops / median_us(lambda: compiled({"X": X, "W": W}), calls) / 1e3
    row = [f"{m}×{k}×{n}", f"{ours:.1f}", f"{flops / median_us(lambda: X @ W.T, calls) / 1e3:.1f}"]
    if torch is not None:
        tx, tw = torch.from_numpy(X), torch.from_numpy(W)
        row.append(f"{flops / median_us(lambda: tx @ tw.T, calls) / 1e3:.1f}")
    table("GEMM micro-kernel: C = X·Wᵀ, float32", ["m×k×n", "symnet GFLOP/s", "NumPy GFLOP/s"]
          + (["PyTorch GFLOP/s"] if torch is not None else []), [row])
    return ours


def share_table(kernel: float, layers, torch, jax) -> float | None:
    """Each conv's forward + backward GFLOP/s as % of the micro-kernel's; returns symnet's smallest share."""
    rows, shares = [], []
    for name, flops, ours, theirs, jaxs in layers:
        row = [name]
        for t in [ours] + ([theirs] if torch is not None else []) + ([jaxs] if jax is not None else []):
            rate = None if t is None else flops / t / 1e3
            row.append(NOT_IMPLEMENTED if rate is None else f"{rate:.1f} GFLOP/s = {rate / kernel:.0%}")
        shares.append(None if ours is None else flops / ours / 1e3 / kernel)
        rows.append(row)
    header = ["layer", "symnet compiled"] + (["PyTorch eager"] if torch is not None else [])
    header += ["JAX jit"] if jax is not None else []
    table(f"Conv forward + backward as a share of symnet's micro-kernel ({kernel:.1f} GFLOP/s)", header, rows)
    return None if not shares or None in shares else min(shares)


# ----------------------------------------------------------------

def main() -> None:
    if "--cold-compile-child" in sys.argv:
        cold_compile_child()
        return
    quick = "--quick" in sys.argv
    global BUDGET
    BUDGET = 0.5 if quick else BUDGET
    threads = sn.get_num_threads()
    compile_times = cold_compile()  # first: fresh processes, before PyTorch and JAX load in this one
    torch = torch_or_none()
    if torch is not None:
        torch.set_num_threads(threads)
    jax = jax_or_none(x64=False, one_thread=threads == 1)
    print(f"threads: {threads} for every peer (sn.get_num_threads()); "
          f"PyTorch {torch.__version__ if torch else 'not installed'}, "
          f"JAX {jax.__version__ if jax else 'not installed'}; {'--quick' if quick else 'full'} run")

    speedup = lenet_tables(torch, jax, 30 if quick else 200, compile_times)
    layers = layer_tables(torch, jax, 20 if quick else 100)
    kernel = micro_kernel(torch, 30 if quick else 200)
    share = share_table(kernel, layers, torch, jax)

    cold = compile_times[0]
    table("Targets (measured in this run; not asserted)", ["target", "measured", ""],
          [["LeNet step ≥ 3× faster than PyTorch eager", "n/a" if speedup is None else f"{speedup:.2f}×",
            verdict(None if speedup is None else speedup >= 3)],
           ["each conv contraction ≥ 50% of the micro-kernel", "n/a" if share is None else f"min {share:.0%}",
            verdict(None if share is None else share >= 0.5)],
           ["cold compile ≤ 2 s", "n/a" if cold is None else f"{cold:.2f} s",
            verdict(None if cold is None else cold <= 2)]])
    if errors:
        print("\nsymnet rows not measured:")
        for e in errors:
            print(f"  {e}")


if __name__ == "__main__":
    main()
