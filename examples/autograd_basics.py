"""Autograd basics — y = (x + w)(w + 1), gradient accumulation, mean(v·v), NumPy round trips."""

from __future__ import annotations

import numpy as np
from _common import parser, pyplot, save

import symnet as sn


def seed_graph():
    w = sn.tensor([1.0], requires_grad=True, name="w")
    x = sn.tensor([2.0], requires_grad=True, name="x")
    y = (x + w) * (w + 1)
    y.name = "y"
    return y, w, x


def program():
    """What ``symnet formulas`` and ``symnet show`` print for this example: (output, optimizer)."""
    return seed_graph()[0], None


def main(argv=None) -> dict:
    args = parser(__doc__).parse_args(argv)
    y, w, x = seed_graph()
    y.backward()
    formulas = str(sn.formulas(y))
    print(formulas)
    print(f"w.grad = {w.grad.item():g}   x.grad = {x.grad.item():g}   (dy/dw = x + 2w + 1, dy/dx = w + 1)")

    accumulated = []
    w2 = sn.tensor([1.0], requires_grad=True)
    x2 = sn.tensor([2.0], requires_grad=True)
    for _ in range(3):
        ((x2 + w2) * (w2 + 1)).backward()
        accumulated.append(w2.grad.item())
    print("without zero_grad the gradient accumulates:", accumulated)

    v = sn.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True, name="v")
    v_out = (v * v).mean()
    v_out.backward()
    print(f"mean(v*v) = {v_out.item():g}; its gradient is {sn.grad((v * v).mean(), v)} =\n{v.grad.numpy()}")

    array = np.arange(6, dtype=np.float64).reshape(2, 3)
    t = sn.from_numpy(array)
    print("from_numpy / numpy round trip shares memory:", t.numpy() is array,
          "| abs, sin, mean agree with NumPy:",
          np.allclose(t.abs().numpy(), np.abs(array)) and np.allclose(t.sin().numpy(), np.sin(array))
          and np.isclose(t.mean().item(), array.mean()))

    plt = pyplot(args.show)
    ws = sn.linspace(-3, 3, 200, dtype=sn.float64, requires_grad=True)
    ys = (2.0 + ws) * (ws + 1)
    ys.sum().backward()
    fig, ax = plt.subplots(figsize=(6, 4))
    y_line, *gradients = formulas.splitlines()   # the legend in the printed notation
    dy_dw = next(line for line in gradients if line.split(" = ")[0].endswith("w"))
    ax.plot(ws.numpy(), ys.numpy(), label=f"{y_line}, x = 2")
    ax.plot(ws.numpy(), ws.grad.numpy(), label=dy_dw)
    ax.axvline(1, color="gray", lw=0.5, ls="--", label="w = 1: w.grad = 5")
    ax.legend()
    ax.set_xlabel("w")
    ax.set_ylabel("value at x = 2")
    ax.set_title("y and its gradient, derived symbolically, computed natively")
    save(fig, "autograd_basics", args)
    return {"w_grad": w.grad.item(), "x_grad": x.grad.item(), "accumulated": accumulated,
            "v_out": v_out.item(), "v_grad": v.grad.numpy()}


if __name__ == "__main__":
    main()
