"""Optimizers compared on y = x³ (500 points), Net(1, 10, 1), DataLoader batch 15, 5 epochs, seed 10.

The seed's five (SGD, Momentum, Adagrad, RMSprop, Adam) and the six added with issue 12 (Adadelta, Adamax, NAdam,
RAdam, Rprop, ASGD), each one compiled step from the same initial weights and the same batch order; prints a table
of final losses and times and the added optimizers' derived update rules, and saves their loss curves."""

from __future__ import annotations

import time

import numpy as np
from _common import parser, pyplot, save, smoothed

import symnet as sn

CONFIGS = {
    "SGD": lambda p: sn.optim.SGD(p, lr=0.01),
    "Momentum": lambda p: sn.optim.SGD(p, lr=0.01, momentum=0.6),
    "Adagrad": lambda p: sn.optim.Adagrad(p, lr=0.01, lr_decay=0),
    "RMSprop": lambda p: sn.optim.RMSprop(p, lr=0.01, alpha=0.9),
    "Adam": lambda p: sn.optim.Adam(p, lr=0.01, betas=(0.9, 0.99)),
    "Adadelta": lambda p: sn.optim.Adadelta(p),   # lr 1.0 (PyTorch's default) scales its own step-size estimate
    "Adamax": lambda p: sn.optim.Adamax(p, lr=0.01),
    "NAdam": lambda p: sn.optim.NAdam(p, lr=0.01),
    "RAdam": lambda p: sn.optim.RAdam(p, lr=0.01),
    "Rprop": lambda p: sn.optim.Rprop(p, lr=0.01),
    "ASGD": lambda p: sn.optim.ASGD(p, lr=0.01),
}
SEED = ("SGD", "Momentum", "Adagrad", "RMSprop", "Adam")
ADDED = tuple(name for name in CONFIGS if name not in SEED)


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
    p.add_argument("--sweep", action="store_true", help="5 optimizers × 3 learning rates × 3 seeds on Dask")
    args = p.parse_args(argv)
    if args.sweep:
        from optimizers_sweep import optimizers_sweep

        result = optimizers_sweep(epochs=args.epochs)
        print(result.frame.sort_values("best_loss").to_string(index=False))
        pyplot(args.show)
        save(result.plot(color_by="lr").figure, "optimizers_sweep", args)
        return {"sweep": result}
    x, y = data()
    histories, steps, seconds, began = {}, {}, {}, time.perf_counter()
    for name, make in CONFIGS.items():
        sn.manual_seed(10)   # every optimizer starts from the same weights and sees the same batches
        loader = sn.data.DataLoader(sn.data.TensorDataset(x, y), batch_size=15, shuffle=True)
        net = Net(1, 10, 1)
        clock = time.perf_counter()
        steps[name] = sn.compile(net, sn.nn.MSELoss(), make(net.parameters()))
        histories[name] = steps[name].fit(loader, epochs=args.epochs, progress=False)
        seconds[name] = time.perf_counter() - clock
    print(f"{'optimizer':10s} {'last step':>10s} {'last epoch':>11s} {'compile + fit':>14s} {'fit alone':>10s}")
    print(f"{'':10s} {'loss':>10s} {'mean loss':>11s} {'s':>14s} {'ms':>10s}")
    for name, h in histories.items():
        print(f"{name:10s} {h[-1]:10.5f} {h.epoch_loss[-1]:11.5f} {seconds[name]:14.2f} {1000 * h.seconds:10.2f}")
    print(f"{len(CONFIGS)} optimizers × {args.epochs} epochs in {time.perf_counter() - began:.2f} s (compiles "
          "included)\n")
    print("The update rules of the added optimizers, derived and compiled into each step:")
    for name in ADDED:
        print(steps[name].optimizer.formulas())

    plt = pyplot(args.show)
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), sharey=True)
    per_epoch = len(histories["SGD"]) // args.epochs
    for ax, names, title in ((axes[0], SEED, "the seed's five"), (axes[1], ADDED, "added with issue 12")):
        for name in names:
            smoothed(ax, np.arange(1, len(histories[name]) + 1), histories[name], per_epoch, name)
        ax.set_yscale("log")
        ax.set_title(title)
        ax.set_xlabel("step (batch of 15)")
        ax.legend(fontsize="small", ncol=2)
        ax.grid(alpha=0.3, which="both")
    axes[0].set_ylabel("MSE loss")
    fig.suptitle(f"fitting y = x³ with Net(1, 10, 1): loss per step (faint) and its mean over {per_epoch} steps")
    fig.tight_layout()
    save(fig, "optimizers", args)
    return {"final": {k: v[-1] for k, v in histories.items()}, "histories": histories,
            "steps": len(histories["SGD"])}


if __name__ == "__main__":
    main()
