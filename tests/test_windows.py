"""Sliding-window ops beyond PyTorch parity: symbolic gradients (and Hessian-vector products) against finite
differences, the native backend against the NumPy reference, the index algebra that turns strided reads'
adjoints into guarded gathers, clear errors for bad geometry, edge shapes and values (empty batch, unbatched
input, NaN/inf, ties), and two threads training two conv models at once.

Every distinct graph structure compiles natively (~0.3–1 s each) and the reference backend is slow on big
domains, so shapes are tiny and odd (5×7), and only the cases that are cheap also check second order."""

import math
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import sympy as sp

import symnet as sn
import symnet.nn.functional as F
from symnet import backend, pipeline
from symnet.core import functions as fn
from symnet.core.affine import gather_form, holds_everywhere, prune_guards
from symnet.core.ir import BATCH, access, fresh_indices, index_symbol, is_selection
from symnet.printing import locate_leaves


# ---------------------------------------------------------------- inputs
def normal(rng, shape):
    return rng.standard_normal(shape)


def distinct(rng, shape):
    """Values at least 0.04 apart in random order: no max-pool ties, even after a finite-difference step."""
    n = math.prod(shape)
    return (rng.permutation(n).reshape(shape) - n / 2) * 0.05 + rng.uniform(0, 0.01, shape)


def positive(rng, shape):
    return np.abs(rng.standard_normal(shape)) + 0.5


# name -> (function of the inputs, input shapes, how to draw them, the highest derivative order checked)
CASES = {
    "conv1d_stride3": (lambda x, w: F.conv1d(x, w, stride=3), [(1, 2, 10), (2, 2, 2)], normal, 1),
    "conv1d_stride_dilation_padding_bias": (
        lambda x, w, b: F.conv1d(x, w, b, stride=2, padding=1, dilation=2),
        [(2, 3, 9), (2, 3, 3), (2,)], normal, 2),
    "conv2d_stride_dilation_padding_groups": (
        lambda x, w: F.conv2d(x, w, stride=(2, 1), padding=(1, 2), dilation=(1, 2), groups=2),
        [(1, 4, 5, 7), (4, 2, 3, 2)], normal, 2),
    "conv2d_same_dilated": (
        lambda x, w: F.conv2d(x, w, padding="same", dilation=2),
        [(1, 2, 5, 7), (2, 2, 2, 3)], normal, 1),
    "conv3d_stride_padding_groups": (
        lambda x, w: F.conv3d(x, w, stride=2, padding=1, groups=2),
        [(1, 2, 3, 4, 5), (2, 1, 2, 2, 3)], normal, 1),
    "conv_transpose2d_stride_output_padding": (
        lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1),
        [(1, 2, 3, 4), (2, 3, 3, 2), (3,)], normal, 2),
    "conv_transpose2d_groups_dilation": (
        lambda x, w: F.conv_transpose2d(x, w, stride=(1, 3), dilation=2, groups=2),
        [(1, 4, 3, 2), (4, 1, 2, 2)], normal, 1),
    "conv_transpose1d_stride3": (
        lambda x, w: F.conv_transpose1d(x, w, stride=3, padding=1, output_padding=2),
        [(2, 2, 4), (2, 2, 3)], normal, 1),
    "max_pool2d_stride_padding": (
        lambda x: F.max_pool2d(x, 3, stride=2, padding=1), [(2, 2, 5, 7)], distinct, 1),
    "max_pool2d_ceil_dilation": (
        lambda x: F.max_pool2d(x, 2, stride=2, dilation=2, ceil_mode=True), [(1, 2, 5, 7)], distinct, 1),
    "max_pool1d": (lambda x: F.max_pool1d(x, 3, stride=2, padding=1), [(2, 3, 7)], distinct, 1),
    "max_pool3d": (lambda x: F.max_pool3d(x, 2, stride=(1, 2, 2)), [(1, 2, 3, 4, 5)], distinct, 1),
    "avg_pool2d_exclude_pad_ceil": (
        lambda x: F.avg_pool2d(x, 3, stride=2, padding=1, ceil_mode=True, count_include_pad=False).tanh(),
        [(1, 2, 5, 7)], normal, 2),
    "avg_pool2d_divisor_override": (
        lambda x: F.avg_pool2d(x, (2, 3), stride=(1, 2), divisor_override=4), [(1, 2, 5, 7)], normal, 1),
    "avg_pool1d_include_pad": (lambda x: F.avg_pool1d(x, 3, stride=2, padding=1), [(2, 2, 7)], normal, 1),
    "avg_pool3d": (lambda x: F.avg_pool3d(x, 2, stride=(1, 2, 2)), [(1, 2, 3, 4, 5)], normal, 1),
    "lp_pool2d_p2": (lambda x: F.lp_pool2d(x, 2.0, (2, 3), stride=(2, 2)), [(1, 2, 5, 7)], normal, 2),
    "lp_pool1d_p3": (lambda x: F.lp_pool1d(x, 3.0, 3, stride=2), [(2, 2, 7)], positive, 1),
    "adaptive_avg_pool2d_uneven": (lambda x: F.adaptive_avg_pool2d(x, (3, 4)).tanh(), [(1, 2, 5, 7)], normal, 2),
    "adaptive_avg_pool1d": (lambda x: F.adaptive_avg_pool1d(x, 3), [(2, 2, 7)], normal, 1),
    "adaptive_avg_pool3d": (lambda x: F.adaptive_avg_pool3d(x, (2, 3, 2)), [(1, 1, 3, 5, 5)], normal, 1),
    "adaptive_max_pool2d_uneven": (lambda x: F.adaptive_max_pool2d(x, (3, 4)), [(1, 2, 5, 7)], distinct, 1),
    "adaptive_max_pool1d": (lambda x: F.adaptive_max_pool1d(x, 4), [(2, 2, 7)], distinct, 1),
    "pad_constant_value_and_crop": (
        lambda x: F.pad(x, (2, -1, 1, 3), value=0.5) ** 2, [(1, 2, 5, 7)], normal, 2),
    "pad_reflect": (lambda x: F.pad(x, (2, 1, 4, 3), mode="reflect") ** 2, [(1, 2, 5, 7)], normal, 2),
    "pad_replicate": (lambda x: F.pad(x, (3, 1, 1, 2), mode="replicate") ** 2, [(1, 2, 5, 7)], normal, 2),
    "pad_circular": (lambda x: F.pad(x, (7, 2, 1, 5), mode="circular") ** 2, [(1, 2, 5, 7)], normal, 2),
    "unfold_stride_dilation_padding": (
        lambda x: F.unfold(x, (2, 3), dilation=(2, 1), padding=1, stride=(2, 1)) ** 2, [(1, 2, 5, 7)], normal, 2),
    "fold_stride_padding": (
        lambda x: F.fold(x, (5, 7), (2, 3), padding=1, stride=2) ** 2, [(1, 12, 12)], normal, 2),
    "cat_three": (lambda a, b, c: sn.cat([a, b.tanh(), c], 1) ** 2, [(2, 3, 4), (2, 1, 4), (2, 2, 4)], normal, 2),
    "cat_last_dim": (lambda a, b: sn.cat([a, b], -1).exp(), [(3, 5), (3, 2)], normal, 1),
    "stack_middle": (lambda a, b: sn.stack([a, b * a], 1) ** 2, [(2, 3), (2, 3)], normal, 2),
    "stack_last": (lambda a, b, c: sn.stack([a, b, c], -1).sin(), [(3, 2), (3, 2), (3, 2)], normal, 1),
}


def draw_inputs(name, seed=0):
    _, shapes, draw, _ = CASES[name]
    rng = np.random.default_rng(seed)
    return [draw(rng, s) for s in shapes]


# ---------------------------------------------------------------- 1. finite differences
@pytest.mark.parametrize("name", sorted(CASES))
def test_gradient_matches_finite_differences(name):
    function = CASES[name][0]
    inputs = [sn.tensor(a, dtype=sn.float64) for a in draw_inputs(name)]
    (report,) = sn.check_grads(function, inputs, order=1, rtol=1e-6)
    assert report.max_abs_error < 1e-5, report


@pytest.mark.parametrize("name", sorted(n for n, case in CASES.items() if case[3] == 2))
def test_hessian_vector_product_matches_finite_differences(name):
    function = CASES[name][0]
    inputs = [sn.tensor(a, dtype=sn.float64) for a in draw_inputs(name)]
    first, second = sn.check_grads(function, inputs, order=2, rtol=1e-6)
    assert second.order == 2 and second.max_abs_error < 1e-4, second


def test_finite_differences_catch_a_wrong_window_gradient(monkeypatch):
    """The check is a real oracle for window ops: a convolution whose input gradient forgets the divisibility
    guard of its stride (so it reads the gradient at every position, not only the reached ones) fails it."""
    original = gather_form

    def no_divides(domain, out, body, shape):
        result = original(domain, out, body, shape)
        if result is None:
            return None
        new_domain, targets, new_body = result
        return new_domain, targets, new_body.replace(lambda e: isinstance(e, fn.divides), lambda e: sp.Integer(1))

    import symnet.core.autodiff as autodiff

    monkeypatch.setattr(autodiff, "gather_form", no_divides)
    pipeline.cache_clear()
    try:
        x = sn.tensor(draw_inputs("conv1d_stride_dilation_padding_bias")[0], dtype=sn.float64)
        w = sn.tensor(np.random.default_rng(1).standard_normal((2, 3, 3)), dtype=sn.float64)
        with pytest.raises(AssertionError, match="disagree"):
            sn.check_grads(lambda a: F.conv1d(a, w, stride=2), [x], order=1)
    finally:
        pipeline.cache_clear()


# ---------------------------------------------------------------- 2. reference against native
def gradient_graph(name, seed=0):
    """The gradient program of Σ G·f(inputs) (G fixed), f's value, and every input's array by graph name."""
    function = CASES[name][0]
    xs = [sn.tensor(a, dtype=sn.float64, requires_grad=True) for a in draw_inputs(name, seed)]
    y = function(*xs)
    weights = sn.tensor(np.random.default_rng(seed + 1).uniform(-1.5, 1.5, y.shape), dtype=sn.float64)
    loss = (y * weights).sum()
    traced, wrt = locate_leaves(loss, xs, "test")
    prog = pipeline.gradient_program(traced.specs, len(traced.specs) - 1, wrt, seeded=False)
    values = {prog.names[p]: v for p, v in zip(prog.leaves, traced.leaf_values(), strict=True)}
    return prog.graph, values


def run(graph, values, name):
    with backend.use(name):
        executable = pipeline.compile_graph(graph)
    return dict(zip(graph.outputs, executable.call([values[t.name] for t in graph.inputs]), strict=True))


REFERENCE_CASES = [
    "conv1d_stride3", "conv1d_stride_dilation_padding_bias", "conv2d_stride_dilation_padding_groups",
    "conv3d_stride_padding_groups", "conv_transpose2d_stride_output_padding", "conv_transpose1d_stride3",
    "max_pool2d_stride_padding", "max_pool2d_ceil_dilation", "avg_pool2d_exclude_pad_ceil", "lp_pool2d_p2",
    "adaptive_avg_pool2d_uneven", "adaptive_max_pool2d_uneven", "pad_constant_value_and_crop", "pad_reflect",
    "pad_replicate", "pad_circular", "unfold_stride_dilation_padding", "fold_stride_padding", "cat_three",
    "stack_middle",
]


@pytest.mark.parametrize("name", REFERENCE_CASES)
def test_native_equals_reference(name):
    graph, values = gradient_graph(name)
    native, reference = run(graph, values, "native"), run(graph, values, "reference")
    assert list(native) == list(reference) and len(native) >= 2
    for out in graph.outputs:
        a, b = np.asarray(native[out]), np.asarray(reference[out])
        assert a.shape == b.shape and a.dtype == b.dtype, (out, a.shape, b.shape, a.dtype, b.dtype)
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12, err_msg=f"{name}: {out}")


def test_user_route_native_equals_reference():
    """Eager values and .grad through the user's calls, once on each backend (the program cache is cleared
    around the reference run, so it neither reuses nor leaves behind native executables)."""
    rng = np.random.default_rng(3)
    x0, w0 = rng.standard_normal((1, 2, 5, 7)), rng.standard_normal((3, 2, 3, 3))

    def model():
        x = sn.tensor(x0, dtype=sn.float64, requires_grad=True)
        w = sn.tensor(w0, dtype=sn.float64, requires_grad=True)
        y = F.max_pool2d(F.conv2d(F.pad(x, (1, 1, 2, 0), mode="reflect"), w, stride=(2, 1)).relu(), 2, ceil_mode=True)
        (y * y).sum().backward()
        return y.numpy().copy(), x.grad.numpy().copy(), w.grad.numpy().copy()

    native = model()
    pipeline.cache_clear()
    try:
        with backend.use("reference"):
            reference = model()
    finally:
        pipeline.cache_clear()
    for a, b in zip(native, reference, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------- 3. the index algebra
def conv_program(stride, dilation, padding, shape=(1, 2, 7, 7)):
    """The gradient program of Σ G·conv2d(X, W) by X and W, with user names X, W, G."""
    rng = np.random.default_rng(0)
    x = sn.tensor(rng.standard_normal(shape), dtype=sn.float64, requires_grad=True, name="X")
    w = sn.tensor(rng.standard_normal((3, 2, 3, 3)), dtype=sn.float64, requires_grad=True, name="W")
    y = F.conv2d(x, w, stride=stride, dilation=dilation, padding=padding)
    g = sn.tensor(rng.standard_normal(y.shape), dtype=sn.float64, name="G")
    loss = (y * g).sum()
    traced, wrt = locate_leaves(loss, [x, w], "test")
    return pipeline.gradient_program(traced.specs, len(traced.specs) - 1, wrt, seeded=False), loss, x, w


def guards(graph, kind):
    return [c for d in graph.defs for c in d.body.atoms(kind)]


def test_strided_conv_gradient_has_no_scatter_and_a_divisibility_guard():
    prog, *_ = conv_program(stride=2, dilation=2, padding=1)
    adjoints = [d for d in prog.graph.defs if d.name in prog.adjoints]
    assert adjoints, "no adjoint definitions found"
    for d in adjoints:
        assert is_selection(d.out, d.extents, d.shape), f"{d.name} is a scatter: out {d.out}"
    divisibility = guards(prog.graph, fn.divides)
    assert divisibility and all(c.args[0] == 2 for c in divisibility), divisibility


def test_unit_stride_conv_gradient_has_no_divisibility_guard():
    prog, *_ = conv_program(stride=1, dilation=1, padding=0)
    assert not guards(prog.graph, fn.divides)
    for d in prog.graph.defs:
        assert is_selection(d.out, d.extents, d.shape), f"{d.name} is a scatter: out {d.out}"


AFFINE = ["conv1d_stride_dilation_padding_bias", "conv2d_stride_dilation_padding_groups",
          "conv3d_stride_padding_groups", "conv_transpose2d_stride_output_padding", "conv_transpose1d_stride3",
          "max_pool2d_stride_padding", "max_pool3d", "avg_pool2d_exclude_pad_ceil", "pad_constant_value_and_crop",
          "unfold_stride_dilation_padding", "fold_stride_padding", "cat_three", "stack_middle"]


@pytest.mark.parametrize("name", AFFINE)
def test_affine_window_adjoints_are_gathers(name):
    """Windows read at affine indices: every derived adjoint writes each element once (no scatter)."""
    function = CASES[name][0]
    xs = [sn.tensor(a, dtype=sn.float64, requires_grad=True) for a in draw_inputs(name)]
    loss = function(*xs).sum()
    traced, wrt = locate_leaves(loss, xs, "test")
    prog = pipeline.gradient_program(traced.specs, len(traced.specs) - 1, wrt, seeded=False)
    for d in prog.graph.defs:
        if d.name in prog.adjoints:
            assert is_selection(d.out, d.extents, d.shape), f"{name}: adjoint {d.name} is a scatter: out {d.out}"


def _line(text, lhs):
    lines = [line for line in text.splitlines() if line.startswith(lhs + "[")]
    assert len(lines) == 1, f"no single line for {lhs} in\n{text}"
    return lines[0]


def _reads(expr_text, name):
    """The index tuples of every read of ``name`` in a printed expression, as SymPy expressions."""
    found = []
    for match in re.finditer(rf"\b{name}\[([^\]]*)\]", expr_text):
        found.append(tuple(sp.sympify(part.replace("·", "*")) for part in match.group(1).split(",")))
    return found


def test_input_gradient_prints_as_correlation_with_the_flipped_kernel():
    """δX[i, p, q, r] = Σ W[j, p, m, n]·G[i, j, q − m, r − n]: the output gradient read at output index minus
    kernel index, the kernel indices being W's own."""
    prog, loss, x, w = conv_program(stride=1, dilation=1, padding=0, shape=(2, 2, 7, 7))  # a batch of 1 reads G[0]
    text = str(sn.formulas(loss, [x, w]))
    line = _line(text, "δX")
    left = tuple(sp.sympify(s) for s in line[len("δX["):line.index("]")].split(","))
    (kernel,) = _reads(line, "W")
    (grad,) = _reads(line, "G")
    assert len(left) == 4 and len(kernel) == 4 and len(grad) == 4, line
    assert kernel[1] == left[1] and grad[0] == left[0], line
    for out_index, k_index, read in zip(left[2:], kernel[2:], grad[2:], strict=True):
        assert sp.expand(read - (out_index - k_index)) == 0, f"G read at {read}, not {out_index} - {k_index}: {line}"


def test_strided_input_gradient_prints_the_solved_index_with_its_guard():
    """Stride 2, dilation 2: 2·k + 2·m = q gives the output index q/2 − m, kept only where 2 ∣ q − 2·m."""
    prog, loss, x, w = conv_program(stride=2, dilation=2, padding=1)
    text = str(sn.formulas(loss, [x, w]))
    padded = [line for line in text.splitlines() if line.startswith("δpad")]
    assert len(padded) == 1, text
    line = padded[0]
    left = tuple(sp.sympify(s) for s in line[line.index("[") + 1:line.index("]")].split(","))
    (kernel,) = _reads(line, "W")
    (grad,) = _reads(line, "G")
    for out_index, k_index, read in zip(left[2:], kernel[2:], grad[2:], strict=True):
        assert sp.expand(read - (out_index / 2 - k_index)) == 0, line
    assert line.count("[2 ∣") == 2, line
    (unpadded,) = _reads(_line(text, "δX"), "δpad1")                   # δX is δpad1 without its border of 1
    left = tuple(sp.sympify(s) for s in _line(text, "δX")[len("δX["):_line(text, "δX").index("]")].split(","))
    assert [sp.expand(r - a) for r, a in zip(unpadded, left, strict=True)] == [0, 0, 1, 1], _line(text, "δX")


# gather_form on its own
def scatter_reference(domain, out, body_fn, shape):
    """T[out(d)] += body(d) by brute force over the domain; targets outside T are dropped (cropped)."""
    result = np.zeros(shape)
    symbols = [s for s, _ in domain]
    for point in np.ndindex(*[e for _, e in domain]):
        values = dict(zip(symbols, point, strict=True))
        target = tuple(int(sp.sympify(o).xreplace(values)) for o in out)
        if all(0 <= t < n for t, n in zip(target, shape, strict=True)):
            result[target] += body_fn(values)
    return result


def exact(e, arrays):
    """A closed element expression evaluated in exact integer/rational arithmetic: guards first (a false guard
    never reads), every read index must come out an integer inside its tensor."""
    if e.is_Number:
        return e
    if isinstance(e, fn.guarded):
        value, fill, *conditions = e.args
        return exact(value if all(exact(c, arrays) != 0 for c in conditions) else fill, arrays)
    args = [exact(a, arrays) for a in (e.indices if isinstance(e, sp.Indexed) else e.args)]
    if isinstance(e, sp.Indexed):
        array = arrays[str(e.base.label)]
        assert all(a.is_Integer for a in args), f"read {e} at a non-integer index {args}"
        assert all(0 <= a < n for a, n in zip(args, array.shape, strict=True)), f"read {e} outside at {args}"
        return sp.Float(array[tuple(int(a) for a in args)], 30)
    if isinstance(e, fn.between):
        x, lo, hi = args
        return sp.Integer(bool(lo <= x <= hi))
    if isinstance(e, fn.divides):
        m, x = args
        assert x.is_Integer, f"{e}: divisibility of a non-integer {x}"
        return sp.Integer(int(x) % int(m) == 0)
    if isinstance(e, fn.eq):
        return sp.Integer(bool(args[0] == args[1]))
    return e.func(*args)


def evaluate_gather(gathered, shape, arrays):
    """T[a] = Σ_rest body over the gather form's domain, exactly."""
    domain, targets, body = gathered
    assert is_selection(targets, dict(domain), shape)
    result = np.zeros(shape)
    symbols = [s for s, _ in domain]
    for point in np.ndindex(*[int(n) for _, n in domain]):
        values = dict(zip(symbols, (sp.Integer(v) for v in point), strict=True))
        target = tuple(int(values[t]) for t in targets)
        result[target] += float(exact(body.xreplace(values), arrays))
    return result


def test_gather_form_unit_stride():
    y, i = fresh_indices([5, 3])
    domain = ((y, 5), (i, 3))
    body = access("X", (y,)) * access("K", (i,))
    gathered = gather_form(domain, (y + i,), body, (7,))
    assert gathered is not None
    new_domain, targets, new_body = gathered
    assert len(targets) == 1 and dict(new_domain)[targets[0]] == 7
    assert not new_body.atoms(fn.divides), new_body
    rng = np.random.default_rng(0)
    X, K = rng.standard_normal(5), rng.standard_normal(3)
    expected = scatter_reference(domain, (y + i,), lambda v: X[v[y]] * K[v[i]], (7,))
    np.testing.assert_allclose(evaluate_gather(gathered, (7,), {"X": X, "K": K}), expected, rtol=1e-14)
    np.testing.assert_allclose(expected, np.convolve(X, K), rtol=1e-14)


def test_gather_form_stride_two_has_a_divisibility_guard():
    y, i = fresh_indices([5, 3])
    domain = ((y, 5), (i, 3))
    body = access("X", (y,)) * access("K", (i,))
    out = (2 * y + i,)
    gathered = gather_form(domain, out, body, (11,))
    assert gathered is not None
    _, _, new_body = gathered
    (guard,) = new_body.atoms(fn.divides)
    assert guard.args[0] == 2
    rng = np.random.default_rng(1)
    X, K = rng.standard_normal(5), rng.standard_normal(3)
    expected = scatter_reference(domain, out, lambda v: X[v[y]] * K[v[i]], (11,))
    np.testing.assert_allclose(evaluate_gather(gathered, (11,), {"X": X, "K": K}), expected, rtol=1e-14)


def test_gather_form_strided_padded_two_dimensional():
    """A conv_transpose's scatter out[s·h + d·i − p] (stride 2 and 3, padding 1 cropping both ends): the gather
    equals the brute-force scatter."""
    h, w, i, j = fresh_indices([3, 4, 3, 2])
    domain = ((h, 3), (w, 4), (i, 3), (j, 2))
    out = (2 * h + 2 * i - 1, 3 * w + j - 1)
    shape = (2 * 2 + 2 * 2 - 2 + 1, 3 * 3 + 1 - 2 + 1)           # (7, 9): −1 and the last row/column cropped
    body = access("X", (h, w)) * access("K", (i, j))
    gathered = gather_form(domain, out, body, shape)
    assert gathered is not None
    rng = np.random.default_rng(2)
    X, K = rng.standard_normal((3, 4)), rng.standard_normal((3, 2))
    expected = scatter_reference(domain, out, lambda v: X[v[h], v[w]] * K[v[i], v[j]], shape)
    np.testing.assert_allclose(evaluate_gather(gathered, shape, {"X": X, "K": K}), expected, rtol=1e-14)


def test_gather_form_mixed_radix():
    """c·9 + i·3 + j is a flattened index: solved with floor and mod, no guard left."""
    c, i, j = fresh_indices([2, 3, 3])
    domain = ((c, 2), (i, 3), (j, 3))
    out = (c * 9 + i * 3 + j,)
    body = access("X", (c, i, j))
    gathered = gather_form(domain, out, body, (18,))
    assert gathered is not None
    new_domain, targets, new_body = gathered
    assert len(new_domain) == 1, new_domain                      # nothing left to sum over
    assert not new_body.atoms(fn.guarded), new_body
    X = np.random.default_rng(3).standard_normal((2, 3, 3))
    np.testing.assert_allclose(evaluate_gather(gathered, (18,), {"X": X}), X.ravel(), rtol=1e-14)


def test_gather_form_non_affine_returns_none():
    i, j = fresh_indices([3, 3])
    domain = ((i, 3), (j, 3))
    assert gather_form(domain, (i * j,), access("X", (i, j)), (9,)) is None
    assert gather_form(((i, 3),), (i * i,), access("X", (i,)), (9,)) is None
    assert gather_form(((i, 3),), (access("L", (i,)),), access("X", (i,)), (4,)) is None


def test_gather_form_diagonal_gives_an_equality_guard():
    (i,) = fresh_indices([4])
    gathered = gather_form(((i, 4),), (i, i), access("X", (i,)), (4, 4))
    assert gathered is not None
    new_domain, targets, new_body = gathered
    assert len(targets) == 2 and targets[0] != targets[1]
    equalities = new_body.atoms(fn.eq)
    assert equalities and any(set(e.args) == set(targets) for e in equalities), new_body
    X = np.random.default_rng(4).standard_normal(4)
    np.testing.assert_allclose(evaluate_gather(gathered, (4, 4), {"X": X}), np.diag(X), rtol=1e-14)


def test_holds_everywhere():
    i, j = index_symbol("i"), index_symbol("j")
    box = {i: 4, j: 3}
    assert holds_everywhere(fn.between(i + j, 0, 5), box)
    assert not holds_everywhere(fn.between(i + j, 0, 4), box)
    assert holds_everywhere(fn.between(i - j, -2, 3), box)
    assert not holds_everywhere(fn.between(i - j, -1, 3), box)
    assert not holds_everywhere(fn.between(i - 1, 0, 3), box)
    assert holds_everywhere(fn.between(2 * i + 1, 1, 7), box)
    assert holds_everywhere(fn.divides(sp.Integer(2), 2 * i + 4 * j + 6), box)
    assert not holds_everywhere(fn.divides(sp.Integer(2), 2 * i + 1), box)
    assert not holds_everywhere(fn.divides(sp.Integer(2), i), box)
    assert not holds_everywhere(fn.divides(sp.Integer(2), 2 * i + j), box)
    b = index_symbol("b")
    assert not holds_everywhere(fn.between(b, 0, 5), {b: BATCH})     # a symbolic extent: unknown, not true
    assert not holds_everywhere(fn.eq(i, j), box)                    # only range and divisibility guards


def test_prune_guards_drops_only_the_conditions_that_always_hold():
    i, j = index_symbol("i"), index_symbol("j")
    box = {i: 4, j: 3}
    read = access("X", (i, j))
    always, sometimes = fn.between(i, 0, 3), fn.between(i + j - 1, 0, 4)
    pruned = prune_guards(fn.guarded(read, 0, always, sometimes) + 1, box)
    (g,) = pruned.atoms(fn.guarded)
    assert g.args[2:] == (sometimes,) and g.args[0] == read
    assert prune_guards(fn.guarded(read, 0, always, fn.between(j, 0, 2)), box) == read
    stride = fn.divides(sp.Integer(2), i)
    assert prune_guards(fn.guarded(read, -sp.oo, stride), box) == fn.guarded(read, -sp.oo, stride)


# ---------------------------------------------------------------- 4. errors
def _lib(torch=None):
    """symnet or PyTorch behind the same names, so each error case runs on both."""
    if torch is None:
        return SimpleNamespace(F=F, nn=sn.nn, ones=sn.ones, float64=sn.float64, int64=sn.int64)
    return SimpleNamespace(F=torch.nn.functional, nn=torch.nn, ones=torch.ones, float64=torch.float64,
                           int64=torch.int64)


# name -> (make(lib), symnet's exception, regexes the message must match)
ERRORS = {
    "conv2d_on_2d_input": (lambda m: m.F.conv2d(m.ones(5, 7), m.ones(4, 3, 3, 3)), sn.ShapeError,
                           ["conv2d", r"\(5, 7\)"]),
    "conv2d_on_5d_input": (lambda m: m.F.conv2d(m.ones(1, 3, 2, 5, 7), m.ones(4, 3, 3, 3)), sn.ShapeError,
                           ["conv2d", r"\(1, 3, 2, 5, 7\)"]),
    "conv1d_on_4d_input": (lambda m: m.F.conv1d(m.ones(1, 3, 5, 7), m.ones(4, 3, 3)), sn.ShapeError,
                           ["conv1d", r"\(1, 3, 5, 7\)"]),
    "max_pool2d_on_1d_input": (lambda m: m.F.max_pool2d(m.ones(7), 2), sn.ShapeError, ["max_pool2d", r"\(7,\)"]),
    "channel_mismatch": (lambda m: m.F.conv2d(m.ones(1, 3, 5, 7), m.ones(4, 2, 3, 3)), sn.ShapeError,
                         [r"\(1, 3, 5, 7\)", r"\(4, 2, 3, 3\)", "3 channels"]),
    "conv_transpose_channel_mismatch": (
        lambda m: m.F.conv_transpose2d(m.ones(1, 3, 5, 7), m.ones(2, 4, 3, 3)), sn.ShapeError,
        [r"\(1, 3, 5, 7\)", r"\(2, 4, 3, 3\)"]),
    "kernel_larger_than_input": (lambda m: m.F.conv2d(m.ones(1, 3, 5, 7), m.ones(4, 3, 6, 3)), sn.ShapeError,
                                 [r"\(1, 3, 5, 7\)", "kernel size 6"]),
    "kernel_larger_than_padded_input": (
        lambda m: m.F.conv2d(m.ones(1, 3, 5, 7), m.ones(4, 3, 8, 3), padding=1), sn.ShapeError,
        [r"\(1, 3, 5, 7\)", "kernel size 8", "padded input size 7"]),
    "dilated_kernel_larger_than_input": (
        lambda m: m.F.conv1d(m.ones(1, 3, 5), m.ones(4, 3, 3), dilation=3), sn.ShapeError,
        [r"\(1, 3, 5\)", "dilated to 7"]),
    "pool_kernel_larger_than_input": (lambda m: m.F.avg_pool2d(m.ones(1, 3, 5, 7), 6), sn.ShapeError,
                                      [r"5, 7\)", "kernel"]),
    "groups_not_dividing_in_channels": (
        lambda m: m.F.conv2d(m.ones(1, 3, 5, 7), m.ones(4, 1, 3, 3), groups=2), sn.ShapeError,
        [r"\(1, 3, 5, 7\)", "groups=2"]),
    "groups_not_dividing_out_channels": (
        lambda m: m.F.conv2d(m.ones(1, 4, 5, 7), m.ones(3, 2, 3, 3), groups=2), sn.ShapeError,
        ["groups=2", r"\(3, 2, 3, 3\)"]),
    "module_groups": (lambda m: m.nn.Conv2d(3, 4, 3, groups=2), ValueError, ["in_channels", "groups"]),
    "mixed_float32_float64": (
        lambda m: m.F.conv2d(m.ones(1, 3, 5, 7), m.ones(4, 3, 3, 3, dtype=m.float64)), sn.DTypeError,
        ["float32", "float64"]),
    "mixed_bias_dtype": (
        lambda m: m.F.conv1d(m.ones(1, 3, 5), m.ones(4, 3, 3), m.ones(4, dtype=m.float64)), sn.DTypeError,
        ["float32", "float64"]),
    "int_input_to_conv": (
        lambda m: m.F.conv2d(m.ones(1, 3, 5, 7, dtype=m.int64), m.ones(4, 3, 3, 3)), sn.DTypeError,
        ["conv2d", "int64"]),
    "int_input_to_max_pool": (lambda m: m.F.max_pool2d(m.ones(1, 3, 5, 7, dtype=m.int64), 2), sn.DTypeError,
                              ["max_pool2d", "int64"]),
    "int_input_to_avg_pool": (lambda m: m.F.avg_pool1d(m.ones(1, 3, 5, dtype=m.int64), 2), sn.DTypeError,
                              ["avg_pool1d", "int64"]),
    "same_with_stride_2": (
        lambda m: m.F.conv2d(m.ones(1, 3, 5, 7), m.ones(4, 3, 3, 3), stride=2, padding="same"), ValueError,
        ["padding='same'", "strided"]),
    "max_pool_padding_over_half_kernel": (
        lambda m: m.F.max_pool2d(m.ones(1, 3, 5, 7), 3, padding=2), ValueError,
        ["padding 2", "half of the kernel size 3"]),
    "avg_pool_padding_over_half_kernel": (
        lambda m: m.F.avg_pool2d(m.ones(1, 3, 5, 7), 2, padding=2), ValueError, ["padding 2", "kernel size 2"]),
    "reflect_padding_equal_to_dim": (
        lambda m: m.F.pad(m.ones(1, 3, 5, 7), (0, 0, 5, 0), mode="reflect"), sn.ShapeError,
        [r"\(1, 3, 5, 7\)", r"\(5, 0\)", "dimension 5"]),
    "reflect_padding_over_dim": (
        lambda m: m.F.pad(m.ones(1, 3, 5, 7), (1, 9, 0, 0), mode="reflect"), sn.ShapeError,
        [r"\(1, 3, 5, 7\)", r"\(1, 9\)", "dimension 7"]),
    "circular_padding_over_dim": (
        lambda m: m.F.pad(m.ones(1, 3, 5, 7), (8, 0, 0, 0), mode="circular"), sn.ShapeError,
        [r"\(1, 3, 5, 7\)", r"\(8, 0\)", "dimension 7"]),
    "reflect_padding_of_too_few_dims": (
        lambda m: m.F.pad(m.ones(1, 3, 5, 7), (1, 2), mode="reflect"), NotImplementedError,
        ["padding size 2", "4D input", "reflect"]),
    "circular_padding_of_too_many_dims": (
        lambda m: m.F.pad(m.ones(5, 7), (1, 1, 1, 1), mode="circular"), NotImplementedError,
        ["padding size 4", "2D input", "circular"]),
    "fold_wrong_block_count": (
        lambda m: m.F.fold(m.ones(1, 12, 10), (5, 7), 2), sn.ShapeError,
        [r"\(1, 12, 10\)", "24 blocks", r"\(5, 7\)"]),
    "fold_channels_not_multiple_of_kernel": (
        lambda m: m.F.fold(m.ones(1, 10, 24), (5, 7), 2), sn.ShapeError, [r"\(1, 10, 24\)"]),
    "unfold_on_5d_input": (lambda m: m.F.unfold(m.ones(1, 3, 5, 7, 2), 2), sn.ShapeError,
                           ["unfold", r"\(1, 3, 5, 7, 2\)"]),
    "conv_transpose_output_size_unreachable": (
        lambda m: m.nn.ConvTranspose2d(3, 2, 3, stride=2)(m.ones(1, 3, 5, 7), output_size=(20, 20)), ValueError,
        [r"\(20, 20\)", r"\[11, 12\]"]),
    "conv_transpose_output_size_too_small": (
        lambda m: m.nn.ConvTranspose2d(3, 2, 3, stride=2)(m.ones(1, 3, 5, 7), output_size=(11, 14)), ValueError,
        [r"\(11, 14\)", r"\[15, 16\]"]),
    "conv_transpose_output_padding_too_big": (
        lambda m: m.F.conv_transpose2d(m.ones(1, 3, 5, 7), m.ones(3, 2, 3, 3), stride=2, output_padding=2),
        ValueError, ["output_padding", "stride"]),
}


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_clear_error(name):
    make, error, patterns = ERRORS[name]
    with pytest.raises(error) as caught:
        make(_lib())
    message = str(caught.value)
    for pattern in patterns:
        assert re.search(pattern, message), f"{name}: {pattern!r} not in {message!r}"


#: symnet's pooling takes float tensors only; PyTorch 2.13 also pools int64 tensors (max_pool2d, avg_pool1d)
PYTORCH_ACCEPTS = {"int_input_to_max_pool", "int_input_to_avg_pool"}


@pytest.mark.parametrize("name", sorted(set(ERRORS) - PYTORCH_ACCEPTS))
def test_pytorch_rejects_the_same_call(name):
    """Every other error case is an error in PyTorch too (its exception types differ: RuntimeError mostly)."""
    torch = pytest.importorskip("torch")
    with pytest.raises((RuntimeError, ValueError, TypeError, IndexError, NotImplementedError)):
        ERRORS[name][0](_lib(torch))


# ---------------------------------------------------------------- 5. edges
def _grad(t):
    return np.asarray(t.grad.numpy() if hasattr(t.grad, "numpy") else t.grad)


def test_batch_of_one_equals_a_row_of_a_larger_batch():
    rng = np.random.default_rng(5)
    xs, w0 = rng.standard_normal((3, 2, 5, 7)), rng.standard_normal((3, 2, 3, 2))
    g = rng.standard_normal((3, 3, 3, 4))

    def run_batch(x0, g0):
        x = sn.tensor(x0, dtype=sn.float64, requires_grad=True)
        w = sn.tensor(w0, dtype=sn.float64, requires_grad=True)
        y = F.conv2d(x, w, stride=(2, 2), padding=(1, 1), dilation=(1, 2))
        (y * sn.tensor(g0, dtype=sn.float64)).sum().backward()
        return y.numpy(), _grad(x), _grad(w)

    y3, gx3, gw3 = run_batch(xs, g)
    gw_rows = np.zeros_like(gw3)
    for b in range(3):
        y1, gx1, gw1 = run_batch(xs[b:b + 1], g[b:b + 1])
        np.testing.assert_allclose(y1, y3[b:b + 1], rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(gx1, gx3[b:b + 1], rtol=1e-12, atol=1e-12)
        gw_rows += gw1
    np.testing.assert_allclose(gw_rows, gw3, rtol=1e-12, atol=1e-12)


UNBATCHED = {
    "conv2d": lambda x, w: F.conv2d(x, w, stride=2, padding=1),
    "conv_transpose2d": lambda x, w: F.conv_transpose2d(x, w.transpose(0, 1), stride=2, output_padding=1),
    "max_pool2d": lambda x, w: F.max_pool2d(x, 2, ceil_mode=True),
    "avg_pool2d": lambda x, w: F.avg_pool2d(x, 3, stride=2, padding=1),
    "adaptive_avg_pool2d": lambda x, w: F.adaptive_avg_pool2d(x, (2, 3)),
    "adaptive_max_pool2d": lambda x, w: F.adaptive_max_pool2d(x, (3, 2)),
    "unfold": lambda x, w: F.unfold(x, 2, stride=2),
    "pad_reflect": lambda x, w: F.pad(x, (1, 2, 2, 1), mode="reflect"),
}


@pytest.mark.parametrize("name", sorted(UNBATCHED))
def test_unbatched_input_equals_a_batch_of_one(name):
    rng = np.random.default_rng(6)
    x0, w0 = distinct(rng, (2, 5, 7)), rng.standard_normal((3, 2, 3, 3))
    results = []
    for shape in ((2, 5, 7), (1, 2, 5, 7)):
        x = sn.tensor(x0.reshape(shape), dtype=sn.float64, requires_grad=True)
        w = sn.tensor(w0, dtype=sn.float64)
        y = UNBATCHED[name](x, w)
        (y * y).sum().backward()
        results.append((y.numpy(), _grad(x)))
    (y_u, g_u), (y_b, g_b) = results
    assert y_b.shape == (1, *y_u.shape), (y_u.shape, y_b.shape)
    np.testing.assert_allclose(y_u, y_b[0], rtol=1e-12)
    np.testing.assert_allclose(g_u, g_b[0], rtol=1e-12)


def _conv_with_gradients(seed, weight_shape, out_shape):
    """x0, w0, the upstream gradient g, the tensors x and w (gradients computed) and y = conv2d(x, w)."""
    rng = np.random.default_rng(seed)
    x0, w0, g = rng.standard_normal((2, 3, 5, 7)), rng.standard_normal(weight_shape), rng.standard_normal(out_shape)
    x = sn.tensor(x0, dtype=sn.float64, requires_grad=True)
    w = sn.tensor(w0, dtype=sn.float64, requires_grad=True)
    y = F.conv2d(x, w)
    assert y.shape == out_shape
    (y * sn.tensor(g, dtype=sn.float64)).sum().backward()
    return x0, w0, g, x, w, y


def test_one_by_one_kernel_is_a_channel_matmul():
    x0, w0, g, x, w, y = _conv_with_gradients(7, (4, 3, 1, 1), (2, 4, 5, 7))
    W = w0[:, :, 0, 0]
    np.testing.assert_allclose(y.numpy(), np.einsum("oc,bchw->bohw", W, x0), rtol=1e-12)
    np.testing.assert_allclose(_grad(x), np.einsum("oc,bohw->bchw", W, g), rtol=1e-12)
    np.testing.assert_allclose(_grad(w)[:, :, 0, 0], np.einsum("bchw,bohw->oc", x0, g), rtol=1e-12)


def test_kernel_as_large_as_the_input_is_a_dot_product():
    x0, w0, g, x, w, y = _conv_with_gradients(8, (4, 3, 5, 7), (2, 4, 1, 1))
    np.testing.assert_allclose(y.numpy()[:, :, 0, 0], np.einsum("bchw,ochw->bo", x0, w0), rtol=1e-12)
    np.testing.assert_allclose(_grad(x), np.einsum("ochw,bo->bchw", w0, g[:, :, 0, 0]), rtol=1e-12)
    np.testing.assert_allclose(_grad(w), np.einsum("bchw,bo->ochw", x0, g[:, :, 0, 0]), rtol=1e-12)
    pooled = F.max_pool2d(sn.tensor(x0, dtype=sn.float64), (5, 7))
    np.testing.assert_array_equal(pooled.numpy()[:, :, 0, 0], x0.max(axis=(2, 3)))


EMPTY_BATCH = {   # PyTorch 2.13 accepts all of these with N = 0: the output has N = 0, the gradients are empty/zero
    "conv2d": (lambda x, w: F.conv2d(x, w, stride=2, padding=1), (0, 4, 3, 4)),
    "conv_transpose2d": (lambda x, w: F.conv_transpose2d(x, w.transpose(0, 1), stride=2), (0, 4, 11, 15)),
    "max_pool2d": (lambda x, w: F.max_pool2d(x, 2), (0, 3, 2, 3)),
    "avg_pool2d": (lambda x, w: F.avg_pool2d(x, 2, padding=1), (0, 3, 3, 4)),
    "adaptive_avg_pool2d": (lambda x, w: F.adaptive_avg_pool2d(x, (2, 3)), (0, 3, 2, 3)),
    "pad_reflect": (lambda x, w: F.pad(x, (1, 1, 1, 1), mode="reflect"), (0, 3, 7, 9)),
    "unfold": (lambda x, w: F.unfold(x, 2), (0, 12, 24)),
}


@pytest.mark.parametrize("name", sorted(EMPTY_BATCH))
def test_empty_batch(name):
    function, shape = EMPTY_BATCH[name]
    x = sn.zeros(0, 3, 5, 7, dtype=sn.float64, requires_grad=True)
    w = sn.tensor(np.random.default_rng(9).standard_normal((4, 3, 3, 3)), dtype=sn.float64, requires_grad=True)
    y = function(x, w)
    assert y.shape == shape and y.numpy().shape == shape
    (y * 2.0).sum().backward()
    assert _grad(x).shape == (0, 3, 5, 7)
    if w.grad is not None:
        np.testing.assert_array_equal(_grad(w), np.zeros((4, 3, 3, 3)))


def test_empty_batch_shapes_are_pytorchs():
    torch = pytest.importorskip("torch")
    for name, (_, shape) in EMPTY_BATCH.items():
        x = torch.zeros(0, 3, 5, 7, dtype=torch.float64, requires_grad=True)
        w = torch.ones(4, 3, 3, 3, dtype=torch.float64)
        torch_fn = {"conv2d": lambda x, w: torch.nn.functional.conv2d(x, w, stride=2, padding=1),
                    "conv_transpose2d": lambda x, w: torch.nn.functional.conv_transpose2d(x, w.transpose(0, 1),
                                                                                           stride=2),
                    "max_pool2d": lambda x, w: torch.nn.functional.max_pool2d(x, 2),
                    "avg_pool2d": lambda x, w: torch.nn.functional.avg_pool2d(x, 2, padding=1),
                    "adaptive_avg_pool2d": lambda x, w: torch.nn.functional.adaptive_avg_pool2d(x, (2, 3)),
                    "pad_reflect": lambda x, w: torch.nn.functional.pad(x, (1, 1, 1, 1), mode="reflect"),
                    "unfold": lambda x, w: torch.nn.functional.unfold(x, 2)}[name]
        assert tuple(torch_fn(x, w).shape) == shape, name


NAN, INF = float("nan"), float("inf")
#: one NaN or ±inf per window at most; PyTorch 2.13's answer for max_pool2d(x, 2, return_indices=True)
SPECIALS = np.array([[[[1.0, NAN, 3.0, 4.0],
                       [5.0, 6.0, 7.0, INF],
                       [-INF, 0.0, 1.0, 2.0],
                       [1.0, 1.0, 1.0, 1.0]]]])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_max_pool_nan_wins_and_inf_is_a_maximum(dtype):
    x = sn.tensor(SPECIALS, dtype=getattr(sn, dtype), requires_grad=True)
    y, indices = F.max_pool2d(x, 2, return_indices=True)
    y.sum().backward()
    np.testing.assert_array_equal(y.numpy(), np.array([[[[NAN, INF], [1.0, 2.0]]]]))
    np.testing.assert_array_equal(indices.numpy(), [[[[1, 7], [12, 11]]]])
    np.testing.assert_array_equal(_grad(x), [[[[0, 1, 0, 0], [0, 0, 0, 1], [0, 0, 0, 1], [1, 0, 0, 0]]]])
    assert y.numpy().dtype == np.dtype(dtype) and _grad(x).dtype == np.dtype(dtype)


def _torch_max_pool_compare(a, **kwargs):
    torch = pytest.importorskip("torch")
    g = np.random.default_rng(10).standard_normal
    x = sn.tensor(a, dtype=sn.float64, requires_grad=True)
    y, indices = F.max_pool2d(x, return_indices=True, **kwargs)
    weights = g(y.shape)
    (y * sn.tensor(weights, dtype=sn.float64)).sum().backward()
    tx = torch.tensor(a, requires_grad=True)
    ty, ti = torch.nn.functional.max_pool2d(tx, return_indices=True, **kwargs)
    (ty * torch.tensor(weights)).sum().backward()
    np.testing.assert_array_equal(y.numpy(), ty.detach().numpy())
    np.testing.assert_array_equal(indices.numpy(), ti.numpy(), err_msg=f"indices, {kwargs}")
    np.testing.assert_allclose(_grad(x), tx.grad.numpy(), rtol=1e-12, atol=1e-12, err_msg=f"gradient, {kwargs}")


@pytest.mark.parametrize("kwargs", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1),
                                    dict(kernel_size=2, stride=1, dilation=2, ceil_mode=True)],
                         ids=["k2", "k3s2p1", "dilated_ceil"])
def test_max_pool_with_isolated_nans_and_infs_matches_pytorch(kwargs):
    rng = np.random.default_rng(11)
    a = distinct(rng, (2, 2, 5, 7))
    for position, value in [((0, 0, 0, 0), NAN), ((0, 1, 2, 3), NAN), ((1, 0, 4, 6), NAN), ((1, 1, 0, 0), INF),
                            ((1, 0, 2, 2), -INF), ((0, 1, 4, 0), INF)]:
        a[position] = value
    _torch_max_pool_compare(a, **kwargs)


@pytest.mark.parametrize("kwargs", [dict(kernel_size=3, stride=2, padding=1), dict(kernel_size=2, stride=1, padding=1)],
                         ids=["k3s2p1", "k2s1p1"])
def test_max_pool_window_of_minus_inf_never_picks_the_padding(kwargs):
    """A window whose real elements are all −inf: PyTorch picks the first real element (index ≥ 0, and the
    gradient reaches the input); the −inf fill of the padding must not count as a tie that comes first."""
    a = np.full((1, 1, 3, 4), -INF)
    x = sn.tensor(a, dtype=sn.float64, requires_grad=True)
    y, indices = F.max_pool2d(x, return_indices=True, **kwargs)
    y.sum().backward()
    assert (indices.numpy() >= 0).all(), f"indices into the padding: {indices.numpy()}"
    assert _grad(x).sum() == y.numel(), f"gradient lost in the padding: {_grad(x)}"
    _torch_max_pool_compare(a, **kwargs)


def test_max_pool_several_nans_in_one_window_match_pytorch():
    """PyTorch's CPU kernel takes a NaN whenever it meets one, so of several NaNs in a window the last (in
    row-major order) gets the index and the gradient."""
    a = np.array([[[[NAN, NAN, 1.0, 2.0], [0.0, 3.0, NAN, 4.0], [5.0, 6.0, 7.0, 8.0]]]])
    _torch_max_pool_compare(a, kernel_size=2, ceil_mode=True)


def test_adaptive_max_pool_specials_match_pytorch():
    torch = pytest.importorskip("torch")
    a = distinct(np.random.default_rng(12), (1, 2, 5, 7))
    a[0, 0, 1, 1], a[0, 0, 3, 5], a[0, 1, :2, :3] = NAN, INF, -INF
    x = sn.tensor(a, dtype=sn.float64, requires_grad=True)
    y, indices = F.adaptive_max_pool2d(x, (3, 4), return_indices=True)
    y.sum().backward()
    tx = torch.tensor(a, requires_grad=True)
    ty, ti = torch.nn.functional.adaptive_max_pool2d(tx, (3, 4), return_indices=True)
    ty.sum().backward()
    np.testing.assert_array_equal(y.numpy(), ty.detach().numpy())
    np.testing.assert_array_equal(indices.numpy(), ti.numpy())
    np.testing.assert_array_equal(_grad(x), tx.grad.numpy())


def test_max_pool_ties_go_to_the_first_in_row_major_window_order():
    # overlapping 2×2 windows, stride 1, on a constant: every window's first element is its top-left
    x = sn.tensor(np.full((1, 1, 4, 5), 2.5), dtype=sn.float64, requires_grad=True)
    y, indices = F.max_pool2d(x, 2, stride=1, return_indices=True)
    y.sum().backward()
    expected = np.zeros((4, 5))
    expected[:3, :4] = 1
    np.testing.assert_array_equal(_grad(x)[0, 0], expected)
    np.testing.assert_array_equal(indices.numpy()[0, 0], np.arange(20).reshape(4, 5)[:3, :4])
    # a tie across rows: the window [[1, 3], [3, 0]] sends its gradient to (0, 1), not (1, 0)
    t = sn.tensor([[[[1.0, 3.0], [3.0, 0.0]]]], requires_grad=True)
    out, idx = F.max_pool2d(t, 2, return_indices=True)
    out.sum().backward()
    assert idx.numpy().ravel().tolist() == [1] and _grad(t).ravel().tolist() == [0, 1, 0, 0]
    # 1-d and 3-d: the first of equal maxima
    v = sn.tensor([[[0.0, 4.0, 4.0, 4.0, 1.0]]], requires_grad=True)
    F.max_pool1d(v, 3, stride=2).sum().backward()
    assert _grad(v).ravel().tolist() == [0, 1, 1, 0, 0]           # windows [0, 4, 4] and [4, 4, 1]
    c = sn.tensor(np.ones((1, 1, 2, 2, 2)), requires_grad=True)
    F.max_pool3d(c, 2).sum().backward()
    assert _grad(c).ravel().tolist() == [1, 0, 0, 0, 0, 0, 0, 0]


def test_max_pool_ties_match_pytorch():
    torch = pytest.importorskip("torch")
    a = np.random.default_rng(13).integers(0, 3, (2, 2, 5, 7)).astype(np.float64)
    for kwargs in (dict(kernel_size=3, stride=1, padding=1), dict(kernel_size=(2, 3), stride=2, ceil_mode=True)):
        x = sn.tensor(a, dtype=sn.float64, requires_grad=True)
        y, indices = F.max_pool2d(x, return_indices=True, **kwargs)
        y.sum().backward()
        tx = torch.tensor(a, requires_grad=True)
        ty, ti = torch.nn.functional.max_pool2d(tx, return_indices=True, **kwargs)
        ty.sum().backward()
        np.testing.assert_array_equal(indices.numpy(), ti.numpy(), err_msg=str(kwargs))
        np.testing.assert_array_equal(_grad(x), tx.grad.numpy(), err_msg=str(kwargs))


def test_float32_and_float64_agree_and_keep_their_dtype():
    rng = np.random.default_rng(14)
    x0, w0 = rng.standard_normal((2, 2, 5, 7)), rng.standard_normal((3, 2, 3, 3))
    results = {}
    for dtype in ("float32", "float64"):
        x = sn.tensor(x0, dtype=getattr(sn, dtype), requires_grad=True)
        w = sn.tensor(w0, dtype=getattr(sn, dtype), requires_grad=True)
        h = F.conv2d(F.pad(x, (1, 1, 1, 1), mode="circular"), w, stride=(1, 2))
        y = F.avg_pool2d(F.max_pool2d(h, 2, stride=1, padding=1), 2, ceil_mode=True)
        y = F.conv_transpose2d(y, w, stride=2)
        (y * y).mean().backward()
        assert y.dtype == getattr(sn, dtype) and y.numpy().dtype == np.dtype(dtype)
        assert _grad(x).dtype == np.dtype(dtype) and _grad(w).dtype == np.dtype(dtype)
        results[dtype] = (y.numpy(), _grad(x), _grad(w))
    for single, double in zip(results["float32"], results["float64"], strict=True):
        scale = max(np.abs(double).max(), 1.0)
        np.testing.assert_allclose(single, double, rtol=1e-4, atol=1e-5 * scale)


def test_conv_transpose_output_size_picks_the_output_padding():
    layer = sn.nn.ConvTranspose2d(3, 2, 3, stride=2).double()
    x = sn.tensor(np.random.default_rng(15).standard_normal((1, 3, 5, 7)), dtype=sn.float64)
    for size, expected in [((11, 15), (1, 2, 11, 15)), ((12, 16), (1, 2, 12, 16)), ((1, 2, 12, 15), (1, 2, 12, 15))]:
        assert layer(x, output_size=size).shape == expected
    small, large = layer(x, output_size=(11, 15)).numpy(), layer(x, output_size=(12, 16)).numpy()
    np.testing.assert_allclose(large[:, :, :11, :15], small, rtol=1e-12)       # output_padding only adds a border


# ---------------------------------------------------------------- 6. two threads
THREADS = textwrap.dedent("""
    import threading
    import numpy as np
    import symnet as sn
    import symnet.nn.functional as F

    def model_a(seed):
        layers = sn.nn.Sequential(sn.nn.Conv2d(2, 4, 3, stride=2, padding=1), sn.nn.ReLU(), sn.nn.MaxPool2d(2),
                                  sn.nn.Flatten(), sn.nn.Linear(4 * 2 * 2, 3)).double()
        return layers, (6, 2, 7, 9), lambda out, y: F.cross_entropy(out, y), 3

    def model_b(seed):
        layers = sn.nn.Sequential(sn.nn.Conv1d(3, 4, 3, dilation=2, padding=2), sn.nn.Tanh(),
                                  sn.nn.ConvTranspose1d(4, 2, 4, stride=2, padding=1), sn.nn.AvgPool1d(3, 2),
                                  sn.nn.Flatten(), sn.nn.Linear(2 * 10, 1)).double()
        return layers, (5, 3, 11), lambda out, y: F.mse_loss(out, y), None

    def train(make, seed):
        layers, shape, loss_fn, classes = make(seed)
        rng = np.random.default_rng(seed)
        layers.load_state_dict({k: rng.uniform(-0.5, 0.5, v.shape) for k, v in layers.state_dict().items()})
        x = sn.tensor(rng.standard_normal(shape), dtype=sn.float64)
        y = sn.tensor(rng.integers(0, classes, shape[0])) if classes else \\
            sn.tensor(rng.standard_normal((shape[0], 1)), dtype=sn.float64)
        opt = sn.optim.SGD(layers.parameters(), lr=0.05, momentum=0.9)
        losses = []
        for _ in range(20):
            opt.zero_grad()
            loss = loss_fn(layers(x), y)
            loss.backward()
            opt.step()
            losses.append(float(loss.item()))
        return losses, [p.numpy().copy() for p in layers.parameters()]

    jobs = [(model_a, 1), (model_b, 2)]
    results, errors = [None, None], []

    def work(k):
        try:
            results[k] = train(*jobs[k])
        except BaseException as exc:
            errors.append(repr(exc))

    threads = [threading.Thread(target=work, args=(k,)) for k in range(2)]   # first: both compile at once
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    alone = [train(*job) for job in jobs]
    for (losses_t, params_t), (losses_s, params_s) in zip(results, alone):
        assert losses_t == losses_s, (losses_t, losses_s)
        assert losses_s[-1] < losses_s[0], losses_s
        for a, b in zip(params_t, params_s):
            assert np.array_equal(a, b)
    print("ok")
""")


def test_two_threads_training_two_conv_models(tmp_path):
    root = str(Path(__file__).resolve().parents[1])       # the symnet this test imports, not another install
    env = {"SYMNET_CACHE_DIR": str(tmp_path), "PATH": "/usr/bin:/bin", "PYTHONPATH": root}
    out = subprocess.run([sys.executable, "-c", THREADS], capture_output=True, text=True, timeout=300, env=env)
    assert out.returncode == 0, f"exit {out.returncode} (a negative code is a signal)\n{out.stderr[-3000:]}"
    assert out.stdout.strip().endswith("ok")
