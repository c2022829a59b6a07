"""The LeNet-5 example: the full default run on the 8×8 digits reaches 98% test accuracy through the compiled step,
prints the convolutions' derived gradients (the input gradient as a correlation with the flipped kernel) and saves
real figures; the Fashion-MNIST path runs PyTorch's classic 28×28 shape on IDX files; the symnet command runs it."""

import re
import struct

import numpy as np
import pytest

from symnet import cli
from tests.test_examples import EXAMPLES, assert_real_png, run, symnet

FIGURES = ("lenet_filters", "lenet_feature_maps", "lenet_curves")


def flipped_kernel_gradient(formulas: str, grad: str, weight: str, delta: str) -> bool:
    """Whether ``grad[b, c, p, q] = Σ … weight[o, c, l, m]·delta[b, o, p − l, q − m]`` is among the lines: the input
    gradient of a convolution, δ read at the output index minus the kernel index (a correlation with the flipped
    kernel), whatever the index letters and SymPy's order of the terms."""
    def minus(a: str, b: str) -> str:
        return rf"(?:-\{b} \+ \{a}|\{a} - \{b})"

    pattern = (rf"^{re.escape(grad)}\[(\w), (\w), (\w), (\w)\] = Σ.*{re.escape(weight)}\[(\w), \2, (\w), (\w)\]·"
               rf"{re.escape(delta)}\[\1, \5, {minus('3', '6')}, {minus('4', '7')}\]")
    return re.search(pattern, formulas, re.MULTILINE) is not None


def test_lenet_on_digits_reaches_98_percent(tmp_path, capsys):
    result = run("lenet", tmp_path)              # the full default: 20 epochs, about 10 s
    assert result["dataset"] == "digits"
    assert result["test_accuracy"] >= 0.98
    assert result["train_accuracy"] >= 0.99
    assert len(result["test_accuracies"]) == len(result["epoch_losses"]) == 20
    assert result["epoch_losses"][-1] < 0.05 < result["epoch_losses"][0]
    assert len(result["losses"]) == 20 * 211     # 1348 digits and their 4 one-pixel shifts, batch 32
    out = capsys.readouterr().out
    assert re.search(r"^epoch 20  loss [\d.]+  train acc [\d.]+  test acc 0\.9[89]\d\d", out, re.MULTILINE)
    formulas = result["formulas"]
    assert formulas in out
    assert "conv1[b, i, j, k] = Σ_l,m W0[i, 0, l, m]·pad1[b, 0, j + l, k + m]" in formulas  # one input channel
    assert "conv2[b, i, j, k] = Σ_n,l,m W3[i, n, l, m]·pad2[b, n, j + l, k + m]" in formulas
    assert "δW3[i, n, l, m] = Σ_b,j,k pad2[b, n, j + l, k + m]·δconv2[b, i, j, k]" in formulas
    assert "δW0[i, 0, l, m] = Σ_b,j,k pad1[b, 0, j + l, k + m]·δconv1[b, i, j, k]" in formulas
    assert flipped_kernel_gradient(formulas, "δpad2", "W3", "δconv2")
    assert not flipped_kernel_gradient(formulas, "δpad1", "W0", "δconv1")   # the images need no gradient
    assert "max_pool2_argmax" in formulas and "SGD" in formulas
    highlighted = out.split("The second convolution")[1].split("\n\n")[0].splitlines()[1:]
    assert [line.split("[")[0].strip() for line in highlighted] == ["conv2", "δpad2", "δW3"]
    for name in FIGURES:
        assert_real_png(tmp_path / f"{name}.png")
    assert [p.name for p in result["figures"]] == [f"{name}.png" for name in FIGURES]


def write_idx(path, array: np.ndarray) -> None:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(struct.pack(">I", d) for d in array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def test_lenet_fashion_mnist_path_runs_the_classic_shape(tmp_path, capsys):
    """Stand-in IDX files (a bright blob whose place is the class): the 28×28 LeNet with 5×5 kernels, 400 features
    into Linear(400, 120), trained with Adam."""
    rng = np.random.default_rng(0)
    rows, cols = np.mgrid[:28, :28]
    for prefix, n in (("train", 1200), ("t10k", 200)):
        labels = rng.integers(0, 10, n)
        y, x = 6 + 16 * (labels % 2), 3 + 5 * (labels // 2)
        blobs = 255 * np.exp(-((rows - y[:, None, None]) ** 2 + (cols - x[:, None, None]) ** 2) / 20)
        write_idx(tmp_path / f"{prefix}-images-idx3-ubyte", np.clip(blobs + rng.normal(0, 30, blobs.shape), 0, 255))
        write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte", labels)
    result = run("lenet", tmp_path / "figures", "--fashion-mnist", str(tmp_path), "--epochs", "3")
    assert result["dataset"] == "fashion-mnist" and len(result["losses"]) == 3 * 19
    assert result["test_accuracy"] >= 0.9
    out = capsys.readouterr().out
    assert "(7): Linear(in_features=400, out_features=120, bias=True)" in out
    assert "adam at lr 0.001, cosine schedule, batch 64, 3 epochs" in out
    formulas = result["formulas"]
    assert "conv2[b, i, j, k] = Σ_n,l,m W3[i, n, l, m]·max_pool1[b, n, j + l, k + m]" in formulas  # no padding
    assert flipped_kernel_gradient(formulas, "δmax_pool1", "W3", "δconv2")
    assert "Adam" in formulas
    for name in FIGURES:
        assert_real_png(tmp_path / "figures" / f"{name}.png")


def test_lenet_through_the_symnet_command():
    example = str(EXAMPLES / "lenet.py")
    out = symnet("run", example, "--help")
    assert out.returncode == 0 and "--fashion-mnist FOLDER" in out.stdout
    formulas = symnet("formulas", example)
    assert formulas.returncode == 0
    assert flipped_kernel_gradient(formulas.stdout, "δpad2", "W3", "δconv2")


@pytest.mark.skipif("lenet" not in cli.EXAMPLES, reason="symnet/cli.py's EXAMPLES does not list lenet yet")
def test_lenet_by_name_in_the_symnet_command():
    out = symnet("run", "lenet", "--help")
    assert out.returncode == 0 and "--fashion-mnist FOLDER" in out.stdout
    listing = symnet("examples").stdout.splitlines()
    assert any(re.match(r"lenet +LeNet-5 — Conv2d, ReLU, MaxPool2d twice", line) for line in listing)
