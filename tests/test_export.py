"""sn.export: artifacts compiled against their header with the system C compiler, run, and compared with
``predict``; objects for foreign targets checked with LLVM's tools; the errors at the envelope's edge."""

import ctypes
import shutil
import subprocess
import threading

import numpy as np
import pytest

import symnet as sn
from codegen import export as native
from symnet.export import add_arguments, export, export_command, step_program

pytestmark = pytest.mark.skipif(shutil.which("cc") is None, reason="needs a C compiler (cc)")

#: C: a whole file in 64-byte aligned memory
LOAD = r"""
#include <stdio.h>
#include <stdlib.h>

static void *load(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    *size = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    void *data = aligned_alloc(64, (*size + 63) / 64 * 64);
    if (fread(data, 1, *size, f) != *size) return NULL;
    fclose(f);
    return data;
}
"""

#: a C program for any export (NAME: its C prefix, UPPER: its macros' prefix): batch and files from argv, the output
#: written raw; -DWEIGHTS reads a weights file
DRIVER = LOAD + r"""
#include "NAME.h"

int main(int argc, char **argv) {
    long long batch = atoll(argv[1]);
    size_t size;
    NAME_input_t *x = load(argv[2], &size);
    NAME_output_t *y = malloc(sizeof(NAME_output_t) * UPPER_OUTPUT_SIZE * (batch ? batch : 1));
    void *workspace = aligned_alloc(64, NAME_workspace_bytes(batch) + 64);
#ifdef WEIGHTS
    size_t bytes;
    void *weights = load(argv[4], &bytes);
    if (bytes != UPPER_WEIGHTS_BYTES) return 3;
    int status = NAME_forward(weights, x, y, batch, workspace);
#else
    int status = NAME_forward(x, y, batch, workspace);
#endif
    if (status) { printf("status %d\n", status); return 4; }
    FILE *out = fopen(argv[3], "wb");
    fwrite(y, sizeof(NAME_output_t), UPPER_OUTPUT_SIZE * batch, out);
    fclose(out);
    return 0;
}
"""


def build_driver(folder, name, weights=False):
    source = folder / f"{name}_main.c"
    source.write_text(DRIVER.replace("NAME", name).replace("UPPER", name.upper()))
    exe = folder / f"{name}_main"
    flags = ["-DWEIGHTS"] if weights else []
    subprocess.run(["cc", "-O1", "-std=c11", *flags, "-I", str(folder), "-o", str(exe), str(source),
                    str(folder / f"{name}.o"), "-lm"], check=True, capture_output=True)
    return exe


def run_driver(exe, x, out_shape, dtype, weights=None):
    folder = exe.parent
    (folder / "x.bin").write_bytes(np.ascontiguousarray(x).tobytes())
    args = [str(exe), str(len(x)), str(folder / "x.bin"), str(folder / "y.bin")]
    done = subprocess.run([*args, *([str(weights)] if weights else [])], capture_output=True, text=True)
    return done.returncode, done.stdout, (np.fromfile(folder / "y.bin", dtype).reshape(out_shape)
                                          if done.returncode == 0 else None)


def predict(model, x):
    step = sn.compile(model, sn.nn.MSELoss(), sn.optim.SGD(model.parameters(), lr=0.1))
    return step.predict(x).numpy()


def assert_close(got, want):
    """float32 within 1e-6 relative (of the output's scale: sums may run in another order on a generic CPU)."""
    assert got.shape == want.shape
    scale = max(float(np.abs(want).max(initial=0)), 1e-30)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6 * scale)


def mlp():
    sn.manual_seed(0)
    return sn.nn.Sequential(sn.nn.Linear(64, 32), sn.nn.ReLU(), sn.nn.Linear(32, 10))


# one per layer kind: (model builder, sample shape, fixed batch or None)
CASES = {
    "mlp": (mlp, (64,), None),
    "activations": (lambda: sn.nn.Sequential(
        sn.nn.Linear(12, 16), sn.nn.Tanh(), sn.nn.Linear(16, 16), sn.nn.Sigmoid(), sn.nn.Linear(16, 16),
        sn.nn.GELU(), sn.nn.Linear(16, 16), sn.nn.ELU(), sn.nn.Linear(16, 16), sn.nn.Softplus(),
        sn.nn.Linear(16, 16), sn.nn.SiLU(), sn.nn.LeakyReLU(0.1), sn.nn.Linear(16, 5), sn.nn.LogSoftmax(dim=1)),
        (12,), None),
    "batchnorm1d_eval": (lambda: sn.nn.Sequential(sn.nn.Linear(6, 8), sn.nn.BatchNorm1d(8), sn.nn.ReLU(),
                                                  sn.nn.Linear(8, 3), sn.nn.Softmax(dim=1)), (6,), None),
    "lenet": (lambda: sn.nn.Sequential(
        sn.nn.Conv2d(1, 4, 3, padding=1), sn.nn.BatchNorm2d(4), sn.nn.ReLU(), sn.nn.MaxPool2d(2),
        sn.nn.Conv2d(4, 6, 3), sn.nn.Tanh(), sn.nn.AvgPool2d(2), sn.nn.Flatten(), sn.nn.Linear(6, 10)),
        (1, 8, 8), 3),
}


def _trained_statistics(model, shape, rng):
    """Running statistics that are not the initial 0 and 1, then eval mode."""
    for m in model.modules():
        if isinstance(m, (sn.nn.BatchNorm1d, sn.nn.BatchNorm2d)):
            n = m.running_mean.shape[0]
            m.running_mean.copy_(sn.tensor(rng.standard_normal(n).astype(np.float32)))
            m.running_var.copy_(sn.tensor(rng.uniform(0.5, 2.0, n).astype(np.float32)))
    return model.eval()


@pytest.mark.parametrize("case", list(CASES))
def test_export_compiles_with_cc_and_matches_predict(case, tmp_path, rng):
    build, shape, batch = CASES[case]
    sn.manual_seed(1)
    model = _trained_statistics(build(), shape, rng)
    report = export(model, tmp_path / case, shape, batch=batch)
    exe = build_driver(tmp_path, case)
    sizes = [batch] if batch else [5, 1, 17, 0]
    for n in sizes:
        x = rng.standard_normal((n, *shape)).astype(np.float32)
        want = predict(model, x)
        status, out, got = run_driver(exe, x, want.shape, np.float32)
        assert status == 0, out
        assert_close(got, want)
    assert report.sizes["object"] > 0 and report.sizes["header"] > 0


def test_weights_file_is_checked_and_updates_without_recompiling(tmp_path, rng):
    model = mlp().eval()
    report = export(model, tmp_path / "m", (64,), weights="file")
    data = report.paths["weights"].read_bytes()
    assert data[:8] == native.MAGIC and len(data) == report.sizes["weights"]
    exe = build_driver(tmp_path, "m", weights=True)
    x = rng.standard_normal((4, 64)).astype(np.float32)
    status, out, got = run_driver(exe, x, (4, 10), np.float32, report.paths["weights"])
    assert status == 0, out
    assert_close(got, predict(model, x))
    # new weights for the same structure: only the file changes
    with sn.no_grad():
        model[0].weight.mul_(2.0)
    again = export(model, tmp_path / "other", (64,), weights="file")
    status, out, got = run_driver(exe, x, (4, 10), np.float32, again.paths["weights"])
    assert status == 0, out
    assert_close(got, predict(model, x))
    # another model's weights file is refused (status -2), not read
    export(sn.nn.Sequential(sn.nn.Linear(64, 10)), tmp_path / "alien", (64,), weights="file")
    alien = tmp_path / "alien.weights"
    padded = alien.read_bytes().ljust(len(data), b"\0")[:len(data)]
    alien.write_bytes(padded)
    status, out, _ = run_driver(exe, x, (4, 10), np.float32, alien)
    assert (status, out.strip()) == (4, "status -2")
    assert not list(tmp_path.glob(".*.tmp"))  # written through temporary files, none left behind


def test_fixed_batch_refuses_other_batches(tmp_path, rng):
    export(mlp().eval(), tmp_path / "fixed", (64,), batch=4)
    assert "#define FIXED_BATCH 4" in (tmp_path / "fixed.h").read_text()
    exe = build_driver(tmp_path, "fixed")
    status, out, _ = run_driver(exe, rng.standard_normal((3, 64)).astype(np.float32), (3, 10), np.float32)
    assert (status, out.strip()) == (4, "status -1")


def test_integer_input_and_its_index_check(tmp_path, rng):
    """An embedding reads int64 tokens; a token outside the table is a status > 0, never a read past it."""
    sn.manual_seed(0)
    model = sn.nn.Embedding(10, 4)
    report = export(model, tmp_path / "emb", (5,), dtype=sn.int64, formats="shared")
    assert "int32_t emb_forward(const int64_t *input, float *output" in report.paths["header"].read_text()
    forward = ctypes.CDLL(str(report.paths["shared"])).emb_forward
    forward.restype, forward.argtypes = ctypes.c_int32, [ctypes.c_void_p] * 2 + [ctypes.c_int64, ctypes.c_void_p]
    tokens = rng.integers(0, 10, (3, 5))
    out, space = np.empty((3, 5, 4), np.float32), np.empty(4096, np.uint8)
    assert forward(tokens.ctypes.data, out.ctypes.data, 3, space.ctypes.data) == 0
    np.testing.assert_array_equal(out, model(sn.tensor(tokens)).numpy())
    tokens[2, 1] = 10
    assert forward(tokens.ctypes.data, out.ctypes.data, 3, space.ctypes.data) > 0
    assert forward(tokens.ctypes.data, out.ctypes.data, -1, space.ctypes.data) == -1
    assert forward(tokens.ctypes.data, out.ctypes.data, 3, None) == -1


class Classes(sn.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = sn.nn.Linear(4, 3)

    def forward(self, x):
        return self.fc(x).argmax(1)


class Positive(sn.nn.Module):
    def forward(self, x):
        return x > 0


@pytest.mark.parametrize("model, c_type", [(Classes, "int64_t"), (Positive, "uint8_t")])
def test_integer_and_bool_outputs(model, c_type, tmp_path, rng):
    sn.manual_seed(0)
    model = model().eval()
    report = export(model, tmp_path / "out", (4,), formats="shared")
    assert f"int32_t out_forward(const float *input, {c_type} *output" in report.paths["header"].read_text()
    forward = ctypes.CDLL(str(report.paths["shared"])).out_forward
    forward.restype, forward.argtypes = ctypes.c_int32, [ctypes.c_void_p] * 2 + [ctypes.c_int64, ctypes.c_void_p]
    x = rng.standard_normal((6, 4)).astype(np.float32)
    want = model(sn.tensor(x)).numpy()
    got, space = np.empty_like(want), np.empty(4096, np.uint8)
    assert forward(x.ctypes.data, got.ctypes.data, 6, space.ctypes.data) == 0
    np.testing.assert_array_equal(got, want)


def test_float64_model_exports_doubles(tmp_path, rng):
    model = mlp().to(sn.float64).eval()
    export(model, tmp_path / "wide", (64,))
    assert "typedef double wide_input_t;" in (tmp_path / "wide.h").read_text()
    exe = build_driver(tmp_path, "wide")
    x = rng.standard_normal((3, 64))
    status, out, got = run_driver(exe, x, (3, 10), np.float64)
    assert status == 0, out
    np.testing.assert_allclose(got, predict(model, x), rtol=1e-12, atol=1e-14)


def test_shared_library_is_reentrant_and_writes_no_global(tmp_path, rng):
    model = mlp().eval()
    report = export(model, tmp_path / "shared", (64,), formats=("object", "shared", "static"))
    sections = subprocess.run(["llvm-objdump", "-h", str(report.paths["object"])], capture_output=True,
                              text=True, check=True).stdout
    writable = [line.split()[1:3] for line in sections.splitlines()
                if any(s in line for s in (" .data", " .bss")) and int(line.split()[2], 16) > 0]
    assert not writable, sections
    members = subprocess.run(["llvm-ar", "t", str(report.paths["static"])], capture_output=True, text=True,
                             check=True).stdout.split()
    assert members == ["shared.o"]
    lib = ctypes.CDLL(str(report.paths["shared"]))
    forward = lib.shared_forward
    forward.restype, forward.argtypes = ctypes.c_int32, [ctypes.c_void_p] * 2 + [ctypes.c_int64, ctypes.c_void_p]
    batches = [rng.standard_normal((n, 64)).astype(np.float32) for n in (7, 64, 1, 33)]
    wants = [predict(model, x) for x in batches]
    failures = []

    def worker(k):
        x = batches[k % len(batches)]
        for _ in range(200):
            y = np.empty((len(x), 10), np.float32)
            space = np.empty(20000 * len(x) + 64, np.uint8)
            status = forward(x.ctypes.data, y.ctypes.data, len(x), space.ctypes.data)
            if status or not np.allclose(y, wants[k % len(batches)], rtol=1e-6, atol=1e-6):
                failures.append((k, status))
                return

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures


@pytest.mark.parametrize("triple, fmt, machine", [
    ("aarch64-unknown-linux-gnu", "elf64-littleaarch64", "EM_AARCH64"),
    ("thumbv7em-none-eabi", "elf32-littlearm", "EM_ARM"),
    ("riscv64-unknown-linux-gnu", "elf64-littleriscv", "EF_RISCV_FLOAT_ABI_DOUBLE"),  # RV64GC, as Linux
    ("wasm32-unknown-unknown", "WASM", None),
])
def test_objects_for_foreign_targets(triple, fmt, machine, tmp_path):
    report = export(mlp().eval(), tmp_path / "net", (64,), target=triple, weights="file")
    headers = subprocess.run(["llvm-readobj", "--file-headers", str(report.paths["object"])], capture_output=True,
                             text=True, check=True).stdout
    assert f"Format: {fmt}" in headers
    if machine:
        assert machine in headers
    symbols = subprocess.run(["llvm-objdump", "-t", str(report.paths["object"])], capture_output=True, text=True,
                             check=True).stdout
    defined = [line for line in symbols.splitlines() if line.rstrip().endswith("net_forward") and "UND" not in line]
    assert defined, symbols
    assert "sn_entry" not in symbols  # internal: only the C entry points are exported
    assert f'#define NET_TARGET "{triple}"' in report.paths["header"].read_text()


def test_generic_cpu_uses_no_host_instructions(tmp_path):
    plain = export(mlp().eval(), tmp_path / "plain", (64,), weights="file")
    native_cpu = export(mlp().eval(), tmp_path / "fast", (64,), weights="file", cpu="native")
    text = subprocess.run(["llvm-objdump", "-d", str(plain.paths["object"])], capture_output=True, text=True,
                          check=True).stdout
    assert "ymm" not in text and "zmm" not in text and "vfmadd" not in text
    assert native_cpu.cpu != "generic"


def test_cli_export_command(tmp_path):
    import argparse

    source = tmp_path / "net.py"
    source.write_text("import symnet as sn\n\ndef model():\n    sn.manual_seed(0)\n"
                      "    return sn.nn.Sequential(sn.nn.Linear(4, 3), sn.nn.Tanh()).eval()\n")
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args([str(source), str(tmp_path / "cli"), "--input-shape", "4", "--format", "shared"])
    assert "libcli.so" in export_command(args) and (tmp_path / "cli.h").is_file()
    args = parser.parse_args([str(source), str(tmp_path / "nowhere" / "x"), "--input-shape", "4"])
    with pytest.raises(FileNotFoundError, match="does not exist"):
        export_command(args)
    args = parser.parse_args([str(source), str(tmp_path / "x"), "--input-shape", "4;4"])
    with pytest.raises(ValueError, match="--input-shape must be integers"):
        export_command(args)


# ---------------------------------------------------------------- the envelope's edge: clear errors

def test_a_folder_that_does_not_exist(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        export(mlp(), tmp_path / "missing" / "net", (64,))
    assert not (tmp_path / "missing").exists()


def test_a_triple_llvm_does_not_know(tmp_path):
    with pytest.raises(ValueError, match="LLVM knows no target for the triple 'pdp11-dec-unix'"):
        export(mlp(), tmp_path / "net", (64,), target="pdp11-dec-unix")
    assert list(tmp_path.iterdir()) == []


def test_native_cpu_for_another_architecture(tmp_path):
    with pytest.raises(ValueError, match="cpu='native'"):
        export(mlp(), tmp_path / "net", (64,), target="aarch64-unknown-linux-gnu", cpu="native")


def test_shared_library_for_a_foreign_target(tmp_path):
    with pytest.raises(ValueError, match="needs that target's linker"):
        export(mlp(), tmp_path / "net", (64,), target="thumbv7em-none-eabi", formats="shared")


def test_unsupported_model_names_the_problem(tmp_path):
    model = sn.nn.Sequential(sn.nn.Linear(4, 4), sn.nn.Dropout(0.5))  # training mode: random masks
    with pytest.raises(sn.NotSupportedError, match="dropout in training mode"):
        export(model, tmp_path / "net", (4,))
    export(model.eval(), tmp_path / "net", (4,))  # eval mode: dropout is the identity

    class Pair(sn.nn.Module):
        def forward(self, x):
            return x, x

    with pytest.raises(sn.NotSupportedError, match="returns tuple"):
        export(Pair(), tmp_path / "pair", (4,))


@pytest.mark.parametrize("kwargs, match", [
    ({"formats": ("pdf",)}, "formats must be"),
    ({"weights": "cloud"}, "weights must be"),
    ({"batch": 0}, "batch must be a positive int"),
    ({"name": "not an identifier"}, "not a C identifier"),
])
def test_bad_arguments(kwargs, match, tmp_path):
    with pytest.raises(ValueError, match=match):
        export(mlp(), tmp_path / "net", (64,), **kwargs)


def test_not_a_model(tmp_path):
    with pytest.raises(TypeError, match="expected a Module or a CompiledStep"):
        export(lambda x: x, tmp_path / "net", (64,))


def test_a_compiled_step_exports_its_model(tmp_path, rng):
    model = mlp()
    step = sn.compile(model, sn.nn.CrossEntropyLoss(), sn.optim.Adam(model.parameters(), lr=0.01))
    x = rng.standard_normal((32, 64)).astype(np.float32)
    step.fit((x, rng.integers(0, 10, 32)), epochs=3)
    export(step, tmp_path / "trained", (64,))
    exe = build_driver(tmp_path, "trained")
    status, out, got = run_driver(exe, x[:9], (9, 10), np.float32)
    assert status == 0, out
    assert_close(got, step.predict(x[:9]).numpy())


TRAIN_DRIVER = LOAD + r"""
#include "step.h"

/* argv: state, inputs, targets, steps, batch, lr, losses out, state out */
int main(int argc, char **argv) {
    size_t bytes, xb, yb;
    void *state = load(argv[1], &bytes);
    float *x = load(argv[2], &xb);
    int64_t *y = load(argv[3], &yb);
    int steps = atoi(argv[4]);
    long long batch = atoll(argv[5]);
    double lr = atof(argv[6]), losses[64];
    void *workspace = aligned_alloc(64, step_workspace_bytes(batch) + 64);
    for (int s = 0; s < steps; s++) {
        int status = step_train_step(state, x + s * batch * STEP_INPUT_SIZE, y + s * batch, batch, &lr, &losses[s],
                                     workspace);
        if (status) { printf("status %d\n", status); return 4; }
    }
    FILE *out = fopen(argv[7], "wb");
    fwrite(losses, sizeof(double), steps, out);
    fclose(out);
    out = fopen(argv[8], "wb");
    fwrite(state, 1, bytes, out);
    fclose(out);
    return 0;
}
"""


def test_training_step_export_matches_compile_over_ten_steps(tmp_path, rng):
    def make():
        sn.manual_seed(0)
        model = sn.nn.Sequential(sn.nn.Linear(8, 16), sn.nn.Tanh(), sn.nn.Linear(16, 3))
        return model, sn.compile(model, sn.nn.CrossEntropyLoss(),
                                 sn.optim.Adam(model.parameters(), lr=0.01, weight_decay=1e-3))

    steps, batch = 10, 6
    xs = rng.standard_normal((steps, batch, 8)).astype(np.float32)
    ys = rng.integers(0, 3, (steps, batch))
    python_model, python_step = make()
    want = [python_step.step(x, y) for x, y in zip(xs, ys, strict=True)]
    model, step = make()
    report = export(step, tmp_path / "step", training=(xs[0], ys[0]))
    assert "int32_t step_train_step(void *state" in report.paths["header"].read_text()
    source = tmp_path / "train.c"
    source.write_text(TRAIN_DRIVER)
    exe = tmp_path / "train"
    subprocess.run(["cc", "-O1", "-std=c11", "-I", str(tmp_path), "-o", str(exe), str(source),
                    str(report.paths["object"]), "-lm"], check=True, capture_output=True)
    xs.tofile(tmp_path / "x.bin")
    ys.astype(np.int64).tofile(tmp_path / "y.bin")
    done = subprocess.run([str(exe), str(report.paths["state"]), str(tmp_path / "x.bin"), str(tmp_path / "y.bin"),
                           str(steps), str(batch), "0.01", str(tmp_path / "losses.bin"), str(tmp_path / "after")],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout
    np.testing.assert_allclose(np.fromfile(tmp_path / "losses.bin"), want, rtol=1e-6)
    after = (tmp_path / "after").read_bytes()
    program = step_program(make()[1], xs[0], ys[0], "s")
    layout = native.weights_layout(program.values)
    found = {port.label: np.frombuffer(after, port.dtype, int(np.prod(port.shape, dtype=np.int64)), offset)
             for port, offset in zip(program.weights, layout.offsets, strict=True)}
    for key, p in python_model.named_parameters():
        np.testing.assert_allclose(found[key].reshape(p.shape), p.numpy(), rtol=1e-6, atol=1e-7)
    assert found["t"][0] == steps + 1  # the count of the next step, as the optimizer's state says


def test_example_classifies_digits_from_c(tmp_path, capsys):
    pytest.importorskip("sklearn")
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "examples" / "export" / "export_digits.py"
    spec = importlib.util.spec_from_file_location("export_digits", path)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    result = example.main(["--epochs", "2", "--out", str(tmp_path), "--weights", "file"])
    assert result["python_accuracy"] > 0.85
    assert result["c_accuracy"] == pytest.approx(result["python_accuracy"], abs=1 / 449)
    assert "classify.c, compiled with cc: accuracy" in capsys.readouterr().out


def test_training_export_needs_a_compiled_step(tmp_path):
    with pytest.raises(TypeError, match="exports a CompiledStep's training step"):
        export(mlp(), tmp_path / "net", training=(np.zeros((2, 64), np.float32), np.zeros(2, np.int64)))
    with pytest.raises(TypeError, match="input_shape"):
        export(mlp(), tmp_path / "net")


class ScaledByBatch(sn.nn.Module):
    """A forward that takes the batch size as a Python number: one program cannot serve every batch size."""

    def __init__(self):
        super().__init__()
        self.fc = sn.nn.Linear(4, 2)

    def forward(self, x):
        return self.fc(x) * len(x)


def test_a_forward_that_takes_the_batch_size_as_a_number_exports_with_a_fixed_batch(tmp_path, rng):
    model = ScaledByBatch()
    with pytest.raises(sn.NotSupportedError, match="takes the batch size as a number.*fixed batch="):
        export(model, tmp_path / "any", (4,))
    export(model, tmp_path / "three", (4,), batch=3, formats=("object",))
    step = sn.compile(model, sn.nn.MSELoss(), sn.optim.SGD(model.parameters(), lr=0.1))
    x, y = rng.standard_normal((3, 4)).astype(np.float32), rng.standard_normal((3, 2)).astype(np.float32)
    with pytest.raises(sn.NotSupportedError, match="serves one batch size, and an exported step takes any"):
        export(step, tmp_path / "step", training=(x, y))
