"""Optimizers compared on y = x³ (500 points), Net(1, 10, 1), DataLoader batch 15, 5 epochs, seed 10."""

from __future__ import annotations

import time

from _common import parser, pyplot, save

import symnet as sn

CONFIGS = {
    "SGD": lambda p: sn.optim.SGD(p, lr=0.01),
    "Momentum": lambda p: sn.optim.SGD(p, lr=0.01, momentum=0.6),
    "Adagrad": lambda p: sn.optim.Adagrad(p, lr=0.01, lr_decay=0),
    "RMSprop": lambda p: sn.optim.RMSprop(p, lr=0.01, alpha=0.9),
    "Adam": lambda p: sn.optim.Adam(p, lr=0.01, betas=(0.9, 0.99)),
}


class Net(sn.nn.Module):
    def __init__(self, n_input: int, n_hidden: int, n_output: int):
        super().__init__()
        self.hidden = sn.nn.Linear(n_input, n_hidden)
        self.predict = sn.nn.Linear(n_hidden, n_output)

    def forward(self, x):
        return self.predict(self.hidden(x).relu())


def data():
    x = sn.linspace(-1, 1, 500).unsqueeze(1)
    return x, x**3


def program():
    sn.manual_seed(10)
    net = Net(1, 10, 1).name_parameters()
    x, y = data()
    return sn.nn.MSELoss()(net(x[:15]), y[:15]), CONFIGS["Adam"](net.parameters())


def main(argv=None) -> dict:
    p = parser(__doc__)
    p.add_argument("--epochs", type=int, default=5, help="epochs per optimizer (default: 5)")
    args = p.parse_args(argv)
    sn.manual_seed(10)
    x, y = data()
    loader = sn.data.DataLoader(sn.data.TensorDataset(x, y), batch_size=15, shuffle=True)
    histories, began = {}, time.perf_counter()
    for name, make in CONFIGS.items():
        net = Net(1, 10, 1)
        step = sn.compile(net, sn.nn.MSELoss(), make(net.parameters()))
        histories[name] = step.fit(loader, epochs=args.epochs)
        print(f"{name:9s} final loss {histories[name][-1]:.5f}")
    print(f"five optimizers × {args.epochs} epochs in {time.perf_counter() - began:.2f} s (compiles included)")
    print(step.optimizer.formulas())
    plt = pyplot(args.show)
    fig, ax = plt.subplots(figsize=(8, 5))
    for name, losses in histories.items():
        ax.plot(losses, label=name)
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_ylim(0, 0.3)
    ax.legend()
    save(fig, "optimizers", args)
    return {"final": {k: v[-1] for k, v in histories.items()}, "steps": len(histories["SGD"])}


if __name__ == "__main__":
    main()
