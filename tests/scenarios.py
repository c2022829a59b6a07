"""Scenarios written once for symnet and PyTorch (functions of the library, ``lib``) with the values PyTorch 2.13
gave stored beside them: ``scenario_tests`` makes the two tests of such a table — symnet gives the stored values,
and (where PyTorch is installed) so does PyTorch."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

import symnet as sn


def same(got, want, rtol: float) -> None:
    """Nested lists and tuples of numbers (compared within ``rtol``), strings, flags and None (exactly)."""
    if isinstance(want, list | tuple) and want and not all(isinstance(w, float | int) for w in want):
        assert len(got) == len(want)
        for g, w in zip(got, want, strict=True):
            same(g, w, rtol)
    elif isinstance(want, str | bool) or want is None:
        assert got == want
    else:
        np.testing.assert_allclose(np.array(got, dtype=float), np.array(want, dtype=float), rtol=rtol)


def scenario_tests(table: dict[Callable, object], rtol: float) -> tuple[Callable, Callable]:
    """The tests of ``table`` (scenario → PyTorch's result): symnet's, and the stored values' against PyTorch."""
    scenarios = pytest.mark.parametrize("scenario", list(table), ids=lambda f: f.__name__)

    @scenarios
    def test_symnet_gives_pytorchs_values(scenario):
        same(scenario(sn), table[scenario], rtol)

    @scenarios
    def test_the_stored_values_are_pytorchs(scenario):
        torch = pytest.importorskip("torch")
        same(scenario(torch), table[scenario], rtol)

    return test_symnet_gives_pytorchs_values, test_the_stored_values_are_pytorchs
