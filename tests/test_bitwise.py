"""Bit operations of int64 tensors (``&``, ``|``, ``^``, ``~`` and their function and in-place forms): PyTorch's
two's-complement values, with bools as 0 or 1 beside integers; the same numbers from the NumPy reference, inside a
compiled training step and in an exported C function."""

from __future__ import annotations

import numpy as np
import sympy as sp

import symnet as sn
from symnet.core import functions as F
from symnet.export import export

from .scenarios import scenario_tests
from .test_export_c import build, needs_cc, run
from .test_op_edges import raised, result

A = [5, -3, 12, 0, -1, 2**62, -(2**63)]
B = [3, 6, -7, 1, 2**62 + 1, -1, 1]


def of_two_tensors(lib):
    a, b = lib.tensor(A), lib.tensor(B)
    return [result(a & b), result(a | b), result(a ^ b), result(~a), result(lib.bitwise_and(a, b)),
            result(lib.bitwise_or(a, b)), result(lib.bitwise_xor(a, b)), result(lib.bitwise_not(a))]


def with_numbers_bools_and_broadcasting(lib):
    a, flags = lib.tensor(A[:4]), lib.tensor([True, False, True, True])
    column = lib.tensor([[1], [-2]])
    return [result(a & -6), result(6 | a), result(a ^ True), result(a & flags), result(flags | 6),
            result(column ^ a), result(lib.bitwise_and(2, a)), result(~flags), result(flags ^ flags)]


def in_place(lib):
    a = lib.tensor(A[:4])
    a &= 7
    b = lib.tensor(A[:4])
    b.bitwise_or_(lib.tensor([1, 2, 4, 8]))
    c = lib.tensor(A[:4])
    c ^= -1
    return [result(a), result(b), result(c)]


def floats_are_refused(lib):
    x, n = lib.tensor([1.5]), lib.tensor([1])
    return [raised(lambda: x & n, RuntimeError), raised(lambda: n | 1.5, RuntimeError), raised(lambda: ~x, TypeError)]


PYTORCH = {
    of_two_tensors: [["int64", [1, 4, 8, 0, 4611686018427387905, 4611686018427387904, 0]],
                     ["int64", [7, -1, -3, 1, -1, -1, -9223372036854775807]],
                     ["int64", [6, -5, -11, 1, -4611686018427387906, -4611686018427387905, -9223372036854775807]],
                     ["int64", [-6, 2, -13, -1, 0, -4611686018427387905, 9223372036854775807]]] * 2,
    with_numbers_bools_and_broadcasting: [["int64", [0, -8, 8, 0]], ["int64", [7, -1, 14, 6]],
                                          ["int64", [4, -4, 13, 1]], ["int64", [1, 0, 0, 0]],
                                          ["int64", [7, 6, 7, 7]],
                                          ["int64", [[4, -4, 13, 1], [-5, 3, -14, -2]]], ["int64", [0, 0, 0, 0]],
                                          ["bool", [False, True, False, False]],
                                          ["bool", [False, False, False, False]]],
    in_place: [["int64", [5, 5, 4, 0]], ["int64", [5, -1, 12, 8]], ["int64", [-6, 2, -13, -1]]],
    floats_are_refused: ["raises RuntimeError"] * 2 + ["raises TypeError"],
}

test_symnet_gives_pytorchs_values, test_the_stored_values_are_pytorchs = scenario_tests(PYTORCH, rtol=0)


def test_native_code_equals_the_reference_on_every_bit_pattern(rng):
    a = rng.integers(-(2**63), 2**63 - 1, (64,), dtype=np.int64, endpoint=True)
    b = rng.integers(-(2**63), 2**63 - 1, (8, 64), dtype=np.int64, endpoint=True)

    def computed():
        x, y = sn.tensor(a), sn.tensor(b)
        return [t.numpy() for t in (x & y, x | y, x ^ y, ~y, (x ^ 12345) & -(2**40))]

    native = computed()
    with sn.backend.use("reference"):
        reference = computed()
    expected = [a & b, a | b, a ^ b, ~b, (a ^ 12345) & -(2**40)]
    for got, ref, want in zip(native, reference, expected, strict=True):
        np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(ref, want)


class OddRows(sn.nn.Module):
    """A linear model whose loss counts only the rows with an odd label: a bit of each label, every step."""

    def __init__(self):
        super().__init__()
        self.fc = sn.nn.Linear(3, 1)

    def forward(self, x):
        return self.fc(x).squeeze(1)


def odd_rows_loss(prediction, labels):
    odd = (labels & 1).to(prediction.dtype)
    return ((prediction - labels.to(prediction.dtype)) ** 2 * odd).sum() / odd.sum().clamp(min=1)


def test_a_compiled_step_reads_a_bit_of_its_labels_as_the_eager_loop(rng):
    x = rng.standard_normal((6, 16, 3)).astype(np.float32)
    labels = rng.integers(-20, 20, (6, 16))

    def trained(compiled: bool) -> list[float]:
        sn.manual_seed(1)
        model = OddRows()
        opt = sn.optim.SGD(model.parameters(), lr=0.05)
        step = sn.compile(model, odd_rows_loss, opt) if compiled else None
        losses = []
        for xb, yb in zip(x, labels, strict=True):
            if compiled:
                losses.append(step.step(xb, yb))
                continue
            opt.zero_grad()
            loss = odd_rows_loss(model(sn.tensor(xb)), sn.tensor(yb))
            loss.backward()
            opt.step()
            losses.append(loss.item())
        return losses

    np.testing.assert_allclose(trained(True), trained(False), rtol=1e-6)


class LowBits(sn.nn.Module):
    """Tokens folded to their three low bits before an embedding."""

    def __init__(self):
        super().__init__()
        self.embedding = sn.nn.Embedding(8, 2)

    def forward(self, tokens):
        return self.embedding(tokens & 7).sum(1)


@needs_cc
def test_an_exported_c_function_computes_the_bits_as_symnet(tmp_path, rng):
    sn.manual_seed(0)
    model = LowBits().eval()
    export(model, tmp_path / "low_bits", (5,), dtype=sn.int64, formats="c")
    tokens = rng.integers(-1000, 1000, (4, 5))
    got = run(build(tmp_path, "low_bits"), tokens, (4, 2), np.float32)
    np.testing.assert_allclose(got, model(sn.tensor(tokens)).detach().numpy(), rtol=1e-6)


def test_the_formulas_print_the_operators():
    n = sp.Symbol("n")
    assert str(F.bit_or(F.bit_and(n, 6), F.bit_xor(n, -1))) == "(n & 6) | (n ^ (-1))"
    assert sp.latex(F.bit_xor(n, 3)) == r"n \oplus 3"
