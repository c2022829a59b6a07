"""The OpInfo table (tests/opinfo): every case's outputs and gradients against stored PyTorch 2.13 fixtures
(float64 rtol 1e-9, float32 1e-4), its float64 gradients against finite differences, and the same gradients
from inside a compiled training step. A call PyTorch refuses must be refused by symnet too. In CI float32 runs the
first case of each op (every op is compiled in both dtypes); ``SYMNET_DEEP=1`` runs every case."""

from __future__ import annotations

import os

import numpy as np
import pytest

import symnet as sn
from tests.opinfo.spec import AREAS, FIXTURES, TOLERANCE, cases, key, operands, outputs, upstream

STORED = {area: np.load(FIXTURES / f"opinfo_{area}.npz") for area in AREAS
          if (FIXTURES / f"opinfo_{area}.npz").exists()}
RUNS = [(area, case, dtype) for area in AREAS for case in cases(area) for dtype in case.dtypes]
DEEP = os.environ.get("SYMNET_DEEP") == "1"


def _first_case_of_each_op(runs: list) -> list:
    seen: set = set()
    kept = []
    for area, case, dtype in runs:
        if (area, case.name.split("/")[0]) not in seen:
            seen.add((area, case.name.split("/")[0]))
            kept.append((area, case, dtype))
    return kept


#: every case in float64; in float32 (each case's own compiles) in CI the first case of each op, every one with
#: SYMNET_DEEP=1
_FLOAT32 = {id(case) for _, case, _ in _first_case_of_each_op([r for r in RUNS if r[2] == "float32"])}
MATCHED = RUNS if DEEP else [r for r in RUNS if r[2] != "float32" or id(r[1]) in _FLOAT32]


def fixture(area: str, case, dtype: str) -> dict[str, np.ndarray]:
    assert area in STORED, f"no fixtures for {area}: run python -m tests.opinfo.make_fixtures {area}"
    prefix = key(case, dtype) + "/"
    found = {k[len(prefix):]: STORED[area][k] for k in STORED[area].files if k.startswith(prefix)}
    assert found, f"no fixture for {prefix}: rerun python -m tests.opinfo.make_fixtures {area}"
    return found


def leaves(case, dtype: str) -> list:
    return [sn.tensor(a, dtype=getattr(sn, a.dtype.name) if a.dtype.kind != "b" else sn.bool,
                      requires_grad=case.grad and a.dtype.kind == "f" and spec.grad)
            for a, spec in zip(operands(case, dtype), case.args, strict=True)]


def close(actual, expected: np.ndarray, rtol: float, what: str) -> None:
    actual = np.asarray(actual)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape}, PyTorch's {expected.shape}"
    if expected.dtype.kind in "biu":
        np.testing.assert_array_equal(actual, expected, err_msg=what)
        return
    scale = max(float(np.abs(expected[np.isfinite(expected)]).max(initial=0.0)), 1.0)
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * scale, err_msg=what, equal_nan=True)


def tolerance(case, dtype: str) -> float:
    return (case.rtol or {}).get(dtype, TOLERANCE[dtype])


@pytest.mark.parametrize(("area", "case", "dtype"), MATCHED, ids=[f"{a}:{c.name}-{d}" for a, c, d in MATCHED])
def test_matches_pytorch(area, case, dtype):
    stored = fixture(area, case, dtype)
    xs = leaves(case, dtype)
    if "error" in stored:
        with pytest.raises(Exception):  # noqa: B017 - PyTorch's refusal, whatever our error class
            outputs(case.fn(sn, *xs))[0].numpy()
        return
    result = outputs(case.fn(sn, *xs))
    rtol = tolerance(case, dtype)
    total = None
    for k, r in enumerate(result):
        expected = stored[f"out/{k}"]
        assert r.dtype == expected.dtype, f"output {k}: dtype {r.dtype}, PyTorch's {expected.dtype}"
        if r.requires_grad:
            term = (r * sn.tensor(upstream(case, dtype, tuple(r.shape), k), dtype=getattr(sn, dtype))).sum()
            total = term if total is None else total + term
    if total is not None and case.grad:
        total.backward()
    for k, r in enumerate(result):
        close(r.numpy(), stored[f"out/{k}"], rtol, f"output {k}")
    for i, x in enumerate(xs):
        if f"grad/{i}" in stored:
            assert x.grad is not None, f"operand {i}: no gradient, PyTorch has one"
            close(x.grad.numpy(), stored[f"grad/{i}"], rtol, f"gradient of operand {i}")


FD_RUNS = [(a, c) for a, c, d in RUNS if d == "float64" and c.grad and c.fd]


@pytest.mark.parametrize(("area", "case"), FD_RUNS, ids=[f"{a}:{c.name}" for a, c in FD_RUNS])
def test_gradient_against_finite_differences(area, case):
    stored = fixture(area, case, "float64")
    if "error" in stored or not any(k.startswith("grad/") for k in stored):
        pytest.skip("PyTorch refuses the call or it has no gradient")  # covered by test_matches_pytorch
    xs = leaves(case, "float64")
    slots = [i for i, x in enumerate(xs) if x.requires_grad]

    def fn(*floats):
        merged = list(xs)
        for i, f in zip(slots, floats, strict=True):
            merged[i] = f
        result = [r for r in outputs(case.fn(sn, *merged)) if r.dtype.kind == "f"]
        return sum((r.sum() * (k + 1) for k, r in enumerate(result[1:], 1)), result[0])

    with sn.backend.use("reference"):  # the derivation is what is checked: no native compile needed
        sn.check_grads(fn, [xs[i] for i in slots], order=1)


#: a compiled step per case costs a native compile (~0.3 s): in CI float64 and the first case of each op (so every
#: op is compiled), every case and dtype with SYMNET_DEEP=1
COMPILED = [(a, c, d) for a, c, d in RUNS if c.compile and c.grad and (DEEP or d == "float64")]
COMPILED = COMPILED if DEEP else _first_case_of_each_op(COMPILED)


@pytest.mark.parametrize(("area", "case", "dtype"), COMPILED, ids=[f"{a}:{c.name}-{d}" for a, c, d in COMPILED])
def test_inside_a_compiled_training_step(area, case, dtype):
    """The case as a model whose parameters are its float operands, with loss (out · G).sum(): one SGD step
    at lr 1 moves each parameter by minus PyTorch's gradient."""
    stored = fixture(area, case, dtype)
    if "error" in stored or not any(k.startswith("grad/") for k in stored):
        pytest.skip("PyTorch refuses the call or it has no gradient")
    xs = leaves(case, dtype)

    class Case(sn.nn.Module):
        def __init__(self):
            super().__init__()
            for i, x in enumerate(xs):
                if x.requires_grad:
                    setattr(self, f"p{i}", sn.nn.Parameter(x.numpy().copy()))

        def forward(self, X):
            merged = [getattr(self, f"p{i}") if x.requires_grad else x for i, x in enumerate(xs)]
            terms = [(r * sn.tensor(upstream(case, dtype, tuple(r.shape), k), dtype=getattr(sn, dtype))).sum()
                     for k, r in enumerate(outputs(case.fn(sn, *merged))) if r.requires_grad]
            return sum(terms, X.sum() * 0)

    model = Case()
    before = {n: p.numpy().copy() for n, p in model.named_parameters()}
    step = sn.compile(model, lambda out, y: out + y.sum() * 0, sn.optim.SGD(model.parameters(), lr=1.0))
    step.step(np.zeros((1, 1), dtype=dtype), np.zeros((1, 1), dtype=dtype))
    for name, p in model.named_parameters():
        i = int(name[1:])
        moved = before[name] - p.numpy()
        expected = stored[f"grad/{i}"]
        scale = max(float(np.abs(before[name]).max(initial=0.0)), 1.0)
        close(moved, expected, tolerance(case, dtype) * scale, f"compiled gradient of operand {i}")
