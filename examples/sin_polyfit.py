"""Fit sin on [−π, π] with a degree-5 polynomial, plain gradient descent at lr 0.55e-7.

First a few epochs with the update written by hand under ``no_grad``, exactly as in PyTorch's tutorial; then the
same recipe as one compiled ``fit`` for the full 80000 epochs (one native call)."""

from __future__ import annotations

import math
import time

import numpy as np
from _common import parser, pyplot, save

import symnet as sn

LR = 0.55e-7


class Polynomial(sn.nn.Module):
    def __init__(self, start):
        super().__init__()
        for name, value in zip("abcdef", start, strict=True):
            setattr(self, name, sn.nn.Parameter(sn.tensor(float(value)), name=name))

    def forward(self, x):
        return self.a + self.b * x + self.c * x**2 + self.d * x**3 + self.e * x**4 + self.f * x**5

    def describe(self) -> str:
        terms = [f"{getattr(self, n).item():+.6f}" + ("" if k == 0 else f"·x^{k}" if k > 1 else "·x")
                 for k, n in enumerate("abcdef")]
        return "y = " + " ".join(terms)


def squared_error(prediction, target):
    return ((prediction - target) ** 2).sum()


def data():
    x = sn.linspace(-math.pi, math.pi, 2000, name="x")
    return x, x.sin()


def start_coefficients(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(6).astype(np.float32)


def program():
    x, y = data()
    model = Polynomial(start_coefficients(2))
    return squared_error(model(x), y), sn.optim.SGD(model.parameters(), lr=LR)


def main(argv=None) -> dict:
    p = parser(__doc__)
    p.add_argument("--epochs", type=int, default=80000, help="epochs of the compiled fit (default: 80000)")
    p.add_argument("--manual-epochs", type=int, default=100, help="epochs of the hand-written loop")
    p.add_argument("--seed", type=int, default=2, help="seed of the starting coefficients (default: 2)")
    args = p.parse_args(argv)
    script_start = time.perf_counter()
    x, y = data()
    start = start_coefficients(args.seed)

    manual = Polynomial(start)
    params = list(manual.parameters())
    began = time.perf_counter()
    for epoch in range(args.manual_epochs):
        loss = squared_error(manual(x), y)
        if epoch % 100 == 99:
            print(f"hand-written epoch {epoch + 1}: loss {loss.item():.4f}")
        loss.backward()
        with sn.no_grad():
            for q in params:
                q -= LR * q.grad
                q.grad = None
    manual_time = time.perf_counter() - began

    model = Polynomial(start)
    step = sn.compile(model, squared_error, sn.optim.SGD(model.parameters(), lr=LR))
    began = time.perf_counter()
    losses = step.fit((x, y), epochs=args.epochs, progress=False)
    fit_time = time.perf_counter() - began
    # losses[k] is the loss before update k + 1: after the hand-written epochs it is losses[manual_epochs]
    same = bool(np.isclose(losses[args.manual_epochs], squared_error(manual(x), y).item(), rtol=1e-5))
    print(step.formulas())
    print(f"hand-written loop: {args.manual_epochs} epochs in {manual_time:.2f} s; compiled fit: {args.epochs} "
          f"epochs in {fit_time:.3f} s (compile included), one native call")
    print(f"the compiled fit retraces the hand-written loop: {same}")
    print(f"final loss {losses[-1]:.4f}; learned polynomial: {model.describe()}")

    plt = pyplot(args.show)
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4))
    left.plot(x.numpy(), y.numpy(), label="sin(x)")
    left.plot(x.numpy(), model(x).numpy(), "--", label="degree-5 fit")
    left.set_title("sin and the learned polynomial")
    left.set_xlabel("x")
    left.set_ylabel("y")
    left.legend()
    right.plot(np.arange(1, len(losses) + 1), losses)
    right.set_yscale("log")
    right.set_xscale("log")
    right.set_title(f"loss over {args.epochs} epochs at lr {LR:g}")
    right.set_xlabel("epoch")
    right.set_ylabel("sum of squared errors")
    fig.tight_layout()
    save(fig, "sin_polyfit", args)
    total = time.perf_counter() - script_start
    print(f"whole example (data, both fits, figure): {total:.2f} s")
    return {"total_seconds": total, "final_loss": losses[-1], "fit_seconds": fit_time, "same_as_manual": same,
            "coefficients": [getattr(model, n).item() for n in "abcdef"]}


if __name__ == "__main__":
    main()
