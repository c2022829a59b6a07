"""Formulas for people: the forward definitions and every derived adjoint, in index notation.

Three renderings of the same lines — Unicode for a terminal, LaTeX for notebooks (``_repr_latex_``), plain
ASCII text — and closed forms for graphs of one-element tensors, where everything is inlined.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence

import numpy as np

from .core.cache import BoundedCache
from .core.ir import Def, Graph, tensor_base
from .core.lazy import sympy as sp
from .errors import GradError
from .frontend.derivative_names import REGISTERED
from .frontend.tensor import Tensor
from .frontend.trace import Traced, trace
from .pipeline import Program, closed_form, compile_graph, forward_program, gradient_program, hvp_program


def locate_leaves(output: Tensor, inputs: Sequence[Tensor], op: str) -> tuple[Traced, tuple[int, ...]]:
    """The trace of a one-element output's graph and the positions of ``inputs`` among its leaves."""
    if output.numel() != 1:
        raise GradError(f"{op}: the output must have one element, it has shape {output.shape}")
    traced = trace([output])
    position = {id(t): p for p, t in enumerate(traced.tensors)}
    wrt = []
    for t in inputs:
        if id(t) not in position or t.node is not None:
            raise GradError(f"{op}: {t.name or 'the tensor'} of shape {t.shape} is not a leaf of this graph")
        wrt.append(position[id(t)])
    return traced, tuple(wrt)


#: the leaves each expression ``grad`` returned reads as plain symbols, so the expression can be differentiated
#: again by the same tensors
_SYMBOLS = BoundedCache("grad expressions", limit=256)


def grad(output: Tensor | sp.Expr, input: Tensor) -> sp.Expr:
    """The derivative of a one-element ``output`` with respect to leaf ``input``, as a SymPy expression.

    One-element tensors read as plain symbols (``x + 2*w + 1``); larger ones as indexed reads, with sums.
    ``output`` may be an expression ``grad`` returned: the derivatives compose to any order.

    >>> import symnet as sn
    >>> w = sn.tensor(1.0, requires_grad=True, name="w")
    >>> sn.grad(sn.grad(w.sin() * w, w), w)
    -w*sin(w) + 2*cos(w)
    """
    if isinstance(output, sp.Basic):
        return _differentiate(output, input)
    traced, wrt = locate_leaves(output, [input], "grad")
    prog = gradient_program(traced.specs, len(traced.specs) - 1, wrt, seeded=False)
    result = closed_form(prog.graph, prog.graph.outputs[1])
    _SYMBOLS[result] = tuple((traced.tensors[p], sp.Symbol(prog.names[p], real=True)) for p in traced.leaves
                             if traced.tensors[p].numel() == 1)
    return result


def _differentiate(expr: sp.Expr, input: Tensor) -> sp.Expr:
    """d expr/d input for an expression ``grad`` returned, by SymPy: ``input`` is one of its plain symbols."""
    known = _SYMBOLS.get(expr, ())
    symbol = next((s for t, s in known if t is input), None)
    if symbol is None and input.numel() == 1 and input.name:
        symbol = sp.Symbol(input.name, real=True)
    if symbol is None:
        raise GradError(f"grad: {input.name or 'the tensor'} of shape {input.shape} is not a one-element tensor "
                        "this expression reads (an expression differentiates again by its plain symbols; for "
                        "larger tensors use symnet.autograd.grad(..., create_graph=True))")
    result = sp.diff(expr, symbol)
    _SYMBOLS[result] = known or ((input, symbol),)
    return result


def hessian(output: Tensor, inputs: Sequence[Tensor] | Tensor) -> np.ndarray:
    """Second derivatives of a one-element ``output`` over the flattened ``inputs``, as a matrix.

    Derived symbolically (the adjoint graph is differentiated again), one Hessian-vector product per column.
    """
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    traced, wrt = locate_leaves(output, inputs, "hessian")
    prog = hvp_program(traced.specs, len(traced.specs) - 1, wrt)
    leaves = traced.leaf_values()
    sizes = [t.numel() for t in inputs]
    total = sum(sizes)
    columns = []
    for col in range(total):
        unit = np.zeros(total)
        unit[col] = 1
        parts = np.split(unit, np.cumsum(sizes)[:-1])
        extra = {f"V{n}": p.reshape(t.shape).astype(t.dtype) for n, (p, t) in enumerate(zip(parts, inputs,
                                                                                          strict=True))}
        result = prog.run(leaves, extra)
        columns.append(np.concatenate([result[o].ravel() for o in prog.graph.outputs]))
    return np.stack(columns, axis=1)


@functools.cache
def _index_printer() -> type:
    """SymPy's text printer, with the index arithmetic of reshapes as people write it: ``⌊j/8⌋``, ``j mod 8``
    (defined on first use: SymPy loads when something is printed)."""
    from sympy.printing.str import StrPrinter

    class IndexPrinter(StrPrinter):
        def _print_floor(self, e) -> str:
            return f"⌊{self._print(e.args[0])}⌋"

        def _print_Mod(self, e) -> str:
            a, b = (self.parenthesize(x, 50) for x in e.args)
            return f"{a} mod {b}"

    return IndexPrinter


class Formulas:
    """The printed math of a graph: ``str()`` is Unicode, ``.latex()`` LaTeX, ``.text()`` plain ASCII."""

    def __init__(self, prog: Program, closed: bool, root: str, wrt: Sequence[str]):
        self.graph: Graph = prog.graph
        self.adjoints = prog.adjoints
        self.closed, self.root, self.wrt = closed, root, list(wrt)

    def _display(self, name: str, style: str) -> str:
        """δX for an adjoint (and for a part of one, ``dX_2``: the second of the terms summed into δX); a
        derivative tensor as its derivative (``∂u/∂x``, and its adjoint ``δ(∂u/∂x)``)."""
        whole = re.sub(r"_\d+$", "", name)
        if (name in self.adjoints or whole in self.adjoints) and name.startswith("d"):
            rest = name[1:]
            if whole[1:] in REGISTERED:
                shown = REGISTERED[whole[1:]].render(style)
                rest = (f"({shown})" if style != "latex" else rf"\left({shown}\right)") + name[len(whole):]
            return {"unicode": "δ" + rest, "latex": r"\delta " + rest, "text": "d" + rest}[style]
        return REGISTERED[name].render(style) if name in REGISTERED else name

    def _rename(self, expr: sp.Expr, style: str) -> sp.Expr:
        mapping = {}
        for b in expr.atoms(sp.IndexedBase):
            mapping[b] = tensor_base(self._display(str(b.label), style))
        for s in expr.free_symbols:
            if not s.is_integer and s.name in self.adjoints:
                mapping[s] = sp.Symbol(self._display(s.name, style), real=True)
        return expr.xreplace(mapping)

    def _expr(self, expr: sp.Expr, style: str) -> str:
        expr = self._rename(expr, style)
        if style == "latex":
            return sp.latex(expr)
        if style == "text":
            return sp.sstr(expr, full_prec=False)
        return _index_printer()({"full_prec": False}).doprint(expr).replace("**", "^").replace("*", "·")

    def _lines(self, style: str) -> list[tuple[str, str]]:
        if self.closed:
            name = self.root
            lines = [(name, self._expr(closed_form(self.graph, name), style))]
            for w, g in zip(self.wrt, self.graph.outputs[1:], strict=True):
                lhs = {"latex": rf"\frac{{\partial {name}}}{{\partial {w}}}", "unicode": f"∂{name}/∂{w}",
                       "text": f"d{name}/d{w}"}[style]
                lines.append((lhs, self._expr(closed_form(self.graph, g), style)))
            return lines
        return [self._line(d, style) for d in self.graph.defs]

    def _line(self, d: Def, style: str) -> tuple[str, str]:
        single = {s: sp.Integer(0) for s, e in d.domain if e == 1 and s not in d.reduced}  # shows as 0: [b, 0]
        out = tuple(sp.sympify(o).xreplace(single) for o in d.out)
        lhs = self._expr(sp.Indexed(tensor_base(d.name), *out) if out else sp.Symbol(d.name), style)
        body = self._expr(d.body.xreplace(single), style)
        scoped = isinstance(d.body, sp.Add)  # a sum of terms under Σ: brackets say where the Σ ends
        reduced = d.reduced
        if any(o not in d.extents for o in d.out if not o.is_Integer):
            over = ", ".join(str(s) for s in d.symbols)
            return lhs, (f"{body}  (accumulated over {over})" if style != "latex"
                         else rf"{body} \quad \text{{(accumulated over }} {over})") + "+="
        if d.combine == "assign" or not reduced:
            return lhs, body
        over = ",".join(str(s) for s in reduced)
        op = {"sum": ("Σ", r"\sum", "sum"), "prod": ("Π", r"\prod", "prod"), "max": ("max", r"\max", "max"),
              "argmax": ("argmax", r"\operatorname{argmax}", "argmax")}[d.combine]
        if style == "latex":
            return lhs, rf"{op[1]}_{{{over}}} \left({body}\right)" if d.combine != "sum" or scoped else \
                rf"{op[1]}_{{{over}}} {body}"
        sym = op[0] if style == "unicode" else op[2]
        if d.combine == "sum" and style == "unicode":
            return lhs, f"{sym}_{over} ({body})" if scoped else f"{sym}_{over} {body}"
        return lhs, f"{sym}_{over}({body})"

    def _render(self, style: str) -> list[str]:
        out = []
        for lhs, rhs in self._lines(style):
            if rhs.endswith("+="):
                out.append(f"{lhs} += {rhs[:-2]}" if style != "latex" else rf"{lhs} &\mathrel{{+}}= {rhs[:-2]}")
            else:
                out.append(f"{lhs} = {rhs}" if style != "latex" else f"{lhs} &= {rhs}")
        return out

    def __str__(self) -> str:
        return "\n".join(self._render("unicode"))

    def text(self) -> str:
        return "\n".join(self._render("text"))

    def latex(self) -> str:
        return "\\begin{aligned}\n" + " \\\\\n".join(self._render("latex")) + "\n\\end{aligned}"

    def _repr_latex_(self) -> str:
        return "$$" + self.latex() + "$$"

    def __repr__(self) -> str:
        return str(self)

    def legend(self) -> str:
        """What the notation used here means."""
        return legend(str(self))


#: the notation of the printed formulas: what to look for in the text, and what it means
NOTATION = (
    ("δ", "δX: the derivative of the loss by X (X's adjoint); δX_2: the second of the terms summed into δX"),
    ("Σ_", "Σ_i v: the sum of v over the index i; Σ_i (…) when the sum covers several terms"),
    (r"\[[^\[\]]*[=≠<>≤≥][^\[\]]*\]", "[c]: 1 where the condition c holds, else 0 ([j = Y[i]]: the one-hot of a "
                                   "label); [c]·(v): v where c holds, else 0, never read outside its tensor"),
    (r"\bsg\(", "sg(x): x with its gradient stopped (PyTorch's detach)"),
    (r"\bstep\(", "step(x): 1 where x > 0, else 0 (the derivative of relu)"),
    (r"\bmax_", "max_j(v): the largest v over j; argmax: the position of it"),
    ("←", "p ← …: the optimizer's update of every parameter p with gradient g at step t"),
)


def legend(text: str) -> str:
    """The notation used in ``text``, one line each."""
    return "\n".join(meaning for token, meaning in NOTATION if re.search(token, text))


def _rule_latex(line: str) -> str:
    """A line of an update rule in LaTeX: a heading as text, ``p ← …`` as math."""
    if "←" not in line:
        return rf"\text{{{re.sub(r'[^A-Za-z0-9 ,.:()-]', '', line)}}}"
    for old, new in (("←", r"\leftarrow "), ("·", r"\cdot "), ("sqrt", r"\operatorname{sqrt}"), ("%", r"\%")):
        line = line.replace(old, new)
    return line


class StepFormulas(str):
    """A compiled step's formulas: the text (a ``str``: the forward definitions, every derived gradient, the
    clipping and the update rule), with ``.latex()`` and ``_repr_latex_`` (a notebook renders it) and
    ``.legend()``."""

    def __new__(cls, derived: Formulas, rules: str):
        printed = super().__new__(cls, f"{derived}\n{rules}")
        printed.derived, printed.rules = derived, rules
        return printed

    def text(self) -> str:
        return f"{self.derived.text()}\n{self.rules}"

    def latex(self) -> str:
        lines = [rf"&{_rule_latex(line.strip())}" for line in self.rules.splitlines() if line.strip()]
        return self.derived.latex().replace("\n\\end{aligned}", " \\\\\n" + " \\\\\n".join(lines) +
                                            "\n\\end{aligned}")

    def _repr_latex_(self) -> str:
        return "$$" + self.latex() + "$$"

    def legend(self) -> str:
        return legend(self)


def _requiring_grad(traced: Traced) -> list[Tensor]:
    return [t for t in traced.tensors if t.is_leaf and t.requires_grad]


def show(output: Tensor, stage: str = "llvm", wrt: Sequence[Tensor] | None = None) -> str:
    """One stage of the compiled forward-and-backward program of ``output``: ``sympy`` definitions, ``loops``,
    ``llvm`` (before optimization), ``llvm-opt`` or ``asm``. ``SYMNET_SHOW=loops,llvm`` logs stages as programs
    compile."""
    traced = trace([output])
    wrt = _requiring_grad(traced) if wrt is None else wrt
    if wrt:
        traced, positions = locate_leaves(output, wrt, "show")
        graph = gradient_program(traced.specs, len(traced.specs) - 1, positions, seeded=False).graph
    else:
        graph = forward_program(traced.specs, (len(traced.specs) - 1,)).graph
    return compile_graph(graph).show(stage)


def formulas(output: Tensor, wrt: Sequence[Tensor] | None = None) -> Formulas:
    """The forward definitions of ``output`` and the adjoint of every leaf that requires grad (or ``wrt``)."""
    wrt = _requiring_grad(trace([output])) if wrt is None else wrt
    traced, positions = locate_leaves(output, wrt, "formulas")
    prog = gradient_program(traced.specs, len(traced.specs) - 1, positions, seeded=False)
    closed = all(t.numel() == 1 for t in traced.tensors)
    names = [prog.names[p] for p in positions]
    return Formulas(prog, closed, prog.names[len(traced.specs) - 1], names)
