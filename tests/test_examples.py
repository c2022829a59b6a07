"""Every example runs (short where the full run is long) and prints the seeds' numbers; figures are real
images; the symnet command works and fails cleanly."""

import importlib
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

from symnet import cli

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SEEDS = np.load(Path(__file__).parent / "fixtures" / "seed_examples.npz")
sys.path.insert(0, str(EXAMPLES))


def run(name, tmp_path, *args):
    module = importlib.import_module(name)
    return module.main(["--out", str(tmp_path), *args])


def assert_real_png(path: Path, min_side: int = 200):
    import matplotlib.image as mpimg

    assert path.exists() and path.stat().st_size > 5000
    image = mpimg.imread(path)
    assert min(image.shape[:2]) >= min_side
    assert image[..., :3].std() > 0.05          # not blank: curves, text and axes vary the pixels


def test_autograd_basics(tmp_path, capsys):
    result = run("autograd_basics", tmp_path)
    assert result["w_grad"] == 5 and result["x_grad"] == 2 and result["accumulated"] == [5, 10, 15]
    assert result["v_out"] == 7.5 and result["v_grad"].tolist() == [[0.5, 1.0], [1.5, 2.0]]
    out = capsys.readouterr().out
    assert "∂y/∂w = 2·w + x + 1" in out and "v[i, j]/2" in out
    assert_real_png(tmp_path / "autograd_basics.png")


def test_activations(tmp_path):
    derivatives = run("activations", tmp_path)["derivatives"]
    x = sp.Symbol("x", real=True)
    assert str(derivatives["relu"]) == "step(x)" and "σ" in str(derivatives["sigmoid"])
    assert derivatives["tanh"] == 1 - sp.tanh(x) ** 2
    assert_real_png(tmp_path / "activations.png")


def test_losses(tmp_path):
    result = run("losses", tmp_path)
    assert result["mse"] == 9 and result["l1"] == 3 and result["cross_entropy"] == pytest.approx(0.9862, abs=5e-5)
    assert_real_png(tmp_path / "losses.png")


def test_linear_regression_matches_pytorch(tmp_path):
    result = run("linear_regression", tmp_path)
    np.testing.assert_allclose(result["w"], SEEDS["linreg/w"].item(), atol=1e-4)
    np.testing.assert_allclose(result["b"], SEEDS["linreg/b"].item(), atol=1e-4)
    np.testing.assert_allclose(result["prediction"], SEEDS["linreg/pred4"].item(), atol=1e-4)
    assert 7.7 < result["prediction"] < 8.0          # near 8, not at it: 100 epochs do not converge
    assert_real_png(tmp_path / "linear_regression_loss.png")


def test_sin_fit_matches_pytorch(tmp_path):
    result = run("sin_polyfit", tmp_path, "--manual-epochs", "30")
    assert result["same_as_manual"]
    assert result["final_loss"] == pytest.approx(float(SEEDS["sinfit/final_loss"]), rel=0.01)
    np.testing.assert_allclose(result["coefficients"], SEEDS["sinfit/coefficients"], rtol=0.02, atol=1e-4)
    assert_real_png(tmp_path / "sin_polyfit.png")


def test_optimizers(tmp_path, capsys):
    result = run("optimizers", tmp_path, "--epochs", "2")
    assert result["steps"] == 2 * 34 and all(loss < 0.1 for loss in result["final"].values())
    added = {"Adadelta", "Adamax", "NAdam", "RAdam", "Rprop", "ASGD"}
    assert set(result["final"]) == {"SGD", "Momentum", "Adagrad", "RMSprop", "Adam"} | added
    assert all(len(h) == 2 * 34 and len(h.epoch_loss) == 2 for h in result["histories"].values())
    out = capsys.readouterr().out
    assert all(f"{name}: at step t" in out for name in added)       # each added optimizer's derived rule
    assert all(line.split()[0] in result["final"] for line in out.splitlines()[2:13])   # the table
    assert_real_png(tmp_path / "optimizers.png")


def test_mlp_classifier_on_digits(tmp_path):
    result = run("mlp_classifier", tmp_path, "--epochs", "12")
    assert result["test_accuracy"] >= 0.95
    assert result["confusion"].sum() == 449          # a quarter of the 1797 digits
    assert_real_png(tmp_path / "mlp_curves.png")
    assert_real_png(tmp_path / "mlp_confusion.png")
    assert_real_png(tmp_path / "mlp_misclassified.png")


def symnet(*args):
    return subprocess.run([sys.executable, "-m", "symnet", *args], capture_output=True, text=True, timeout=300)


def test_cli_grad_prints_the_seed_gradient():
    out = symnet("grad", "(x+w)*(w+1)", "--wrt", "w")
    assert out.returncode == 0
    w, x = sp.symbols("w x", real=True)
    printed = out.stdout.strip().replace("^", "**").replace("·", "*")  # the formulas' notation, read back
    assert sp.expand(sp.sympify(printed, locals={"w": w, "x": x}) - (x + 2 * w + 1)) == 0
    assert symnet("grad", "sigmoid(w*x)", "--wrt", "w", "--latex").stdout.strip().startswith("x \\left(1 - \\sigma")


@pytest.mark.parametrize("args,message", [
    (("grad", "(x+", "--wrt", "w"), "cannot parse"),
    (("grad", "x*y", "--wrt", "w"), "does not appear"),
    (("run", "nope"), "unknown example 'nope'"),
    (("formulas", "missing.py"), "no such file"),
])
def test_cli_errors_are_one_line_with_nonzero_status(args, message):
    out = symnet(*args)
    assert out.returncode == 2 and message in out.stderr and len(out.stderr.strip().splitlines()) == 1


def test_cli_lists_runs_and_prints(tmp_path):
    listing = symnet("examples")
    assert listing.returncode == 0 and [line.split()[0] for line in listing.stdout.splitlines()] == list(cli.EXAMPLES)
    assert "δW_linear[0, 0] = Σ_i 2·(W_linear[0, 0]·x[i, 0] + b_linear[0] - y[i, 0])·x[i, 0]" in \
        symnet("formulas", "linear_regression").stdout
    assert "acc +=" in symnet("show", "losses", "--stage", "loops").stdout
    out = symnet("run", "losses", "--out", str(tmp_path))
    assert out.returncode == 0 and "CrossEntropyLoss: 0.9862" in out.stdout
