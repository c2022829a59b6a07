"""The IR verifier: run after every pipeline stage and before codegen, so a stage's mistake is an error naming
the definition, never a buffer read as another dtype.

Checks: every tensor a definition reads exists and is read with its rank; indices computed from data read
integer tensors; every dtype is one symnet supports; a definition of an integer or bool dtype computes an
integer value (``ir.is_integer_valued``) — converting a float is an explicit ``trunc`` or condition, as the
``Cast`` op writes it — except ``argmax``, whose value is a position; outputs exist.
"""

from __future__ import annotations

from ..errors import SymnetError
from .dtypes import SUPPORTED
from .ir import Graph, is_integer_valued, is_tensor_symbol
from .lazy import sympy as sp


class VerifyError(SymnetError):
    """A graph that breaks the IR's rules: a bug in the stage that produced it."""


def verify(graph: Graph, stage: str) -> Graph:
    """Check the graph (see the module docstring); returns it, so stages can chain it."""
    table = graph.tensors()
    dtypes = {name: t.dtype for name, t in table.items()}
    for t in table.values():
        if t.dtype not in SUPPORTED:
            raise VerifyError(f"after {stage}: {t.name} has dtype {t.dtype}, not one symnet supports")
    for d in graph.defs:
        for expr in (d.body, *map(sp.sympify, d.out)):
            for read in expr.atoms(sp.Indexed):
                name = str(read.base.label)
                if name not in table:
                    raise VerifyError(f"after {stage}: {d.name} reads {name}, which is not defined")
                if len(read.indices) != len(table[name].shape):
                    raise VerifyError(f"after {stage}: {d.name} reads {name} with {len(read.indices)} indices, "
                                      f"but it has {len(table[name].shape)} dims")
                for index in read.indices:
                    for inner in sp.sympify(index).atoms(sp.Indexed):
                        if dtypes.get(str(inner.base.label), None) is None or \
                                dtypes[str(inner.base.label)].kind not in "ib":
                            raise VerifyError(f"after {stage}: {d.name} indexes {name} with {inner}, which is "
                                              "not an integer tensor")
            for symbol in expr.free_symbols:
                if is_tensor_symbol(symbol) and symbol.name not in table:
                    raise VerifyError(f"after {stage}: {d.name} reads {symbol.name}, which is not defined")
        if d.dtype.kind in "ib" and d.combine != "argmax" and not is_integer_valued(d.body, dtypes):
            raise VerifyError(f"after {stage}: {d.name} has dtype {d.dtype} but computes a float value "
                              f"({d.body}); a conversion must be explicit")
    missing = [o for o in graph.outputs if o not in table]
    if missing:
        raise VerifyError(f"after {stage}: outputs {missing} are not defined")
    return graph
