"""Linear regression with an nn.Module, MSELoss(reduction='sum') and SGD (100 epochs by default)."""

from __future__ import annotations

import numpy as np
from _common import parser, pyplot, save

import symnet as sn


class LinearModel(sn.nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = sn.nn.Linear(1, 1)

    def forward(self, x):
        return self.linear(x)


def setup():
    model = LinearModel().name_parameters()
    # A fixed start (PyTorch draws it at random) so the numbers can be compared with PyTorch's.
    model.load_state_dict({"linear.weight": np.array([[0.3]]), "linear.bias": np.array([-0.1])})
    x = sn.tensor([[1.0], [2.0], [3.0]], name="x")
    y = sn.tensor([[2.0], [4.0], [6.0]], name="y")
    return model, x, y


def program():
    model, x, y = setup()
    return sn.nn.MSELoss(reduction="sum")(model(x), y), sn.optim.SGD(model.parameters(), lr=0.01)


def main(argv=None) -> dict:
    p = parser(__doc__)
    p.add_argument("--epochs", type=int, default=100, help="full-batch epochs (default: 100)")
    args = p.parse_args(argv)
    model, x, y = setup()
    criterion = sn.nn.MSELoss(reduction="sum")
    optimizer = sn.optim.SGD(model.parameters(), lr=0.01)
    history = []
    for epoch in range(args.epochs):
        loss = criterion(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        history.append(loss.item())
        if epoch == 0:
            print(sn.formulas(loss))
            print(optimizer.formulas())
    w, b = model.linear.weight.item(), model.linear.bias.item()
    prediction = model(sn.tensor([[4.0]])).item()
    print(f"after {args.epochs} epochs: w = {w:.6f}, b = {b:.6f}, prediction at x = 4: {prediction:.6f}")
    print("(the data lie on y = 2x: with more epochs w tends to 2, b to 0 and the prediction to 8)")
    plt = pyplot(args.show)
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(range(1, len(history) + 1), history)
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss (sum of squares)")
    ax.set_yscale("log")
    ax.set_title(f"linear regression: SGD at lr 0.01, {args.epochs} full-batch epochs")
    save(fig, "linear_regression_loss", args)
    return {"w": w, "b": b, "prediction": prediction, "losses": history}


if __name__ == "__main__":
    main()
