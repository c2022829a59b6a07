"""sn.export's readable C source: the generated ``.c`` compiled by the system C compiler (C99, every warning an
error) with a small C driver, run, and compared with ``predict``, with the native code of every element function
and with ``sn.compile``'s training step; what it reads like; and the errors at the envelope's edge."""

import ctypes
import re
import runpy
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

import symnet as sn
from codegen import c_source as csrc
from codegen import export as native
from codegen import mathlib
from codegen.emit import PRIMITIVES
from codegen.runtime import CompiledGraph
from symnet import cli
from symnet.core import functions as fn
from symnet.core.ir import Def, Graph, Input, access, index_symbol, is_integer_valued
from symnet.core.random_bits import random_bits
from symnet.export import export, forward_program, step_program
from tests.test_export import CASES, TRAIN_DRIVER, Classes, _trained_statistics, build_driver, mlp, predict, run_driver

needs_cc = pytest.mark.skipif(shutil.which("cc") is None, reason="needs a C compiler (cc)")

#: what the generated C must compile under, warnings and all
CFLAGS = ["-std=c99", "-O2", "-Wall", "-Wextra", "-pedantic", "-Werror"]


def compile_source(folder, name):
    """``name.c`` compiled alone under strict C99 into ``name.o``, which ``test_export``'s C drivers link with."""
    done = subprocess.run(["cc", *CFLAGS, "-c", "-o", str(folder / f"{name}.o"), str(folder / f"{name}.c")],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def build(folder, name, weights=False):
    compile_source(folder, name)
    return build_driver(folder, name, weights)


def run(exe, x, out_shape, dtype, weights=None):
    status, out, got = run_driver(exe, x, out_shape, dtype, weights)
    assert status == 0, out
    return got


def library(folder, source):
    """The ``.c`` as a shared library, to call its entry point from Python."""
    so = folder / (source.stem + ".so")
    done = subprocess.run(["cc", *CFLAGS, "-fPIC", "-shared", "-o", str(so), str(source), "-lm"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return ctypes.CDLL(str(so))


def forward_of(lib, name):
    forward = getattr(lib, f"{name}_forward")
    forward.restype, forward.argtypes = ctypes.c_int32, [ctypes.c_void_p] * 2 + [ctypes.c_int64, ctypes.c_void_p]
    return forward


def assert_close(got, want, rtol=1e-6):
    """Within ``rtol`` of the output's (finite) scale, NaN and ±inf where they are."""
    assert got.shape == want.shape
    scale = max(float(np.abs(want[np.isfinite(want)]).max(initial=0)), 1e-30)
    np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol * scale, equal_nan=True)


class Tokens(sn.nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = sn.nn.Embedding(10, 4)
        self.fc = sn.nn.Linear(4, 3)

    def forward(self, x):
        return self.fc(self.embedding(x).sum(1))


#: test_export's layer cases (digits MLP, activations, batchnorm and softmax, LeNet), and an embedding
LAYERS = {name: (*case, np.float32) for name, case in CASES.items()} | {"embedding": (Tokens, (5,), None, np.int64)}


@needs_cc
@pytest.mark.parametrize("case", list(LAYERS))
def test_layers_compile_with_cc_and_match_predict(case, tmp_path, rng):
    build_model, shape, batch, dtype = LAYERS[case]
    sn.manual_seed(1)
    model = _trained_statistics(build_model(), shape, rng)
    report = export(model, tmp_path / case, shape, batch=batch, formats="c", dtype=dtype)
    assert set(report.paths) == {"c", "header"}  # no object compiled for the source alone
    exe = build(tmp_path, case)

    def inputs(n):
        return rng.integers(0, 10, (n, *shape)) if dtype == np.int64 else rng.standard_normal((n, *shape)).astype(dtype)

    for n in [batch] if batch else [5, 1, 0, 17]:
        x = inputs(n)
        want = predict(model, x)
        assert_close(run(exe, x, want.shape, want.dtype), want)


def test_the_source_reads_as_the_formulas(tmp_path):
    """Each kernel under the definition it computes, plain C loops, float math in float32: no trace of LLVM."""
    model = sn.nn.Sequential(sn.nn.Linear(4, 3), sn.nn.Tanh(), sn.nn.Linear(3, 2), sn.nn.Sigmoid()).eval()
    text = export(model, tmp_path / "net", (4,), formats="c").paths["c"].read_text()
    program = forward_program(model, (4,), "net")
    for d in program.graph.defs:
        assert f"/* {csrc.formula(d)} */" in text
    assert "tanh1[b, i] = tanh(b0[i] + matmul1[b, i])" in text
    assert "for (int64_t b = 0; b < N; ++b) {" in text and "matmul1[b*3 + i] = acc;" in text
    assert "tanhf(" in text and "sn_sigmoidf(" in text and "expf(-fabsf(x))" in text  # σ through e^-|x|
    assert "static const float net_w0[12] = {" in text and '#include "net.h"' in text
    assert not re.search(r"\d\.\d+(e[-+]\d+)?[^f\d]", text.split("kernels */")[1].split("the entry point")[0])
    for llvm in ("llvm", "i64", "noalias", "sn_entry", "getelementptr", "alloca", "phi", "fptosi", "double"):
        assert llvm not in text.split("kernels */")[1], llvm
    assert max(len(line) for line in text.splitlines()) <= 120


@needs_cc
def test_file_weights_and_the_same_header_for_object_and_source(tmp_path, rng):
    """One export writes the object and the source beside one header: the same driver links with either and reads
    the weights file; the source refuses another model's file and none (-2)."""
    model = mlp().eval()
    report = export(model, tmp_path / "m", (64,), weights="file", formats=("object", "c"))
    x = rng.standard_normal((7, 64)).astype(np.float32)
    want = predict(model, x)
    assert_close(run(build_driver(tmp_path, "m", weights=True), x, want.shape, np.float32, report.paths["weights"]),
                 want)
    exe = build(tmp_path, "m", weights=True)  # the source, compiled over the object
    assert_close(run(exe, x, want.shape, np.float32, report.paths["weights"]), want)
    forward = library(tmp_path, report.paths["c"]).m_forward
    forward.restype, forward.argtypes = ctypes.c_int32, [ctypes.c_void_p] * 3 + [ctypes.c_int64, ctypes.c_void_p]
    y, space = np.empty_like(want), np.empty(8192, np.uint8)
    alien = export(sn.nn.Sequential(sn.nn.Linear(64, 10)), tmp_path / "alien", (64,), weights="file", formats="c")
    for weights in (np.fromfile(alien.paths["weights"], np.uint8).ctypes.data, None):  # another model's, none
        assert forward(weights, x.ctypes.data, y.ctypes.data, 7, space.ctypes.data) == -2
    assert not list(tmp_path.glob(".*.tmp"))  # written through temporary files, none left behind


@needs_cc
def test_batch_and_workspace_statuses(tmp_path):
    x, y, space = np.ones((4, 64), np.float32), np.empty((4, 10), np.float32), np.empty(4096, np.uint8)
    fixed = forward_of(library(tmp_path, export(mlp().eval(), tmp_path / "fixed", (64,), batch=4,
                                                formats="c").paths["c"]), "fixed")
    assert fixed(x.ctypes.data, y.ctypes.data, 4, space.ctypes.data) == 0
    assert fixed(x.ctypes.data, y.ctypes.data, 3, space.ctypes.data) == -1
    assert fixed(x.ctypes.data, y.ctypes.data, 4, None) == -1
    any_batch = forward_of(library(tmp_path, export(mlp().eval(), tmp_path / "any", (64,), formats="c").paths["c"]),
                           "any")
    assert any_batch(x.ctypes.data, y.ctypes.data, -1, space.ctypes.data) == -1
    assert any_batch(x.ctypes.data, y.ctypes.data, 0, None) == 0  # an empty batch needs no workspace


@needs_cc
def test_float64_and_integer_outputs(tmp_path, rng):
    model = mlp().to(sn.float64).eval()
    text = export(model, tmp_path / "wide", (64,), formats="c").paths["c"].read_text()
    assert "float" not in text.split("kernels */")[1] and "double acc = 0.0;" in text
    x = rng.standard_normal((3, 64))
    np.testing.assert_allclose(run(build(tmp_path, "wide"), x, (3, 10), np.float64), predict(model, x), rtol=1e-12,
                               atol=1e-14)
    sn.manual_seed(0)
    classes = Classes().eval()
    export(classes, tmp_path / "classes", (4,), formats="c")
    x = rng.standard_normal((9, 4)).astype(np.float32)
    x[0] = np.nan  # NaN wins argmax, as in PyTorch
    np.testing.assert_array_equal(run(build(tmp_path, "classes"), x, (9,), np.int64), classes(sn.tensor(x)).numpy())


@needs_cc
def test_an_index_out_of_range_is_a_status(tmp_path, rng):
    sn.manual_seed(0)
    report = export(Tokens().eval(), tmp_path / "tokens", (5,), dtype=sn.int64, formats="c")
    forward = forward_of(library(tmp_path, report.paths["c"]), "tokens")
    tokens, out, space = rng.integers(0, 10, (3, 5)), np.empty((3, 3), np.float32), np.empty(4096, np.uint8)
    assert forward(tokens.ctypes.data, out.ctypes.data, 3, space.ctypes.data) == 0
    for bad in (10, -1):
        tokens[2, 1] = bad
        assert forward(tokens.ctypes.data, out.ctypes.data, 3, space.ctypes.data) > 0


@needs_cc
def test_stable_formulas_stay_stable(tmp_path):
    """σ, softplus and log-softmax at ±1e4 and ±300: finite where the math is, as the native code computes."""
    big = np.array([[1e4, -1e4, 300, -300, 88, -88, 0, -0.0]], np.float32)
    for layer in (sn.nn.Sigmoid(), sn.nn.Softplus(), sn.nn.LogSoftmax(dim=1), sn.nn.Tanh()):
        model = sn.nn.Sequential(layer).eval()
        name = type(layer).__name__.lower()
        export(model, tmp_path / name, (8,), formats="c")
        got = run(build(tmp_path, name), big, big.shape, np.float32)
        want = model(sn.tensor(big)).numpy()
        assert np.isfinite(got).all()
        assert_close(got, want)


# ---------------------------------------------------------------- every element function, against the native code

b, i = index_symbol("b"), index_symbol("i")
ROWS, COLUMNS = 4, 16


def _table():
    """One definition per element function (``F[b, i] = f(…)``) and per reduction kind, over float reads x, y,
    a float32 s and a float64 d, int64 k (any sign) and j (in [0, 16)), a bool m and a 0-d float64 key."""
    x, y, s, d = (access(n, (b, i)) for n in ("X", "Y", "S", "D"))
    k, j, m = (access(n, (b, i)) for n in ("K", "J", "M"))
    key = sp.Symbol("KEY", real=True)
    moderate = fn.clamp(y, -4, 4)  # x^y where y·log|x| stays small: the C library's pow is exact to an ulp there
    base = fn.sigmoid(x) + sp.Rational(1, 2)
    rows = {
        "sigmoid": fn.sigmoid(x), "softplus": fn.softplus(x), "softplus_beta": fn.softplus(x, 2, 5),
        "softplus_slope": fn.softplus_slope(x, 20), "step": fn.step(x), "relu": fn.relu(x), "relu_int": fn.relu(k),
        "leaky_relu": fn.leaky_relu(x, sp.Float(0.1)), "clamp": fn.clamp(x, -1, 1), "clamp_tensor": fn.clamp(x, y, s),
        "clamp_int": fn.clamp(k, -2, 2), "between": fn.between(x, -1, 1), "divides": fn.divides(3, k),
        "guarded": fn.guarded(access("X", (b, i - 1)), 0, fn.between(i - 1, 0, COLUMNS - 1)),
        "sign": fn.sign(x), "sign_int": fn.sign(k), "stop_gradient": fn.stop_gradient(x),
        "trunc": fn.trunc(x * sp.Float(1e19)), "power": fn.power(base, moderate), "pow_log": fn.pow_log(base, moderate),
        "int_power": fn.int_power(k, j), "bit_and": fn.bit_and(k, j), "bit_or_xor": fn.bit_or(k, fn.bit_xor(j, -1)),
        "divisor": sp.floor(k / fn.divisor(j + 1)), "kept": fn.kept(x) - x,
        "gt": fn.gt(x, y), "ge": fn.ge(x, y), "lt": fn.lt(x, y), "le": fn.le(x, y), "ne": fn.ne(x, y),
        "eq": fn.eq(x, y), "precedes": fn.precedes(x, y), "equal_in_order": fn.equal_in_order(x, y),
        "log1p": fn.log1p(x), "bce": fn.binary_cross_entropy(fn.sigmoid(x), fn.sigmoid(y)), "gelu": fn.gelu(x),
        "gelu_tanh": fn.gelu_tanh(x), "where": fn.where(fn.gt(x, 0), x, y), "where_mask": fn.where(m, x, y),
        "expm1": fn.expm1(x), "erfinv": fn.erfinv(x), "round_down": fn.round_down(x),
        "round_up": fn.round_up(x), "round_toward_zero": fn.round_toward_zero(x),
        "round_half_even": fn.round_half_even(x), "nan_to_num": fn.nan_to_num(x, 0, sp.Float(1e4), sp.Float(-1e4)),
        "maximum": fn.maximum(x, y), "minimum": fn.minimum(x, y), "fmax": fn.fmax(x, y), "fmin": fn.fmin(x, y),
        "floor_divide": fn.floor_divide(x, y), "remainder": fn.remainder(x, y), "logit": fn.logit(fn.sigmoid(x)),
        "not_a_number": x + fn.not_a_number(), "random": random_bits(key, ROWS * b + i),
        "exp": sp.exp(x), "log": sp.log(x), "sin": sp.sin(x), "cos": sp.cos(x), "tanh": sp.tanh(x), "erf": sp.erf(x),
        "abs": sp.Abs(x), "abs_int": sp.Abs(k), "sympy_sign": sp.sign(x), "max3": sp.Max(x, y, sp.Float(0.5)),
        "min3": sp.Min(x, y, sp.Float(0.5)), "max_int": sp.Max(k, j), "min_int": sp.Min(k, j), "re": sp.re(x),
        "im": sp.im(x), "conjugate": sp.conjugate(x), "floor": sp.floor(i / 4) + x, "mod": sp.Mod(i, 4) * x,
        "floor_int": sp.floor(k / 4), "mod_int": sp.Mod(k, 3),
        "arithmetic": x * y - 2 * x / 3 + x**2 - x**-3 + sp.sqrt(sp.Abs(y)) + 1 / sp.sqrt(sp.Abs(y)) - k + m * x,
        "pow_tensor": base**moderate, "mixed_precision": x * s + d, "gather": access("X", (b, j)),
        "solved_index": access("X", (b, (i + 1) / 2)), "bool_read": m * 1.5,
        "tan": fn.tan(x), "atan": fn.atan(x * 3), "asin": fn.asin(fn.clamp(x, -1, 1)),
        "acos": fn.acos(fn.clamp(x, -1, 1)), "sinh": fn.sinh(x * 9), "cosh": fn.cosh(x * 9),
        "asinh": fn.asinh(x * 1000), "acosh": fn.acosh(sp.Abs(x) + 1), "atanh": fn.atanh(fn.clamp(x, -1, 1)),
        "exp2": 2 ** (x * 9), "negative_zero": x * fn.negative_zero(),
        "erfc": fn.erfc(x * 9), "lgamma": fn.lgamma(x * 9), "digamma": fn.polygamma(0, x * 9),
        "polygamma": fn.polygamma(2, x * 3), "i0": fn.i0(x * 30), "i1": fn.i1(x * 30),
    }
    return rows


def _reductions(dtype):
    """Reductions of every kind: sums, a product, max and argmax (NaN and ties), a pooling window, fused siblings,
    a scatter-accumulate, a contraction and a guarded one."""
    x, y = access("X", (b, i)), access("Y", (b, i))
    r = index_symbol("j")
    over = ((b, ROWS), (i, COLUMNS))
    window = fn.guarded(access("X", (b, i - 1)), 0, fn.between(i - 1, 0, COLUMNS - 1))
    return [
        Def("R_sum", (ROWS,), dtype, over, (b,), x, "sum"),
        Def("R_sum_y", (ROWS,), dtype, over, (b,), y, "sum"),  # a sibling of R_sum: one loop, two accumulators
        Def("R_prod", (ROWS,), dtype, over, (b,), 1 + x / 1000, "prod"),
        Def("R_max", (ROWS,), dtype, over, (b,), x, "max"),
        Def("R_argmax", (ROWS,), np.dtype(np.int64), over, (b,), y, "argmax"),
        Def("R_window", (ROWS,), dtype, over, (b,), window, "max", ties="window"),
        Def("R_int", (ROWS,), np.dtype(np.int64), over, (b,), access("K", (b, i)), "sum"),
        Def("R_scatter", (4,), dtype, over, (sp.Mod(i, 4),), x * y, "sum"),
        Def("R_matmul", (ROWS, COLUMNS), dtype, ((b, ROWS), (r, COLUMNS), (i, COLUMNS)), (b, r),
            access("Y", (b, i)) * access("S", (r, i)) / 2, "sum"),
        Def("R_guarded", (ROWS, COLUMNS), dtype, ((b, ROWS), (r, COLUMNS), (i, COLUMNS)), (b, r),
            fn.guarded(access("Y", (b, i)) * access("S", (r, i)), 0, fn.between(i, 2, 12)), "sum"),
    ]


def _graph(dtype):
    dtype = np.dtype(dtype)
    inputs = [Input("X", (ROWS, COLUMNS), dtype), Input("Y", (ROWS, COLUMNS), dtype),
              Input("S", (COLUMNS, COLUMNS), np.dtype(np.float32)), Input("D", (ROWS, COLUMNS), np.dtype(np.float64)),
              Input("K", (ROWS, COLUMNS), np.dtype(np.int64)), Input("J", (ROWS, COLUMNS), np.dtype(np.int64)),
              Input("M", (ROWS, COLUMNS), np.dtype(np.bool_)), Input("KEY", (), np.dtype(np.float64))]
    dtypes = {t.name: t.dtype for t in inputs}
    defs = []
    for name, body in _table().items():
        kind = np.dtype(np.int64) if is_integer_valued(body, dtypes) else dtype
        defs.append(Def(f"F_{name}", (ROWS, COLUMNS), kind, ((b, ROWS), (i, COLUMNS)), (b, i), body))
    defs.append(Def("F_bool", (ROWS, COLUMNS), np.dtype(np.bool_), ((b, ROWS), (i, COLUMNS)), (b, i),
                    fn.gt(access("X", (b, i)), 0)))
    defs += _reductions(dtype)
    return Graph(inputs, defs, [d.name for d in defs])


def _values(dtype, rng):
    specials = [0.0, -0.0, 1.0, -1.0, 0.5, -2.5, 3.0, 300.0, -300.0, 1e-8, np.inf, -np.inf, np.nan, 2.0, 7.25, -0.75]
    large = [1e4, -1e4, 88, -88, 20, 21, 0.999, -0.999, 1, -1, 5, 0.25, 40, -40, 1e-30, 0.8]
    x = np.array([specials, 3 * rng.standard_normal(COLUMNS), rng.uniform(-1, 1, COLUMNS), large], dtype)
    y = np.array([rng.permutation(specials), rng.uniform(-3, 3, COLUMNS), 3 * rng.standard_normal(COLUMNS),
                  rng.permutation(large)], dtype)
    x[1, 3] = x[1, 4]  # a tie for max
    return {"X": x, "Y": y, "S": rng.standard_normal((COLUMNS, COLUMNS)).astype(np.float32),
            "D": rng.standard_normal((ROWS, COLUMNS)), "K": rng.integers(-9, 10, (ROWS, COLUMNS)),
            "J": rng.integers(0, COLUMNS, (ROWS, COLUMNS)), "M": rng.random((ROWS, COLUMNS)) < 0.5,
            "KEY": np.array(7.0)}


@needs_cc
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_every_element_function_prints_as_the_native_code_computes(dtype, tmp_path, rng):
    """The table's graph, once native (the JIT) and once as C: every definition alike, NaN, ±inf and the wrapping of
    int64 included. The C is called with every definition in its workspace, read back by the workspace's layout."""
    graph = _graph(dtype)
    values = _values(dtype, rng)
    want = CompiledGraph(graph)(values)
    weights = tuple(native.Port(t.name, t.shape, t.dtype) for t in graph.inputs if t.name != "X")
    last = graph.defs[-1]
    program = native.Program(Graph(graph.inputs, graph.defs, [last.name]), "table",
                             (native.Port("X", (ROWS, COLUMNS), np.dtype(dtype)),),
                             native.Port(last.name, last.shape, last.dtype), weights,
                             tuple(values[p.name] for p in weights), ROWS)
    source = tmp_path / "table.c"
    source.write_text(csrc.c_source(program, True, "test", "table.h"))
    (tmp_path / "table.h").write_text(native.c_header(program, True, native.machine(), "test"))
    forward = forward_of(library(tmp_path, source), "table")
    out = np.empty(last.shape, last.dtype)
    layout = native.workspace_terms(program, native.check_program(program))
    space = np.zeros(sum(-(-int(size) // 64) * 64 for _, size in layout) + 64, np.uint8)
    assert forward(values["X"].ctypes.data, out.ctypes.data, ROWS, space.ctypes.data) == 0
    got, at = {last.name: out}, 0
    for d, size in layout:
        got[d.name] = np.frombuffer(space, d.dtype, int(np.prod(d.shape, dtype=np.int64)), at).reshape(d.shape)
        at += -(-int(size) // 64) * 64
    rtol = 1e-6 if dtype == "float32" else 1e-12
    for d in graph.defs:
        if d.dtype.kind != "f":
            np.testing.assert_array_equal(got[d.name], want[d.name], err_msg=d.name)
            continue
        for row in range(len(want[d.name])) if d.shape[0] == ROWS else [slice(None)]:
            try:
                assert_close(got[d.name][row], want[d.name][row], rtol)
            except AssertionError as exc:
                raise AssertionError(f"{d.name}, row {row}: {exc}") from None


def test_the_table_covers_every_function_the_native_code_lowers():
    """A function the emitter lowers but this table lacks is a function the C source is not tested on."""
    found = {type(a) for body in _table().values() for a in sp.preorder_traversal(body)}
    missing = {f.__name__ for f in (*fn.NAMED_FUNCTIONS, random_bits, *PRIMITIVES)} - {f.__name__ for f in found}
    assert not missing
    assert set(csrc.PRIMITIVES) == set(PRIMITIVES)
    assert set(mathlib.FUNCTIONS) <= set(csrc.LIBRARY) | set(csrc.FORMULAS)


# ---------------------------------------------------------------- the training step

@needs_cc
def test_training_step_source_matches_compile_and_the_object_over_ten_steps(tmp_path, rng):
    """test_export's C driver runs ten Adam steps on the object and on the source: the losses are
    ``sn.compile``'s, and every state tensor (parameters, moments, step count) is the object's."""
    def make():
        sn.manual_seed(0)
        model = sn.nn.Sequential(sn.nn.Linear(8, 16), sn.nn.Tanh(), sn.nn.Linear(16, 3))
        return sn.compile(model, sn.nn.CrossEntropyLoss(), sn.optim.Adam(model.parameters(), lr=0.01,
                                                                          weight_decay=1e-3))

    steps, batch = 10, 6
    xs, ys = rng.standard_normal((steps, batch, 8)).astype(np.float32), rng.integers(0, 3, (steps, batch))
    xs.tofile(tmp_path / "x.bin")
    ys.tofile(tmp_path / "y.bin")
    python_step = make()
    want = [python_step.step(x, y) for x, y in zip(xs, ys, strict=True)]
    (tmp_path / "train.c").write_text(TRAIN_DRIVER)
    states = {}
    for kind in ("object", "c"):
        report = export(make(), tmp_path / "step", training=(xs[0], ys[0]), formats=kind)
        if kind == "c":
            compile_source(tmp_path, "step")
        exe, files = tmp_path / "train", [tmp_path / f for f in ("x.bin", "y.bin")]
        subprocess.run(["cc", "-std=c11", "-I", str(tmp_path), "-o", str(exe), str(tmp_path / "train.c"),
                        str(tmp_path / "step.o"), "-lm"], check=True)
        subprocess.run([str(exe), str(report.paths["state"]), *map(str, files), str(steps), str(batch), "0.01",
                        str(tmp_path / "losses.bin"), str(tmp_path / "after")], check=True, capture_output=True)
        np.testing.assert_allclose(np.fromfile(tmp_path / "losses.bin"), want, rtol=1e-6)
        states[kind] = (tmp_path / "after").read_bytes()
    program = step_program(make(), xs[0], ys[0], "s")
    for port, offset in zip(program.weights, native.weights_layout(program.values).offsets, strict=True):
        c, obj = (np.frombuffer(states[kind], port.dtype, int(np.prod(port.shape, dtype=np.int64)), offset)
                  for kind in ("c", "object"))
        assert_close(c, obj, rtol=1e-5)


# ---------------------------------------------------------------- names, the CLI and the envelope's edge

@needs_cc
def test_names_that_are_not_safe_in_c(tmp_path):
    """Tensors called like C keywords, C library functions, the entry's parameters, the header's names or not
    identifiers at all are renamed in the C; a file name that is not an identifier gives the C prefix its
    identifier."""
    f32 = np.dtype(np.float32)
    x, w, forward = access("input", (b, i)), access("double", (i,)), access("forward", (i,))
    defs = [Def("exp", (2, 3), f32, ((b, 2), (i, 3)), (b, i), sp.exp(x) * w),
            Def("ODD_BATCH", (2, 3), f32, ((b, 2), (i, 3)), (b, i), access("exp", (b, i)) + forward),
            Def("0.out", (2, 3), f32, ((b, 2), (i, 3)), (b, i), access("ODD_BATCH", (b, i)) + 1)]
    graph = Graph([Input("input", (2, 3), f32), Input("double", (3,), f32), Input("forward", (3,), f32)], defs,
                  ["0.out"])
    program = native.Program(graph, "odd", (native.Port("input", (2, 3), f32),), native.Port("0.out", (2, 3), f32),
                             (native.Port("double", (3,), f32), native.Port("forward", (3,), f32)),
                             (np.array([1.0, 2.0, -1.0], f32), np.array([0.5, 0.0, 0.25], f32)), 2)
    (tmp_path / "odd.c").write_text(csrc.c_source(program, True, "test", "odd.h"))
    (tmp_path / "odd.h").write_text(native.c_header(program, True, native.machine(), "test"))
    forward = forward_of(library(tmp_path, tmp_path / "odd.c"), "odd")
    inp, out = np.arange(6, dtype=np.float32).reshape(2, 3) / 4, np.empty((2, 3), np.float32)
    assert forward(inp.ctypes.data, out.ctypes.data, 2, np.empty(256, np.uint8).ctypes.data) == 0
    np.testing.assert_allclose(out, np.exp(inp) * [1.0, 2.0, -1.0] + [0.5, 0.0, 0.25] + 1, rtol=1e-6)
    report = export(mlp().eval(), tmp_path / "my-net", (64,), formats="c")
    assert report.name == "my_net" and '#include "my-net.h"' in report.paths["c"].read_text()


def test_the_command_line_writes_the_source(tmp_path, capsys):
    """``symnet export FILE OUT --format c``: the source and its header, and no object compiled for them."""
    (tmp_path / "net.py").write_text("import symnet as sn\n\ndef model():\n"
                                     "    return sn.nn.Sequential(sn.nn.Linear(4, 3), sn.nn.Tanh()).eval()\n")
    assert cli.main(["export", str(tmp_path / "net.py"), str(tmp_path / "cli"), "--input-shape", "4",
                     "--format", "c"]) == 0
    assert "cli.c" in capsys.readouterr().out and {p.name for p in tmp_path.iterdir()} == {"net.py", "cli.c", "cli.h"}


def test_a_name_that_is_not_a_c_identifier(tmp_path):
    with pytest.raises(ValueError, match="not a C identifier"):
        export(mlp(), tmp_path / "net", (64,), formats="c", name="not an identifier")
    assert list(tmp_path.iterdir()) == []


class opaque(fn.NamedFunction):
    """A function with a derivative but no lowering."""

    @staticmethod
    def numpy(x):
        return x


@pytest.mark.parametrize("body, named", [(sp.atan(access("X", (b, i))), "atan"),
                                         (opaque(access("X", (b, i))), "opaque")])
def test_a_function_without_c_is_refused_by_name(body, named):
    graph = Graph([Input("X", (2, 3), np.dtype(np.float32))],
                  [Def("Z", (2, 3), np.dtype(np.float32), ((b, 2), (i, 3)), (b, i), body)], ["Z"])
    program = native.Program(graph, "net", (native.Port("X", (2, 3), np.dtype(np.float32)),),
                             native.Port("Z", (2, 3), np.dtype(np.float32)), (), (), 2)
    with pytest.raises(sn.NotSupportedError, match=named):
        csrc.c_source(program, True, "test", "net.h")


@needs_cc
def test_example_classifies_digits_from_the_c_source(tmp_path, capsys):
    pytest.importorskip("sklearn")
    example = runpy.run_path(str(Path(__file__).resolve().parent.parent / "examples" / "export" / "export_digits.py"))
    result = example["main"](["--epochs", "2", "--out", str(tmp_path), "--c-source"])
    assert result["python_accuracy"] > 0.85
    assert result["c_accuracy"] == pytest.approx(result["python_accuracy"], abs=1 / 449)
    assert (tmp_path / "digits.c").is_file() and not (tmp_path / "digits.o").exists()
    assert "classify.c, compiled with cc: accuracy" in capsys.readouterr().out
