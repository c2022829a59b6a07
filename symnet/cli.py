"""The ``symnet`` command: ``symnet demo`` is a short tour that derives, prints and trains."""

from __future__ import annotations

import argparse
import ast
import importlib.util
import math
import operator
import os
import re
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple, NoReturn

import numpy as np

if TYPE_CHECKING:
    import sympy as sp

    from .frontend.tensor import Tensor


def demo() -> int:
    """The tour: derive and print the seed's gradients, then a classifier compiled to one native step."""
    import symnet as sn

    print("symnet demo — read the math, get PyTorch's numbers, at native speed\n")
    print("1. Autograd, as PyTorch's tutorial shows it: y = (x + w)(w + 1) at w = 1, x = 2")
    w = sn.tensor([1.0], requires_grad=True, name="w")
    x = sn.tensor([2.0], requires_grad=True, name="x")
    y = (x + w) * (w + 1)
    y.name = "y"
    y.backward()
    print(sn.formulas(y))
    print(f"w.grad = {w.grad.item():g}, x.grad = {x.grad.item():g}\n")

    print("2. A 4-16-3 classifier: model, loss and optimizer compiled into one native training step")
    rng = np.random.default_rng(0)
    centers = rng.standard_normal((3, 4)) * 2
    labels = rng.integers(0, 3, 600)
    X = sn.tensor(centers[labels] + rng.standard_normal((600, 4)) * 0.5, dtype=sn.float32)
    Y = sn.tensor(labels)
    sn.manual_seed(0)
    model = sn.nn.Sequential(sn.nn.Linear(4, 16), sn.nn.ReLU(), sn.nn.Linear(16, 3))
    step = sn.compile(model, sn.nn.CrossEntropyLoss(), sn.optim.Adam(model.parameters(), lr=0.01))
    loader = sn.data.DataLoader(sn.data.TensorDataset(X, Y), batch_size=32, shuffle=True)
    start = time.perf_counter()
    first = step.fit(loader, epochs=1)
    compiled = time.perf_counter() - start
    print(step.formulas())
    print("\n3. Training: each epoch is one native call (shuffle, minibatches, steps, losses)")
    start = time.perf_counter()
    losses = step.fit(loader, epochs=30)
    elapsed = time.perf_counter() - start
    accuracy = float((step.predict(X).numpy().argmax(1) == labels).mean())
    print(f"   loss {first[0]:.4f} → {losses[-1]:.4f}; train accuracy {accuracy:.1%}")
    print(f"   derive + compile + first epoch: {compiled:.2f} s; then 30 epochs ({len(losses)} steps): "
          f"{elapsed * 1e3:.1f} ms")
    print("\nMore: `symnet examples`, `symnet run sin_polyfit`, `symnet grad 'tanh(w*x)' --wrt w`")
    return 0


EXAMPLES = ("autograd_basics", "activations", "losses", "linear_regression", "sin_polyfit", "optimizers",
            "mlp_classifier", "lenet", "pinn_poisson", "pinn_heat", "gradient_penalty")


def examples_folder() -> Path:
    return Path(__file__).resolve().parent.parent / "examples"


#: what ``symnet formulas`` and ``symnet show`` need of a file, checked before the file runs
PROGRAM_CONVENTION = ("a Python file that defines program() returning (output tensor, optimizer or None); "
                      "it is imported, so its top level should only define things")


def example_path(name_or_file: str) -> Path:
    """An example's file by name, or the given Python file; a missing one is a one-line error listing the
    examples."""
    path = Path(name_or_file)
    if not path.suffix and os.sep not in name_or_file:
        if name_or_file not in EXAMPLES:
            raise CLIError(f"unknown example {name_or_file!r}; the examples are: {', '.join(EXAMPLES)}")
        path = examples_folder() / f"{name_or_file}.py"
    if not path.is_file():
        raise CLIError(f"no such file: {path}")
    return path


def load_example(name_or_file: str, need_program: bool = True):
    """An example by name, or any Python file; with ``need_program`` the file must define ``program()`` — read
    from its syntax tree first, so a file without one is refused before any of it runs."""
    path = example_path(name_or_file)
    if need_program:
        try:
            tree = ast.parse(path.read_bytes(), filename=str(path))
        except (SyntaxError, ValueError) as exc:
            raise CLIError(f"{path} is not valid Python: {exc}") from None
        if not any(isinstance(node, ast.FunctionDef) and node.name == "program" for node in tree.body):
            raise CLIError(f"{path} defines no program(): formulas and show take {PROGRAM_CONVENTION}")
    sys.path.insert(0, str(path.parent))
    spec = importlib.util.spec_from_file_location(f"symnet_example_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def sp_str(expr) -> str:
    import sympy as sp

    return sp.sstr(expr).replace("**", "^").replace("*", "·")


class CLIError(Exception):
    """A user mistake: printed as one line, exit status 2."""


#: Expressions longer than this, or nested deeper, are refused before anything is built.
MAX_LENGTH = 10_000
MAX_DEPTH = 200

_TOKEN = re.compile(r"""
    (?P<space>[ \t\r\n]+)
  | (?P<number>(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>\*\*|[-+*/(),])
""", re.VERBOSE)
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_OPERATORS = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv, "**": operator.pow}
_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2}


class Token(NamedTuple):
    kind: str  # "number", "name", "op" or "end"
    text: str
    column: int  # 1-based, for messages


@dataclass(frozen=True)
class Function:
    """A function a typed expression may call: its parameters, how many are required, and the symnet operation
    that builds it. An element function needs a variable in its first argument, and numbers after its first
    ``operands``; arithmetic takes either anywhere (and folds numbers into one)."""

    params: tuple[str, ...]
    required: int
    build: Callable
    operands: int = 1
    arithmetic: bool = False


def _method(name: str) -> Callable:
    return lambda x, *numbers: getattr(x, name)(*numbers)


def _order(n: float) -> int:
    """A derivative's order typed as a number: a whole number ≥ 0, or the expression is refused."""
    if not float(n).is_integer() or n < 0:
        raise CLIError(f"polygamma: the order n must be a whole number ≥ 0, got {n}")
    return int(n)


def _functional(name: str, **fixed) -> Callable:
    """``symnet.nn.functional.<name>(x, *numbers, **fixed)``."""
    def build(x, *numbers):
        from .nn import functional

        return getattr(functional, name)(x, *numbers, **fixed)

    return build


#: Every element function of ``symnet rules`` by the name it has there, except ``where``, whose condition is
#: not something an expression of numbers can state.
FUNCTIONS: dict[str, Function] = {
    "add": Function(("x", "y"), 2, operator.add, arithmetic=True),
    "sub": Function(("x", "y"), 2, operator.sub, arithmetic=True),
    "mul": Function(("x", "y"), 2, operator.mul, arithmetic=True),
    "div": Function(("x", "y"), 2, operator.truediv, arithmetic=True),
    "pow": Function(("x", "y"), 2, operator.pow, arithmetic=True),
    "neg": Function(("x",), 1, operator.neg, arithmetic=True),
    "squared_difference": Function(("x", "y"), 2, lambda x, y: x._map("squared_difference", y), operands=2),
    **{name: Function(("x",), 1, _method(name))
       for name in ("exp", "expm1", "exp2", "log", "log1p", "log2", "log10", "sqrt", "rsqrt", "reciprocal", "abs",
                    "sign", "sin", "cos", "tan", "tanh", "sinh", "cosh", "asin", "acos", "atan", "asinh", "acosh",
                    "atanh", "erf", "erfinv", "sigmoid", "relu", "floor", "ceil", "trunc", "round", "frac", "erfc",
                    "lgamma", "digamma", "i0", "angle")},
    "i1": Function(("x",), 1, lambda x: x._map("i1", result="float")),
    "polygamma": Function(("x", "n"), 2, lambda x, n: x.polygamma(_order(n))),
    **{name: Function(("x", "y"), 2, _method(name), operands=2)
       for name in ("maximum", "minimum", "fmax", "fmin", "floor_divide", "remainder", "atan2", "hypot")},
    **{name: Function(("x",), 1, _functional(name))
       for name in ("silu", "mish", "logsigmoid", "softsign", "tanhshrink", "hardsigmoid", "hardswish")},
    "logit": Function(("x", "eps"), 1, _method("logit")),
    "nan_to_num": Function(("x", "nan", "posinf", "neginf"), 1, _method("nan_to_num")),
    "lerp": Function(("x", "y", "weight"), 3, _method("lerp"), operands=2),
    "leaky_relu": Function(("x", "negative_slope"), 1, _method("leaky_relu")),
    "prelu": Function(("x", "weight"), 2, lambda x, weight: x._map("prelu", weight, result="float")),
    "elu": Function(("x", "alpha"), 1, _functional("elu")),
    "hardtanh": Function(("x", "min_val", "max_val"), 1, _functional("hardtanh")),
    "threshold": Function(("x", "threshold", "value"), 3, _functional("threshold")),
    "hardshrink": Function(("x", "lambd"), 1, _functional("hardshrink")),
    "softshrink": Function(("x", "lambd"), 1, _functional("softshrink")),
    "softplus": Function(("x", "beta", "threshold"), 1, _method("softplus")),
    "gelu": Function(("x",), 1, _functional("gelu", approximate="none")),
    "gelu_tanh": Function(("x",), 1, _functional("gelu", approximate="tanh")),
    "clamp": Function(("x", "min", "max"), 2, _method("clamp")),
    "stop_gradient": Function(("x",), 1, lambda x: x._map("stop_gradient")),
    "binary_cross_entropy": Function(("p", "t"), 2, lambda p, t: p._map("binary_cross_entropy", t, result="float"),
                                     operands=2),
}


def tokenize(text: str) -> list[Token]:
    """The tokens of an expression, ending with an ``end`` token; any other character is refused here."""
    tokens, pos = [], 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            hint = ": use ** for powers" if text[pos] == "^" else ""
            raise CLIError(f"cannot parse the expression at column {pos + 1}: unexpected character "
                           f"{text[pos]!r}{hint}")
        if match.lastgroup != "space":
            tokens.append(Token(match.lastgroup, match.group(), pos + 1))
        pos = match.end()
    tokens.append(Token("end", "", len(text) + 1))
    return tokens


class Parser:
    """Precedence climbing over the tokens, building symnet tensors as it goes: the text is only ever read,
    never evaluated. Variables come from ``variable(name)``; numbers are floats, folded where they meet."""

    def __init__(self, text: str, variable: Callable[[str], Tensor]):
        self.tokens, self.pos, self.variable = tokenize(text), 0, variable
        self.depth = -1  # the parentheses, calls and exponents around the operand being read

    def parse(self) -> Tensor | float:
        value = self.expression()
        token = self.peek()
        if token.kind != "end":
            what = "has no matching '('" if token.text == ")" else "where an operator or the end should be"
            self.fail(token, f"{token.text!r} {what}")
        return value

    def peek(self) -> Token:
        return self.tokens[self.pos]

    def take(self) -> Token:
        self.pos += 1
        return self.tokens[self.pos - 1]

    def fail(self, token: Token, message: str) -> NoReturn:
        raise CLIError(f"cannot parse the expression at column {token.column}: {message}")

    def expression(self, min_precedence: int = 1) -> Tensor | float:
        left = self.operand()
        while _PRECEDENCE.get(self.peek().text, 0) >= min_precedence:
            token = self.take()
            right = self.expression(_PRECEDENCE[token.text] + 1)
            left = self.combine(token, _OPERATORS[token.text], left, right)
        return left

    def operand(self) -> Tensor | float:
        """Signs, then a primary raised to a power: ``-x**2`` is ``-(x**2)`` and ``2**-x`` is allowed."""
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise CLIError(f"the expression is nested more than {MAX_DEPTH} levels deep")
        negative = False
        while self.peek().text in ("+", "-"):
            negative ^= self.take().text == "-"
        value = self.primary()
        if self.peek().text == "**":
            token = self.take()
            value = self.combine(token, operator.pow, value, self.operand())
        self.depth -= 1
        return -value if negative else value

    def primary(self) -> Tensor | float:
        token = self.take()
        if token.kind == "number":
            value = float(token.text)
            if not math.isfinite(value):
                self.fail(token, f"the number {token.text} is out of range")
            return value
        if token.kind == "name":
            if self.peek().text == "(":
                return self.call(token)
            if token.text in FUNCTIONS:
                self.fail(token, f"{token.text} is a function: call it as {token.text}(...)")
            return self.variable(token.text)
        if token.text == "(":
            value = self.expression()
            if self.take().text != ")":
                self.fail(token, "this '(' is never closed")
            return value
        self.fail(token, "the expression ends early" if token.kind == "end" else
                  f"{token.text!r} where a number, a name or '(' should be")

    def call(self, name: Token) -> Tensor | float:
        function = FUNCTIONS.get(name.text)
        if function is None:
            self.fail(name, f"unknown function {name.text!r}; the functions are {', '.join(sorted(FUNCTIONS))}")
        opening = self.take()
        args = []
        if self.peek().text != ")":
            args.append(self.expression())
            while self.peek().text == ",":
                self.take()
                args.append(self.expression())
        if self.take().text != ")":
            self.fail(opening, f"this '(' of {name.text}(...) is never closed")
        if not function.required <= len(args) <= len(function.params):
            count = (str(function.required) if function.required == len(function.params)
                     else f"{function.required} to {len(function.params)}")
            self.fail(name, f"{name.text} takes {count} argument{'s' * (count != '1')} "
                            f"({', '.join(function.params)}), got {len(args)}")
        if not function.arithmetic:
            for param, arg in zip(function.params[function.operands:], args[function.operands:], strict=False):
                if not isinstance(arg, float):
                    self.fail(name, f"{name.text}: {param} must be a number, not an expression of variables")
            if isinstance(args[0], float):
                self.fail(name, f"{name.text}(...) needs a variable in its first argument (write a constant as a "
                                "number)")
        return self.combine(name, function.build, *args)

    def combine(self, token: Token, op: Callable, *args: Tensor | float) -> Tensor | float:
        """``op`` on the operands; on numbers alone, the folded constant, refused unless it is a finite real."""
        if not all(isinstance(a, float) for a in args):
            return op(*args)
        try:
            value = op(*args)
        except ZeroDivisionError:
            self.fail(token, "division by zero")
        except OverflowError:
            value = math.inf
        if not isinstance(value, float) or not math.isfinite(value):
            shown = "complex" if isinstance(value, complex) else value
            self.fail(token, f"the constant part is {shown}, not a finite real number")
        return value


def derivatives(expression: str, wrt: Sequence[str]) -> dict[str, sp.Expr]:
    """The derivative of a typed expression by each of ``wrt``, derived by symnet (tracing, symbolic autodiff),
    as SymPy expressions. The text goes through ``Parser`` only: nothing typed is evaluated as Python."""
    import symnet as sn

    for name in wrt:
        if not _IDENTIFIER.fullmatch(name):
            raise CLIError(f"--wrt {name!r} is not a variable name (ASCII letters, digits and _, not starting with "
                           "a digit)")
    if not expression.strip():
        raise CLIError("the expression is empty")
    if len(expression) > MAX_LENGTH:
        raise CLIError(f"the expression is {len(expression)} characters long; the limit is {MAX_LENGTH}")
    leaves: dict[str, sn.Tensor] = {}

    def variable(name: str) -> sn.Tensor:
        if name not in leaves:
            leaves[name] = sn.tensor([1.0], dtype=sn.float64, requires_grad=True, name=name)
        return leaves[name]

    output = Parser(expression, variable).parse()
    if not isinstance(output, sn.Tensor):
        raise CLIError("the expression is a constant: it has no variable to differentiate by")
    for name in wrt:
        if name not in leaves:
            raise CLIError(f"{name!r} does not appear in the expression (its variables: {', '.join(sorted(leaves))})")
    try:
        return {name: sn.grad(output, leaves[name]) for name in dict.fromkeys(wrt)}
    except RecursionError:  # symnet's derivation recurses along the expression; deep ones can exceed Python's stack
        raise CLIError("the expression is too deeply nested for symnet to differentiate") from None


def grad_command(expression: str, wrt: Sequence[str], latex: bool) -> str:
    """The derivatives as ``symnet grad`` prints them, in the formulas' notation (``^``, ``·``): the bare
    expression for one ``--wrt``, a ``∂/∂w = …`` line each for several."""
    import sympy as sp

    found = derivatives(expression, wrt)
    show = sp.latex if latex else sp_str  # the notation of the formulas: ^ and ·
    if len(found) == 1:
        return show(*found.values())
    if latex:
        return "\n".join(fr"\frac{{\partial}}{{\partial {sp.latex(sp.Symbol(n))}}} = {sp.latex(d)}"
                         for n, d in found.items())
    return "\n".join(f"∂/∂{n} = {sp_str(d)}" for n, d in found.items())


def version() -> str:
    from .version import __version__

    return __version__


def main(argv: list[str] | None = None) -> int:
    """The command line; a closed pipe (``symnet examples | head -1``) ends it quietly."""
    try:
        return _main(argv)
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)  # Python would complain flushing stdout at exit otherwise
        os.dup2(devnull, sys.stdout.fileno())
        return 141  # as a program killed by SIGPIPE, which the shell expects of `| head`
    except KeyboardInterrupt:
        print("symnet: interrupted", file=sys.stderr)
        return 130


def _main(argv: list[str] | None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return _dispatch(args)
    except CLIError as exc:
        print(f"symnet: {exc}", file=sys.stderr)
        return 2
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError, PermissionError) as exc:
        print(f"symnet: {exc}", file=sys.stderr)  # a path the user gave: one line, not a traceback
        return 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="symnet", description="symnet: read the math, get PyTorch's numbers.")
    parser.add_argument("--version", action="version", version=f"symnet {version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("demo", help="a short tour: derive, print, train")
    sub.add_parser("examples", help="list the examples")
    sub.add_parser("rules", help="every element function and its derivative, from the rule table")
    run = sub.add_parser("run", help="run an example: symnet run NAME [its arguments]")
    run.add_argument("name", nargs="?", help=f"one of: {', '.join(EXAMPLES)}")
    run.add_argument("args", nargs=argparse.REMAINDER, help="the example's own arguments (symnet run NAME --help)")
    grad = sub.add_parser("grad", help="differentiate an expression: symnet grad '(x+w)*(w+1)' --wrt w")
    grad.add_argument("expression", help="numbers, names, + - * / **, parentheses and the functions of `symnet "
                      "rules`; one that starts with '-' goes last, after --: symnet grad --wrt x -- '-x**2'")
    grad.add_argument("--wrt", action="append", required=True, metavar="NAME",
                      help="a variable to differentiate by; repeat it for several")
    grad.add_argument("--latex", action="store_true", help="print LaTeX instead of plain text")
    target_help = f"an example's name, or {PROGRAM_CONVENTION}"
    formulas = sub.add_parser("formulas", help="the forward definitions and derived gradients of an example")
    formulas.add_argument("target", metavar="FILE_OR_EXAMPLE", help=target_help)
    show = sub.add_parser("show", help="one compiled stage of an example")
    show.add_argument("target", metavar="FILE_OR_EXAMPLE", help=target_help)
    show.add_argument("--stage", default="loops", choices=["sympy", "loops", "llvm", "llvm-opt", "asm"],
                      help="SymPy definitions, loop nests, LLVM IR before or after optimization, or assembly "
                           "(default: loops)")
    sweep = sub.add_parser("sweep", help="an example's sweep on Dask: symnet sweep optimizers")
    sweep.add_argument("name", help="an example with a sweep (examples/NAME_sweep.py): optimizers")
    sweep.add_argument("--scheduler", metavar="ADDRESS",
                       help="a Dask scheduler's address (default: a local cluster of processes, one per core)")
    sweep.add_argument("--workers", type=int, metavar="N",
                       help="processes of the local cluster (default: one per core)")
    sweep.add_argument("--seed", type=int, default=0, help="the base of every trial's seed (default: 0)")
    sweep.add_argument("--color-by", default="lr", metavar="KEY",
                       help="the config entry that colours the loss curves (default: lr)")
    sweep.add_argument("--out", default="figures",
                       help="folder for the CSV table and the PNG figure (default: figures/)")
    from .export import add_arguments as export_arguments

    export_arguments(sub.add_parser("export", help="a model as a standalone C function: an object or library for "
                                    "any LLVM target, or readable C source, and its header"))
    return parser


def _dispatch(args) -> int:
    if args.command == "demo":
        return demo()
    if args.command == "examples":
        for name in EXAMPLES:
            doc = ast.get_docstring(ast.parse(example_path(name).read_bytes())) or ""
            print(f"{name:18s} {doc.strip().splitlines()[0]}")
        return 0
    if args.command == "run":
        if args.name is None:
            raise CLIError(f"which example? symnet run NAME, with NAME one of: {', '.join(EXAMPLES)}")
        module = load_example(args.name, need_program=False)
        if not hasattr(module, "main"):
            raise CLIError(f"{args.name} has no main(argv) to run")
        module.main(args.args)
        return 0
    if args.command == "rules":
        from .core.elementwise import derivative_rules

        for name, expr, partials in derivative_rules():
            shown = ";  ".join(f"∂/∂{v} = {sp_str(p)}" for v, p in zip("xy", partials, strict=False))
            print(f"{name:11s} {sp_str(expr):28s} {shown}")
        return 0
    if args.command == "grad":
        print(grad_command(args.expression, args.wrt, args.latex))
        return 0
    if args.command == "sweep":
        from .sweep import sweep_command

        return sweep_command(args)
    if args.command == "export":
        from .export import export_command

        try:
            print(export_command(args))
        except (ValueError, TypeError, NotImplementedError, RuntimeError) as exc:
            raise CLIError(str(exc)) from None
        return 0
    import symnet as sn

    output, optimizer = load_example(args.target).program()
    if args.command == "formulas":
        print(sn.formulas(output))
        if optimizer is not None:
            print(optimizer.formulas())
    else:
        print(sn.show(output, args.stage))
    return 0


if __name__ == "__main__":
    sys.exit(main())
