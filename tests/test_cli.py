"""The command line as a new user meets it: a version, help on every argument, a listing where a name is missing,
one-line errors (never a traceback) for each mistake, a quiet end on a closed pipe."""

import argparse
import os
import subprocess
import sys

import pytest

from symnet import cli


def symnet(*args, **kwargs):
    return subprocess.run([sys.executable, "-m", "symnet", *args], capture_output=True, text=True, timeout=300,
                          **kwargs)


def test_version():
    out = symnet("--version")
    assert out.returncode == 0 and out.stdout.startswith("symnet ") and out.stdout.split()[1][0].isdigit()


def test_every_argument_has_help():
    parser = cli.build_parser()
    parsers = [parser]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            parsers += list(action.choices.values())
            assert {a.dest for a in action._choices_actions} == set(action.choices)  # every command is described
            assert all(a.help for a in action._choices_actions)
    for p in parsers:
        for action in p._actions:
            if not isinstance(action, argparse._SubParsersAction):
                assert action.help, f"{p.prog}: {action.dest} has no help"


MISTAKES = {
    "run without a name lists the examples": (("run",), "which example?", "lenet"),
    "an unknown example lists them": (("run", "nope"), "unknown example 'nope'", "sin_polyfit"),
    "a missing data folder": (("run", "mlp_classifier", "--fashion-mnist", "/nonexistent"), "/nonexistent", ""),
    "formulas of a missing file": (("formulas", "missing.py"), "no such file", ""),
    "show of a missing file": (("show", "missing.py"), "no such file", ""),
    "a bad expression": (("grad", "(x+", "--wrt", "w"), "cannot parse", ""),
}


@pytest.mark.parametrize("case", MISTAKES)
def test_mistakes_are_one_line_errors(case):
    args, message, also = MISTAKES[case]
    out = symnet(*args)
    assert out.returncode == 2, out.stderr
    assert "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1, out.stderr
    assert message in out.stderr and also in out.stderr


@pytest.mark.parametrize("contents,message", [
    ("print('top level ran')\n", "defines no program()"),
    ("def program(:\n", "is not valid Python"),
])
def test_formulas_checks_the_file_convention_before_running_it(tmp_path, contents, message):
    path = tmp_path / "model.py"
    path.write_text(contents)
    out = symnet("formulas", str(path))
    assert out.returncode == 2 and message in out.stderr and "top level ran" not in out.stdout
    assert "Traceback" not in out.stderr


def test_a_closed_pipe_ends_quietly():
    """As `symnet rules | head -1` once head has gone: the reading end is closed before symnet writes."""
    read, write = os.pipe()
    os.close(read)
    try:
        out = subprocess.run([sys.executable, "-m", "symnet", "rules"], stdout=write, stderr=subprocess.PIPE,
                             text=True, timeout=120)
    finally:
        os.close(write)
    assert out.returncode == 141 and out.stderr == ""


def test_printed_text_follows_the_arguments(tmp_path):
    out = symnet("run", "linear_regression", "--epochs", "5", "--out", str(tmp_path))
    assert out.returncode == 0 and "after 5 epochs" in out.stdout and "100 epochs" not in out.stdout


def test_example_help_names_the_command_and_the_listing_has_no_internal_labels():
    out = symnet("run", "mlp_classifier", "--help")
    assert out.returncode == 0 and out.stdout.startswith("usage: symnet run mlp_classifier")
    listing = symnet("examples").stdout
    assert "Seed" not in listing and len(listing.splitlines()) == len(cli.EXAMPLES)
