"""Readable C: a program's loop nests (``loops``) printed as C99 source, behind the C entry point of ``export``.

Export's third form beside an object and a library: the kernels the object runs, for people to read and any C99
compiler to build. It follows ``emit`` statement by statement (both make ``lowering``'s decisions) — each kernel a
``static`` function under a comment with the definition it computes; loops over flat buffers, reductions with their
accumulators and tie rules, guards with reads kept inside their tensors, index checks that stop with a status — and
it prints element functions by their own ``lower`` rules (``ir.ScalarOps``, here building C expressions), so the C
computes the math the native code computes: float32 programs in float, NaN tests and signed zeros as there. The
transcendental kernels are the C library's (``expf``, ``log1p``…) or, where ``mathlib`` has a formula of its own
(sigmoid, softplus, erfinv, floor_divide, remainder), that formula in C. Contractions are plain loop nests, not the
register-tiled micro-kernel, so sums may round differently in the last bits. Anything without a C form is refused by
name (``NotSupportedError``), never printed approximately.

Expressions are built as a graph of ``Node`` values, as an IR builder would: a value used once prints inside
its consumer, one used more than once is bound to a ``const`` local first.
"""

from __future__ import annotations

import contextlib
import re
import string
import textwrap
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

import numpy as np
from sympy.printing.c import C99CodePrinter, known_functions_C99

from symnet.core.ir import Def, Graph, Tensor, dims_of, is_selection, is_tensor_symbol
from symnet.core.lazy import sympy as sp
from symnet.errors import NotSupportedError

from . import mathlib
from .export import ALIGN, C_TYPES, MAGIC, Program, check_program, weights_layout, workspace_terms
from .loops import Contraction, Kernel, Reduce, lower_graph
from .lowering import PRIMITIVES as PRIMITIVES  # the functions both backends lower (tests check C covers them)
from .lowering import Accumulator, Lowering

# C's operator precedences, loosest last
PRIMARY, UNARY, MUL, ADD, SHIFT, RELATION, EQUALITY = 16, 15, 13, 12, 11, 10, 9
BIT_AND, XOR, BIT_OR, AND, OR, TERNARY = 8, 7, 6, 5, 4, 3
BINARY = {"*": MUL, "/": MUL, "%": MUL, "+": ADD, "-": ADD, ">>": SHIFT, "<": RELATION, "<=": RELATION, ">": RELATION,
          ">=": RELATION, "==": EQUALITY, "!=": EQUALITY, "&": BIT_AND, "^": XOR, "|": BIT_OR, "&&": AND, "||": OR}
#: operators whose operands are bracketed unless primary (GCC's -Wparentheses, and easier to read)
BRACKETED = {">>", "==", "!=", "&", "^", "|", "&&", "||"}
FLOAT_TYPES = {np.dtype(np.float32): "float", np.dtype(np.float64): "double"}
INT, WORD, CONDITION = "int64_t", "uint64_t", "int"
#: the entry point's parameters, named as the header names them, and the error slot of the kernels that check
ENTRY_PARAMETERS = ("weights", "state", "input", "target", "output", "batch", "lr", "loss", "workspace", "error")


@dataclass(eq=False)
class Node:
    """One C value: a pattern over its operands' texts, its C type and precedence. ``cheap`` values (literals,
    variables, reads) are repeated where used; ``bound`` ones always get a local (a checked index)."""

    ctype: str
    pattern: str
    operands: tuple[Node, ...] = ()
    prec: int = PRIMARY
    needs: tuple[int, ...] = ()
    cheap: bool = False
    bound: bool = False


def leaf(text: str, ctype: str) -> Node:
    """A literal or a variable."""
    return Node(ctype, text, prec=UNARY if text.startswith("-") else PRIMARY, cheap=True)


def binary(op: str, a: Node, b: Node, ctype: str, associative: bool = False) -> Node:
    """``a op b``; ``associative`` (index arithmetic, exact) brackets neither side of a chain: ``i*64 + j + k``."""
    prec = BINARY[op]
    pattern = f"{{0}}{op}{{1}}" if prec == MUL else f"{{0}} {op} {{1}}"
    if op in ("&&", "||"):  # a chain of one logical operator reads without brackets around its links
        needs = tuple(prec if x.pattern == pattern else UNARY for x in (a, b))
    elif op in BRACKETED:
        needs = (UNARY, UNARY)
    else:
        needs = (prec, prec + (not (associative and op in "+*" and b.pattern == pattern)))
    return Node(ctype, pattern, (a, b), prec, needs)


def unary(op: str, a: Node, ctype: str) -> Node:
    return Node(ctype, op + "{0}", (a,), UNARY, (UNARY,))


def cast(ctype: str, a: Node) -> Node:
    return a if a.ctype == ctype else Node(ctype, f"({ctype}){{0}}", (a,), UNARY, (UNARY,))


def call(name: str, ctype: str, *args: Node) -> Node:
    return Node(ctype, f"{name}({', '.join(f'{{{k}}}' for k in range(len(args)))})", args, PRIMARY,
                (0,) * len(args))


def ternary(condition: Node, a: Node, b: Node) -> Node:
    return Node(a.ctype, "{0} ? {1} : {2}", (condition, a, b), TERNARY, (UNARY, TERNARY + 1, TERNARY))


def text(node: Node, names: dict[Node, str]) -> str:
    """The node's C text: bound operands by their names, the others inline, bracketed where precedence asks."""
    if node in names:
        return names[node]
    parts = []
    for operand, need in zip(node.operands, node.needs, strict=True):
        part = text(operand, names)
        prec = PRIMARY if operand in names else operand.prec
        if prec < need or (node.pattern.startswith("-{0}") and part.startswith("-")):
            part = f"({part})"
        parts.append(part)
    return node.pattern.format(*parts)


# ---------------------------------------------------------------- statements and their rendering

@dataclass
class Lines:
    """A statement of one or more lines, each a list of strings and nodes."""

    lines: list[list]


@dataclass
class Nest:
    """A loop (or any braced header) around a block."""

    header: str
    block: Block


@dataclass
class Block:
    entries: list = field(default_factory=list)


class Names:
    """C identifiers, unique where they are seen: a tensor keeps its name unless that is not an identifier or is
    taken (a C keyword, a function or macro the file uses, another tensor's name); a function's locals
    (``scope``) are unique within it."""

    def __init__(self, reserved: set[str], prefixes: tuple[str, ...]):
        self.taken, self.prefixes = set(reserved), prefixes

    def fresh(self, wanted: str) -> str:
        name = re.sub(r"\W", "_", wanted) or "_"
        if name[0].isdigit() or name.startswith(self.prefixes) or re.match(r"_[A-Z_]", name):
            name = "t_" + name
        while name in self.taken:
            name += "_"
        self.taken.add(name)
        return name

    def numbered(self, stem: str) -> str:
        """``t0``, ``t1``…: the first not taken."""
        k = 0
        while f"{stem}{k}" in self.taken:
            k += 1
        self.taken.add(f"{stem}{k}")
        return f"{stem}{k}"

    def scope(self) -> Names:
        return Names(self.taken, self.prefixes)


def render(block: Block, depth: int, names: Names, out: list[str]) -> None:
    """The block's lines at this depth: before each statement, the shared values it uses as ``const`` locals."""
    uses: Counter = Counter()

    def count(node: Node) -> None:
        uses[node] += 1
        if uses[node] == 1:
            for operand in node.operands:
                count(operand)

    for entry in block.entries:
        if isinstance(entry, Lines):
            for part in (p for line in entry.lines for p in line if isinstance(p, Node)):
                count(part)
    pad = "    " * depth
    bound: dict[Node, str] = {}
    visited: set[Node] = set()

    def declare(node: Node) -> None:
        if node in visited:
            return
        visited.add(node)
        for operand in node.operands:
            declare(operand)
        if node.bound or (uses[node] > 1 and not node.cheap):
            name = names.numbered("t")
            out.extend(fold(f"{pad}const {node.ctype} {name} = {text(node, bound)};"))
            bound[node] = name

    for entry in block.entries:
        if isinstance(entry, Nest):
            out.append(pad + entry.header)
            render(entry.block, depth + 1, names, out)
            out.append(pad + "}")
            continue
        for part in (p for line in entry.lines for p in line if isinstance(p, Node)):
            declare(part)
        for line in entry.lines:
            out += fold(pad + "".join(p if isinstance(p, str) else text(p, bound) for p in line))


def fold(line: str, width: int = 116) -> list[str]:
    """A long statement broken before its loosest operators (or after a comma), never inside an index, continued 8
    columns in."""
    indent = len(line) - len(line.lstrip())
    lines = []
    while len(line) > width and "/*" not in line:
        depth, index, best = 0, 0, None
        for k, ch in enumerate(line[:width]):
            depth += (ch in "(") - (ch in ")")
            index += (ch in "[") - (ch in "]")
            spaced = ch == " " and (line[k + 1] in "+-*/?:|&" or line[k - 1] == ",")
            if (spaced or ch in "*/" and line[k - 1] != " ") and not index and k > indent + 9 and \
                    (best is None or depth <= best[0]):
                best = (depth, k)
        if best is None:
            break
        lines.append(line[:best[1]])
        line = " " * (indent + 8) + line[best[1] + (line[best[1]] == " "):]
    return [*lines, line]


# ---------------------------------------------------------------- literals

def float_literal(value: float, ctype: str) -> str:
    """The shortest decimal that reads back as the value in its type (``0.1f``), or C's macro for it."""
    if np.isnan(value):
        return "NAN"
    if np.isinf(value):
        return "INFINITY" if value > 0 else "-INFINITY"
    return str(np.float32(value)) + "f" if ctype == "float" else repr(float(value))


def int_literal(value: int) -> str:
    if value == -2**63:
        return "INT64_MIN"
    return str(value) if -2**31 < value < 2**31 else f"INT64_C({value})"


def word_literal(value: int) -> str:
    return str(value) if value < 2**31 else f"UINT64_C(0x{value:x})"


# ---------------------------------------------------------------- the C of mathlib's kernels

#: mathlib's kernels that are one C library call: the function's name in double (float adds the suffix ``f``)
LIBRARY = {"exp": "exp", "expm1": "expm1", "exp2": "exp2", "atan": "atan", "log": "log", "log1p": "log1p",
           "sin": "sin", "cos": "cos",
           "tanh": "tanh", "erf": "erf", "erfc": "erfc", "floor": "floor", "ceil": "ceil", "trunc": "trunc",
           "round": "rint"}  # rint: to nearest, ties to even, in C's default rounding mode

#: mathlib's kernels with a formula of their own, in C ($T the float type, $f the C library's suffix, $L the
#: literals'); each is mathlib's formula line by line
FORMULAS = {
    "sigmoid": """\
/* σ(x) = 1/(1 + e^-x) through e^-|x|, which never overflows: 1/(1 + e) for x ≥ 0 (and NaN), e/(1 + e) below */
static $T sn_sigmoid$f($T x) {
    const $T e = exp$f(-fabs$f(x));
    const $T s = 1.0$L/(1.0$L + e);
    return (x < 0.0$L) ? e*s : s;
}
""",
    "softplus": """\
/* PyTorch's softplus: log(1 + e^(βx))/β as (max(βx, 0) + log1p(e^-|βx|))/β, and x itself above the threshold */
static $T sn_softplus$f($T x, $T beta, $T threshold) {
    const $T bx = beta*x;
    const $T relu = (bx > 0.0$L) ? bx : 0.0$L;
    const $T stable = isnan(bx) ? bx : (relu + log1p$f(exp$f(-fabs$f(bx))))/beta;
    return (bx > threshold) ? x : stable;
}
""",
    "erfinv": """\
/* erf⁻¹(y): Giles' approximation, then Newton steps on erf(x) − y (as (1 − |y|) − erfc(x) for |y| > 0.8, where
 * 1 − |y| is exact), a step of more than 1% not taken; ±inf at ±1, NaN beyond */
static $T sn_erfinv$f($T y) {
    static const $T central[] = {
$central
    };
    static const $T tail[] = {
$tail
    };
    const $T ay = fabs$f(y);
    const $T w = -log$f((1.0$L - ay)*(1.0$L + ay));
    const $T r = (w < 5.0$L) ? w - 2.5$L : sqrt$f(w) - 3.0$L;
    const $T *c = (w < 5.0$L) ? central : tail;
    $T p = c[$last], x;
    int k;
    for (k = $last - 1; k >= 0; --k) {
        p = p*r + c[k];
    }
    x = p*ay;
    for (k = 0; k < $newton; ++k) {
        const $T residual = (ay > 0.8$L) ? (1.0$L - ay) - erfc$f(x) : erf$f(x) - ay;
        const $T step = residual/($two_over_sqrt_pi*exp$f(-(x*x)));
        if (fabs$f(step) < fabs$f(x)*0.01$L) {
            x = x - step;
        }
    }
    if (ay == 1.0$L) {
        x = INFINITY;
    }
    if (!(ay <= 1.0$L)) {
        x = NAN;
    }
    return copysign$f(x, y);
}
""",
    "floor_divide": """\
/* ⌊x/y⌋ as Python computes it for floats: from the exact fmod, (x − mod)/y is (near) an integer */
static $T sn_floor_divide$f($T x, $T y) {
    const $T mod = fmod$f(x, y);
    $T div = (x - mod)/y, whole;
    if (mod != 0.0$L && ((y < 0.0$L) != (mod < 0.0$L))) {
        div = div - 1.0$L;
    }
    whole = floor$f(div);
    if (div - whole > 0.5$L) {
        whole = whole + 1.0$L;
    }
    if (div == 0.0$L) {
        whole = copysign$f(0.0$L, x/y);
    }
    return (y == 0.0$L) ? x/y : whole;
}
""",
    "remainder": """\
/* x mod y with the sign of y (Python's %): fmod, shifted by y where their signs differ */
static $T sn_remainder$f($T x, $T y) {
    const $T mod = fmod$f(x, y);
    return (mod != 0.0$L && ((y < 0.0$L) != (mod < 0.0$L))) ? mod + y : mod;
}
""",
    "to_int64": """\
/* toward zero as an integer; NaN and values outside int64's range give INT64_MIN, as PyTorch's .long() on x86
   (its conversion instruction's "integer indefinite"; C leaves them undefined) */
static int64_t sn_to_int64$f($T x) {
    if (x >= -9223372036854775808.0$L && x < 9223372036854775808.0$L) {
        return (int64_t)x;
    }
    return INT64_MIN;
}
""",
}

#: integer helpers: index algebra rounding toward −∞ (C divides toward zero), and int64 arithmetic on data that
#: wraps as PyTorch's does (C leaves signed overflow undefined)
INTEGER_HELPERS = {
    "clamp": """\
/* an index kept inside [0, top]: a guarded read never leaves its tensor */
static int64_t sn_clamp(int64_t i, int64_t top) {
    const int64_t low = (i < 0) ? 0 : i;
    return (low > top) ? top : low;
}
""",
    "wrap_add": """\
static int64_t sn_wrap_add(int64_t a, int64_t b) {
    return (int64_t)((uint64_t)a + (uint64_t)b);
}
""",
    "wrap_mul": """\
static int64_t sn_wrap_mul(int64_t a, int64_t b) {
    return (int64_t)((uint64_t)a*(uint64_t)b);
}
""",
    "floordiv": """\
/* ⌊n/d⌋ (SymPy's floor; C divides toward zero); d = −1 negates, wrapping at −2⁶³ */
static int64_t sn_floordiv(int64_t n, int64_t d) {
    int64_t q;
    if (d == -1) {
        return (int64_t)(0u - (uint64_t)n);
    }
    q = n/d;
    return (q*d != n && ((n < 0) != (d < 0))) ? q - 1 : q;
}
""",
    "mod": """\
/* n − d·⌊n/d⌋, the sign of d (SymPy's Mod), in wrapping arithmetic */
static int64_t sn_mod(int64_t n, int64_t d) {
    return (int64_t)((uint64_t)n - (uint64_t)sn_floordiv(n, d)*(uint64_t)d);
}
""",
}
#: helpers that call others
HELPER_NEEDS = {"mod": ("floordiv",)}


class Helpers:
    """The helper functions a file calls, each defined once before the kernels (none that is not called)."""

    def __init__(self):
        self.used: dict[tuple[str, str], None] = {}

    def name(self, helper: str, ctype: str = INT) -> str:
        for need in HELPER_NEEDS.get(helper, ()):
            self.name(need)
        self.used[(helper, ctype)] = None
        return f"sn_{helper}{'f' if ctype == 'float' else ''}"

    def definitions(self) -> list[str]:
        found = []
        for helper, ctype in sorted(self.used, key=lambda u: (u[0] not in INTEGER_HELPERS, u)):
            if helper in INTEGER_HELPERS:
                found.append(INTEGER_HELPERS[helper])
                continue
            literal = "f" if ctype == "float" else ""
            newton = mathlib.ERFINV_NEWTON[mathlib.F32 if ctype == "float" else mathlib.F64]
            found.append(string.Template(FORMULAS[helper]).substitute(
                T=ctype, f=literal, L=literal, last=len(mathlib.GILES_CENTRAL) - 1, newton=newton,
                central="\n".join(array_lines([float_literal(c, ctype) for c in mathlib.GILES_CENTRAL], 8)),
                tail="\n".join(array_lines([float_literal(c, ctype) for c in mathlib.GILES_TAIL], 8)),
                two_over_sqrt_pi=float_literal(2 / np.sqrt(np.pi), ctype)))
        return found


def reserved_words() -> set[str]:
    """What a tensor may not be called: C's keywords and every identifier the file or its header uses."""
    library = {*LIBRARY.values(), *(v for v in known_functions_C99.values() if isinstance(v, str)), "fabs", "sqrt",
               "pow", "copysign", "fmod"}
    helpers = {f"sn_{h}{s}" for h in (*FORMULAS, *INTEGER_HELPERS) for s in ("", "f")}
    return {*C99CodePrinter.reserved_words, "_Bool", "_Complex", "_Imaginary", *library, *(f + "f" for f in library),
            *helpers, "isnan", "INFINITY", "NAN", "INT64_MIN", "INT64_MAX", "INT64_C", "UINT64_C", "NULL", "memset",
            "memcpy", "memcmp", "size_t", "int64_t", "uint64_t", "int32_t", "uint8_t", "main"}


# ---------------------------------------------------------------- one kernel

class KernelPrinter(Lowering):
    """One kernel as a C function: ``lowering.Lowering``'s decisions (those ``emit.KernelEmitter`` makes too)
    built as C expressions and statements; its value methods are the ``ScalarOps`` that element functions lower
    to."""

    def __init__(self, kernel: Kernel, tensors: dict[str, Tensor], dims: dict[sp.Symbol, str], names: Names,
                 cname: dict[str, str], helpers: Helpers, checks: list[str]):
        super().__init__(kernel, tensors)
        self.names, self.cname, self.helpers, self.checks = names.scope(), cname, helpers, checks
        self.float = FLOAT_TYPES[self.float_dtype]
        self.dims = {s: leaf(name, INT) for s, name in dims.items()}
        self.env: dict[sp.Symbol, Node] = dict(self.dims)
        self.used_dims: set[sp.Symbol] = set()
        self.used_buffers = {w.name for w in kernel.writes}
        self.block = Block()
        self.checked = False

    # ---------------------------------------------------------------- structure
    def function(self) -> list[str]:
        """The kernel's C function, under the formulas of the definitions it writes."""
        self.statements(self.kernel.body)
        body: list[str] = []
        render(self.block, 1, self.names, body)
        writes = {w.name for w in self.kernel.writes}
        params = [f"{'' if n in writes else 'const '}{self.ctype_of(n)} *{self.cname[n]}" for n in self.arguments]
        params += [f"int64_t {text(self.dims[s], {})}" for s in self.dims if s in self.used_dims]
        params += ["int64_t *error"] if self.checked else []
        result = "int32_t" if self.checked else "void"
        lines = [comment(formula(d) for d in self.kernel.writes)]
        lines += wrap_signature(f"static {result} {self.function_name}(", params, ") {")
        return [*lines, *body, *(["    return 0;"] if self.checked else []), "}"]

    @property
    def arguments(self) -> list[str]:
        """The buffers the kernel's C touches (a read its body folds away, as im(x) = 0, is not passed)."""
        return [n for n in self.buffers if n in self.used_buffers]

    @property
    def function_name(self) -> str:
        return "k_" + self.cname[self.kernel.definition.name]

    def ctype_of(self, name: str) -> str:
        return C_TYPES[self.tensors[name].dtype]

    def emit(self, *lines: list) -> None:
        self.block.entries.append(Lines(list(lines)))

    @contextlib.contextmanager
    def loop(self, var: sp.Symbol, extent):
        """``for`` over a domain symbol; the loop's body is a block of its own, with values of its own."""
        stop = text(self.int_value(sp.sympify(extent)), {})
        nest = Nest(f"for (int64_t {var} = 0; {var} < {stop}; ++{var}) {{", Block())
        self.block.entries.append(nest)
        outer, memo = self.block, self.memo
        self.block, self.memo = nest.block, {}
        self.env[var] = leaf(str(var), INT)
        try:
            yield
        finally:
            self.block, self.memo = outer, memo
            del self.env[var]

    # ---------------------------------------------------------------- memory
    def strides(self, name: str) -> list[sp.Expr]:
        shape = [sp.sympify(n) for n in self.tensors[name].shape]
        return [sp.Mul(*shape[k + 1:]) for k in range(len(shape))]

    def address(self, name: str, index) -> Node:
        """The flat position of ``name[index]``, C order: data-dependent indices checked first, others clamped
        inside a guard."""
        offset = None
        for pos, (i, stride) in enumerate(zip(index, self.strides(name), strict=True)):
            value = self.index(name, pos, i)
            if sp.sympify(i) == 0:
                continue
            term = value if stride == 1 else binary("*", value, self.int_value(stride), INT, True)
            offset = term if offset is None else binary("+", offset, term, INT, True)
        return offset if offset is not None else leaf("0", INT)

    def bounds_check(self, name: str, pos: int, expr: sp.Expr, value: Node) -> Node:
        bound = self.int_value(sp.sympify(self.tensors[name].shape[pos]))
        value = replace(value, bound=True)
        self.report(binary("||", binary("<", value, leaf("0", INT), CONDITION),
                           binary(">=", value, bound, CONDITION), CONDITION), value,
                    f"{name}'s index {pos}, {expr}, outside [0, {self.tensors[name].shape[pos]})")
        return value

    def clamp(self, value: Node, dim: sp.Expr) -> Node:
        return call(self.helpers.name("clamp"), INT, value, self.int_value(dim - 1))

    def report(self, bad: Node, value: Node, what: str) -> None:
        """Where ``bad`` holds, stop with the next status (``value`` in the error slot), as ``emit`` does."""
        self.checks.append(what)
        self.checked = True
        self.emit(["if (", bad, ") {"], ["    *error = ", value, ";"],
                  [f"    return {len(self.checks)};  /* {what.replace('*/', '* /')} */"], ["}"])

    def nonzero(self, e: sp.Expr) -> Node:
        value = replace(self.int_value(e), bound=True)
        self.report(binary("==", value, leaf("0", INT), CONDITION), value, f"the divisor {e} is 0")
        return value

    def load(self, name: str, index) -> Node:
        self.used_buffers.add(name)
        return Node(self.ctype_of(name), self.cname[name] + "[{0}]", (self.address(name, index),), PRIMARY, (0,),
                    cheap=True)

    def put(self, buffer: str, at: Node, value: Node) -> None:
        self.emit([self.cname[buffer] + "[", at, "] = ", value, ";"])

    def accumulate(self, buffer: str, at: Node, value: Node) -> None:
        target = [self.cname[buffer] + "[", at, "]"]
        if value.ctype == INT:
            old = Node(INT, self.cname[buffer] + "[{0}]", (at,), PRIMARY, (0,), cheap=True)
            self.emit([*target, " = ", self.wrapping("+", old, value), ";"])
        else:
            self.emit([*target, " += ", value, ";"])

    def zero(self, name: str) -> None:
        numel = self.int_value(sp.Mul(*(sp.sympify(n) for n in self.tensors[name].shape)))
        size = Node("size_t", f"{{0}}*sizeof({self.ctype_of(name)})", (numel,), MUL, (MUL,))
        self.emit([f"memset({self.cname[name]}, 0, ", size, ");"])

    # ---------------------------------------------------------------- reductions
    def contraction(self, c: Contraction) -> None:
        """``C = scale·Σ_k A·B`` as plain loops (the object runs it on a register-tiled micro-kernel): over the
        outer symbols, the rows and the columns, a sum over k of the two reads (each 0 where its range guards fail,
        as a guarded value); where an outer symbol is reduced, its first point stores and the others add."""
        d = self.kernel.definition
        reduced_outer = [s for s in c.outer if s not in d.out]

        def operand(read: sp.Indexed, guards) -> Node:
            if not guards:
                return self.float_value(read)
            holds = None
            for g in guards:
                test = type(g).predicate(self, *g.args)
                holds = test if holds is None else self.both(holds, test)
            return ternary(holds, self.safely(read), self.const(0.0))

        def over(symbols, inner) -> None:
            if symbols:
                with self.loop(symbols[0], d.extents[symbols[0]]):
                    over(symbols[1:], inner)
            else:
                inner()

        def element() -> None:
            acc = leaf(self.names.fresh("acc"), self.float)
            self.emit([f"{self.float} {text(acc, {})} = ", self.const(0.0), ";"])
            over(list(c.k), lambda: self.emit([acc, " += ", self.mul(operand(c.a, c.a_guards),
                                                                     operand(c.b, c.b_guards)), ";"]))
            at = self.address(d.name, d.out)
            value = acc if c.scale == 1 else self.mul(acc, self.float_value(c.scale))
            target = [self.cname[d.name] + "[", at, "]"]
            if not reduced_outer:
                self.emit([*target, " = ", value, ";"])
                return
            first = " && ".join(f"{s} == 0" for s in reduced_outer)
            self.emit([f"if ({first}) {{"], ["    ", *target, " = ", value, ";"], ["} else {"],
                      ["    ", *target, " += ", value, ";"], ["}"])

        over([*c.outer, *c.i, *c.j], element)

    def accumulator(self, s: Reduce, integer: bool, start: Node, scan: bool, fused: bool) -> Accumulator:
        ctype = INT if integer else self.float
        suffix = "_" + self.cname[s.buffer] if fused else ""
        acc = leaf(self.names.fresh("acc" + suffix), ctype)
        self.emit([f"{ctype} {text(acc, {})} = ", start, ";"])
        pos = started = None
        if s.op == "argmax":
            pos = leaf(self.names.fresh("pos" + suffix), INT)
            self.emit([f"int64_t {text(pos, {})} = 0;"])
        if scan:
            started = leaf(self.names.fresh("started" + suffix), CONDITION)
            self.emit([f"int {text(started, {})} = 0;"])
        return Accumulator(s, acc, integer, pos, started)

    def current(self, local: Node) -> Node:
        return local

    def combine(self, a: Accumulator, op: str, current: Node, v: Node) -> None:
        op = "+" if op == "sum" else "*"
        if a.integer:
            self.emit([a.value, " = ", self.wrapping(op, a.value, v), ";"])
        else:
            self.emit([a.value, f" {op}= ", v, ";"])

    def take(self, a: Accumulator, condition: Node, current: Node, v: Node) -> None:
        lines = [["if (", condition, ") {"], ["    ", a.value, " = ", v, ";"]]
        if a.position is not None:
            lines.append(["    ", a.position, " = ", self.int_value(a.reduction.position), ";"])
        self.emit(*lines, ["}"])

    def take_window(self, a: Accumulator, take: Node, holds: Node | None, current: Node, v: Node) -> None:
        self.take(a, take, current, v)
        if holds is not None:
            self.emit([a.started, " = ", binary("||", a.started, holds, CONDITION), ";"])
        else:
            self.emit([a.started, " = 1;"])

    # ---------------------------------------------------------------- values
    def has_data(self, e: sp.Expr) -> bool:
        return bool(e.atoms(sp.Indexed)) or any(is_tensor_symbol(s) for s in e.free_symbols)

    def unbounded(self, e: sp.Expr) -> bool:
        """Whether an integer expression may take any int64 value (an int64 read, a conversion, a power…), so that
        arithmetic on it may overflow — not index algebra, conditions or bool reads."""
        if isinstance(e, sp.Indexed) or is_tensor_symbol(e):
            return self.tensors[str(e.base.label) if isinstance(e, sp.Indexed) else e.name].dtype.kind == "i"
        kind = getattr(type(e), "value_kind", None)
        if kind == "condition":
            return False
        if kind == "integer":
            return True
        return any(self.unbounded(a) for a in e.args)

    def wrapping(self, op: str, a: Node, b: Node) -> Node:
        """int64 arithmetic that wraps on overflow, as the object's (and PyTorch's) does."""
        return call(self.helpers.name("wrap_add" if op == "+" else "wrap_mul"), INT, a, b)

    # ---------------------------------------------------------------- integers: index algebra reads as written
    # (``b*64 + j``, ``k - 1``); arithmetic on values that may overflow wraps
    def clamp_sensitive(self, e: sp.Expr) -> bool:
        return self.has_data(e)  # index algebra is the same inside a guard

    def variable(self, s: sp.Symbol) -> Node:
        if s in self.dims:
            self.used_dims.add(s)
        return self.env[s]

    def int_read(self, raw: Node, dtype: np.dtype) -> Node:
        return replace(raw, ctype=INT)

    def exact_quotient(self, n: Node, d: Node) -> Node:
        return binary("/", n, d, INT)

    def int_sum(self, e: sp.Add) -> Node:
        wraps = self.unbounded(e)
        terms = list(e.args) if wraps else e.as_ordered_terms()
        v = self.int_value(terms[0])
        for t in terms[1:]:
            coefficient, rest = t.as_coeff_Mul()
            if not wraps and coefficient.is_negative:
                v = binary("-", v, self.int_value(-t), INT)
            else:
                v = self.wrapping("+", v, self.int_value(t)) if wraps else binary("+", v, self.int_value(t), INT, True)
        return v

    def int_product(self, e: sp.Mul) -> Node:
        return self.product([self.int_value(a) for a in e.args], self.unbounded(e))

    def int_power(self, e: sp.Pow) -> Node:
        return self.product([self.int_value(e.base)] * int(e.exp), self.unbounded(e))

    def product(self, factors: list[Node], wraps: bool) -> Node:
        if not factors:
            return leaf("1", INT)
        v = factors[0]
        for f in factors[1:]:
            v = self.wrapping("*", v, f) if wraps else binary("*", v, f, INT, True)
        return v

    def floor_quotient(self, n: sp.Expr, d: sp.Expr) -> Node:
        return self.floor_div(n, d, "floordiv", "/")

    def modulo(self, n: sp.Expr, d: sp.Expr) -> Node:
        return self.floor_div(n, d, "mod", "%")

    def floor_div(self, n: sp.Expr, d: sp.Expr, helper: str, op: str) -> Node:
        """⌊n/d⌋ or n mod d rounding toward −∞: C's ``/`` and ``%`` where n ≥ 0 < d (the common index algebra)."""
        if d.is_Integer and d > 0 and n.is_nonnegative:
            return binary(op, self.int_value(n), self.int_value(d), INT)
        return call(self.helpers.name(helper), INT, self.int_value(n), self.int_value(d))

    def int_sign(self, v: Node) -> Node:
        zero = self.int_const(0)
        return cast(INT, binary("-", binary(">", v, zero, CONDITION), binary("<", v, zero, CONDITION), CONDITION))

    def int_const(self, value: int) -> Node:
        return leaf(int_literal(value), INT)

    def int_add(self, a: Node, b: Node) -> Node:
        return self.wrapping("+", a, b)

    def int_mul(self, a: Node, b: Node) -> Node:
        return self.wrapping("*", a, b)

    def int_neg(self, v: Node) -> Node:
        return self.wrapping("*", self.int_const(-1), v)

    def condition_to_int(self, condition: Node) -> Node:
        return cast(INT, condition)

    def integer_result(self, v: Node) -> Node:
        return cast(INT, v)

    def no_int_lowering(self, e: sp.Expr) -> Exception:
        return NotSupportedError(f"C source: no integer C for {type(e).__name__} in {e}")

    # ---------------------------------------------------------------- conditions
    def icmp(self, op: str, a: Node, b: Node) -> Node:
        return binary(op, a, b, CONDITION)

    def fcmp(self, op: str, a: Node, b: Node) -> Node:
        """C's comparisons are ``emit``'s: ordered, ``!=`` unordered."""
        return binary(op, a, b, CONDITION)

    def is_nan(self, v: Node) -> Node:
        return call("isnan", CONDITION, v)

    def not_nan(self, v: Node) -> Node:
        return unary("!", self.is_nan(v), CONDITION)

    def either(self, a: Node, b: Node) -> Node:
        return binary("||", a, b, CONDITION)

    def both(self, a: Node, b: Node) -> Node:
        return binary("&&", a, b, CONDITION)

    def negate(self, condition: Node) -> Node:
        return unary("!", condition, CONDITION)

    def always(self) -> None:
        """No condition yet (``conjoin`` then takes the first as it is)."""
        return None

    def conjoin(self, holds: Node | None, condition: Node) -> Node:
        return condition if holds is None else binary("&&", holds, condition, CONDITION)

    def to_byte(self, condition: Node) -> Node:
        return cast("uint8_t", condition)

    def compare(self, op: str, x: sp.Expr, y: sp.Expr) -> Node:
        """A value compared with itself folds as the compiler would fold it (and warn of it): exactly on integers,
        as a NaN test on floats."""
        if x != y:
            return super().compare(op, x, y)
        if self.is_int(x):
            return leaf(str(int(op in ("==", "<=", ">="))), CONDITION)
        fx = self.float_value(x)
        if op in ("<", ">"):
            return leaf("0", CONDITION)
        return self.is_nan(fx) if op == "!=" else unary("!", self.is_nan(fx), CONDITION)

    # ---------------------------------------------------------------- floats
    def as_float(self, v: Node, kind: str, dtype: np.dtype) -> Node:
        return cast(C_TYPES[dtype], v)

    def from_int(self, v: Node) -> Node:
        return cast(self.float, v)

    def named_function(self, e: sp.Function) -> Node:
        try:
            return super().named_function(e)
        except NotImplementedError as exc:
            raise NotSupportedError(f"C source: {type(e).__name__} has no lowering ({exc})") from None

    def no_lowering(self, e: sp.Expr) -> Exception:
        return NotSupportedError(f"C source: no C for {type(e).__name__} in {e} (in {self.kernel.definition.name})")

    def sqrt(self, x: Node) -> Node:
        return self.library("sqrt", x)

    def reciprocal_sqrt(self, x: Node) -> Node:
        return self.div(self.const(1.0), self.library("sqrt", x))

    def fabs(self, x: Node) -> Node:
        return self.library("fabs", x)

    def general_power(self, x: Node, y: Node) -> Node:
        return self.library("pow", x, y)  # emit's general power is C's pow

    # ---------------------------------------------------------------- ScalarOps: what element functions lower to
    def const(self, value: float) -> Node:
        return leaf(float_literal(value, self.float), self.float)

    def negated(self, v: Node) -> Node | None:
        """−v where it prints as plainly as v: a negation, a negative literal, a product or quotient of one (exact:
        rounding is symmetric)."""
        if v.pattern == "-{0}":
            return v.operands[0]
        if v.cheap and not v.operands and v.pattern.startswith("-"):
            return leaf(v.pattern[1:], v.ctype)
        if v.pattern in ("{0}*{1}", "{0}/{1}") and (first := self.negated(v.operands[0])) is not None:
            return binary(v.pattern[3], first, v.operands[1], v.ctype)
        return None

    def add(self, a: Node, b: Node) -> Node:
        minus = self.negated(b)  # a + (−c) is a − c exactly
        return binary("-", a, minus, self.float) if minus is not None else binary("+", a, b, self.float)

    def mul(self, a: Node, b: Node) -> Node:
        return binary("*", a, b, self.float)

    def div(self, a: Node, b: Node) -> Node:
        return binary("/", a, b, self.float)

    def neg(self, a: Node) -> Node:
        return unary("-", a, self.float)

    def select(self, condition: Node, if_true: Node, if_false: Node) -> Node:
        return ternary(condition, if_true, if_false)

    def to_word(self, v: Node) -> Node:
        return cast(WORD, v)

    def bits(self, op: str, a: Node, b: Node | int) -> Node:
        if isinstance(b, int):
            b = leaf(word_literal(b), WORD)
        return binary(op, a, b, WORD)

    def to_float(self, condition: Node) -> Node:
        return cast(self.float, condition)

    def truncate(self, value: Node) -> Node:
        return call(self.helpers.name("to_int64", value.ctype), INT, value)

    def call(self, kernel: str, *args: Node) -> Node:
        """A mathlib kernel: the C library's function, or mathlib's formula as a helper; sin and cos of a float
        in double, rounded once."""
        if kernel in LIBRARY:
            if self.float == "float" and kernel in mathlib.DOUBLE_ONLY:
                return cast("float", call(LIBRARY[kernel], "double", *(cast("double", a) for a in args)))
            return call(LIBRARY[kernel] + ("f" if self.float == "float" else ""), self.float, *args)
        if kernel in FORMULAS:
            return call(self.helpers.name(kernel, self.float), self.float, *args)
        raise NotSupportedError(f"C source: no C for the kernel {kernel!r} (of {self.kernel.definition.name})")

    def library(self, name: str, *args: Node) -> Node:
        return call(name + ("f" if self.float == "float" else ""), self.float, *args)


# ---------------------------------------------------------------- the file

def formula(d: Def) -> str:
    """The definition as the comment above its kernel: ``relu1[b, i] = relu(b0[i] + matmul1[b, i])``."""
    lhs = f"{d.name}[{', '.join(map(str, d.out))}]" if d.out else d.name
    body = sp.sstr(d.body)
    label = f" ({d.label})" if d.label and d.label != d.name else ""
    if not is_selection(d.out, d.extents, d.shape):
        shown = f"{lhs} += {body}, over {', '.join(map(str, d.symbols))}"
    elif d.combine == "assign" or not d.reduced:
        shown = f"{lhs} = {body}"
    else:
        op = {"sum": "Σ", "prod": "Π", "max": "max", "argmax": "argmax"}[d.combine]
        shown = f"{lhs} = {op}_{','.join(map(str, d.reduced))} {body}"
    if d.combine in ("max", "argmax") and d.reduced:
        shown += {"first": "  (ties: the first)", "even": "", "window": "  (ties: PyTorch's pooling scan)"}[d.ties]
    return f"{d.name}{label}: {shown}"


def comment(texts: Iterable[str]) -> str:
    lines = []
    for t in texts:
        lines += textwrap.wrap(t.replace("*/", "* /"), 112, subsequent_indent="    ", break_on_hyphens=False)
    if len(lines) == 1:
        return f"/* {lines[0]} */"
    return "\n".join(["/*", *(f" * {line}" for line in lines), " */"])


def wrap_signature(opening: str, params: list[str], closing: str) -> list[str]:
    """A declaration on one line, or its parameters wrapped under the opening parenthesis."""
    one = opening + ", ".join(params) + closing
    if len(one) <= 116:
        return [one]
    lines, line = [], opening
    for k, p in enumerate(params):
        piece = p + (", " if k < len(params) - 1 else closing)
        if len(line) + len(piece.rstrip()) > 116 and line.strip() != opening.strip():
            lines.append(line.rstrip())
            line = " " * len(opening)
        line += piece
    return [*lines, line]


def array_initializer(value: np.ndarray, ctype: str) -> list[str]:
    """A weight's elements as a C initializer, several to a line."""
    flat = value.reshape(-1)
    if flat.dtype.kind == "f":
        items = [float_literal(float(v), ctype) for v in flat]
    elif flat.dtype.kind == "b":
        items = [str(int(v)) for v in flat]
    else:
        items = [int_literal(int(v)) for v in flat]
    return array_lines(items or ["0"], 4)


def array_lines(items: list[str], indent: int) -> list[str]:
    return textwrap.wrap(", ".join(items), 116 - indent, initial_indent=" " * indent, subsequent_indent=" " * indent,
                         break_on_hyphens=False, break_long_words=False)


def c_source(program: Program, embed: bool, version: str, header: str) -> str:
    """The program as one C99 file: its kernels and the entry point that ``header`` (a file name) declares, with
    the object's ABI — so a C program written against the header links with either."""
    graph = check_program(program)
    tensors = graph.tensors()
    names = Names(reserved_words() | set(ENTRY_PARAMETERS), (f"{program.name}_", f"{program.name.upper()}_", "sn_",
                                                            "k_"))
    names.taken |= {str(s) for d in graph.defs for s in d.symbols}  # loop variables keep their names
    dims = {s: names.fresh(str(s)) for s in dims_of(graph)}
    cname = {t.name: names.fresh(t.name) for t in (*graph.inputs, *graph.defs)}
    helpers, checks = Helpers(), []
    printers = [KernelPrinter(k, tensors, dims, names, cname, helpers, checks) for k in lower_graph(graph)]
    functions = [p.function() for p in printers]
    lines = [
        f"/* {program.entry} exported by symnet {version} as C99 source.",
        " *",
        f" * One function per kernel, in the order {program.entry} runs them, each under the definition it",
        " * computes. The entry point has the object export's C ABI and is declared by the same header, so a",
        f" * program written against {header} links with either. Build it with any C99 compiler (cc -std=c99",
        " * -O2, linking with -lm). Contractions are plain loops here and exp, log, tanh... are the C library's,",
        " * so results agree with the object's to rounding. Do not build it with -ffast-math: NaN tests and signed",
        " * zeros follow PyTorch.",
        " */",
        "#include <math.h>", "#include <stdint.h>", "#include <string.h>", "", f'#include "{header}"', "",
    ]
    definitions = helpers.definitions()
    if definitions:
        lines += [_section("helpers"), ""]
        lines += [line for d in definitions for line in (*d.rstrip("\n").split("\n"), "")]
    if embed and program.weights:
        lines += [_section("weights"), ""]
        for k, (port, value) in enumerate(zip(program.weights, program.values, strict=True)):
            ctype = C_TYPES[port.dtype]
            lines += [f"/* {port.label or port.name}: {ctype} [{', '.join(map(str, value.shape))}] */",
                      f"static const {ctype} {weight_array(program, k)}[{max(value.size, 1)}] = {{",
                      *array_initializer(value, ctype), "};", ""]
    lines += [_section("kernels"), ""]
    for f in functions:
        lines += [*f, ""]
    lines += [_section(f"the entry point, declared in {header}"), ""]
    lines += Entry(program, graph, embed, names, cname, dims).function(printers)
    return "\n".join(lines) + "\n"



def weight_array(program: Program, k: int) -> str:
    """An embedded weight's array, named as the object names it: no tensor's name and no name of the header."""
    return f"{program.name}_w{k}"


def _section(title: str) -> str:
    return f"/* {'-' * 64} {title} */"


class Entry:
    """The entry point: the object wrapper's checks (statuses -1 and -2), pointers into the weights or the state,
    the caller's buffers and the workspace, then the kernels in order; for a training step, the driver's one step
    around them (learning rates in, the loss out, feedback copied into the state, counters counted)."""

    def __init__(self, program: Program, graph: Graph, embed: bool, names: Names, cname: dict[str, str],
                 dims: dict[sp.Symbol, str]):
        self.program, self.graph, self.embed, self.cname, self.dims = program, graph, embed, cname, dims
        self.train = program.repeat is not None
        names = names.scope()
        self.local = {role: names.fresh(role) for role in ("none", "at", "bytes", "stamp", "status")}

    def signature(self) -> list[str]:
        p = self.program
        T = C_TYPES[p.inputs[0].dtype]
        if self.train:
            params = ["void *state", f"const {T} *input", f"const {C_TYPES[p.inputs[1].dtype]} *target",
                      "int64_t batch", "const double *lr", "double *loss", "void *workspace"]
        else:
            params = [*([] if self.embed else ["const void *weights"]), f"const {T} *input",
                      f"{C_TYPES[p.output.dtype]} *output", "int64_t batch", "void *workspace"]
        return wrap_signature(f"int32_t {p.entry}(", params, ") {")

    def checks(self) -> list[str]:
        p, v = self.program, self.local
        blob = "state" if self.train else "weights"
        fail = "batch < 0" if p.batch is None else f"batch != {p.batch}"
        lines = [*([] if self.embed else [f"uint64_t {v['stamp']};"]), f"if ({fail}) {{", "    return -1;", "}",
                 f"if (workspace == NULL && {p.name}_workspace_bytes(batch) != 0) {{", "    return -1;", "}"]
        if not self.embed:
            lines += [f"if ({blob} == NULL) {{", "    return -2;", "}",
                      f"memcpy(&{v['stamp']}, (const unsigned char *){blob} + 24, sizeof {v['stamp']});",
                      f'if (memcmp({blob}, "{MAGIC.decode()}", {len(MAGIC)}) != 0 || {v["stamp"]} != '
                      f"UINT64_C(0x{p.fingerprint:016x})) {{", "    return -2;  /* not this model's file */", "}"]
        return lines

    def pointers(self) -> list[str]:
        """Where each tensor is: the caller's buffers, the weights (or the state), the workspace."""
        p, v, cname = self.program, self.local, self.cname
        lines = ["", "/* the caller's tensors */"]
        for port, role in zip(p.inputs, ("input", "target"), strict=False):
            lines.append(f"const {C_TYPES[port.dtype]} *const {cname[port.name]} = {role};")
        if not self.train:
            lines.append(f"{C_TYPES[p.output.dtype]} *const {cname[p.output.name]} = output;")
        if p.weights:
            const = "" if self.train else "const "
            lines += ["", "/* the state, updated in place */" if self.train else "/* the weights */"]
            if not self.embed:
                lines.append(f"{const}unsigned char *const {v['bytes']} = {'state' if self.train else 'weights'};")
            offsets = weights_layout(p.values).offsets
            for k, (port, offset) in enumerate(zip(p.weights, offsets, strict=True)):
                ctype = C_TYPES[port.dtype]
                where = weight_array(p, k) if self.embed else \
                    f"({const}{ctype} *)({v['bytes']} + {offset})"
                label = f"  /* {port.label} */" if port.label and port.label != port.name else ""
                lines.append(f"{const}{ctype} *const {cname[port.name]} = {where};{label}")
        terms = workspace_terms(p, self.graph)
        if terms:
            at = v["at"]
            lines += ["", f"/* the workspace: each tensor at a multiple of {ALIGN} bytes ({p.name}_workspace_bytes) */",
                      f"unsigned char {v['none']}[1];  /* stands in for a workspace of 0 bytes */",
                      f"unsigned char *{at} = (workspace != NULL) ? (unsigned char *)workspace : {v['none']};"]
            for k, (d, size) in enumerate(terms):
                lines.append(f"{C_TYPES[d.dtype]} *const {cname[d.name]} = ({C_TYPES[d.dtype]} *){at};")
                if k == len(terms) - 1:
                    break
                rounded = -(-int(size) // ALIGN) * ALIGN if size.isdigit() else \
                    f"({size} + {ALIGN - 1}) / {ALIGN} * {ALIGN}"
                lines.append(f"{at} += {rounded};")
        return lines

    def dim_values(self, printers: list[KernelPrinter]) -> list[str]:
        used = set().union(*(p.used_dims for p in printers))
        return [f"const int64_t {name} = batch;" for s, name in self.dims.items() if s in used]

    def rates(self) -> list[str]:
        lines = ["", "/* the learning rates, as the driver sets them for a step */"] if self.program.rates else []
        for k, port in enumerate(self.program.rates):
            name = self.cname[port.name]
            lines += [f"{C_TYPES[port.dtype]} {name}[1];", f"{name}[0] = lr[{k}];"]
        return lines

    def calls(self, printers: list[KernelPrinter]) -> list[str]:
        v = self.local
        lines = ["", "/* the kernels */"]
        if any(p.checked for p in printers):  # a kernel's status, and the value it found out of range
            lines[:0] = ["int64_t error = 0;", f"int32_t {v['status']};"]
        for p in printers:
            args = [self.cname[b] for b in p.arguments] + [self.dims[s] for s in self.dims if s in p.used_dims]
            if not p.checked:
                lines += wrap_signature(f"{p.function_name}(", args, ");")
                continue
            lines += wrap_signature(f"{v['status']} = {p.function_name}(", [*args, "&error"], ");")
            lines += [f"if ({v['status']} != 0) {{", f"    return {v['status']};", "}"]
        return lines

    def step_end(self) -> list[str]:
        """The driver after the kernels: the loss out, feedback copied into the state, counters counted."""
        repeat, cname, tensors = self.program.repeat, self.cname, self.graph.tensors()
        lines = ["", "/* the loss out; the next step's state in */"]
        for k, d in enumerate(repeat.record):
            lines.append(f"loss[{k}] = (double){cname[d.name]}[0];")
        for source, target in repeat.feedback:
            size = " * ".join(sp.ccode(sp.sympify(n).xreplace({s: sp.Symbol(name) for s, name in self.dims.items()}))
                              for n in tensors[target.name].shape)
            lines.append(f"memcpy({cname[target.name]}, {cname[source.name]}, "
                         f"{size + ' * ' if size else ''}sizeof({C_TYPES[target.dtype]}));")
        for counter in repeat.counters:
            name = cname[counter.name]
            lines.append(f"{name}[0] = {name}[0] + {float_literal(1.0, C_TYPES[counter.dtype])};")
        return lines

    def function(self, printers: list[KernelPrinter]) -> list[str]:
        body = [*self.checks(), *self.pointers(), *self.dim_values(printers), *(self.rates() if self.train else []),
                *self.calls(printers), *(self.step_end() if self.train else []), "return 0;"]
        return [*self.signature(), *("    " + line if line else "" for line in body), "}"]
