"""MSE, L1 and cross entropy on a tutorial's inputs, with their derived gradient formulas."""

from __future__ import annotations

import numpy as np
from _common import parser, pyplot, save

import symnet as sn


def program():
    logits = sn.tensor([[-0.1181, -0.3682, -0.2209]], requires_grad=True, name="z")
    return sn.nn.CrossEntropyLoss()(logits, sn.tensor([0], name="y")), None


def closed_form(loss_fn) -> tuple[str, str]:
    """The loss of one prediction p against a target t and its derived gradient, as symnet prints them."""
    p = sn.tensor([0.5], dtype=sn.float64, requires_grad=True, name="p")
    loss, gradient = str(sn.formulas(loss_fn(p, sn.zeros(1, dtype=sn.float64, name="t")))).splitlines()
    return loss.split(" = ", 1)[1], gradient.split(" = ", 1)[1]


def main(argv=None) -> dict:
    args = parser(__doc__).parse_args(argv)
    a = sn.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True, name="a")
    b = sn.tensor([4.0, 5.0, 6.0, 7.0], name="b")
    mse = sn.nn.MSELoss(reduction="mean")(a, b)
    l1 = sn.nn.L1Loss()(a, b)
    ce, _ = program()
    results = {"mse": mse.item(), "l1": l1.item(), "cross_entropy": ce.item()}
    for name, loss in (("MSELoss", mse), ("L1Loss", l1), ("CrossEntropyLoss", ce)):
        print(f"{name}: {loss.item():.4f}")
        print("  " + str(sn.formulas(loss)).replace("\n", "\n  "))
    plt = pyplot(args.show)
    fig, axes = plt.subplots(1, 3, figsize=(13, 4))
    p = np.linspace(-3, 3, 301)
    target = sn.zeros(301, dtype=sn.float64)
    for ax, (name, fn) in zip(axes, [("MSE", sn.nn.MSELoss), ("L1", sn.nn.L1Loss)], strict=False):
        loss_line, grad_line = closed_form(fn())
        x = sn.tensor(p, dtype=sn.float64, requires_grad=True)
        y = fn(reduction="none")(x, target)
        y.sum().backward()
        ax.plot(p, y.numpy(), label=f"loss = {loss_line}")
        ax.plot(p, x.grad.numpy(), label=f"∂loss/∂p = {grad_line}")
        ax.set_title(f"{name}Loss of a prediction p, target t = 0")
        ax.set_xlabel("prediction p")
        ax.legend()
    x = sn.tensor(np.stack([p, np.zeros_like(p), np.zeros_like(p)], 1), dtype=sn.float64, requires_grad=True)
    y = sn.nn.CrossEntropyLoss(reduction="none")(x, sn.zeros(301, dtype=sn.int64))
    y.sum().backward()
    axes[2].plot(p, y.numpy(), label="cross entropy, label 0")
    axes[2].plot(p, x.grad.numpy()[:, 0], label="∂loss/∂z₀ = softmax − onehot")
    axes[2].set_title("CrossEntropyLoss of logits [z₀, 0, 0], label 0")
    axes[2].set_xlabel("logit z₀")
    axes[2].legend()
    for ax in axes:
        ax.set_ylabel("loss and gradient")
        ax.grid(alpha=0.3)
    fig.suptitle("three losses and their derived gradients")
    fig.tight_layout()
    save(fig, "losses", args)
    return results


if __name__ == "__main__":
    main()
