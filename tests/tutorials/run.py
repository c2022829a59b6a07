"""Run a tutorial program (a file beside this one, written against ``torch``) with torch or, after replacing
``torch`` by ``symnet`` in its text and nothing else, with symnet — with the same random draws: the torch run
records each ``randn`` result and each ``Linear``'s and ``Conv2d``'s initial parameters; the symnet run replays them."""

from __future__ import annotations

import contextlib
import importlib
import io
import random
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent
PROGRAMS = ("tensor", "autograd", "nn", "optim", "custom_module", "dynamic_net", "nn_really", "custom_function")


def source(program: str, library: str) -> str:
    text = (HERE / f"{program}.py").read_text()
    return text if library == "torch" else text.replace("torch", library)


@contextlib.contextmanager
def _patched(obj, name: str, replacement):
    original = getattr(obj, name)
    setattr(obj, name, replacement(original))
    try:
        yield
    finally:
        setattr(obj, name, original)


def run(program: str, library: str, draws: list[np.ndarray] | None = None) -> tuple[str, list[np.ndarray]]:
    """The program's printed output and its random draws (recorded from torch, or replayed into symnet)."""
    lib = importlib.import_module(library)
    recorded: list[np.ndarray] = []
    queue = iter(draws or [])

    def randn(original):
        def draw(*args, **kwargs):
            if draws is None:
                out = original(*args, **kwargs)
                recorded.append(out.detach().numpy().copy())
                return out
            kwargs.setdefault("dtype", lib.float32)
            return lib.tensor(next(queue), **{k: v for k, v in kwargs.items() if k != "device"})
        return draw

    def reset(original):
        def init(layer):
            original(layer)
            if draws is None:
                recorded.extend(p.detach().numpy().copy() for p in (layer.weight, layer.bias))
            else:
                layer.weight.set_(next(queue))
                layer.bias.set_(next(queue))
        return init

    out = io.StringIO()
    random.seed(0)
    with _patched(lib, "randn", randn), _patched(lib.nn.Linear, "reset_parameters", reset), \
            _patched(lib.nn.Conv2d, "reset_parameters", reset), contextlib.redirect_stdout(out):
        exec(compile(source(program, library), f"{program}.py", "exec"), {"__name__": "__main__"})  # noqa: S102
    return out.getvalue(), recorded


def losses(printed: str) -> np.ndarray:
    """The (step, loss) pairs a program prints."""
    rows = [line.split() for line in printed.splitlines() if line and line[0].isdigit()]
    return np.array([(float(t), float(loss)) for t, loss in rows])
