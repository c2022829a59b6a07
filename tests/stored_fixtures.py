"""A fixture file recorded from PyTorch (``tests/fixtures/<name>.npz``) with the checks the layer tests share:
values within the dtype's tolerance, the recorded masks and state_dicts."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import symnet as sn

TOLERANCE = {"float64": 1e-9, "float32": 1e-4}
DTYPES = {"float64": sn.float64, "float32": sn.float32}


class Stored:
    def __init__(self, name: str):
        self.arrays = np.load(Path(__file__).parent / "fixtures" / f"{name}.npz")
        self.files = self.arrays.files

    def __getitem__(self, key: str) -> np.ndarray:
        return self.arrays[key]

    def __contains__(self, key: str) -> bool:
        return key in self.files

    def close(self, actual, key: str, dtype: str) -> None:
        tol = TOLERANCE[dtype]
        np.testing.assert_allclose(np.asarray(actual), self.arrays[key], rtol=tol, atol=tol, err_msg=key)

    def mask(self, kind: str, dtype: str) -> sn.Tensor:
        value = self.arrays[f"mask/{kind}"]
        return sn.tensor(value) if value.dtype == bool else sn.tensor(value, dtype=DTYPES[dtype])

    def state(self, prefix: str) -> dict[str, np.ndarray]:
        return {k[len(prefix):]: self.arrays[k] for k in self.files if k.startswith(prefix)}

    # ---- a recorded SGD run (tests/fixtures/torch_sgd_run.py): batches of 4 rows taken in order
    def sgd_batches(self, dtype: str, steps: int) -> list[tuple[np.ndarray, np.ndarray]]:
        x, y = self.arrays["sgd/x"].astype(dtype), self.arrays["sgd/y"].astype(dtype)
        rows = [slice(step * 4 % len(x), step * 4 % len(x) + 4) for step in range(steps)]
        return [(x[r], y[r]) for r in rows]

    def check_run(self, model: sn.nn.Module, losses: list[float], dtype: str) -> None:
        """The losses and the final state_dict are PyTorch's."""
        self.close(losses, f"{dtype}/sgd/losses", dtype)
        for key, value in model.state_dict().items():
            self.close(value, f"{dtype}/sgd/final/{key}", dtype)


def eager_mse_losses(model: sn.nn.Module, opt: sn.optim.Optimizer, batches) -> list[float]:
    """PyTorch's loop (zero_grad, MSE, backward, step) over ``batches``; the loss of each step."""
    losses = []
    for x, y in batches:
        opt.zero_grad()
        loss = sn.nn.functional.mse_loss(model(sn.tensor(x)), sn.tensor(y))
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses
