"""Activation functions and their derivatives, each plotted from its derived formula."""

from __future__ import annotations

import sympy as sp
from _common import notation, parser, pyplot, save

import symnet as sn
import symnet.nn.functional as F


def softmax_first(x):
    """softmax([x, 0])[0] = exp(x − log(eˣ + e⁰)): the two-class softmax, written out elementwise."""
    return (x - (x.exp() + 1).log()).exp()


ACTIVATIONS = {
    "sigmoid": lambda x: x.sigmoid(),
    "relu": lambda x: x.relu(),
    "leaky_relu": lambda x: F.leaky_relu(x, 0.05),
    "tanh": lambda x: x.tanh(),
    "softplus": lambda x: x.softplus(),
    "softmax": softmax_first,
}
#: how a curve reads where it is not simply name(x)
CURVES = {"softmax": "softmax([x, 0])[0]"}


def derivative_formula(fn) -> sp.Expr:
    """d fn / dx as SymPy, derived by symnet for a one-element x (so it prints as a closed form)."""
    x = sn.tensor([0.5], dtype=sn.float64, requires_grad=True, name="x")
    return sn.grad(fn(x).sum(), x)


def program():
    x = sn.tensor([0.5], requires_grad=True, name="x")
    return F.leaky_relu(x, 0.05).sum(), None


def main(argv=None) -> dict:
    args = parser(__doc__).parse_args(argv)
    plt = pyplot(args.show)
    fig, axes = plt.subplots(2, 3, figsize=(12, 7))
    derivatives = {}
    for ax, (name, fn) in zip(axes.flat, ACTIVATIONS.items(), strict=True):
        derivative = derivative_formula(fn)
        derivatives[name] = derivative
        x = sn.linspace(-5, 5, 401, dtype=sn.float64, requires_grad=True)
        y = fn(x)
        y.sum().backward()
        ax.plot(x.numpy(), y.numpy(), label=CURVES.get(name, f"{name}(x)"))
        ax.plot(x.numpy(), x.grad.numpy(), label=f"d/dx = {notation(derivative)}")
        ax.set_title(name)
        ax.set_xlabel("x")
        ax.set_ylabel("value")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
        print(f"{name:10s} d/dx = {notation(derivative)}")
    fig.suptitle("activations and their derivatives as symnet derives them (computed natively, plotted)")
    fig.tight_layout()
    save(fig, "activations", args)
    return {"derivatives": derivatives}


if __name__ == "__main__":
    main()
