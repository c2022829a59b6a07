"""Bad input: a clear error naming the op and the shapes, never a traceback from deep inside SymPy."""

import numpy as np
import pytest

import symnet as sn
import symnet.nn.functional as F

CASES = [
    ("matmul_mismatch", lambda: sn.ones(3, 1) @ sn.ones(2, 1), sn.ShapeError, r"matmul: shapes \(3, 1\) and \(2, 1\)"),
    ("broadcast_mismatch", lambda: sn.ones(3) + sn.ones(4), sn.ShapeError, r"add: shapes \(3,\) and \(4,\)"),
    ("reshape_invalid", lambda: sn.ones(2, 3).reshape(4, 2), sn.ShapeError, r"reshape: shape \(4, 2\)"),
    ("dim_out_of_range", lambda: sn.ones(2, 3).sum(2), sn.ShapeError, "dim 2 is out of range"),
    ("mse_shapes", lambda: F.mse_loss(sn.ones(3), sn.ones(4)), sn.ShapeError, r"mse_loss: input shape \(3,\)"),
    ("float_labels", lambda: F.cross_entropy(sn.ones(2, 3), sn.tensor([0.0, 1.0])), sn.DTypeError,
     "cross_entropy: target must hold integer class indices"),
    ("labels_shape", lambda: F.cross_entropy(sn.ones(2, 3), sn.tensor([0, 1, 1])), sn.ShapeError,
     r"cross_entropy: input of shape \(2, 3\) needs a target of shape \(2,\)"),
    ("label_out_of_range", lambda: F.cross_entropy(sn.ones(2, 3), sn.tensor([0, 3])), sn.IndexRangeError,
     "target 3 is out of bounds for 3 classes"),
    ("negative_label", lambda: F.cross_entropy(sn.ones(2, 3), sn.tensor([-1, 0])), sn.IndexRangeError,
     "target -1 is out of bounds"),
    ("int_requires_grad", lambda: sn.tensor([1, 2], requires_grad=True), sn.DTypeError,
     "floating point and complex dtype can require gradients"),
    ("gather_float_index", lambda: sn.ones(2, 3).gather(1, sn.tensor([[0.0]])), sn.DTypeError, "gather: index"),
    ("backward_non_scalar", lambda: (sn.ones(3, requires_grad=True) * 2).backward(), sn.GradError,
     r"one-element outputs; this one has shape \(3,\)"),
    ("backward_without_grad", lambda: (sn.ones(3) * 2).sum().backward(), sn.GradError, "does not require grad"),
    ("inplace_on_leaf_requiring_grad", lambda: sn.ones(2, requires_grad=True).__isub__(1.0), sn.GradError,
     "no_grad"),
    ("grad_of_non_leaf", lambda: sn.grad((sn.ones(1, requires_grad=True) * 2).sum(), sn.ones(1)), sn.GradError,
     "not a leaf of this graph"),
    ("bad_reduction", lambda: F.l1_loss(sn.ones(2), sn.ones(2), reduction="avg"), ValueError, "reduction must be"),
    ("item_of_many", lambda: sn.ones(2).item(), ValueError, "only one-element tensors"),
    ("mixed_float_matmul", lambda: sn.ones(2, 3, dtype=sn.float64) @ sn.ones(3, 2), sn.DTypeError,
     "same dtype, but got float64 and float32"),
    ("mixed_float_linear", lambda: sn.nn.Linear(3, 2)(sn.ones(4, 3, dtype=sn.float64)), sn.DTypeError, "same dtype"),
    ("bool_subtraction", lambda: sn.tensor([True]) - sn.tensor([False]), sn.DTypeError, "subtraction is not supported"),
    ("bool_negation", lambda: -sn.tensor([True]), sn.DTypeError, "negation is not supported for bool"),
    ("unknown_dtype", lambda: sn.tensor([1.0], dtype="complex64"), sn.DTypeError, "not supported"),
    ("gelu_approximation", lambda: F.gelu(sn.ones(2), approximate="fast"), ValueError, "approximate must be"),
    ("step_nan_input", lambda: _compiled_step().step(np.full((2, 3), np.nan, np.float32), np.zeros((2, 1), np.float32)),
     ValueError, "NaN or infinite inputs"),
    ("step_float64_tensor_into_float32_model", lambda: _compiled_step().step(sn.ones(2, 3, dtype=sn.float64),
                                                                             np.zeros((2, 1), np.float32)),
     sn.DTypeError, "parameters are float32 but the inputs are float64"),
    ("backend_name", lambda: sn.backend.use("gpu").__enter__(), ValueError, "SYMNET_BACKEND must be"),
]


def _compiled_step():
    model = sn.nn.Linear(3, 1)
    return sn.compile(model, sn.nn.MSELoss(), sn.optim.SGD(model.parameters(), lr=0.1))


@pytest.mark.parametrize("name", [c[0] for c in CASES])
def test_clear_error(name):
    _, make, error, message = next(c for c in CASES if c[0] == name)
    with pytest.raises(error, match=message):
        make()


def test_gathered_index_out_of_range_is_checked_before_evaluation():
    """A label computed inside the graph (not visible at trace time) is checked when the graph runs."""
    logits = sn.ones(2, 3, requires_grad=True)
    labels = sn.tensor([1, 2]) + 2
    picked = logits.gather(1, labels.unsqueeze(1))
    with pytest.raises(sn.IndexRangeError, match="takes the value 3, outside"):
        picked.sum().backward()


def test_errors_are_symnet_errors_and_builtin_kinds():
    assert issubclass(sn.ShapeError, ValueError) and issubclass(sn.ShapeError, sn.SymnetError)
    assert issubclass(sn.DTypeError, TypeError) and issubclass(sn.IndexRangeError, IndexError)


def test_backward_with_gradient_argument():
    x = sn.tensor([1.0, 2.0, 3.0], requires_grad=True)
    (x * x).backward(gradient=np.array([1.0, 0.5, 0.0]))
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 2.0, 0.0])
    with pytest.raises(sn.ShapeError, match="gradient has shape"):
        (x * x).backward(gradient=np.ones(2))


def _fit_with_a_bad_label_in_the_middle(batch_size):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((12, 3)).astype(np.float32)
    labels = rng.integers(0, 2, 12)
    labels[7] = 5                                        # out of range: sample 7, in the middle of the data
    sn.manual_seed(0)
    model = sn.nn.Sequential(sn.nn.Linear(3, 4), sn.nn.ReLU(), sn.nn.Linear(4, 2))
    start = {k: v.clone() for k, v in model.state_dict().items()}
    opt = sn.optim.Adam(model.parameters(), lr=0.1)
    step = sn.compile(model, sn.nn.CrossEntropyLoss(), opt)
    loader = sn.data.DataLoader(sn.data.TensorDataset(sn.tensor(x), sn.tensor(labels)), batch_size=batch_size)
    return x, labels, model, start, opt, step, loader


@pytest.mark.parametrize("batch_size", [3, 4])
def test_state_after_a_failing_fit_is_that_of_the_last_completed_step(batch_size):
    """The label check fails in the batch holding sample 7: parameters, the optimizer's step counters and the
    history are those after the batches before it, exactly as if only those had been run."""
    x, labels, model, start, opt, step, loader = _fit_with_a_bad_label_in_the_middle(batch_size)
    done = 7 // batch_size                              # batches completed before the bad one
    with pytest.raises(sn.IndexRangeError, match=f"fit: step {done + 1} .*state after step {done}"):
        step.fit(loader, epochs=2)
    assert len(step.history) == done
    assert all(opt.param_state(p)["step"] == done for p in model.parameters())
    replay = sn.nn.Sequential(sn.nn.Linear(3, 4), sn.nn.ReLU(), sn.nn.Linear(4, 2))
    replay.load_state_dict(start)
    again = sn.compile(replay, sn.nn.CrossEntropyLoss(), sn.optim.Adam(replay.parameters(), lr=0.1))
    for b in range(done):
        rows = slice(b * batch_size, (b + 1) * batch_size)
        assert again.step(x[rows], labels[rows]) == step.history[b]
    for (_, p), (_, q) in zip(model.named_parameters(), replay.named_parameters(), strict=True):
        np.testing.assert_array_equal(p.numpy(), q.numpy())


def test_a_failing_one_batch_fit_changes_nothing():
    """One (x, y) batch, nothing watched: fit's short path, whose first step fails on the bad label."""
    x, labels, model, start, opt, step, _ = _fit_with_a_bad_label_in_the_middle(4)
    step.step(x[:4], labels[:4])  # built on good labels
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(sn.IndexRangeError, match="fit: step 2 .*state after step 1"):
        step.fit((x, labels), epochs=3, progress=False)
    assert len(step.history) == 1 and all(opt.param_state(p)["step"] == 1 for p in model.parameters())
    assert all(np.array_equal(before[k], v) for k, v in model.state_dict().items())


def test_a_failing_step_changes_nothing():
    x, labels, model, start, opt, step, _ = _fit_with_a_bad_label_in_the_middle(4)
    step.step(x[:4], labels[:4])
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(sn.IndexRangeError):
        step.step(x[4:8], labels[4:8])
    assert all(np.array_equal(before[k], v) for k, v in model.state_dict().items())
    assert all(opt.param_state(p)["step"] == 1 for p in model.parameters()) and len(step.history) == 1


def test_killed_save_leaves_a_temporary_that_the_next_save_removes(tmp_path):
    import subprocess
    import sys

    target = tmp_path / "model.npz"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = tmp_path / f".model.npz.{dead.stdout.strip()}.abc123.tmp"
    stale.write_bytes(b"half a file")
    mine = tmp_path / f".model.npz.{__import__('os').getpid()}.live.tmp"   # a save in progress here: kept
    mine.write_bytes(b"")
    sn.save(sn.nn.Linear(2, 1), target)
    assert not stale.exists() and mine.exists() and target.exists()


CRASH_PRONE = {
    "matmul of float64 and float32 buffers": "sn.ones(2, 3, dtype=sn.float64) @ sn.tensor(np.ones((3, 2), np.float32))",
    "a float32 Linear on float64 input": "sn.nn.Linear(3, 2)(sn.tensor(np.ones((4, 3)), dtype=sn.float64))",
    "compiled graph fed the wrong dtype": (
        "from codegen import compile_graph\n"
        "from symnet.core.ir import Def, Graph, Input, access, fresh_indices\n"
        "(i,) = fresh_indices([3])\n"
        "g = Graph([Input('X', (3,), np.dtype(np.float64))], "
        "[Def('Y', (3,), np.dtype(np.float64), ((i, 3),), (i,), access('X', (i,)) * 2)], ['Y'])\n"
        "compile_graph(g)({'X': np.ones(3, np.float32)})"),
    "compiled graph fed the wrong shape": (
        "from codegen import compile_graph\n"
        "from symnet.core.ir import Def, Graph, Input, access, fresh_indices\n"
        "(i,) = fresh_indices([3])\n"
        "g = Graph([Input('X', (3,), np.dtype(np.float64))], "
        "[Def('Y', (3,), np.dtype(np.float64), ((i, 3),), (i,), access('X', (i,)) * 2)], ['Y'])\n"
        "compile_graph(g)({'X': np.ones(2)})"),
    "gather with an index past the end": "sn.ones(2, 3).gather(1, sn.tensor([[0], [7]])).numpy()",
}


@pytest.mark.parametrize("name", sorted(CRASH_PRONE))
def test_crash_prone_inputs_are_clean_errors_in_a_subprocess(name, tmp_path):
    """Inputs that once read buffers as another dtype or past their end: a Python exception, never a signal."""
    import os
    import subprocess
    import sys

    code = ("import numpy as np, symnet as sn\n"
            f"try:\n    exec({CRASH_PRONE[name]!r})\n"
            "except sn.SymnetError as exc:\n    print('clean', type(exc).__name__)\n")
    env = {**os.environ, "SYMNET_CACHE_DIR": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, f"exit {out.returncode} (negative: killed by a signal)\n{out.stderr[-2000:]}"
    assert out.stdout.startswith("clean"), out.stdout + out.stderr
