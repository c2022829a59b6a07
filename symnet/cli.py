"""The ``symnet`` command: ``symnet demo`` is a short tour that derives, prints and trains."""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np


def demo() -> int:
    import symnet as sn
    import symnet.nn.functional as F

    print("symnet demo — read the math, get PyTorch's numbers\n")
    print("1. Autograd on the seed's example: y = (x + w)(w + 1) at w = 1, x = 2")
    w = sn.tensor([1.0], requires_grad=True, name="w")
    x = sn.tensor([2.0], requires_grad=True, name="x")
    y = (x + w) * (w + 1)
    y.name = "y"
    y.backward()
    print(sn.formulas(y))
    print(f"w.grad = {w.grad.item():g}, x.grad = {x.grad.item():g}\n")

    print("2. A 4-16-3 MLP with cross entropy: forward definitions and every derived gradient")
    rng = np.random.default_rng(0)
    centers = rng.standard_normal((3, 4)) * 2
    labels = rng.integers(0, 3, 96)
    X = sn.tensor(centers[labels] + rng.standard_normal((96, 4)) * 0.5, name="X")
    Y = sn.tensor(labels, name="Y")
    sn.manual_seed(0)
    W1 = sn.tensor(rng.uniform(-0.5, 0.5, (16, 4)), requires_grad=True, name="W1")
    b1 = sn.zeros(16, requires_grad=True)
    b1.name = "b1"
    W2 = sn.tensor(rng.uniform(-0.25, 0.25, (3, 16)), requires_grad=True, name="W2")
    b2 = sn.zeros(3, requires_grad=True)
    b2.name = "b2"
    params = [W1, b1, W2, b2]

    def loss_fn():
        Z1 = X @ W1.T + b1
        Z1.name = "Z1"
        H = Z1.relu()
        H.name = "H"
        Z2 = H @ W2.T + b2
        Z2.name = "Z2"
        L = F.cross_entropy(Z2, Y)
        L.name = "L"
        return L

    print(sn.formulas(loss_fn()))
    print("\n3. Training it with plain SGD (lr 0.5), the PyTorch way: backward, step under no_grad, zero_grad")
    start = time.perf_counter()
    for epoch in range(101):
        L = loss_fn()
        L.backward()
        with sn.no_grad():
            for p in params:
                p -= 0.5 * p.grad
                p.grad.zero_()
        if epoch % 25 == 0:
            print(f"   step {epoch:3d}  loss {L.item():.4f}")
    Z2 = X @ W1.T + b1
    accuracy = ((Z2.relu() @ W2.T + b2).argmax(1) == Y).float().mean().item()
    print(f"   accuracy {accuracy:.1%}; 101 steps in {time.perf_counter() - start:.2f} s "
          "(derived once, reused every step)")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="symnet", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("demo", help="a short tour: derive, print, train")
    args = parser.parse_args(argv)
    if args.command == "demo":
        return demo()
    return 2


if __name__ == "__main__":
    sys.exit(main())
