"""A compiled graph's interface as plain data: built from the graph, stored with the object, read back only when
every field is as written, and enough alone to run the object."""

import copy

import numpy as np
import pytest

from codegen import cache, compile_graph
from codegen.interface import Interface
from codegen.pool import POOL
from codegen.runtime import CompiledGraph, interface_of
from symnet.core.ir import BATCH, Def, Graph, Input, Repeat, access, fresh_indices


def scaled() -> tuple[Graph, Repeat]:
    """L = Σ X·w, and w ← w − lr·Σ_rows X as a repeat feeding w back: symbolic rows, a counter, a series."""
    n = BATCH
    x, w = Input("X", (n, 3), np.dtype(np.float64)), Input("w", (3,), np.dtype(np.float64))
    t, lr = Input("t", (), np.dtype(np.float64)), Input("lr", (), np.dtype(np.float64))
    i, j, k, m, q = fresh_indices([n, 3, 3, n, 3])
    loss = Def("L", (), x.dtype, ((i, n), (j, 3)), (), access("X", (i, j)) * access("w", (j,)), "sum")
    total = Def("G", (3,), x.dtype, ((k, 3), (m, n)), (k,), access("X", (m, k)), "sum")
    new = Def("w_new", (3,), x.dtype, ((q, 3),), (q,), access("w", (q,)) - access("lr", ()) * access("G", (q,)))
    graph = Graph([x, w, t, lr], [loss, total, new], ["L", "w_new"])
    return graph, Repeat(((new, w),), counters=(t,), record=(loss,), gathers=(x,), rows=BATCH, series=(lr,))


def test_the_interface_round_trips_as_plain_data():
    graph, repeat = scaled()
    interface = interface_of(graph, repeat)
    assert interface.plain and interface.dims == ("N",)
    assert Interface.from_json(copy.deepcopy(interface.to_json())) == interface


def test_a_graph_found_by_its_key_runs_as_the_compiled_one(tmp_path, monkeypatch):
    POOL.ensure()
    monkeypatch.setenv("SYMNET_CACHE_DIR", str(tmp_path))
    graph, repeat = scaled()
    compiled = compile_graph(graph, repeat=repeat)
    found = CompiledGraph.from_cache(compiled.key, lambda: (graph, repeat))
    assert found is not None and found.cache_hit and found._graph is None
    x = np.random.default_rng(0).standard_normal((5, 3))
    inputs = [x, np.ones(3), np.zeros(()), np.full((), 0.1)]
    np.testing.assert_array_equal(found.call(inputs)[0], compiled.call(inputs)[0])
    runs = []
    for executable in (compiled, found):
        state = [x, np.ones(3), np.zeros(()), None]
        records = executable.repeat(state, 4, series=[np.array([0.1, 0.2, 0.3, 0.4])])
        runs.append((records, state[1].copy(), float(state[2])))
    np.testing.assert_array_equal(runs[0][0], runs[1][0])
    np.testing.assert_array_equal(runs[0][1], runs[1][1])
    assert runs[0][2] == runs[1][2] == 4.0
    assert found.show("loops") == compiled.show("loops")  # the graph derived again on demand
    with pytest.raises(Exception, match="X"):
        found.call([x[:, :2], *inputs[1:]])  # checked as the compiled one checks


def test_a_key_without_an_interface_is_none(tmp_path, monkeypatch):
    monkeypatch.setenv("SYMNET_CACHE_DIR", str(tmp_path))
    assert CompiledGraph.from_cache("0" * 64, lambda: None) is None
    graph, repeat = scaled()
    compiled = compile_graph(graph, repeat=repeat)
    obj, meta = cache.load(compiled.key)
    cache.store(compiled.key, obj, {**meta, "interface": None})
    assert CompiledGraph.from_cache(compiled.key, lambda: (graph, repeat)) is None


def good() -> dict:
    graph, repeat = scaled()
    return interface_of(graph, repeat).to_json()


def broken(mutate):
    data = good()
    mutate(data)
    return data


BAD = {
    "not a dict": lambda d: d.clear() or d.update({"x": 1}),
    "unknown dtype": lambda d: d["inputs"][0].__setitem__(1, "|O"),
    "extent a bool": lambda d: d["inputs"][1].__setitem__(2, [True]),
    "negative extent": lambda d: d["inputs"][1].__setitem__(2, [-3]),
    "huge extent": lambda d: d["inputs"][1].__setitem__(2, [1 << 63]),
    "float extent": lambda d: d["inputs"][1].__setitem__(2, [3.0]),
    "unknown dimension": lambda d: d["inputs"][0].__setitem__(2, ["M", 3]),
    "dimension no input gives": lambda d: d.__setitem__("dims", ["N", "M"]),
    "name twice": lambda d: d["inputs"].append(d["inputs"][0]),
    "input and def share a name": lambda d: d["defs"][0].__setitem__(0, "X"),
    "output not a definition": lambda d: d.__setitem__("outputs", ["X"]),
    "name not text": lambda d: d["inputs"][0].__setitem__(0, 3),
    "tensor too short": lambda d: d["inputs"][0].pop(),
    "repeat names an unknown input": lambda d: d["repeat"].__setitem__("gathers", ["Z"]),
    "records not 0-d": lambda d: d["repeat"].__setitem__("records", ["w_new"]),
    "series not 0-d": lambda d: d["repeat"].__setitem__("series", [["X", "<f8"]]),
    "fewer targets than fed back": lambda d: d["repeat"].__setitem__("fed_back", []),
    "repeat not a dict": lambda d: d.__setitem__("repeat", [1]),
    "missing field": lambda d: d.pop("dims"),
}


@pytest.mark.parametrize("how", sorted(BAD))
def test_anything_else_is_refused(how):
    assert Interface.from_json(good()) is not None
    assert Interface.from_json(broken(BAD[how])) is None
