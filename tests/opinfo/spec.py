"""The OpInfo-style case table: each case is one call written against a library module ``t`` (``torch`` when
the fixtures are made, ``symnet`` when they are checked), so the same line of code runs in both.

A case module ``cases_<area>.py`` holds ``CASES``, a list of ``Case``; ``make_fixtures.py`` records PyTorch's
outputs and the gradients of ``Σ_k (out_k · G_k).sum()`` in ``tests/fixtures/opinfo_<area>.npz``, and
``tests/test_opinfo.py`` checks symnet against them, against finite differences (float64) and inside a
compiled training step.
"""

from __future__ import annotations

import importlib
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent
FIXTURES = HERE.parent / "fixtures"
#: the case modules, by area (``cases_<area>.py`` beside this file)
AREAS = sorted(p.stem.removeprefix("cases_") for p in HERE.glob("cases_*.py"))


@dataclass(frozen=True)
class Arg:
    """One operand: its shape and how its values are drawn.

    kinds: ``normal`` N(0, 1); ``positive`` U(0.5, 2); ``unit`` U(−0.9, 0.9); ``nonzero`` ±U(0.5, 2);
    ``ties`` integers 0–2 as floats (many exact ties); ``kinks`` values from {−1, 0, 1} (exact kinks of
    relu/abs/clamp); ``big`` N(0, 1e4); ``int`` int64 in [−3, 4); ``index`` int64 in [0, high); ``bool``.
    ``dtype`` None: the case's float dtype for float kinds. ``grad``: the gradient is checked (float only).
    """

    shape: tuple
    kind: str = "normal"
    dtype: str | None = None
    grad: bool = True
    high: int = 2

    def is_float(self, case_dtype: str) -> bool:
        return self.dtype_for(case_dtype).startswith("float")

    def dtype_for(self, case_dtype: str) -> str:
        if self.dtype is not None:
            return self.dtype
        return {"int": "int64", "index": "int64", "bool": "bool"}.get(self.kind, case_dtype)


def arg(*shape, kind: str = "normal", dtype: str | None = None, grad: bool = True, high: int = 2) -> Arg:
    shape = tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], tuple | list) else tuple(shape)
    return Arg(shape, kind, dtype, grad, high)


@dataclass(frozen=True)
class Case:
    """``fn(t, *operands)``: ``t`` is the library module; the result is a tensor or a tuple of tensors.

    ``grad``: check gradients; ``fd``: also against finite differences (float64); ``compile``: also inside a
    compiled training step (``sn.compile`` with SGD at lr 1: the update is minus the gradient); ``rtol``
    overrides the dtype's tolerance."""

    name: str
    fn: Callable
    args: list[Arg] = field(default_factory=list)
    dtypes: tuple[str, ...] = ("float64", "float32")
    grad: bool = True
    fd: bool = True
    compile: bool = True
    rtol: dict | None = None


TOLERANCE = {"float64": 1e-9, "float32": 1e-4}


def draw(a: Arg, rng: np.random.Generator, case_dtype: str) -> np.ndarray:
    kind, shape = a.kind, a.shape
    values = {
        "normal": lambda: rng.standard_normal(shape),
        "positive": lambda: rng.uniform(0.5, 2.0, shape),
        "unit": lambda: rng.uniform(-0.9, 0.9, shape),
        "nonzero": lambda: rng.uniform(0.5, 2.0, shape) * rng.choice([-1.0, 1.0], shape),
        "ties": lambda: rng.integers(0, 3, shape).astype(np.float64),
        "kinks": lambda: rng.integers(-1, 2, shape).astype(np.float64),
        "big": lambda: rng.standard_normal(shape) * 1e4,
        "int": lambda: rng.integers(-3, 4, shape),
        "index": lambda: rng.integers(0, a.high, shape),
        "bool": lambda: rng.random(shape) < 0.5,
    }[kind]()
    return np.asarray(values).astype(a.dtype_for(case_dtype))


def operands(case: Case, dtype: str) -> list[np.ndarray]:
    """The case's operands, the same on every run (seeded by the case's name)."""
    rng = np.random.default_rng(zlib.crc32(case.name.encode()))
    return [draw(a, rng, dtype) for a in case.args]


def upstream(case: Case, dtype: str, shape: tuple, k: int) -> np.ndarray:
    """``G_k``, the weight of output ``k`` in the scalar whose gradient is checked."""
    rng = np.random.default_rng(zlib.crc32(f"{case.name}/G{k}".encode()))
    return rng.uniform(0.5, 1.5, shape).astype(dtype)


def outputs(result) -> list:
    """A case's result as a list of tensors (a single tensor, a tuple or a named tuple of them)."""
    return list(result) if isinstance(result, tuple | list) else [result]


def cases(area: str) -> list[Case]:
    found = importlib.import_module(f"tests.opinfo.cases_{area}").CASES
    names = [c.name for c in found]
    duplicated = {n for n in names if names.count(n) > 1}
    assert not duplicated, f"cases_{area}: duplicated case names {sorted(duplicated)}"
    return found


def key(case: Case, dtype: str) -> str:
    return f"{case.name}/{dtype}"
