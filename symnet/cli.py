"""The ``symnet`` command: ``symnet demo`` is a short tour that derives, prints and trains."""

from __future__ import annotations

import argparse
import functools
import importlib.util
import operator
import sys
import time
from pathlib import Path
from tokenize import TokenError

import numpy as np


def demo() -> int:
    """The tour: derive and print the seed's gradients, then a classifier compiled to one native step."""
    import symnet as sn

    print("symnet demo — read the math, get PyTorch's numbers, at native speed\n")
    print("1. Autograd on the seed's example: y = (x + w)(w + 1) at w = 1, x = 2")
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
    X = sn.tensor(centers[labels] + rng.standard_normal((600, 4)) * 0.5)
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
            "mlp_classifier")


def examples_folder() -> Path:
    return Path(__file__).resolve().parent.parent / "examples"


def load_example(name_or_file: str):
    """An example by name, or any Python file that defines ``program() -> (output, optimizer or None)``."""
    path = Path(name_or_file)
    if not path.suffix:
        if name_or_file not in EXAMPLES:
            raise CLIError(f"unknown example {name_or_file!r}; `symnet examples` lists them")
        path = examples_folder() / f"{name_or_file}.py"
    if not path.exists():
        raise CLIError(f"no such file: {path}")
    sys.path.insert(0, str(path.parent))
    spec = importlib.util.spec_from_file_location(f"symnet_example_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if not hasattr(module, "program"):
        raise CLIError(f"{path} defines no program() to take formulas from")
    return module


def sp_str(expr) -> str:
    import sympy as sp

    return sp.sstr(expr).replace("**", "^").replace("*", "·")


class CLIError(Exception):
    """A user mistake: printed as one line, exit status 2."""


def grad_command(expression: str, wrt: str, latex: bool) -> str:
    """Differentiate an expression typed by the user, through symnet (tracing, symbolic autodiff)."""
    import sympy as sp
    from sympy.parsing.sympy_parser import parse_expr, standard_transformations

    import symnet as sn

    functions = {name: sp.Function(name) for name in ("exp", "log", "sqrt", "sin", "cos", "tanh", "sigmoid", "relu",
                                                      "softplus", "abs")}
    try:
        parsed = parse_expr(expression, local_dict=dict(functions), transformations=standard_transformations,
                            evaluate=False)
    except (SyntaxError, TypeError, ValueError, sp.SympifyError, TokenError) as exc:
        raise CLIError(f"cannot parse {expression!r}: {exc.__class__.__name__}") from None
    names = sorted(s.name for s in parsed.free_symbols)
    if wrt not in names:
        raise CLIError(f"{wrt!r} does not appear in {expression!r} (it has {', '.join(names) or 'no variables'})")
    leaves = {n: sn.tensor([1.0], dtype=sn.float64, requires_grad=True, name=n) for n in names}

    def build(e):
        if isinstance(e, sp.Symbol):
            return leaves[e.name]
        if e.is_Number:
            return float(e)
        args = [build(a) for a in e.args]
        if isinstance(e, sp.Add):
            return functools.reduce(operator.add, args)
        if isinstance(e, sp.Mul):
            return functools.reduce(operator.mul, args)
        if isinstance(e, sp.Pow):
            return args[0] ** args[1]
        name = type(e).__name__
        if name in functions and len(args) == 1 and isinstance(args[0], sn.Tensor):
            return getattr(args[0], name)()
        raise CLIError(f"unsupported operation {name} in {expression!r}")

    output = build(parsed)
    if not isinstance(output, sn.Tensor):
        raise CLIError(f"{expression!r} is a constant")
    derivative = sn.grad(output, leaves[wrt])
    return sp.latex(derivative) if latex else sp.sstr(derivative)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="symnet", description="symnet: read the math, get PyTorch's numbers.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("demo", help="a short tour: derive, print, train")
    sub.add_parser("examples", help="list the examples")
    sub.add_parser("rules", help="every element function and its derivative, from the rule table")
    run = sub.add_parser("run", help="run an example: symnet run NAME [its arguments]")
    run.add_argument("name")
    run.add_argument("args", nargs=argparse.REMAINDER)
    grad = sub.add_parser("grad", help="differentiate an expression: symnet grad '(x+w)*(w+1)' --wrt w")
    grad.add_argument("expression")
    grad.add_argument("--wrt", required=True)
    grad.add_argument("--latex", action="store_true")
    formulas = sub.add_parser("formulas", help="the forward definitions and derived gradients of an example")
    formulas.add_argument("target", metavar="FILE_OR_EXAMPLE")
    show = sub.add_parser("show", help="one compiled stage of an example")
    show.add_argument("target", metavar="FILE_OR_EXAMPLE")
    show.add_argument("--stage", default="loops", choices=["sympy", "loops", "llvm", "llvm-opt", "asm"])
    args = parser.parse_args(argv)
    try:
        return _dispatch(args)
    except CLIError as exc:
        print(f"symnet: {exc}", file=sys.stderr)
        return 2


def _dispatch(args) -> int:
    if args.command == "demo":
        return demo()
    if args.command == "examples":
        for name in EXAMPLES:
            doc = (load_example(name).__doc__ or "").strip().splitlines()[0]
            print(f"{name:18s} {doc}")
        return 0
    if args.command == "run":
        module = load_example(args.name)
        module.main(args.args)
        return 0
    if args.command == "rules":
        from .core.ops import derivative_rules

        for name, expr, partials in derivative_rules():
            shown = ";  ".join(f"∂/∂{v} = {sp_str(p)}" for v, p in zip("xy", partials, strict=False))
            print(f"{name:11s} {sp_str(expr):28s} {shown}")
        return 0
    if args.command == "grad":
        print(grad_command(args.expression, args.wrt, args.latex))
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
