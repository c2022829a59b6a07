"""Hostile module files: a module saved whole, its structure mutated at random (values swapped for others of any
kind, entries deleted or added, cycles, registries overwritten), loaded with ``weights_only=False``. Each load
either gives a module that prints, lists its state and parameters, or raises ValueError, TypeError or
NotSupportedError naming the problem — never another exception, a crash or a hang. ``SYMNET_DEEP=1`` runs ten
times as many files."""

from __future__ import annotations

import copy
import io
import json
import os
import random

import numpy as np
import pytest

import symnet as sn

FILES = 3000 if os.environ.get("SYMNET_DEEP") == "1" else 300
#: what a mutation puts in place of a value: every JSON kind, the tags the format uses, names it refuses
REPLACEMENTS = [None, 0, -1, 1, 99, 1e308, float("nan"), "", "x", "__class__", "0.weight", [], {}, [0], ["a", "b"],
                {"tuple": 5}, {"module": 0}, {"tensor": 0}, {"function": ["symnet", "tensor"]}, {"dtype": "float32"},
                True, [[[[]]]], {"a": {"b": {}}}, {"unsupported": "function"}, ["symnet.nn", "Linear"],
                {"numpy": ["float32", [2], [1.0, 2.0], False]}, {"numpy": ["object", [1], [0], True]},
                {"numpy": ["int64", [-1], [], False]}]


class Net(sn.nn.Module):
    def __init__(self):
        super().__init__()
        self.stack = sn.nn.Sequential(sn.nn.Linear(2, 3), sn.nn.ReLU(), sn.nn.Linear(3, 1))
        self.norm = sn.nn.BatchNorm1d(3)
        self.kernel, self.options = (3, 3), {"x": [1, 2.5, None]}
        self.register_buffer("scale", sn.ones(2), persistent=False)

    def forward(self, x):
        return self.stack(x)


def _paths(node, prefix=()):
    yield prefix
    children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in children:
        yield from _paths(value, (*prefix, key))


def _mutated(description: dict, rng: random.Random) -> dict:
    doc = copy.deepcopy(description)
    places = list(_paths(doc))
    for _ in range(rng.randint(1, 3)):
        *parents, last = rng.choice(places[1:])
        node = doc
        try:
            for key in parents:
                node = node[key]
            roll = rng.random()
            if roll < 0.6:
                node[last] = copy.deepcopy(rng.choice(REPLACEMENTS))
            elif roll < 0.8 and isinstance(node, dict):
                del node[last]
            elif isinstance(node, dict):
                node[rng.choice(["zz", "__dict__", "forward", "0", "_modules"])] = copy.deepcopy(
                    rng.choice(REPLACEMENTS))
        except (KeyError, IndexError, TypeError):
            pass  # an earlier mutation removed the place
    return doc


@pytest.mark.parametrize("seed", range(4))
def test_mutated_module_files_load_or_are_refused_by_name(seed):
    buffer = io.BytesIO()
    sn.save(Net(), buffer)
    buffer.seek(0)
    with np.load(buffer) as data:
        arrays = {k: data[k] for k in data.files}
    scalars = json.loads(str(arrays["__json__"]))
    rng = random.Random(seed)
    outcomes = {"loaded": 0, "refused": 0}
    for _ in range(FILES // 4):
        doc = {**scalars, "__module__": _mutated(scalars["__module__"], rng)}
        file = io.BytesIO()
        np.savez(file, **{**arrays, "__json__": np.array(json.dumps(doc))})
        file.seek(0)
        try:
            loaded = sn.load(file, weights_only=False)
        except (ValueError, TypeError, sn.NotSupportedError):
            outcomes["refused"] += 1
            continue
        assert isinstance(loaded, sn.nn.Module)
        repr(loaded)
        loaded.state_dict()
        list(loaded.parameters())
        outcomes["loaded"] += 1
    assert outcomes["refused"] > 0 and outcomes["loaded"] > 0  # the mutations reach both ends
