"""Export a trained digits classifier as a standalone C function, then classify with it from C.

Trains the MLP (64-256-10, as ``mlp_classifier``) on scikit-learn's 8×8 digits — or with --lenet the small LeNet
of ``lenet`` — exports its forward pass with ``sn.export`` (an object file and ``digits.h``; with --c-source,
readable C, ``digits.c``, behind the same header), compiles ``classify.c`` against the header with the system C
compiler, runs it on the test images and prints its accuracy beside the one ``predict`` gives in Python: the same
network, no Python or symnet at run time.

    python examples/export/export_digits.py [--lenet] [--weights file] [--c-source] [--out build]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

import symnet as sn
from symnet.export import export

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))


def mlp() -> sn.nn.Sequential:
    return sn.nn.Sequential(sn.nn.Linear(64, 256), sn.nn.ReLU(), sn.nn.Linear(256, 10))


def train(model: sn.nn.Module, images: np.ndarray, labels: np.ndarray, epochs: int) -> sn.CompiledStep:
    step = sn.compile(model, sn.nn.CrossEntropyLoss(), sn.optim.SGD(model.parameters(), lr=0.05, momentum=0.9))
    loader = sn.data.DataLoader(sn.data.TensorDataset(sn.tensor(images), sn.tensor(labels)), batch_size=32,
                                shuffle=True)
    step.fit(loader, epochs=epochs, progress=False)
    model.eval()
    return step


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--lenet", action="store_true", help="the convolutional LeNet instead of the MLP")
    p.add_argument("--epochs", type=int, default=10, help="training epochs (default: 10)")
    p.add_argument("--weights", choices=("embed", "file"), default="embed",
                   help="weights inside the object (default) or in a separate file")
    p.add_argument("--c-source", action="store_true",
                   help="export readable C source (digits.c) and build classify.c with it instead of the object")
    p.add_argument("--target", help="an LLVM triple: export only, for another machine (no compile and run)")
    p.add_argument("--out", default="build", help="folder for the artifacts (default: build/)")
    args = p.parse_args(argv)
    sn.manual_seed(0)
    train_set, test_set = sn.data.digits(train=True), sn.data.digits(train=False)
    x_train, y_train = (t.numpy() for t in train_set.tensors)
    x_test, y_test = (t.numpy() for t in test_set.tensors)
    mean, std = float(x_train.mean()), float(x_train.std())
    if args.lenet:
        from lenet import lenet

        model, shape, batch = lenet(8), (1, 8, 8), 1  # Flatten fixes the batch: one image per call, as a device
    else:
        model, shape, batch = mlp(), (64,), None

    def prepare(x: np.ndarray) -> np.ndarray:
        return ((x.reshape(len(x), *shape) - mean) / std).astype(np.float32)

    began = time.perf_counter()
    step = train(model, prepare(x_train), y_train, args.epochs)
    print(f"trained {'LeNet' if args.lenet else 'the MLP'} for {args.epochs} epochs in "
          f"{time.perf_counter() - began:.1f} s")
    images = prepare(x_test)
    python_accuracy = float((step.predict(images).numpy().argmax(1) == y_test).mean()) if batch is None else \
        float(np.mean([step.predict(images[k:k + 1]).numpy().argmax() == y for k, y in enumerate(y_test)]))
    print(f"predict in Python: test accuracy {python_accuracy:.4f}")

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    code = "c" if args.c_source else "object"
    report = export(model, out / "digits", shape, batch=batch, weights=args.weights, target=args.target,
                    formats=(code,))
    print(report)
    result = {"python_accuracy": python_accuracy, "sizes": report.sizes}
    if args.target:
        return result
    classify = out / "classify"
    flags = ["-DWEIGHTS_FILE"] if args.weights == "file" else []
    subprocess.run(["cc", "-O2", "-std=c11", "-I", str(out), '-DMODEL_HEADER="digits.h"', "-DPREFIX=digits",
                    "-DMACROS=DIGITS", *flags, str(HERE / "classify.c"), str(report.paths[code]), "-lm", "-o",
                    str(classify)], check=True)
    images.tofile(out / "images.f32")
    y_test.astype(np.uint8).tofile(out / "labels.u8")
    command = [str(classify), str(out / "images.f32"), str(out / "labels.u8")]
    if args.weights == "file":
        command.append(str(report.paths["weights"]))
    printed = subprocess.run(command, check=True, capture_output=True, text=True).stdout.strip()
    print(f"classify.c, compiled with cc: {printed}")
    result["c_accuracy"] = float(printed.split()[1])
    return result


if __name__ == "__main__":
    main()
