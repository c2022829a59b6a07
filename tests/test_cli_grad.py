"""`symnet grad`: typed expressions go through a small parser that builds symnet tensors (never eval), every
function of `symnet rules` can be called, and every bad input is one line on stderr with exit status 2."""

import subprocess
import sys

import numpy as np
import pytest
import sympy as sp

from symnet.cli import FUNCTIONS, MAX_DEPTH, MAX_LENGTH, CLIError, Parser, derivatives, main, tokenize
from symnet.core import functions as F
from symnet.core.elementwise import derivative_rules

x, w, y = sp.symbols("x w y", real=True)
SYMBOLS = {"x": x, "w": w, "y": y}
BCE_EPSILON = sp.Float(float(np.float32(1e-12)))  # PyTorch's, a float32 constant
GELU = x / 2 * (1 + sp.erf(x / sp.sqrt(2)))
GELU_TANH = x / 2 * (1 + sp.tanh(sp.sqrt(2 / sp.pi) * (x + sp.Float(0.044715) * x**3)))

#: expression, variable, its derivative as SymPy and symnet's named functions write it (``symnet rules``)
GOOD = [
    ("(x+w)*(w+1)", "w", x + 2 * w + 1),
    ("x", "x", 1),
    ("x*x", "x", 2 * x),
    ("3*x**2 - x/4 + 1e-3*x - 2", "x", 6 * x - sp.Rational(1, 4) + sp.Float(1e-3)),
    ("-x**2", "x", -2 * x),
    ("x**-2", "x", -2 / x**3),
    ("--x", "x", 1),
    ("+x", "x", 1),
    ("2*(x + .5)**2.", "x", 4 * x + 2),
    ("x / w", "w", -x / w**2),
    ("add(x, 2)", "x", 1),
    ("sub(2, x)", "x", -1),
    ("mul(w, x)", "x", w),
    ("div(1, x)", "x", -1 / x**2),
    ("neg(x)", "x", -1),
    ("pow(x, 3)", "x", 3 * x**2),
    ("2**x", "x", F.pow_log(2, x)),
    ("exp(2*x)", "x", 2 * sp.exp(2 * x)),
    ("log(x)", "x", 1 / x),
    ("log1p(x)", "x", 1 / (1 + x)),
    ("sqrt(x)", "x", 1 / (2 * sp.sqrt(x))),
    ("abs(x)", "x", sp.sign(x)),
    ("sin(w*x)", "w", x * sp.cos(w * x)),
    ("cos(x)", "x", -sp.sin(x)),
    ("tanh(w*x)", "w", x * (1 - sp.tanh(w * x) ** 2)),
    ("erf(x)", "x", 2 * sp.exp(-x**2) / sp.sqrt(sp.pi)),
    ("sigmoid(w*x)", "x", w * F.sigmoid(w * x) * (1 - F.sigmoid(w * x))),
    ("relu(x)", "x", F.step(x)),
    ("leaky_relu(x)", "x", sp.Float(0.99) * F.step(x) + sp.Float(0.01)),
    ("leaky_relu(x, 0.1)", "x", sp.Float(0.9) * F.step(x) + sp.Float(0.1)),
    ("softplus(x)", "x", F.softplus_slope(x, 20)),
    ("softplus(x, 2)", "x", F.softplus_slope(2 * x, 20)),
    ("softplus(x, 2, 10)", "x", F.softplus_slope(2 * x, 10)),
    ("gelu(x)", "x", sp.diff(GELU, x)),
    ("gelu_tanh(x)", "x", sp.diff(GELU_TANH, x)),
    ("clamp(x, -1, 1)", "x", F.between(x, -1, 1)),
    ("clamp(x, 0)", "x", F.between(x, 0, sp.oo)),
    ("stop_gradient(x)*x", "x", F.stop_gradient(x)),
    ("sign(x)*x", "x", F.sign(x)),
    ("angle(x) + x", "x", 1),
    ("binary_cross_entropy(x, 0.25)", "x", (x - sp.Rational(1, 4)) / sp.Max(x * (1 - x), BCE_EPSILON)),
    ("binary_cross_entropy(x, y)", "y", F.log1p(-x) - sp.log(x)),
    ("exp(-(x - 1)**2 / 2) * pow(w, 2)", "w", 2 * w * sp.exp(-(x - 1) ** 2 / 2)),
    ("squared_difference(x, w)", "w", 2 * (w - x)),
    ("expm1(x) + exp2(x) + log2(x)", "x", sp.exp(x) + sp.log(2) * 2**x + 1 / (x * sp.log(2))),
    ("rsqrt(x) + reciprocal(x)", "x", -1 / (2 * x ** sp.Rational(3, 2)) - 1 / x**2),
    ("erfinv(x)", "x", sp.sqrt(sp.pi) * sp.exp(F.erfinv(x) ** 2) / 2),
    ("floor(x) + ceil(x) + trunc(x) + round(x) + frac(x)", "x", 1),
    ("maximum(x, w) + minimum(x, w)", "x", None),
    ("fmax(x, w) + fmin(x, w)", "x", None),
    ("floor_divide(x, 3) + remainder(x, 3)", "x", 1),
    ("logit(x)", "x", 1 / (x * (1 - x))),
    ("nan_to_num(x)", "x", None),
    ("lerp(x, w, 0.25)", "x", sp.Rational(3, 4)),
    ("silu(x)", "x", sp.diff(x * F.sigmoid(x), x)),
    ("mish(x) + logsigmoid(x) + softsign(x) + tanhshrink(x)", "x", None),
    ("hardsigmoid(x) + hardswish(x) + hardtanh(x) + elu(x)", "x", None),
    ("prelu(x, 0.25) + threshold(x, 0, 0) + hardshrink(x) + softshrink(x)", "x", None),
    ("tan(x) + atan(x)", "x", 1 + F.tan(x) ** 2 + 1 / (1 + x**2)),
    ("atan2(x, w) + hypot(x, w)", "x", None),
    ("sinh(x) + cosh(x)", "x", F.cosh(x) + F.sinh(x)),
    ("asin(x) + acos(x)", "x", 0),
    ("asinh(x) + acosh(x) + atanh(x)", "x",
     1 / sp.sqrt(x**2 + 1) + 1 / (sp.sqrt(x - 1) * sp.sqrt(x + 1)) + 1 / (1 - x**2)),
    ("log10(x)", "x", 1 / (x * sp.log(10))),
    ("erfc(x) + lgamma(x) + digamma(x) + polygamma(x, 2) + i0(x) + i1(x)", "x", None),
]


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "symnet", "grad", *args], capture_output=True, text=True, timeout=300)


def test_every_function_of_the_rules_table_is_callable_and_covered():
    assert set(FUNCTIONS) == {name for name, _, _ in derivative_rules()} - {"where"}, "update symnet.cli.FUNCTIONS"
    called = {t.text for expr, _, _ in GOOD for t in tokenize(expr) if t.kind == "name" and t.text in FUNCTIONS}
    assert called == set(FUNCTIONS)


@pytest.mark.parametrize("expression,wrt,expected", GOOD)
def test_derivative(expression, wrt, expected):
    got = derivatives(expression, [wrt])[wrt]
    if expected is None:  # rules with brackets SymPy cannot cancel: built from the rules table, as symnet rules
        assert got.free_symbols <= {x, w}
        return
    got = got.replace(F.kept, lambda e: e)  # the identity SymPy cannot see through (a difference kept whole)
    assert sp.simplify(got - expected) == 0, f"{expression}: {got} ≠ {expected}"


@pytest.mark.parametrize("expression,expected", [
    ("1+2*3", 7), ("(1+2)*3", 9), ("2**3**2", 512), ("-2**2", -4), ("2**-1", 0.5), ("8/4/2", 1), ("1-2-3", -4),
    ("2*-3", -6), ("- - 3", 3), ("1e-3*1000", 1), ("1.5E+2", 150), (".5+1.", 1.5), ("pow(2, 10)", 1024),
    ("add(1, mul(2, 3))", 7), ("neg(div(1, 4))", -0.25), ("((((2))))", 2),
])
def test_precedence_and_folding_of_numbers(expression, expected):
    assert Parser(expression, variable=lambda name: pytest.fail(name)).parse() == expected


def _python(printed: str) -> str:
    """The printed notation (^, ·) as SymPy reads it (the test's own trusted output)."""
    return printed.replace("^", "**").replace("·", "*")


@pytest.mark.parametrize("expression,wrt", [
    ("exp(x)*sin(x)", "x"), ("log(x)/sqrt(x)", "x"), ("tanh(w*x)**2 + cos(w)", "w"), ("abs(x)*erf(x)", "x"),
    ("pow(x, 3) - 2**-1*x", "x"),
])
def test_printed_derivative_reads_back_as_the_sympy_derivative(capsys, expression, wrt):
    assert main(["grad", expression, "--wrt", wrt]) == 0
    printed = sp.sympify(_python(capsys.readouterr().out.strip()), locals=SYMBOLS)
    reference = sp.sympify(expression, locals=SYMBOLS)  # the test's own trusted literals
    assert sp.simplify(printed - sp.diff(reference, SYMBOLS[wrt])) == 0


def test_one_wrt_prints_the_bare_expression(capsys):
    assert main(["grad", "tanh(w*x)", "--wrt", "w"]) == 0
    assert capsys.readouterr().out == "x·(1 - tanh(w·x)^2)\n"
    assert main(["grad", "x**2", "--wrt", "x", "--latex"]) == 0
    assert capsys.readouterr().out == "2 x\n"


def test_several_wrt_print_one_line_each(capsys):
    assert main(["grad", "tanh(w*x)", "--wrt", "w", "--wrt", "x"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(" = ")[0] for line in lines] == ["∂/∂w", "∂/∂x"]
    for line, (a, b) in zip(lines, [(w, x), (x, w)], strict=True):
        got = sp.sympify(_python(line.split(" = ")[1]), locals=SYMBOLS)
        assert sp.simplify(got - b * (1 - sp.tanh(w * x) ** 2)) == 0, a
    assert main(["grad", "w*x", "--wrt", "x", "--wrt", "w", "--latex"]) == 0
    assert capsys.readouterr().out.splitlines() == [r"\frac{\partial}{\partial x} = w",
                                                     r"\frac{\partial}{\partial w} = x"]


def test_an_expression_starting_with_minus_goes_after_double_dash(capsys):
    assert main(["grad", "--wrt", "x", "--", "-" * 5000 + "x"]) == 0  # signs are a loop, not recursion
    assert capsys.readouterr().out == "1\n"


@pytest.mark.parametrize("expression,expected", [
    ("(" * MAX_DEPTH + "1" + ")" * MAX_DEPTH, 1), ("1*(" * MAX_DEPTH + "1" + ")" * MAX_DEPTH, 1),
    ("-(" * MAX_DEPTH + "1" + ")" * MAX_DEPTH, 1), ("add(1, " * MAX_DEPTH + "0" + ")" * MAX_DEPTH, MAX_DEPTH),
    ("1**" * MAX_DEPTH + "1", 1),
])
def test_the_parser_reaches_its_depth_limit_within_python_stack(expression, expected):
    assert Parser(expression, variable=lambda name: pytest.fail(name)).parse() == expected


def test_nesting_up_to_the_limit_is_fine(capsys):
    assert main(["grad", "(" * MAX_DEPTH + "x" + ")" * MAX_DEPTH, "--wrt", "x"]) == 0
    assert capsys.readouterr().out == "1\n"


PWNED = "symnet_pwned_marker"

#: expression, --wrt names, a fragment of the one-line message
ERRORS = [
    ("", ["x"], "the expression is empty"),
    ("  \t ", ["x"], "the expression is empty"),
    ("exec(x)", ["x"], "unknown function 'exec'; the functions are abs, acos, acosh, add, "),
    ("f(x)", ["x"], "column 1: unknown function 'f'"),
    ("exp()", ["x"], "exp takes 1 argument (x), got 0"),
    ("exp(x, 2)", ["x"], "exp takes 1 argument (x), got 2"),
    ("leaky_relu(x, 0.1, 2)", ["x"], "leaky_relu takes 1 to 2 arguments (x, negative_slope), got 3"),
    ("clamp(x)", ["x"], "clamp takes 2 to 3 arguments (x, min, max), got 1"),
    ("pow(x)", ["x"], "pow takes 2 arguments (x, y), got 1"),
    ("clamp(x, y, 1)", ["x"], "clamp: min must be a number"),
    ("exp(2)*x", ["x"], "exp(...) needs a variable in its first argument"),
    ("binary_cross_entropy(0.5, x)", ["x"], "binary_cross_entropy(...) needs a variable in its first argument"),
    ("exp + x", ["x"], "exp is a function: call it as exp(...)"),
    ("x $ y", ["x"], "column 3: unexpected character '$'"),
    ("x²", ["x"], "column 2: unexpected character '²'"),
    ("σ(x)", ["x"], "column 1: unexpected character 'σ'"),
    ("x\u2028+ 1", ["x"], r"unexpected character '\u2028'"),
    ("x\x00", ["x"], r"unexpected character '\x00'"),
    ("x^2", ["x"], "column 2: unexpected character '^': use ** for powers"),
    ("(x+1", ["x"], "column 1: this '(' is never closed"),
    ("x+1)", ["x"], "column 4: ')' has no matching '('"),
    ("exp(x", ["x"], "this '(' of exp(...) is never closed"),
    ("(x+", ["x"], "the expression ends early"),
    ("x * * y", ["x"], "column 5: '*' where a number, a name or '(' should be"),
    ("2x", ["x"], "column 2: 'x' where an operator or the end should be"),
    ("x, y", ["x"], "',' where an operator or the end should be"),
    ("2*3", ["x"], "the expression is a constant"),
    ("x*(1/0)", ["x"], "column 5: division by zero"),
    ("x*(-8)**0.5", ["x"], "the constant part is complex"),
    ("x*10**400", ["x"], "the constant part is inf"),
    ("x*1e999", ["x"], "the number 1e999 is out of range"),
    ("x*y", ["w"], "'w' does not appear in the expression (its variables: x, y)"),
    ("x*y", ["x", "w"], "'w' does not appear"),
    ("x", ["1x"], "--wrt '1x' is not a variable name"),
    ("x", ["x.y"], "--wrt 'x.y' is not a variable name"),
    ("x", [""], "--wrt '' is not a variable name"),
    ("x", ["é"], "--wrt 'é' is not a variable name"),
    # code, not math: refused by the tokenizer or the parser before anything could run
    (f'__import__("os").system("touch {PWNED}")', ["x"], "column 12: unexpected character '\"'"),
    (f"__import__(touch_{PWNED})", ["x"], "unknown function '__import__'"),
    ("().__class__", ["x"], "unexpected character '.'"),
    ("x.__class__", ["x"], "column 2: unexpected character '.'"),
    ("x.y", ["x"], "column 2: unexpected character '.'"),
    ("lambda: 1", ["x"], "unexpected character ':'"),
    ("lambda x: x", ["x"], "unexpected character ':'"),
    ("exec('1')", ["x"], "unexpected character \"'\""),
    ('eval("1")', ["x"], "unexpected character '\"'"),
    ("x[0]", ["x"], "unexpected character '['"),
    ("'x'", ["x"], "column 1: unexpected character \"'\""),
    ("x; y", ["x"], "unexpected character ';'"),
    ("`x`", ["x"], "unexpected character '`'"),
    ("x if x else x", ["x"], "'if' where an operator or the end should be"),
    ("import os", ["x"], "'os' where an operator or the end should be"),
    ("x == 1", ["x"], "unexpected character '='"),
    ("x @ x", ["x"], "unexpected character '@'"),
    ("x % 2", ["x"], "unexpected character '%'"),
    ("{}", ["x"], "unexpected character '{'"),
    ("x" + "+x" * (MAX_LENGTH // 2), ["x"], f"characters long; the limit is {MAX_LENGTH}"),
    ("(" * 1000 + "x" + ")" * 1000, ["x"], f"nested more than {MAX_DEPTH} levels deep"),
    ("(" * (MAX_DEPTH + 1) + "x" + ")" * (MAX_DEPTH + 1), ["x"], "nested more than"),
    ("exp(" * 300 + "x" + ")" * 300, ["x"], "nested more than"),
    ("x*(" * 300 + "x" + ")" * 300, ["x"], "nested more than"),
    ("x**" * 300 + "x", ["x"], "nested more than"),
]


@pytest.mark.parametrize("expression,wrt,message", ERRORS, ids=[e[:40] for e, _, _ in ERRORS])
def test_bad_input_is_one_line_and_status_2(capsys, tmp_path, monkeypatch, expression, wrt, message):
    monkeypatch.chdir(tmp_path)
    argv = ["grad", expression, *(a for name in wrt for a in ("--wrt", name))]
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("symnet: ") and len(err.splitlines()) == 1, err
    assert message in err
    assert list(tmp_path.iterdir()) == []


def test_an_unknown_function_lists_every_function(capsys):
    assert main(["grad", "softmax(x)", "--wrt", "x"]) == 2
    listed = capsys.readouterr().err.split("the functions are ")[1].strip().split(", ")
    assert listed == sorted(FUNCTIONS)


def test_derivatives_raises_the_cli_error():
    with pytest.raises(CLIError, match="use \\*\\* for powers"):
        derivatives("x^2", ["x"])


def test_too_deep_for_symnet_is_still_one_line(capsys):
    """Within the parser's limits symnet itself may recurse too deep: a message, never a traceback."""
    status = main(["grad", "sin(x*" * 100 + "x" + ")" * 100, "--wrt", "x"])
    out, err = capsys.readouterr()
    if status == 0:
        assert out and not err
    else:
        assert status == 2 and err.count("\n") == 1 and "too deeply nested" in err


@pytest.mark.parametrize("payload", [
    '__import__("os").system("touch {file}")',
    "__import__('os').system('touch {file}')",
    "exec(\"open('{file}', 'w')\")",
    "x; open('{file}', 'w')",
])
def test_injection_through_the_real_command_runs_nothing(tmp_path, payload):
    target = tmp_path / "pwned"
    out = run(payload.format(file=target), "--wrt", "x")
    assert out.returncode == 2 and out.stdout == "" and out.stderr.startswith("symnet: cannot parse")
    assert len(out.stderr.splitlines()) == 1
    assert not target.exists()


def test_the_real_command():
    out = run("tanh(w*x)", "--wrt", "w", "--wrt", "x")
    assert out.returncode == 0 and out.stdout.splitlines() == ["∂/∂w = x·(1 - tanh(w·x)^2)",
                                                               "∂/∂x = w·(1 - tanh(w·x)^2)"]
    out = run("", "--wrt", "x")
    assert out.returncode == 2 and out.stderr == "symnet: the expression is empty\n"
    out = run("x^2", "--wrt", "x")
    assert out.returncode == 2 and "use ** for powers" in out.stderr and len(out.stderr.splitlines()) == 1
