"""A compiled graph's calling convention as plain data: what running its object needs, without the graph.

Built from the graph once (names, dtypes, shapes whose entries are integers or dimension names), it is written
beside the object in the cache, so a later process that finds both runs the object without SymPy or LLVM's
optimizer. Read back, it is untrusted input like the rest of the cache: JSON checked field by field (known
dtypes, names that are strings, extents that are integers, every name where it must be); anything else is a
miss, never an error and never code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

#: the object's entry points: one run of the graph, the driver's repeat of it, and the repeat with its arguments in
#: the block (the entry's three pointers: a marshal can run it)
ENTRY, REPEAT, REPEAT_BLOCK = "sn_entry", "sn_repeat", "sn_repeat_block"
#: ``sn_repeat_block``'s words after the two error words: the repeat's other arguments, then the first step whose
#: first record is NaN or infinite (-1: none), written after a complete run
STEPS, INDEX, STARTS, PERIOD, RECORDS, FIRST_NONFINITE = range(2, 8)

#: the dtypes a compiled graph's tensors may have, by their NumPy type string
DTYPES = {np.dtype(t).str: np.dtype(t) for t in (np.float32, np.float64, np.int32, np.int64, np.bool_, np.uint8,
                                                 np.int8, np.int16, np.float16)}

@dataclass(frozen=True)
class IndexCheck:
    """A data-dependent read whose index must lie in [0, bound), or (``kind`` "divisor") an integer divisor that
    must not be 0: reported when the kernel finds it does not hold (its status is the check's position + 1)."""

    definition: str
    tensor: str
    position: int
    index: str  # the index (or divisor) expression, as text for the error message
    kind: str = "index"


class Slot(NamedTuple):
    """An input or definition: each extent of its shape an int, or the name of a dimension bound at call time."""

    name: str
    dtype: np.dtype
    shape: tuple


@dataclass(frozen=True)
class RepeatInterface:
    """The names a driver's repeat reads and writes (``core.ir.Repeat`` without its IR objects)."""

    gathers: tuple[str, ...]
    #: each 0-d input a series sets per iteration, and its dtype
    series: tuple[tuple[str, np.dtype], ...]
    #: the definitions fed back (their inputs follow in ``fed_back``) and the ones recorded per iteration
    feedback: tuple[str, ...]
    records: tuple[str, ...]
    #: inputs the driver updates in place: the feedback targets, then the counters
    fed_back: tuple[str, ...]


@dataclass(frozen=True)
class Interface:
    inputs: tuple[Slot, ...]
    defs: tuple[Slot, ...]
    #: the dimension names in the order their values are passed
    dims: tuple[str, ...]
    outputs: tuple[str, ...]
    repeat: RepeatInterface | None = None

    @property
    def plain(self) -> bool:
        """Every extent an int or a dimension name (a graph with computed extents cannot be stored)."""
        return all(type(d) is int or type(d) is str for _, _, shape in (*self.inputs, *self.defs) for d in shape)

    def to_json(self) -> dict:
        def slots(ts):
            return [[name, dtype.str, list(shape)] for name, dtype, shape in ts]

        r = self.repeat
        return {"inputs": slots(self.inputs), "defs": slots(self.defs), "dims": list(self.dims),
                "outputs": list(self.outputs),
                "repeat": None if r is None else {
                    "gathers": list(r.gathers), "series": [[n, d.str] for n, d in r.series],
                    "feedback": list(r.feedback), "records": list(r.records), "fed_back": list(r.fed_back)}}

    @classmethod
    def from_json(cls, data) -> Interface | None:
        """The interface a cache entry holds, or None when anything in it is not as ``to_json`` writes it."""
        try:
            return _parse(data)
        except (TypeError, KeyError, ValueError):
            return None


def _names(value) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(type(v) is str for v in value):
        raise TypeError("not a list of names")
    return tuple(value)


def _dtype(text) -> np.dtype:
    if type(text) is not str or text not in DTYPES:
        raise ValueError("not a known dtype")
    return DTYPES[text]


def _slots(value, dims: tuple[str, ...]) -> tuple[Slot, ...]:
    if not isinstance(value, list):
        raise TypeError("not a list of tensors")
    found = []
    for item in value:
        name, dtype, shape = item
        if type(name) is not str or not isinstance(shape, list):
            raise TypeError("not a tensor")
        if not all(type(d) is int and 0 <= d < 1 << 62 or type(d) is str and d in dims for d in shape):
            raise ValueError("an extent is neither a size nor a known dimension")
        found.append(Slot(name, _dtype(dtype), tuple(shape)))
    return tuple(found)


def _parse(data) -> Interface:
    if not isinstance(data, dict):
        raise TypeError("not an interface")
    dims = _names(data["dims"])
    inputs, defs = _slots(data["inputs"], dims), _slots(data["defs"], dims)
    outputs = _names(data["outputs"])
    input_names, def_names = {n for n, _, _ in inputs}, {n for n, _, _ in defs}
    if len(input_names) != len(inputs) or len(def_names) != len(defs) or input_names & def_names:
        raise ValueError("a name twice")
    if not set(outputs) <= def_names or len(set(dims)) != len(dims):
        raise ValueError("an output that is not a definition")
    if any(not any(d in shape for _, _, shape in inputs) for d in dims):
        raise ValueError("a dimension no input gives")
    r, repeat = data["repeat"], None
    if r is not None:
        if not isinstance(r, dict):
            raise TypeError("not a repeat")
        series = tuple((name, _dtype(dtype)) for name, dtype in r["series"])
        repeat = RepeatInterface(_names(r["gathers"]), series, _names(r["feedback"]), _names(r["records"]),
                                 _names(r["fed_back"]))
        zero_d = {n for n, _, shape in (*inputs, *defs) if shape == ()}
        if not (set(repeat.gathers) <= input_names and {n for n, _ in series} <= zero_d & input_names
                and set(repeat.feedback) <= def_names and set(repeat.records) <= zero_d & def_names
                and set(repeat.fed_back) <= input_names and len(repeat.fed_back) >= len(repeat.feedback)):
            raise ValueError("a repeat naming what the graph does not hold")
    return Interface(inputs, defs, dims, outputs, repeat)
