"""Record PyTorch's runs of the tutorial programs (by hand: ``pip install torch==2.13.0``, then
``python -m tests.tutorials.make_fixtures``): ``tests/fixtures/tutorials.npz`` holds, per program, the random
draws symnet replays, the printed (step, loss) pairs and the printed result line."""

from __future__ import annotations

import numpy as np
import torch

from tests.tutorials.run import HERE, PROGRAMS, losses, run


def main() -> None:
    torch.manual_seed(0)
    data = {}
    for program in PROGRAMS:
        printed, draws = run(program, "torch")
        data[f"{program}/losses"] = losses(printed)
        data[f"{program}/result"] = np.array(printed.strip().splitlines()[-1])
        for k, d in enumerate(draws):
            data[f"{program}/draw/{k}"] = d
    np.savez_compressed(HERE.parent / "fixtures" / "tutorials.npz", **data)


if __name__ == "__main__":
    main()
