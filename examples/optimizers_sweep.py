"""The optimizers example as a sweep: 5 optimizers × 3 learning rates × 3 seeds on Dask (``symnet sweep
optimizers``).

Each trial fits Net(1, 10, 1) to y = x³ (500 points, DataLoader batch 15, shuffled) from its own seed; the five
optimizers are five compiled structures, each compiled once per machine (the learning rate is an input of the
compiled step, the seed changes only the initial weights and the batch order)."""

from __future__ import annotations

import symnet as sn
from symnet.sweep import SweepResult, grid, sweep

#: the seed's five optimizers, with the example's hyperparameters and the learning rate left open
OPTIMIZERS = {
    "SGD": lambda p, lr: sn.optim.SGD(p, lr=lr),
    "Momentum": lambda p, lr: sn.optim.SGD(p, lr=lr, momentum=0.6),
    "Adagrad": lambda p, lr: sn.optim.Adagrad(p, lr=lr, lr_decay=0),
    "RMSprop": lambda p, lr: sn.optim.RMSprop(p, lr=lr, alpha=0.9),
    "Adam": lambda p, lr: sn.optim.Adam(p, lr=lr, betas=(0.9, 0.99)),
}
LEARNING_RATES = (0.003, 0.01, 0.03)
SEEDS = (0, 1, 2)


def train(config: dict) -> dict:
    """One trial: the optimizers example's network, data and batches, with this config's optimizer and rate."""
    hidden, predict = sn.nn.Linear(1, 10), sn.nn.Linear(10, 1)
    net = sn.nn.Sequential(hidden, sn.nn.ReLU(), predict)
    x = sn.linspace(-1, 1, 500).unsqueeze(1)
    loader = sn.data.DataLoader(sn.data.TensorDataset(x, x**3), batch_size=15, shuffle=True)
    step = sn.compile(net, sn.nn.MSELoss(), OPTIMIZERS[config["optimizer"]](net.parameters(), config["lr"]))
    return {"history": step.fit(loader, epochs=config.get("epochs", 5), progress=False)}


def optimizers_sweep(*, client=None, workers: int | None = None, epochs: int = 5, seed: int = 0,
                     progress: bool | None = None) -> SweepResult:
    """5 optimizers × 3 learning rates × 3 seeds, ``epochs`` epochs each; see ``sn.sweep`` for the rest."""
    configs = grid(optimizer=list(OPTIMIZERS), lr=list(LEARNING_RATES), seed=list(SEEDS), epochs=[epochs])
    return sweep(train, configs, client=client, workers=workers, seed=seed, progress=progress)
