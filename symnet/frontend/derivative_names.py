"""Names for derivative tensors, as people write them: ``∂u/∂x``, ``∂²u/∂x²``, ``∂²u/∂x₀∂x``.

A tensor returned by ``autograd.grad(..., create_graph=True)`` that has no name of its own gets an identifier
(``du_dx``, ``d2u_dx2``, ``d2u_dx0dx``: the graph's names stay identifiers) and is registered here with what it
is, so the printed formulas show the derivative. What was differentiated is read off the output: the sum of a
tensor (``u.sum()``, the usual way to get per-point derivatives) stands for the tensor, a column of a derivative
(``du[:, 0]``) for that component; an unnamed function is ``u``, an unnamed variable ``x``.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import groupby

import numpy as np

SUPERSCRIPTS = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")
SUBSCRIPTS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


@dataclass(frozen=True)
class Derivative:
    """The derivative of ``of`` by each variable of ``wrt`` in turn (a name and a component, or None)."""

    of: str
    wrt: tuple[tuple[str, int | None], ...]

    def _groups(self) -> list[tuple[tuple[str, int | None], int]]:
        return [(v, len(list(run))) for v, run in groupby(self.wrt)]

    @property
    def identifier(self) -> str:
        order = len(self.wrt)
        below = "".join(f"d{n}{'' if c is None else c}{k if k > 1 else ''}" for (n, c), k in self._groups())
        return f"d{order if order > 1 else ''}{self.of}_{below}"

    def render(self, style: str) -> str:
        order = len(self.wrt)
        if style == "latex":
            power = f"^{{{order}}}" if order > 1 else ""
            below = " ".join(rf"\partial {n}{'' if c is None else f'_{{{c}}}'}{f'^{{{k}}}' if k > 1 else ''}"
                             for (n, c), k in self._groups())
            return rf"\frac{{\partial{power} {self.of}}}{{{below}}}"
        if style == "text":
            return self.identifier
        power = str(order).translate(SUPERSCRIPTS) if order > 1 else ""
        below = "".join(f"∂{n}{'' if c is None else str(c).translate(SUBSCRIPTS)}"
                        f"{str(k).translate(SUPERSCRIPTS) if k > 1 else ''}" for (n, c), k in self._groups())
        return f"∂{power}{self.of}/{below}"


#: identifier → what it names; written when a derivative tensor is named, read by the printer
REGISTERED: dict[str, Derivative] = {}


def _summed(t):
    """``u`` for ``u.sum()``, else ``t``."""
    op = getattr(t.node, "op", None)
    if type(op).__name__ == "Reduce" and op.combine == "sum" and not op.mean and op.fn is None and len(
            op.dims) == len(t.node.inputs[0].shape):
        return t.node.inputs[0]
    return t


def _column(t) -> tuple[object, int | None]:
    """``(d, k)`` for ``d[:, k]`` (one index on the last dimension, every other kept), else ``(t, None)``."""
    op = getattr(t.node, "op", None)
    if type(op).__name__ == "Index" and len(op.items) >= 1 and op.items[-1][0] == "index" and all(
            item == ("all",) for item in op.items[:-1]) and len(op.items) == len(t.node.inputs[0].shape):
        return t.node.inputs[0], int(op.items[-1][1])
    return t, None


def name_derivative(output, target, result) -> None:
    """Name ``result``, the derivative of ``output`` by ``target``, unless it has a name already."""
    if result is None or result.name is not None:
        return
    base, component = _column(_summed(output))
    variable = target.name or "x"
    known = REGISTERED.get(base.name) if base.name else None
    if known is not None:
        (last, _), *_ = known.wrt[-1:]
        wrt = (*known.wrt[:-1], (last, component)) if component is not None else known.wrt
        derivative = Derivative(known.of, (*wrt, (variable, None)))
    else:
        derivative = Derivative(base.name or "u", ((variable, None),))
    REGISTERED.setdefault(derivative.identifier, derivative)
    result.name = derivative.identifier


def _unit_component(direction) -> int | None:
    """k when ``direction`` is the unit vector e_k on every row (a constant), else None."""
    value = getattr(direction, "_value", None)
    if direction.node is not None or value is None or value.ndim == 0 or value.shape[-1] == 0:
        return None
    rows = value.reshape(-1, value.shape[-1])
    k = int(np.argmax(rows[0]))
    unit = np.zeros(value.shape[-1])
    unit[k] = 1
    return k if bool(np.all(rows == unit)) else None


def name_directional(output, target, direction, results) -> None:
    """Name the derivatives of order 1, 2, … of ``output`` along ``direction``: ``∂ᵏu/∂x_iᵏ`` along a unit
    vector of ``target``, else ``∂ᵏu/∂vᵏ`` (``v`` the direction's name)."""
    base = _summed(output)
    component = _unit_component(direction)
    variable = (target.name or "x", component) if component is not None else (direction.name or "v", None)
    for order, result in enumerate(results, start=1):
        if result is not None and result.name is None:
            derivative = Derivative(base.name or "u", (variable,) * order)
            REGISTERED.setdefault(derivative.identifier, derivative)
            result.name = derivative.identifier
