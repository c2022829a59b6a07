"""Edges of the newly added PyTorch surface, compared with PyTorch 2.13: dtype promotion over every operand
kind, 0-d / empty / size-1 / out-of-range dims, NaN/±inf/1e30/denormals, integer division by zero, out-of-range
index tensors, in-place semantics through views, version-counter refusals, threads, and gradients at kinks
and ties.

PyTorch's numbers are stored in ``fixtures/surface_edges.npz`` (``fixtures/make_surface_edges_fixtures.py``) or
are simple enough to write down.
"""

from __future__ import annotations

import math
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import symnet as sn

F = sn.nn.functional
FIXTURES = np.load(Path(__file__).parent / "fixtures" / "surface_edges.npz")
NAN, INF = float("nan"), float("inf")


def t(values, dtype=None):
    """A tensor keeping the NumPy dtype (float64 stays float64, as ``torch.tensor(ndarray)``)."""
    return sn.from_numpy(np.array(values, dtype=dtype))


def f32(values):
    return t(values, np.float32)


def assert_values(got, expected, dtype=None, rtol=1e-6, atol=1e-7):
    got_arr = got.numpy() if isinstance(got, sn.Tensor) else np.asarray(got)
    exp_arr = np.asarray(expected)
    assert got_arr.shape == exp_arr.shape, (got_arr.shape, exp_arr.shape)
    if dtype is not None:
        assert got.dtype == dtype, (got.dtype, dtype)
    np.testing.assert_allclose(got_arr.astype(np.float64), exp_arr.astype(np.float64), rtol=rtol, atol=atol)


def run_isolated(code: str, timeout: float = 120) -> str:
    """Run ``code`` in a fresh interpreter (a segfault or hang fails the test, not the suite); its stdout."""
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=timeout)
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr[-3000:]}"
    return proc.stdout


# ==================================================================== dtype promotion (torch.result_type)
KINDS = {
    "f32": lambda: t([1.5, -2.0, 4.0], np.float32),
    "f64": lambda: t([1.5, -2.0, 4.0], np.float64),
    "i64": lambda: t([3, -7, 2], np.int64),
    "b": lambda: t([True, False, True]),
    "z32": lambda: t(2.5, np.float32),
    "z64": lambda: t(2.5, np.float64),
    "zi": lambda: t(3, np.int64),
    "zb": lambda: t(True),
    "pyi": lambda: 2,
    "pyf": lambda: 2.5,
    "pyb": lambda: True,
}
BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
    "floordiv": lambda a, b: a // b,
    "mod": lambda a, b: a % b,
    "pow": lambda a, b: a ** b,
    "maximum": lambda a, b: sn.maximum(a, b),
    "where": lambda a, b: sn.where(a > 0 if a.dtype != sn.bool_ else a, a, b),
    "lt": lambda a, b: a < b,
    "clamp_min": lambda a, b: sn.clamp(a, min=b),
}
#: (op, left, right) whose torch error is a zero division (the operands hold a False): tested on their own below
_ZERO_DIVISION = {("floordiv", a, b) for a in ("i64", "b", "zi", "zb") for b in ("i64", "b")} | \
                 {("mod", a, b) for a in ("i64", "b", "zi", "zb") for b in ("i64", "b")}


def _dtype_mismatches(op: str, only=None) -> list:
    bad = []
    for an in KINDS:
        if an.startswith("py"):
            continue
        for bn in KINDS:
            bool_pow = op == "pow" and "b" in an and "b" in bn  # test_bool_pow_bool_refused
            if (op, an, bn) in _ZERO_DIVISION or bool_pow or (only is not None and (an, bn) not in only):
                continue
            want = str(FIXTURES[f"dtype/{op}/{an}/{bn}"])
            try:
                got = BINARY[op](KINDS[an](), KINDS[bn]()).dtype.name  # the dtype is known without computing
            except (sn.SymnetError, TypeError, RuntimeError, NotImplementedError):
                got = "error"
            if got != want:
                bad.append((an, bn, want, got))
    return bad


@pytest.mark.parametrize("op", [op for op in BINARY if op != "clamp_min"])
def test_binary_result_dtype_matches_torch_result_type(op):
    assert _dtype_mismatches(op) == []


def test_clamp_tensor_bound_result_dtype_numeric():
    numeric = {(a, b) for a in KINDS for b in KINDS if "b" not in a + b}
    assert _dtype_mismatches("clamp_min", numeric) == []


def test_clamp_bool_operands():
    bools = {(a, b) for a in ("b", "zb") for b in ("b", "zb", "pyb")}
    assert _dtype_mismatches("clamp_min", bools) == []


def test_tensor_from_float64_array_keeps_dtype():
    assert sn.tensor(np.array([1.0, 2.0])).dtype == sn.float64


def test_integer_pow_integer():
    assert_values(t([2, 3, -1], np.int64) ** t([3, 0, 3], np.int64), [8, 1, -1], dtype=sn.int64)


def test_python_int_pow_integer_tensor():
    assert_values(2 ** t([0, 3, 5], np.int64), [1, 8, 32], dtype=sn.int64)


def test_integer_pow_python_int_stays_integer():
    assert_values(t([2, -3], np.int64) ** 2, [4, 9], dtype=sn.int64)
    with pytest.raises(sn.DTypeError, match="negative integer powers"):
        t([2], np.int64) ** -1


def test_bool_mask_and():
    x = f32([-1.0, 0.5, 2.0])
    assert ((x > 0) & (x < 1)).tolist() == [False, True, False]


# ==================================================================== integer division by zero
def test_integer_floordiv_by_zero_refused():
    with pytest.raises((ZeroDivisionError, RuntimeError, ValueError)):
        (t([1, 0, -1], np.int64) // 0).numpy()


def test_integer_remainder_by_zero_refused():
    with pytest.raises((ZeroDivisionError, RuntimeError, ValueError)):
        (t([1, 0, -1], np.int64) % 0).numpy()


def test_integer_floordiv_by_zero_tensor_refused():
    with pytest.raises((ZeroDivisionError, RuntimeError, ValueError)):
        (t([3, -7], np.int64) // t([0, 2], np.int64)).numpy()


def test_integer_division_by_known_zero_refused_every_form():
    for divide in (lambda: 5 // t([1, 0], np.int64), lambda: 5 % t([0], np.int64),
                   lambda: sn.div(t([3], np.int64), 0, rounding_mode="trunc"),
                   lambda: t([3], np.int64) % t(0, np.int64)):
        with pytest.raises(RuntimeError, match="ZeroDivisionError"):
            divide()


@pytest.mark.parametrize("divide,expected", [
    (lambda a, b: a // b, [-4, -4, -(2**63)]),
    (lambda a, b: a % b, [1, -1, 0]),
    (lambda a, b: sn.div(a, b, rounding_mode="trunc"), [-3, -3, -(2**63)]),
], ids=["floor", "mod", "trunc"])
def test_integer_division_by_computed_zero_refused(divide, expected):
    """Checked by the kernel: PyTorch's RuntimeError, never a trap or a number. A nonzero computed divisor
    computes, −2⁶³ by −1 wrapping (where the machine's division traps, and PyTorch's process dies)."""
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        divide(t([3, -7], np.int64), t([0, 2], np.int64) * sn.tensor(1)).numpy()
    got = divide(t([-7, 7, -(2**63)], np.int64), t([2, -2, -1], np.int64) * sn.tensor(1))
    assert got.tolist() == expected


def test_integer_floor_and_trunc_division_signs():
    a, b = t([-7, 7, -1, 0], np.int64), 3
    assert_values(a // b, [-3, 2, -1, 0], dtype=sn.int64)
    assert_values(a % b, [2, 1, 2, 0], dtype=sn.int64)
    assert_values(sn.div(a, b, rounding_mode="trunc"), [-2, 2, 0, 0], dtype=sn.int64)
    assert_values(sn.remainder(a, -3), [-1, -2, -1, 0], dtype=sn.int64)


def test_integer_min_divided_by_minus_one_does_not_crash():
    out = run_isolated("""
        import numpy as np, symnet as sn
        x = sn.from_numpy(np.array([-2**63, 7], dtype=np.int64))
        print((x // -1).numpy()[1], (x % -1).numpy().tolist())
    """)
    assert out.split() == ["-7", "[0,", "0]"]


def test_float_divided_by_python_zero():
    assert_values(f32([1.0, -1.0, 0.0]) / 0, [INF, -INF, NAN])


def test_integer_true_divided_by_zero():
    assert_values(t([1, -1, 0], np.int64) / 0.0, [INF, -INF, NAN])


def test_float_floordiv_and_remainder_by_zero_are_torch_values():
    x = f32([1.0, -1.0, 0.0])
    np.testing.assert_array_equal((x // 0).numpy(), np.array([INF, -INF, NAN], np.float32))
    assert np.isnan((x % 0).numpy()).all()


# ==================================================================== NaN and inf constants and simplification
def test_times_python_nan():
    assert np.isnan((f32([1.0, 2.0]) * NAN).numpy()).all()


def test_plus_python_nan():
    assert np.isnan((f32([1.0, 2.0]) + NAN).numpy()).all()


def test_where_nan_branch_value():
    x = f32([1.0, 3.0])
    assert np.isnan(sn.where(x > 2, x, NAN).numpy()[0])


def test_masked_fill_nan():
    x = f32([1.0, 3.0])
    assert np.isnan(x.masked_fill(x > 2, NAN).numpy()[1])


def test_setitem_nan():
    x = f32([1.0, 3.0]) * 1
    x[0] = NAN
    assert np.isnan(x.numpy()[0])


def test_index_fill_nan():
    assert np.isnan(f32([[1.0, 2.0]]).index_fill(1, t([0]), NAN).numpy()[0, 0])


def test_pad_value_nan():
    assert np.isnan(F.pad(f32([[1.0, 2.0]]), (1, 1), value=NAN).numpy()[0, 0])


def test_clamp_nan_bound():
    assert np.isnan(f32([1.0, 2.0]).clamp(min=NAN).numpy()).all()
    assert np.isnan(f32([1.0, 2.0]).clamp(max=NAN).numpy()).all()
    assert np.isnan(f32([1.0, 2.0]).clamp(f32([NAN, 0.0]), f32([3.0, 3.0])).numpy()).tolist() == [True, False]
    assert t([1, 5, -3], np.int64).clamp(0, 2).tolist() == [1, 2, 0]


def test_inf_constants_survive():
    x = f32([1.0, 3.0])
    assert_values(x.masked_fill(x > 2, INF), [1.0, INF])
    assert_values(x.masked_fill(x > 2, -INF).softmax(0), [1.0, 0.0])


def test_x_minus_x_keeps_nan():
    x = f32([NAN, INF, 1.0])
    assert np.isnan((x - x).numpy()[:2]).all()


def test_x_times_zero_keeps_nan():
    assert np.isnan((f32([NAN, INF, 1.0]) * 0).numpy()[:2]).all()


def test_x_over_x_keeps_nan():
    x = f32([0.0, INF])
    assert np.isnan((x / x).numpy()).all()


def test_zero_over_x():
    assert np.isnan((0 / f32([0.0, 2.0])).numpy()[0])


def test_exp_log_negative():
    assert np.isnan(f32([-1.0, 2.0]).log().exp().numpy()[0])


def test_sign_nan():
    assert_values(f32([NAN, -0.0, 3.0]).sign(), [0.0, 0.0, 1.0])


def test_lerp_inf():
    assert np.isnan(sn.lerp(f32([INF]), f32([1.0]), 0.3).numpy()[0])


def test_logsumexp_infinities():
    assert_values(f32([[INF, -INF], [INF, -INF]]).logsumexp(0), [INF, -INF])


SPECIALS32 = np.array([NAN, INF, -INF, 1e30, -1e30, 1e-40, -1e-45, 0.0, -0.0, 1.0, -1.0, 88.8, -104.0],
                      np.float32)


@pytest.mark.parametrize("fn,expected", [
    ("sigmoid", lambda v: np.where(np.isnan(v), np.nan, 1 / (1 + np.exp(-v.astype(np.float64))))),
    ("tanh", lambda v: np.tanh(v)),
    ("relu", lambda v: np.where(np.isnan(v), np.nan, np.maximum(v, 0))),
    ("abs", np.abs),
    ("isnan", np.isnan),
    ("isinf", np.isinf),
    ("isfinite", np.isfinite),
    ("nan_to_num", lambda v: np.nan_to_num(v)),
    ("floor", np.floor),
    ("round", np.round),
    ("exp", lambda v: np.exp(v.astype(np.float64)).astype(np.float32)),
])
def test_unary_special_values(fn, expected):
    with np.errstate(all="ignore"):
        want = np.asarray(expected(SPECIALS32))
        got = getattr(t(SPECIALS32), fn)()
        if want.dtype == bool:
            assert got.dtype == sn.bool_ and got.numpy().tolist() == want.tolist()
        else:
            np.testing.assert_allclose(got.numpy().astype(np.float64), want.astype(np.float64), rtol=2e-6,
                                       atol=1e-44)


# ==================================================================== reductions, sort, top-k at the edges
NAN_MATRIX = [[3.0, NAN, 1.0], [NAN, 0.0, 2.0], [1.0, 1.0, NAN]]


@pytest.mark.parametrize("dim,descending,indices", [
    (1, False, [[2, 0, 1], [1, 2, 0], [0, 1, 2]]),
    (0, False, [[2, 1, 0], [0, 2, 1], [1, 0, 2]]),
    (1, True, [[1, 0, 2], [0, 2, 1], [2, 0, 1]]),
])
def test_sort_with_nan(dim, descending, indices):
    out = run_isolated(f"""
        import numpy as np, symnet as sn
        nan = float("nan")
        x = sn.from_numpy(np.array({NAN_MATRIX}, np.float32))
        print(x.argsort({dim}, descending={descending}).numpy().tolist())
        v, i = x.sort({dim}, descending={descending})
        print(i.numpy().tolist())
    """)
    assert out.split("\n")[:2] == [str(indices), str(indices)]


def test_sort_descending_inf_and_nan():
    v, i = f32([INF, NAN, 1.0, -0.0, 0.0]).sort(descending=True, stable=True)
    assert i.tolist() == [1, 0, 2, 3, 4]


def test_topk_nan():
    v, i = f32([1.0, NAN, 2.0]).topk(1)
    assert i.tolist() == [1] and np.isnan(v.numpy()[0])


def test_median_nan():
    assert np.isnan(f32([1.0, NAN, 2.0]).median().item())


EDGE_VALUES = {
    "int_pow": lambda a, b: a ** b,
    "sort_nan": lambda x: x.sort(1, stable=True),
    "sort_nan_desc": lambda x: x.sort(1, descending=True, stable=True),
    "sort_nan_dim0": lambda x: x.sort(0, stable=True),
    "topk_nan": lambda x: x.topk(2, 1),
    "median_nan_dim": lambda x: x.median(1),
    "median_dim": lambda x: x.median(1),
    "lerp_inf": lambda a, b, w: sn.lerp(a, b, w),
    "logsumexp_inf": lambda x: x.logsumexp(1),
    "x_minus_negx": lambda x: x + (-x),
    "x_eq_x": lambda x: x == x,
    "sqrt_squared": lambda x: (lambda r: r * r)(x.sqrt()),
    "exp_log": lambda x: x.log().exp(),
    "amin_bool": lambda x: x.amin(0),
}


@pytest.mark.parametrize("name", list(EDGE_VALUES))
def test_edge_values_match_torch(name):
    """NaN, ±inf, ties and integer overflow through sort, topk, median, lerp, logsumexp, pow and cancellations:
    every output (values and indices) equal to PyTorch's, NaN where PyTorch has NaN."""
    inputs = [sn.from_numpy(FIXTURES[k].copy()) for k in sorted(k for k in FIXTURES.files
                                                               if k.startswith(f"values/{name}/in"))]
    result = EDGE_VALUES[name](*inputs)
    outputs = result if isinstance(result, tuple) else (result,)
    for k, got in enumerate(outputs):
        want = FIXTURES[f"values/{name}/out{k}"]
        assert got.numpy().dtype == want.dtype
        if want.dtype.kind == "f":  # float64: rtol 1e-9; NaN and ±inf exactly where PyTorch has them
            np.testing.assert_allclose(got.numpy(), want, rtol=1e-9, atol=0)
        else:
            np.testing.assert_array_equal(got.numpy(), want)


def test_sort_ties_stable_and_inf():
    v, i = f32([1.0, 0.0, 1.0, 0.0, 1.0]).sort(stable=True)
    assert i.tolist() == [1, 3, 0, 2, 4]
    v, i = f32([1.0, 0.0, 1.0, 0.0, 1.0]).sort(stable=True, descending=True)
    assert i.tolist() == [0, 2, 4, 1, 3]
    v, i = f32([INF, -INF, 1.0, -INF]).sort(stable=True)
    assert v.tolist() == [-INF, -INF, 1.0, INF] and i.tolist() == [1, 3, 2, 0]


def test_median_even_count_is_lower():
    assert f32([4.0, 1.0, 3.0, 2.0]).median().item() == 2.0


def test_topk_bad_k_and_sort_bad_dim_are_clear_errors():
    x = sn.zeros(2, 3)
    with pytest.raises((IndexError, RuntimeError, ValueError)):
        x.topk(4)
    with pytest.raises((IndexError, ValueError)):
        x.sort(2)


def test_max_min_argmax_with_nan_and_ties():
    x = f32([1.0, NAN, 2.0])
    assert np.isnan(x.max().item()) and np.isnan(x.amax().item()) and np.isnan(x.min().item())
    assert x.argmax().item() == 1
    v, i = f32([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]]).max(1)
    assert v.tolist() == [3.0, 2.0] and i.tolist() == [1, 0]


def test_mean_of_empty():
    assert np.isnan(sn.zeros(0, 3).mean().item())
    assert_values(sn.zeros(0, 3).mean(0), [NAN, NAN, NAN])


def test_var_of_empty():
    assert np.isnan(sn.zeros(0, 3).var().item())


def test_softmax_over_empty_dim():
    assert sn.zeros(3, 0).softmax(1).shape == (3, 0)
    x = sn.zeros(0, 3, requires_grad=True)
    for out in (x.log_softmax(0), sn.nn.functional.log_softmax(x, dim=0), x.softmax(-2)):
        assert out.shape == (0, 3)
    x.log_softmax(0).sum().backward()
    assert x.grad.shape == (0, 3)


def test_flatten_of_empty_tensors_is_the_product_of_its_dims():
    """PyTorch's flatten multiplies the dims (a reshape to -1 would be ambiguous with a zero among the others)."""
    assert sn.zeros(0, 2, 3).flatten(1).shape == (0, 6) and sn.nn.Flatten()(sn.zeros(0, 2, 3)).shape == (0, 6)
    assert sn.zeros(2, 3, 0).flatten(0, 1).shape == (6, 0) and sn.zeros(0, 3).flatten().shape == (0,)


def test_attention_over_an_empty_sequence_or_batch():
    sn.manual_seed(0)
    layer = sn.nn.TransformerEncoderLayer(4, 2, 8, dropout=0.0)
    for shape in ((0, 3, 4), (3, 0, 4)):  # (sequence, batch, features)
        x = sn.zeros(shape, requires_grad=True)
        out = layer(x)
        assert out.shape == shape
        out.sum().backward()
        assert x.grad.shape == shape


def test_trace_of_a_bool_matrix_is_refused_as_pytorch_refuses_it():
    with pytest.raises(sn.DTypeError, match="trace"):
        sn.tensor([[True, False], [False, True]]).trace()


def test_logsumexp_over_empty_dim():
    assert_values(sn.zeros(3, 0).logsumexp(1), [-INF, -INF, -INF])


def test_logsumexp_integer():
    assert_values(t([[1, 2]], np.int64).logsumexp(1), [math.log(math.e + math.e ** 2)], rtol=1e-6)


def test_max_of_0d():
    z = f32(2.0)
    assert z.argmax().item() == 0
    v, i = z.max(0)
    assert v.item() == 2.0 and i.item() == 0


def test_min_of_bool():
    assert t([[True, False], [True, True]]).amin(1).tolist() == [False, True]


def test_repeated_dims_refused():
    with pytest.raises((RuntimeError, ValueError, IndexError)):
        sn.ones(2, 3).sum((0, 0))


def test_flatten_start_after_end():
    with pytest.raises((RuntimeError, ValueError)):
        sn.ones(2, 3).flatten(1, 0)


def test_reductions_on_empty_and_0d():
    e = sn.zeros(0, 3)
    assert_values(e.sum(0), [0.0, 0.0, 0.0])
    assert_values(e.prod(0), [1.0, 1.0, 1.0])
    assert e.cumsum(0).shape == (0, 3)
    assert e.sum().item() == 0.0
    assert sn.zeros(3, 0).any().item() is False and sn.zeros(3, 0).all().item() is True
    z = f32(2.0)
    assert z.sum(0).item() == 2.0 and z.cumsum(0).item() == 2.0 and z.softmax(0).item() == 1.0
    for op in (lambda: e.max(), lambda: e.argmax(), lambda: e.max(0)):
        with pytest.raises((IndexError, RuntimeError, ValueError)):
            op().numpy()


@pytest.mark.parametrize("call", [
    lambda x: x.sum(2), lambda x: x.sum(-3), lambda x: x.mean(5), lambda x: x.softmax(2), lambda x: x.cumsum(-3),
    lambda x: x.argmax(2), lambda x: x.unsqueeze(3), lambda x: x.unsqueeze(-4), lambda x: x.transpose(0, 2),
    lambda x: x.squeeze(5), lambda x: x.select(0, 3), lambda x: x.narrow(2, 0, 1), lambda x: x.flip(2),
    lambda x: x.roll(1, 3), lambda x: sn.stack([x, x], 4), lambda x: x.logsumexp(2), lambda x: x.var(2),
    lambda x: x.topk(1, 2), lambda x: x.median(2), lambda x: x.permute(0, 2),
])
def test_dim_out_of_range_is_a_clear_error(call):
    with pytest.raises((IndexError, ValueError, RuntimeError)) as info:
        call(sn.ones(3, 4)).numpy()
    assert not isinstance(info.value, (AttributeError, KeyError)) and str(info.value)


def test_negative_dims_match_positive():
    x = t(np.arange(24, dtype=np.float32).reshape(2, 3, 4))
    assert_values(x.sum(-1), x.sum(2).numpy())
    assert_values(x.cumsum(-2), x.cumsum(1).numpy())
    assert_values(x.softmax(-3), x.softmax(0).numpy())
    assert_values(x.transpose(-1, -3), x.transpose(2, 0).numpy())
    assert_values(x.argmax(-1), x.argmax(2).numpy())
    assert_values(x.flip(-1), x.numpy()[:, :, ::-1])


def test_0d_movedim_gather():
    z = f32(5.0)
    assert sn.movedim(z, 0, -1).item() == 5.0
    assert z.gather(0, t(0, np.int64)).item() == 5.0


def test_setitem_value_with_leading_one():
    x = sn.zeros(4)
    x[1:3] = f32([[1.0, 2.0]])
    assert x.tolist() == [0.0, 1.0, 2.0, 0.0]


def test_shaping_empty_dims():
    e = sn.zeros(0, 3)
    assert e.reshape(-1, 3).shape == (0, 3) and e.t().shape == (3, 0) and e.flatten().shape == (0,)
    assert sn.cat([e, e], 0).shape == (0, 3) and sn.stack([e, e], 1).shape == (0, 2, 3)
    assert e.repeat(2, 2).shape == (0, 6) and e.unsqueeze(0).shape == (1, 0, 3)
    assert [c.shape for c in sn.ones(3, 4).split(2)] == [(2, 4), (1, 4)]
    assert [c.shape for c in sn.ones(3, 4).chunk(5)] == [(1, 4)] * 3
    assert sn.ones(3, 4).diagonal(10).shape == (0,)
    with pytest.raises((RuntimeError, ValueError)):
        sn.ones(3, 4).reshape(5, -1)
    with pytest.raises((RuntimeError, ValueError)):
        sn.ones(3, 4).expand(3, 5)
    with pytest.raises((RuntimeError, ValueError)):
        sn.ones(3, 4).split([1, 1])


# ==================================================================== out-of-range indices: clear errors
def test_out_of_range_indices_are_index_errors():
    """Every index op with an out-of-range index, known at the call or computed: an IndexError, never a read
    outside the tensor (run in a subprocess in case one reads out of bounds)."""
    out = run_isolated("""
        import symnet as sn
        x = sn.arange(12.).reshape(3, 4)
        row = sn.tensor([[0, 1, 2, 3]])
        F = sn.nn.functional
        calls = {
            "index_select": lambda k: x.index_select(0, sn.tensor([3]) * k),
            "getitem": lambda k: x[sn.tensor([3]) * k],
            "getitem_neg": lambda k: x[sn.tensor([-4]) * k],
            "embedding": lambda k: F.embedding(sn.tensor([0, 3]) * k, x),
            "take": lambda k: sn.take(x, sn.tensor([12]) * k),
            "scatter_add": lambda k: x.scatter_add(1, sn.tensor([[4]]) * k, sn.tensor([[1.0]])),
            "index_put": lambda k: x.index_put((sn.tensor([5]) * k,), sn.tensor(1.0)),
            "index_put_acc": lambda k: x.index_put((sn.tensor([0, 3]) * k,), sn.tensor(1.0), accumulate=True),
            "index_add": lambda k: x.index_add(0, sn.tensor([3]) * k, x[:1]),
            "index_fill": lambda k: x.index_fill(1, sn.tensor([4]) * k, 0.0),
            "take_along_dim": lambda k: sn.take_along_dim(x, sn.tensor([[4]]) * k, 1),
            "one_hot_neg": lambda k: F.one_hot(sn.tensor([-1]) * k, 3),
            "cross_entropy": lambda k: F.cross_entropy(x, sn.tensor([0, 4, 1]) * k),
        }
        for name, call in calls.items():
            for known in (True, False):
                try:
                    call(1 if known else sn.tensor(1)).numpy()
                    print(name, known, "no error")
                except IndexError as e:
                    print(name, known, "IndexError" if str(e) else "empty message")
                except Exception as e:
                    print(name, known, type(e).__name__)
    """)
    assert [line for line in out.splitlines() if not line.endswith("IndexError")] == []


def test_gather_scatter_out_of_range_index_known_at_call():
    x = sn.arange(12.0).reshape(3, 4)
    with pytest.raises(IndexError):
        x.gather(0, t([[3, 0, 0, 0]], np.int64)).numpy()
    with pytest.raises(IndexError):
        x.scatter(0, t([[3, 0, 0, 0]], np.int64), 1.0).numpy()


def test_strict_index_ops_refuse_negative_and_0d_gather_is_checked():
    with pytest.raises(IndexError):
        sn.ones(3, 4).index_add(0, t([-1], np.int64), sn.ones(1, 4)).numpy()
    assert sn.ones(3, 4).index_fill(0, t([-1], np.int64), 0.0).numpy()[2].tolist() == [0.0] * 4  # wraps in torch
    with pytest.raises(IndexError):
        f32(5.0).gather(0, t(1, np.int64)).numpy()
    with pytest.raises(IndexError):
        F.one_hot(t([1, 3], np.int64) * sn.tensor(1), 3).numpy()


@pytest.mark.parametrize("index", ["row * 0 + 3", "row * 0 + 100", "sn.tensor([[7], [0], [0]]) * sn.tensor(1)"])
def test_gather_computed_out_of_range_index(index):
    dim = 1 if "[7]" in index else 0
    out = run_isolated(f"""
        import symnet as sn
        x = sn.arange(12.).reshape(3, 4)
        row = sn.tensor([[0, 1, 2, 3]])
        try:
            print(x.gather({dim}, {index}).numpy().tolist())
        except IndexError:
            print("IndexError")
    """)
    assert out.strip() == "IndexError"


@pytest.mark.parametrize("offset", [3, 1000000])
def test_scatter_computed_out_of_range_index(offset):
    out = run_isolated(f"""
        import symnet as sn
        x = sn.arange(12.).reshape(3, 4)
        row = sn.tensor([[0, 1, 2, 3]])
        try:
            print(x.scatter(0, row * 0 + {offset}, 1.0).numpy().tolist())
        except IndexError:
            print("IndexError")
    """)
    assert out.strip() == "IndexError"


def test_bool_pow_bool_refused():
    with pytest.raises((sn.DTypeError, RuntimeError, TypeError, NotImplementedError)):
        (t([True, False]) ** t([True, True])).numpy()


def test_one_hot_computed_negative():
    with pytest.raises((IndexError, RuntimeError, ValueError)):
        F.one_hot(t([-1], np.int64) * sn.tensor(1), 3).numpy()


def test_one_hot_too_few_classes():
    with pytest.raises((IndexError, RuntimeError, ValueError)):
        F.one_hot(t([0, 3], np.int64), 2).numpy()


def test_index_select_negative_refused():
    with pytest.raises(IndexError):
        sn.ones(3, 4).index_select(0, t([-1], np.int64)).numpy()


def test_scatter_negative_refused():
    with pytest.raises((IndexError, RuntimeError)):
        sn.ones(3, 4).scatter(0, t([[-1, 0, 0, 0]], np.int64), 1.0).numpy()


def test_index_tensor_dtype_and_shape_errors():
    x = sn.ones(3, 4)
    with pytest.raises((IndexError, TypeError)):
        x[f32([1.0])]
    with pytest.raises((sn.DTypeError, TypeError, RuntimeError)):
        x.gather(0, sn.zeros(1, 4))
    with pytest.raises((IndexError, RuntimeError, ValueError)):
        x[t([True, False])]
    with pytest.raises(IndexError):
        x[0, 0, 0]
    with pytest.raises((IndexError, RuntimeError, ValueError)):
        x.index_select(0, t([[0]], np.int64))


# ==================================================================== indexing and in-place semantics
def test_advanced_index_iadd_with_duplicates_writes_once():
    x = f32([1.0, 2.0, 3.0]) * 1
    x[t([0, 0, 2], np.int64)] += 1
    assert x.tolist() == [2.0, 2.0, 4.0]


def test_index_put_accumulate_and_index_add_accumulate_duplicates():
    x = f32([1.0, 2.0, 3.0])
    x.index_put_((t([0, 0], np.int64),), f32([1.0, 2.0]), accumulate=True)
    assert x.tolist() == [4.0, 2.0, 3.0]
    y = f32([1.0, 2.0, 3.0])
    y.index_add_(0, t([2, 2], np.int64), f32([1.0, 2.0]))
    assert y.tolist() == [1.0, 2.0, 6.0]
    z = f32([[1.0, 2.0], [3.0, 4.0]])
    z.index_put_((t([0, 0, 1], np.int64), t([1, 1, 0], np.int64)), f32([1.0, 2.0, 3.0]), accumulate=True)
    assert z.tolist() == [[1.0, 5.0], [6.0, 4.0]]


def test_scatter_add_duplicates_and_mask_assign():
    x = sn.zeros(2, 2).scatter_add(0, t([[0, 0], [0, 0]], np.int64), f32([[1.0, 2.0], [3.0, 4.0]]))
    assert x.tolist() == [[4.0, 6.0], [0.0, 0.0]]
    y = f32([[1.0, 2.0], [3.0, 4.0]])
    y[y > 1] += 10
    assert y.tolist() == [[1.0, 12.0], [13.0, 14.0]]
    y[y > 12] = f32([7.0, 8.0])
    assert y.tolist() == [[1.0, 12.0], [7.0, 8.0]]
    with pytest.raises((RuntimeError, ValueError)):
        y[y > 0] = f32([1.0, 2.0])


def test_basic_views_of_views_write_through():
    x = f32([1.0, 2.0, 3.0])
    x[1:][1:].fill_(9.0)
    assert x.tolist() == [1.0, 2.0, 9.0]
    y = sn.zeros(2, 3)
    y[0][1] = 4
    y[:, 2][1] = 6
    assert y.tolist() == [[0.0, 4.0, 0.0], [0.0, 0.0, 6.0]]
    v = y[1]
    y.add_(1)
    assert v.tolist() == [1.0, 1.0, 7.0]
    adv = y[[0, 1]]
    adv.fill_(0)  # advanced indexing copies
    assert y.tolist()[0] == [1.0, 5.0, 1.0]


VIEW_WRITES = {
    "t": (lambda y: y.t()[0].mul_(0), [[0.0, 2.0], [0.0, 4.0]]),
    "transpose": (lambda y: y.transpose(0, 1).__setitem__((0, 1), 5.0), [[1.0, 2.0], [5.0, 4.0]]),
    "narrow": (lambda y: y.narrow(1, 1, 1).fill_(0.0), [[1.0, 0.0], [3.0, 0.0]]),
    "select": (lambda y: y.select(1, 0).fill_(0.0), [[0.0, 2.0], [0.0, 4.0]]),
    "view": (lambda y: y.view(-1)[3].fill_(0.0), [[1.0, 2.0], [3.0, 0.0]]),
    "reshape": (lambda y: y.reshape(4).add_(1.0), [[2.0, 3.0], [4.0, 5.0]]),
    "unsqueeze": (lambda y: y.unsqueeze(0)[0, 0].fill_(0.0), [[0.0, 0.0], [3.0, 4.0]]),
    "diagonal": (lambda y: y.diagonal().fill_(0.0), [[0.0, 2.0], [3.0, 0.0]]),
    "split": (lambda y: y.split(1)[1].fill_(0.0), [[1.0, 2.0], [0.0, 0.0]]),
    "unbind": (lambda y: y.unbind(0)[0].fill_(0.0), [[0.0, 0.0], [3.0, 4.0]]),
    "permute": (lambda y: y.permute(1, 0)[0].fill_(0.0), [[0.0, 2.0], [0.0, 4.0]]),
    "T": (lambda y: y.T[1].mul_(2.0), [[1.0, 4.0], [3.0, 8.0]]),
    "movedim": (lambda y: sn.movedim(y, 0, 1).__setitem__((1, 0), 7.0), [[1.0, 7.0], [3.0, 4.0]]),
    "squeeze": (lambda y: y.unsqueeze(0).squeeze(0)[1].fill_(0.0), [[1.0, 2.0], [0.0, 0.0]]),
    "flatten": (lambda y: y.flatten()[1:3].fill_(0.0), [[1.0, 0.0], [0.0, 4.0]]),
    "diagonal_offset": (lambda y: y.diagonal(1).fill_(9.0), [[1.0, 9.0], [3.0, 4.0]]),
    "view_of_view": (lambda y: y.t().reshape(2, 1, 2)[1, 0, 0].fill_(0.0), [[1.0, 0.0], [3.0, 4.0]]),
    "unsqueezed_transpose": (lambda y: y.t().unsqueeze(0)[0, 1, 0].fill_(0.0), [[1.0, 0.0], [3.0, 4.0]]),
    "reshape_copies_a_transpose": (lambda y: y.t().reshape(4)[1].fill_(0.0), [[1.0, 2.0], [3.0, 4.0]]),
}


@pytest.mark.parametrize("name", list(VIEW_WRITES))
def test_inplace_through_view_reaches_base(name):
    write, expected = VIEW_WRITES[name]
    y = f32([[1.0, 2.0], [3.0, 4.0]])
    write(y)
    assert y.tolist() == expected


@pytest.mark.parametrize("make,expected", [
    (lambda y: y.t(), [[1.0, 1.0], [1.0, 2.0]]),
    (lambda y: y.reshape(4), [1.0, 1.0, 1.0, 2.0]),
    (lambda y: y.diagonal(), [1.0, 2.0]),
    (lambda y: y.narrow(1, 1, 1), [[1.0], [2.0]]),
    (lambda y: y.select(0, 1), [1.0, 2.0]),
])
def test_view_sees_base_update(make, expected):
    y = sn.zeros(2, 2)
    v = make(y)
    y.add_(1)
    y[1, 1] = 2.0
    assert v.tolist() == expected


def test_grad_through_transposed_view_write():
    w = f32([[1.0, -2.0], [3.0, 4.0]]).requires_grad_()
    y = w * 1
    y.t()[0].mul_(10)
    y.sum().backward()
    assert w.grad.tolist() == [[10.0, 1.0], [10.0, 1.0]]


def test_grad_through_reshaped_view_write():
    """d/dw Σ y² after y.view(4)[1:3] *= 10: 2·y·10 on the written entries (torch: [[2, -400], [600, 8]])."""
    w = f32([[1.0, -2.0], [3.0, 4.0]]).requires_grad_()
    y = w * 1
    y.view(4)[1:3].mul_(10)
    (y * y).sum().backward()
    assert w.grad.tolist() == [[2.0, -400.0], [600.0, 8.0]]


def test_inplace_on_view_of_leaf_requiring_grad_is_refused():
    for write in (lambda w: w.t().add_(1), lambda w: w.reshape(4).mul_(2), lambda w: w.diagonal().zero_()):
        w = f32([[1.0, 2.0], [3.0, 4.0]]).requires_grad_()
        with pytest.raises(RuntimeError, match="in-place|inplace"):
            write(w)


def test_inplace_on_leaf_requiring_grad_is_refused():
    for write in (lambda w: w.add_(1), lambda w: w.__setitem__(0, 5.0), lambda w: w[0:1].mul_(2),
                  lambda w: w.clamp_(0, 1), lambda w: w.zero_()):
        w = f32([1.0, 2.0]).requires_grad_()
        with pytest.raises(RuntimeError, match="in-place|inplace"):
            write(w)
    w = f32([1.0, 2.0]).requires_grad_()
    with sn.no_grad():
        w[0] = 7.0
    (w * w).sum().backward()
    assert w.grad.tolist() == [14.0, 4.0]


def test_inplace_dtype_and_shape_refusals():
    with pytest.raises((sn.DTypeError, RuntimeError, TypeError)):
        x = t([1, 2], np.int64)
        x += 1.5
    with pytest.raises((RuntimeError, ValueError)):
        sn.zeros(1).add_(sn.zeros(3))
    with pytest.raises((RuntimeError, ValueError)):
        sn.zeros(2).add_(sn.zeros(3))
    x = t([1, 2, 3], np.int64)
    x *= 2
    x //= 3
    assert x.tolist() == [0, 1, 2]


def test_bool_add_inplace_refused():
    with pytest.raises((sn.DTypeError, RuntimeError, TypeError)):
        t([True, False]).add_(1)


@pytest.mark.parametrize("name,build", [
    ("exp output", lambda w: (lambda y: (y.add_(1), y)[1])(w.exp())),
    ("mul input", lambda w: (lambda y: (lambda z: (y.add_(1), z)[1])(y * y))(w * 2)),
    ("sigmoid output", lambda w: (lambda y: (y.mul_(2), y)[1])(w.sigmoid())),
])
def test_version_counter_refusal(name, build):
    """A tensor an op saved for backward (exp's and sigmoid's result, mul's operands), changed in place before
    backward: PyTorch's refusal."""
    w = f32([1.0, 2.0]).requires_grad_()
    with pytest.raises(RuntimeError, match="inplace|in-place"):
        build(w).sum().backward()


def test_inplace_not_saved_is_fine():
    w = f32([1.0, -2.0]).requires_grad_()
    y = w * 1
    z = y + 1
    y.mul_(3)
    (z * y).sum().backward()
    # d/dw [(w + 1)·3w] = 6w + 3
    assert w.grad.tolist() == [9.0, -9.0]
    w2 = f32([1.0, -2.0]).requires_grad_()
    y2 = w2 * 1
    y2[0] = 0.0
    (y2 * y2).sum().backward()
    assert w2.grad.tolist() == [0.0, -4.0]


# ==================================================================== gradients at kinks and ties (torch's numbers)
KINK_FNS = {
    **{f"F.{n}": (lambda x, n=n: getattr(F, n)(x)) for n in (
        "relu", "relu6", "hardtanh", "hardsigmoid", "hardswish", "elu", "celu", "silu", "softsign", "hardshrink",
        "softshrink", "leaky_relu", "gelu", "softplus", "mish", "logsigmoid", "tanhshrink")},
    "threshold": lambda x: F.threshold(x, 1.0, 5.0),
    "abs": lambda x: x.abs(),
    "clamp": lambda x: x.clamp(-1, 1),
    "clamp_tensor": lambda x: x.clamp(sn.zeros_like(x), sn.ones_like(x)),
    "clamp_min_gt_max": lambda x: x.clamp(1, -1),
    "max_ties": lambda x: x.max(),
    "max_dim_ties": lambda x: x.reshape(2, 2).max(1)[0],
    "amax_ties": lambda x: x.amax(),
    "amin_dim_ties": lambda x: x.reshape(2, 2).amin(0),
    "maximum_ties": lambda x: sn.maximum(x, t([1.0, 0.0, 5.0], np.float64)),
    "norm_at_0": lambda x: x.norm(),
    "norm1_at_0": lambda x: x.norm(1),
    "norm_inf_ties": lambda x: x.norm(INF),
    "sqrt_at_0": lambda x: x.sqrt(),
    "pow_half_at_0": lambda x: x ** 0.5,
    "cumprod_zero": lambda x: x.cumprod(0),
    "cumprod_two_zeros": lambda x: x.cumprod(0),
    "prod_zero": lambda x: x.prod(),
    "prod_two_zeros": lambda x: x.prod(),
    "sort_ties": lambda x: x.sort()[0] * t([1.0, 2.0, 3.0, 4.0], np.float64),
    "logsumexp_neg_inf": lambda x: x.logsumexp(0),
    "softmax_neg_inf": lambda x: x.softmax(0)[1],
    "log_softmax_big": lambda x: x.log_softmax(0)[0],
    "logsigmoid_big": lambda x: F.logsigmoid(x),
    "softplus_big": lambda x: F.softplus(x),
    "silu_big": lambda x: F.silu(x),
    "gelu_tanh_big": lambda x: F.gelu(x, approximate="tanh"),
    "logit_eps": lambda x: x.logit(eps=0.1),
    "gather_dup": lambda x: x.gather(0, t([0, 0, 1], np.int64)),
    "getitem_dup": lambda x: x[t([1, 1, 1], np.int64)],
    "index_put_acc": lambda x: x.index_put((t([0, 0], np.int64),), x * x, accumulate=True),
    "index_add_dup": lambda x: x.index_add(0, t([0, 0], np.int64), x * x),
    "scatter_add": lambda x: x.scatter_add(0, t([0, 0], np.int64), x * 2),
    "masked_fill": lambda x: x.masked_fill(x > 1, 0.0),
    "layer_norm_const": lambda x: F.layer_norm(x.reshape(1, 3), (3,)),
    "group_norm": lambda x: F.group_norm(x.reshape(1, 4, 1), 2) * sn.arange(4.0, dtype=sn.float64).reshape(1, 4, 1),
    "batch_norm_train": lambda x: F.batch_norm(x.reshape(4, 1), None, None, training=True)
    * sn.arange(4.0, dtype=sn.float64).reshape(4, 1),
    "embedding_pad": lambda x: F.embedding(t([0, 0, 1], np.int64), x.reshape(2, 1), padding_idx=0),
    "pow_self_at_0": lambda x: x ** x,
    "median_ties": lambda x: x.median(),
}


@pytest.mark.parametrize("name", list(KINK_FNS))
def test_gradient_at_kinks_and_ties_matches_torch(name):
    x = sn.from_numpy(FIXTURES[f"grad/{name}/x"].copy()).requires_grad_()
    y = KINK_FNS[name](x)
    (y if y.dim() == 0 else y.sum()).backward()
    np.testing.assert_allclose(x.grad.numpy(), FIXTURES[f"grad/{name}/g"], rtol=1e-7, atol=1e-12)


@pytest.mark.parametrize("fn", [
    lambda x, y: sn.lerp(x, y, y.sigmoid()),
    lambda x, y: sn.lerp(x, y, 0.7) * sn.lerp(x, y, 0.2),
    lambda x, y: x * 0 + (x - x) + x / x + y.log().exp(),
    lambda x, y: x.abs() ** y,
    lambda x, y: (x * y).logsumexp(0),
    lambda x, y: (lambda z: (z.t()[0].mul_(3), z.reshape(4)[1:3].add_(y[:2]), z)[2])((x * y).reshape(2, 2)),
    lambda x, y: x.clamp(y - 1, y + 1),
], ids=["lerp_tensor_weight", "lerp_both_sides", "cancellations_kept", "pow", "logsumexp", "view_writes", "clamp"])
def test_changed_gradients_against_finite_differences(fn):
    x = t([0.7, -1.3, 2.1, 0.4], np.float64)
    y = t([1.1, 0.6, 1.9, 0.8], np.float64)
    sn.check_grads(fn, [x, y], order=1)


def test_gradients_finite_at_extremes():
    x = t([-1e30, 1e30, -800.0, 1e-310, -1e-310], np.float64).requires_grad_()
    (x.sigmoid() + x.tanh() + F.softplus(x) + F.logsigmoid(x) + F.silu(x) + F.elu(x)).sum().backward()
    assert np.isfinite(x.grad.numpy()).all()
    y = f32([1e30, -1e30, 0.0]).requires_grad_()
    y.log_softmax(0)[0].backward()
    assert np.isfinite(y.grad.numpy()).all()


# ==================================================================== modules at the edges
def test_normalization_modules_edges():
    x = sn.ones(4, 3)
    assert_values(sn.nn.BatchNorm1d(3)(x), np.zeros((4, 3)))
    assert_values(sn.nn.LayerNorm(3)(x), np.zeros((4, 3)))
    big = sn.nn.LayerNorm(2)(f32([[1e30, -1e30]]))
    assert_values(big, [[0.0, 0.0]])  # the float32 variance overflows to inf, as in torch
    with pytest.raises((RuntimeError, ValueError)):
        sn.nn.BatchNorm1d(3)(sn.ones(1, 3))  # one value per channel in training
    with pytest.raises((RuntimeError, ValueError)):
        sn.nn.BatchNorm1d(4)(x)
    with pytest.raises((RuntimeError, ValueError)):
        sn.nn.GroupNorm(2, 3)
    with pytest.raises((RuntimeError, ValueError)):
        sn.nn.LayerNorm(4)(x)
    bn = sn.nn.BatchNorm1d(3)
    bn(t(np.arange(12, dtype=np.float32).reshape(4, 3)))
    assert_values(bn.running_mean, [0.45, 0.55, 0.65], rtol=1e-6)
    assert_values(bn.running_var, [0.9 + 1.5, 0.9 + 1.5, 0.9 + 1.5], rtol=1e-5)  # unbiased var 15 · 0.1
    assert bn.num_batches_tracked.item() == 1


def test_embedding_and_dropout_edges():
    emb = sn.nn.Embedding(3, 2, padding_idx=-1)
    assert emb.weight.numpy()[2].tolist() == [0.0, 0.0]
    with pytest.raises((AssertionError, ValueError, IndexError)):
        sn.nn.Embedding(3, 2, padding_idx=3)
    assert emb(t(np.zeros((0,), np.int64))).shape == (0, 2)
    x = sn.ones(1000)
    assert sn.nn.Dropout(1.0)(x).sum().item() == 0.0
    assert set(np.unique(sn.nn.Dropout(0.75)(x).numpy()).tolist()) <= {0.0, 4.0}
    assert sn.nn.Dropout(0.5).eval()(x).sum().item() == 1000.0
    for p in (1.5, -0.1):
        with pytest.raises(ValueError):
            sn.nn.Dropout(p)


# ==================================================================== threads
def test_two_threads_on_new_ops_and_compiled_predict():
    out = run_isolated("""
        import threading
        import numpy as np
        import symnet as sn

        rng = np.random.default_rng(0)
        data = [rng.standard_normal((16, 6)).astype(np.float32) for _ in range(2)]
        idx = sn.tensor([0, 2, 2, 5])

        def eager(k):
            x = sn.tensor(data[k], requires_grad=True)
            v, i = x.sort(1)
            y = v.gather(1, i.argsort(1)) + x.index_select(1, idx).sum(1, keepdim=True)
            z = y.clone()
            z[:, idx] += 1
            loss = (F.layer_norm(z, (6,)) * x.cumsum(1)).logsumexp(1).mean()
            loss.backward()
            return float(loss.item()), x.grad.numpy().copy()

        F = sn.nn.functional
        sn.manual_seed(0)
        model = sn.nn.Sequential(sn.nn.Linear(6, 8), sn.nn.BatchNorm1d(8), sn.nn.GELU(), sn.nn.Linear(8, 2))
        step = sn.compile(model, sn.nn.MSELoss(), sn.optim.SGD(model.parameters(), lr=0.1))
        model.eval()
        def compiled(k):
            return step.predict(sn.tensor(data[k])).numpy().copy()

        for work in (eager, compiled):
            single = [work(k) for k in range(2)]
            results, errors = [[None] * 40, [None] * 40], []
            def run(k):
                try:
                    for j in range(40):
                        results[k][j] = work(k)
                except BaseException as e:
                    errors.append(repr(e))
            threads = [threading.Thread(target=run, args=(k,)) for k in range(2)]
            for th in threads: th.start()
            for th in threads: th.join()
            assert not errors, errors
            for k in range(2):
                for r in results[k]:
                    if isinstance(r, tuple):
                        assert r[0] == single[k][0] and np.array_equal(r[1], single[k][1])
                    else:
                        assert np.array_equal(r, single[k])
            print(work.__name__, "ok")
    """, timeout=300)
    assert out.split() == ["eager", "ok", "compiled", "ok"]


def test_a_gather_through_a_cat_of_a_gather_reads_only_inside_each_part():
    """cat([A[B], filler])[W] with W choosing the filler: the loop over the cat's rows read B past its end on the
    filler's rows (a guard's loop variable was never clamped), and a read of A through the value found there
    reported a bad index that no result used. (pad_packed_sequence pads so.)"""
    flat = sn.tensor(np.arange(60.0).reshape(20, 3))
    rows = flat.index_select(0, sn.tensor(np.arange(12) + 5))
    joined = sn.cat([rows, sn.full((1, 3), -1.0, dtype=sn.float64)])
    picked = joined.index_select(0, sn.tensor([12, 0, 12, 3, 12, 12, 11]))
    assert picked[:, 0].tolist() == [-1.0, 15.0, -1.0, 24.0, -1.0, -1.0, 48.0]
