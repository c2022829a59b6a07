"""Durable keys: equal texts only for equal values, in every process; values without an exact text refused."""

import dataclasses
import math
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest
import sympy as sp

from symnet.core import durable
from symnet.core.ops import scalar_operand


class Pair(NamedTuple):
    a: object
    b: object


class OtherPair(NamedTuple):
    a: object
    b: object


@dataclasses.dataclass(frozen=True)
class Frozen:
    x: object


@dataclasses.dataclass
class Thawed:
    x: object


DISTINCT = [0.0, -0.0, scalar_operand(-0.0), 1.0, 1, True, "1", None, math.nan, math.inf, -math.inf,
            0.1, 0.1 + 2**-55, np.float32(0.1), np.float64(0.1), np.int64(1),
            (1,), [1], (1, 2), ((1,), 2), Pair(1, 2), OtherPair(1, 2), Frozen(1), Frozen(1.0),
            np.dtype(np.float32), np.dtype(np.float64), np.float32, np.float64,
            np.array([1.0, 2.0]), np.array([1.0, 2.5]), np.array([1.0, 2.0], np.float32), np.array([[1.0, 2.0]]),
            {"a": 1}, {"a": 2}, frozenset({1, 2}), sp.Rational(1, 3), sp.Float(0.1), sp.Float(0.1, 30),
            sp.Symbol("x"), sp.Symbol("x", positive=True)]


def test_unequal_values_have_unequal_texts():
    texts = [durable.text(v) for v in DISTINCT]
    clashes = [(DISTINCT[i], DISTINCT[j]) for i in range(len(texts)) for j in range(i) if texts[i] == texts[j]]
    assert clashes == []


def test_equal_values_have_equal_texts():
    assert durable.text(Pair(0.1, np.array([3, 4]))) == durable.text(Pair(0.1, np.array([3, 4])))
    assert durable.text({"b": 1, "a": 2}) == durable.text({"a": 2, "b": 1})
    assert durable.text(np.arange(6.0)[::2]) == durable.text(np.array([0.0, 2.0, 4.0]))  # values, not strides
    assert durable.text(math.nan) == durable.text(float("nan"))


REFUSED = {"function": lambda x: x, "builtin": print, "object": object(), "mutable dataclass": Thawed(1),
           "object in a tuple": (1, object()), "function in a dict": {"a": [lambda: 0]},
           "object array": np.array([None, 1], dtype=object)}


@pytest.mark.parametrize("value", REFUSED.values(), ids=REFUSED.keys())
def test_values_without_an_exact_text_are_refused(value):
    with pytest.raises(durable.NotDurable):
        durable.text(value)


VALUE = ("(Pair(0.1, -0.0), np.float32(1.5), np.array([1, 2]), Frozen(np.dtype(np.int64)), sp.Rational(1, 3), "
         "scalar_operand(-0.0))")


def test_texts_are_the_same_in_another_process():
    here = durable.digest(eval(VALUE))  # noqa: S307 - the test's own literal
    script = f"from tests.test_durable import *\nprint(durable.digest({VALUE}))"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                          cwd=Path(__file__).parents[1])
    assert done.stdout.strip() == here
