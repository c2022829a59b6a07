"""Derivatives as tensors (issue 13): ``sn.autograd.grad`` with ``create_graph`` to any order, ``backward``'s
arguments, hooks and ``retain_grad``, ``sn.autograd.functional``, and ``sn.grad`` composing its own expressions.

Parity: the computations of ``tests/fixtures/make_autograd_fixtures.py`` run here on symnet against what they
gave on PyTorch 2.13 (``autograd.npz``); finite differences check the third derivative independently.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

import symnet as sn
import symnet.func  # noqa: F401 - sn.func, until the package exports it
from symnet.errors import GradError, NotSupportedError, ShapeError
from tests.fixtures import make_autograd_fixtures as cases
from tests.recomputed import assert_recomputed

FIXTURES = np.load(Path(__file__).parent / "fixtures" / "autograd.npz")
RTOL = {"float64": 1e-9, "float32": 1e-4}
DEEP = os.environ.get("SYMNET_DEEP") == "1"


def _close(actual, key: str, dtype: str) -> None:
    expected = FIXTURES[key]
    actual = np.asarray(actual)
    assert actual.shape == expected.shape, key
    np.testing.assert_allclose(actual, expected, rtol=RTOL[dtype], atol=RTOL[dtype] * 1e-3, err_msg=key)


# ---------------------------------------------------------------- parity with PyTorch

def test_assigning_a_gradient_of_another_shape_or_dtype_is_refused_as_pytorch_refuses_it():
    """PyTorch checks ``.grad = g`` when it is assigned; an optimizer would otherwise meet the wrong shape later."""
    x = sn.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(ShapeError, match=r"gradient of size '\[3\]' to a tensor of size '\[2\]'"):
        x.grad = sn.tensor([1.0, 1.0, 1.0])
    with pytest.raises(TypeError, match="gradient with dtype 'float64' to a tensor with dtype 'float32'"):
        x.grad = sn.tensor([1.0, 1.0], dtype=sn.float64)
    with pytest.raises(TypeError, match="Tensor or None"):
        x.grad = np.ones(2, np.float32)
    assert x.grad is None
    x.grad = sn.tensor([1.0, 1.0])
    (x * 2).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 3.0])
    x.grad = None
    assert x.grad is None


def test_iterating_a_0d_tensor_is_an_error_and_a_tensor_iterates_its_rows():
    with pytest.raises(TypeError, match="iteration over a 0-d tensor"):
        list(sn.tensor(1.0))
    rows = list(sn.tensor([[1.0, 2.0], [3.0, 4.0]]))
    assert [r.tolist() for r in rows] == [[1.0, 2.0], [3.0, 4.0]]
    assert list(sn.zeros(0, 3)) == []
    a, b = sn.tensor([5, 6])
    assert (a.item(), b.item()) == (5, 6)


@pytest.mark.parametrize("dtype", cases.DTYPES)
@pytest.mark.parametrize("case", sorted(cases.CASES))
def test_matches_pytorch(case: str, dtype: str):
    """Orders 1-3 (scalar, MLP by its inputs), the PINN-like loss's parameter gradient, the gradient penalty,
    Jacobians/Hessians/jvp/vjp/hvp/vhp, hooks, retain_grad, unused inputs, several outputs, intermediates,
    torch.func's transforms, and second derivatives through convolution, pooling and cross entropy."""
    computed = cases.CASES[case](sn, cases.leaves(sn, dtype))
    stored = {k.split("/", 2)[2] for k in FIXTURES.files if k.startswith(f"{dtype}/{case}/")}
    assert set(computed) == stored
    for key, value in computed.items():
        _close(value, f"{dtype}/{case}/{key}", dtype)


@pytest.mark.filterwarnings("ignore:Using backward\\(\\) with create_graph")
@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")
def test_fixtures_are_what_pytorch_computes_now():
    torch = pytest.importorskip("torch")
    torch.set_default_dtype(torch.float32)
    live = cases.compute(torch)
    assert set(live) == set(FIXTURES.files)
    for key, value in live.items():
        assert_recomputed(FIXTURES[key], value, key)


def test_errors_are_pytorchs():
    """Grad of a non-scalar without grad_outputs, an input not in the graph, create_graph on a graph made under
    no_grad, an input that does not require grad, retain_grad and hooks without grad: PyTorch's type and words."""
    for name, message in cases.errors(sn).items():
        assert message == str(FIXTURES[f"error/{name}"]), name


@pytest.mark.parametrize("call, error, match", [
    (lambda x: sn.autograd.grad(x.sum(), x, is_grads_batched=True), NotSupportedError, "is_grads_batched"),
    (lambda x: sn.autograd.grad(x.sum(), x, allow_unused=False, materialize_grads=True), ValueError,
     "allow_unused"),
    (lambda x: sn.autograd.grad(x * 2, x, grad_outputs=sn.ones(2)), GradError, r"grad_output\[0\] has a shape"),
    (lambda x: sn.autograd.grad([x.sum(), x.sum()], x, grad_outputs=[None]), GradError, "one per output"),
    (lambda x: sn.autograd.grad(x.sum(), [x, 3.0]), TypeError, "must be tensors"),
    (lambda x: sn.autograd.functional.hessian(lambda a: a * 2, x), GradError, "single element"),
    (lambda x: sn.autograd.functional.vjp(lambda a: a * 2, x), GradError, "v can only be None"),
    (lambda x: sn.autograd.functional.jacobian(lambda a, b: a * 2, (x, x * 1), strict=True), GradError,
     "independent of input 1"),
    (lambda x: x.register_hook(lambda g: sn.ones(5)) and sn.autograd.grad(x.sum(), x), ShapeError, "hook"),
])
def test_refusals_name_the_problem(call, error, match):
    x = sn.tensor([1.0, 2.0, 3.0], dtype=sn.float64, requires_grad=True)
    with pytest.raises(error, match=match):
        call(x)


# ---------------------------------------------------------------- finite differences of the third derivative

def _mlp_second(L: dict, x: sn.Tensor, create_graph: bool = True) -> sn.Tensor:
    """∂²u/∂x₀∂x of the fixture MLP at the points ``x`` (by the sum trick: the points are independent)."""
    u = cases.mlp(x, *(L[k] for k in ("W1", "b1", "W2", "b2")))
    (g,) = sn.autograd.grad(u.sum(), x, create_graph=True)
    (g,) = sn.autograd.grad(g[:, 0].sum(), x, create_graph=create_graph)
    return g


def test_third_derivative_against_finite_differences():
    """The third derivative (grad of grad of grad) is the central difference of the exact second derivative."""
    L = cases.leaves(sn, "float64")
    third = cases.scalar_orders(sn, L)["d3"]
    h = 1e-4
    s0 = L["s"].item()

    def second(s: float) -> float:
        return float(cases.scalar_orders(sn, {"s": sn.tensor(s, dtype=sn.float64, requires_grad=True)})["d2"])

    assert third == pytest.approx((second(s0 + h) - second(s0 - h)) / (2 * h), rel=1e-6)
    x = L["x"]
    (g3,) = sn.autograd.grad(_mlp_second(L, x)[:, 0].sum(), x)
    for j in range(2):
        step = np.zeros(x.shape)
        step[:, j] = h

        def at(delta: np.ndarray) -> np.ndarray:
            moved = sn.tensor(x.numpy() + delta, dtype=sn.float64, requires_grad=True)
            return _mlp_second(L, moved, create_graph=False)[:, 0].numpy()

        np.testing.assert_allclose(g3.numpy()[:, j], (at(step) - at(-step)) / (2 * h), rtol=1e-6, atol=1e-8)


def test_higher_orders_match_sympy():
    """d^n/ds^n by n nested grads equals SymPy's own derivative of the same formula (orders 4, or 6 deep)."""
    s = sp.Symbol("s", real=True)
    formula = sp.sin(s) * s**3 + sp.exp(s / 2) * sp.tanh(s)
    x = sn.tensor(0.7, dtype=sn.float64, requires_grad=True)
    g = x.sin() * x**3 + (x / 2).exp() * x.tanh()
    for n in range(1, (6 if DEEP else 4) + 1):
        (g,) = sn.autograd.grad(g, x, create_graph=True)
        assert g.item() == pytest.approx(float(sp.diff(formula, s, n).subs(s, 0.7)), rel=1e-12), n


def test_two_threads_differentiate_to_second_order_at_once():
    """grad(create_graph=True) in two threads at the same time: each gets its own numbers."""
    L = cases.leaves(sn, "float64")
    points = [np.random.default_rng(n).uniform(-1, 1, (7, 2)) for n in range(2)]  # shapes no other test derives
    results: dict[tuple[int, int], np.ndarray] = {}
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for rep in range(3 if not DEEP else 20):
                results[n, rep] = _mlp_second(L, sn.tensor(points[n], requires_grad=True, dtype=sn.float64)).numpy()
        except BaseException as e:  # noqa: BLE001 - reported below, in the test's thread
            errors.append(e)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    expected = [_mlp_second(L, sn.tensor(p, requires_grad=True, dtype=sn.float64)).numpy() for p in points]
    assert len(results) == 2 * (3 if not DEEP else 20)
    for (n, _), value in results.items():
        np.testing.assert_allclose(value, expected[n], rtol=1e-12)
    assert not np.allclose(expected[0], expected[1])


# ---------------------------------------------------------------- PyTorch's rules

def test_requires_grad_and_grad_fn_follow_pytorch():
    x = sn.tensor([1.0, 2.0], requires_grad=True)
    c = sn.tensor([3.0, 4.0])
    y = x * c
    assert x.grad_fn is None and y.grad_fn is not None and y.requires_grad
    assert (c * 2).grad_fn is None and not (c * 2).requires_grad
    assert y.detach().grad_fn is None
    with sn.no_grad():
        assert (x * 2).grad_fn is None
    (plain,) = sn.autograd.grad((x**2).sum(), x)
    assert not plain.requires_grad and plain.grad_fn is None
    (graph,) = sn.autograd.grad((x**2).sum(), x, create_graph=True)
    assert graph.requires_grad and graph.grad_fn is not None
    y = (x**2).sum()
    with sn.no_grad():  # create_graph records even under no_grad, as PyTorch's
        (inside,) = sn.autograd.grad(y, x, create_graph=True)
    assert inside.requires_grad
    (constant,) = sn.autograd.grad((x * c).sum(), x, create_graph=True)  # the derivative does not depend on x
    assert not constant.requires_grad
    np.testing.assert_array_equal(constant.numpy(), c.numpy())



def test_a_tensor_computed_without_grad_is_a_leaf_whose_flag_can_be_set():
    """PyTorch's "What is torch.nn really?" starts ``weights = torch.randn(784, 10) / math.sqrt(784)`` then
    ``weights.requires_grad_()``; ``x = ones(3) * 2; x.requires_grad = True`` must give x a gradient, not None."""
    weights = sn.randn(4, 3) / 2.0
    assert weights.is_leaf and weights.grad_fn is None
    values = weights.numpy().copy()
    weights.requires_grad_()
    assert weights.is_leaf and weights.requires_grad
    (sn.ones(2, 4) @ weights).sum().backward()
    np.testing.assert_array_equal(weights.grad.numpy(), np.full((4, 3), 2.0, np.float32))
    np.testing.assert_array_equal(weights.numpy(), values)
    x = sn.ones(3) * 2
    x.requires_grad = True
    (x * x).sum().backward()
    assert x.grad.tolist() == [4.0, 4.0, 4.0]
    row = sn.zeros(2, 3)[0]  # a view of a tensor without grad: a leaf too
    row.requires_grad_()
    (row * 3).sum().backward()
    assert row.grad.tolist() == [3.0, 3.0, 3.0] and row.is_leaf


def test_a_computed_tensor_that_requires_grad_keeps_requiring_it():
    y = sn.ones(2, requires_grad=True) * 2
    assert not y.is_leaf and y.requires_grad_() is y and y.requires_grad
    for clear in (lambda: y.requires_grad_(False), lambda: setattr(y, "requires_grad", False)):
        with pytest.raises(sn.GradError, match="only change requires_grad flags of leaf variables"):
            clear()
    with pytest.raises(sn.DTypeError, match="floating point"):
        sn.ones(2, dtype=sn.int64).requires_grad = True
    y.detach().requires_grad = False  # a detached tensor is a leaf
    assert repr(y) == "tensor([2., 2.], grad_fn=<MulBackward0>)"  # PyTorch's: the op, not the flag
    assert repr(-y.sum()) == "tensor(-4., grad_fn=<NegBackward0>)"
    assert repr(sn.ones(1).requires_grad_()) == "tensor([1.], requires_grad=True)"



def test_grad_fn_next_functions_walk_back_to_the_leaves():
    """The 60-minute blitz prints ``loss.grad_fn.next_functions[0][0]``: PyTorch's walk back through the graph."""
    a, c = sn.ones(2, requires_grad=True), sn.ones(2)
    y = (a * c + c).sum()
    (add, index), = y.grad_fn.next_functions
    assert index == 0 and add.name() == "AddBackward0"
    (mul, _), (none, _) = add.next_functions
    assert mul.name() == "MulBackward0" and none is None
    (accumulate, _), (constant, _) = mul.next_functions
    assert accumulate.variable is a and accumulate.next_functions == () and constant is None
    assert repr(accumulate).startswith("<AccumulateGrad object at")

def test_grad_mode_switches():
    x = sn.tensor([1.0], requires_grad=True)
    with sn.no_grad():
        with sn.autograd.enable_grad():
            assert (x * 2).requires_grad
        assert not (x * 2).requires_grad
    sn.autograd.set_grad_enabled(False)
    assert not sn.is_grad_enabled()
    sn.autograd.set_grad_enabled(True)
    with sn.autograd.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert sn.is_grad_enabled()

    @sn.autograd.enable_grad()
    def recorded():
        return (x * 2).requires_grad

    with sn.no_grad():
        assert recorded()


def test_decorated_grad_modes_restore_the_callers_mode_when_nested_and_on_two_threads():
    """Each call of a decorated function is a block of its own (one shared instance restored the wrong mode after
    a nested call); ``set_grad_enabled`` as a decorator leaves the mode alone until the function runs, as PyTorch's."""
    import threading

    @sn.enable_grad()
    def nested(n):
        return nested(n - 1) if n else sn.is_grad_enabled()

    with sn.no_grad():
        assert nested(3)
        assert not sn.is_grad_enabled()

    @sn.set_grad_enabled(False)
    def off():
        return sn.is_grad_enabled()

    assert sn.is_grad_enabled() and not off() and sn.is_grad_enabled()

    @sn.no_grad()
    def slow(barrier):
        barrier.wait()
        return sn.is_grad_enabled()

    barrier, after = threading.Barrier(2), []

    def run(mode):
        with sn.set_grad_enabled(mode):
            assert not slow(barrier)
            after.append(sn.is_grad_enabled() == mode)

    threads = [threading.Thread(target=run, args=(mode,)) for mode in (True, False)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert after == [True, True]


def test_hooks_can_be_removed_and_may_return_nothing():
    x = sn.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    handle = x.register_hook(lambda g: g * 10)
    x.register_hook(seen.append)
    (x**2).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [20.0, 40.0])
    np.testing.assert_array_equal(seen[0].numpy(), [20.0, 40.0])
    handle.remove()
    x.grad = None
    (x**2).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 4.0])


def test_retain_grad_keeps_an_intermediate_gradient_and_accumulates():
    x = sn.tensor([1.0, 2.0], requires_grad=True)
    h = x * 3
    h.retain_grad()
    assert h.retains_grad and not x.retains_grad
    x.retain_grad()  # a leaf keeps its gradient anyway: nothing to do
    for _ in range(2):
        (h**2).sum().backward()
    np.testing.assert_array_equal(h.grad.numpy(), 2 * 2 * h.numpy())
    np.testing.assert_array_equal(x.grad.numpy(), 2 * 18 * x.numpy())


def test_backward_with_create_graph_accumulates_a_graph():
    x = sn.tensor([1.0, 2.0], dtype=sn.float64, requires_grad=True)
    (x**3).sum().backward(create_graph=True)
    assert x.grad.requires_grad
    (second,) = sn.autograd.grad(x.grad.sum(), x)
    np.testing.assert_array_equal(second.numpy(), 6 * x.numpy())
    (x**2).sum().backward()  # without a graph, added to the graph-holding .grad out of place
    np.testing.assert_array_equal(x.grad.numpy(), 3 * x.numpy() ** 2 + 2 * x.numpy())


def test_zero_dim_empty_and_python_scalar_cotangents():
    s = sn.tensor(1.5, dtype=sn.float64, requires_grad=True)
    (g,) = sn.autograd.grad(s.exp(), s, grad_outputs=2.0)
    assert g.shape == () and g.item() == pytest.approx(2 * np.exp(1.5), rel=1e-15)
    (g,) = sn.autograd.grad(s * s, s, grad_outputs=sn.tensor(3))  # an integer cotangent takes the output's dtype
    assert g.dtype == sn.float64 and g.item() == 9.0
    e = sn.zeros(0, 3, dtype=sn.float64, requires_grad=True)
    for create_graph in (False, True):
        (g,) = sn.autograd.grad((e.exp() * 2).sum(), e, create_graph=create_graph)
        assert g.shape == (0, 3) and g.dtype == sn.float64


def test_outputs_of_several_dtypes():
    x = sn.tensor([1.0, 2.0], dtype=sn.float64, requires_grad=True)
    (g,) = sn.autograd.grad([(x.float() ** 2).sum(), (x**3).sum()], x)
    assert g.dtype == sn.float64
    np.testing.assert_allclose(g.numpy(), 2 * x.numpy() + 3 * x.numpy() ** 2, rtol=1e-7)


def test_variable_is_a_leaf_that_requires_grad():
    v = sn.autograd.Variable(sn.tensor([2.0]), requires_grad=True)
    (v**2).sum().backward()
    assert v.is_leaf and v.grad.tolist() == [4.0]


def test_backward_fast_path_returns_once_watched_tensors_are_gone():
    """A hooked intermediate sends backward through the replaying path only while it lives."""
    import gc

    from symnet.frontend import autograd as engine

    x = sn.tensor([1.0, 2.0], requires_grad=True)
    h = x * 2
    h.register_hook(lambda g: g * 0)
    (h.sum() + x.sum()).backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 1.0])
    del h
    gc.collect()
    assert not engine._WATCHED


# ---------------------------------------------------------------- sn.grad composes its own expressions

def test_symbolic_grad_composes_to_any_order():
    w = sn.tensor(0.4, dtype=sn.float64, requires_grad=True, name="w")
    x = sn.tensor(1.3, dtype=sn.float64, requires_grad=True)  # unnamed: its symbol is found by the tensor
    y = (w.sin() * w * x).tanh() + w.sigmoid()
    first = sn.grad(y, w)
    second = sn.grad(first, w)
    third = sn.grad(second, w)
    mixed = sn.grad(second, x)
    symbols = {s.name: s for s in third.free_symbols | mixed.free_symbols}
    assert len(symbols) == 2
    at = {s: 0.4 if name == "w" else 1.3 for name, s in symbols.items()}
    numeric = [float(e.subs(at).evalf(30)) for e in (first, second, third, mixed)]
    exact = [g.item() for g in _orders(y, w, 3)]
    np.testing.assert_allclose(numeric[:3], exact, rtol=1e-12)
    (gw,) = sn.autograd.grad(y, w, create_graph=True)
    (gwx,) = sn.autograd.grad(sn.autograd.grad(gw, w, create_graph=True)[0], x)
    assert numeric[3] == pytest.approx(gwx.item(), rel=1e-12)
    assert sn.grad(sn.grad(w.sigmoid(), w), w) == sp.diff(sn.grad(w.sigmoid(), w), symbols["w"])


def _orders(y: sn.Tensor, w: sn.Tensor, n: int) -> list[sn.Tensor]:
    out, g = [], y
    for k in range(n):
        (g,) = sn.autograd.grad(g, w, create_graph=k < n - 1)
        out.append(g)
    return out


def test_symbolic_grad_of_a_derivative_tensor_prints_its_closed_form():
    w = sn.tensor(0.5, dtype=sn.float64, requires_grad=True, name="w")
    (g,) = sn.autograd.grad(w**3, w, create_graph=True)
    assert sp.simplify(sn.grad(g, w) - 6 * sp.Symbol("w", real=True)) == 0


def test_symbolic_grad_refuses_a_tensor_the_expression_does_not_read():
    w = sn.tensor(0.5, requires_grad=True, name="w")
    big = sn.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(GradError, match="create_graph"):
        sn.grad(sn.grad(w * 2, w), big)


# ---------------------------------------------------------------- forward mode against reverse mode

FORWARD_CASES = {
    "max(dim) and amax": lambda x: x.max(1).values * 2 + x.amax(0).sum(),
    "prod with a zero": lambda x: (x * sn.tensor([[1.0, 0.0, 1.0, 1.0]] * 3, dtype=x.dtype)).prod(1),
    "slices and padding": lambda x: sn.nn.functional.pad(x[:, 1:3], (1, 2)).sin() * 3,
    "softmax, logsumexp": lambda x: x.softmax(1) + x.logsumexp(1, keepdim=True),
    "cross entropy": lambda x: sn.nn.functional.cross_entropy(x, sn.tensor([1, 3, 0])),
    "gather by labels": lambda x: x.gather(1, sn.tensor([[0], [3], [2]])).exp(),
    "conv1d, strided and padded": lambda x: sn.nn.functional.conv1d(
        x[None], sn.tensor(np.linspace(-1, 1, 12).reshape(2, 3, 2), dtype=x.dtype), padding=1, stride=2),
    "matmul, relu": lambda x: (x @ x.T).relu(),
}


@pytest.mark.parametrize("name", sorted(FORWARD_CASES))
def test_forward_mode_equals_reverse_mode(name: str):
    """func.jvp (each definition's directional derivative) is jacrev's Jacobian times the tangent."""
    f = FORWARD_CASES[name]
    x = sn.tensor(np.random.default_rng(3).normal(size=(3, 4)), dtype=sn.float64)
    v = sn.tensor(np.random.default_rng(4).normal(size=(3, 4)), dtype=sn.float64)
    out, forward = sn.func.jvp(f, (x,), (v,))
    jac = sn.func.jacrev(f)(x).numpy()
    expected = jac.reshape(out.numel(), -1) @ v.numpy().ravel()
    assert forward.shape == out.shape
    np.testing.assert_allclose(forward.numpy().ravel(), expected, rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------- sn.func's own rules

def test_func_transforms_nest_without_confusing_their_variables():
    """grad(x ↦ grad(y ↦ x·y)(x)) is 1, not 2: the inner transform differentiates by its own alias of x."""
    x = sn.tensor(3.0, dtype=sn.float64)
    assert sn.func.grad(lambda x: sn.func.grad(lambda y: x * y)(x))(x).item() == 1.0
    (g, aux) = sn.func.grad(lambda x: ((x**2).sum(), x.sum()), has_aux=True)(sn.tensor([1.0, 2.0]))
    assert g.tolist() == [2.0, 4.0] and aux.item() == 3.0
    assert not g.requires_grad  # the outermost transform gives values
    with pytest.raises(GradError, match="scalar Tensor"):
        sn.func.grad(lambda x: x * 2)(sn.tensor([1.0, 2.0]))


def test_functional_call_swaps_weights_for_the_call_only():
    model = sn.nn.Linear(2, 1)
    before = model.weight
    weights = {"weight": sn.tensor([[1.0, -1.0]]), "bias": sn.tensor([0.5])}
    out = sn.func.functional_call(model, weights, (sn.tensor([[2.0, 3.0]]),))
    assert out.tolist() == [[-0.5]]
    assert model.weight is before and dict(model.named_parameters())["weight"] is before
    with pytest.raises(RuntimeError, match="Unexpected key"):
        sn.func.functional_call(model, {"nope": sn.ones(1)}, (sn.ones(1, 2),))


def test_vmap_is_one_re_indexed_program_not_a_loop():
    """The batch is an index of the traced graph: the same number of ops for 3 samples as for 40."""
    W = sn.tensor(np.linspace(-1, 1, 6).reshape(2, 3), dtype=sn.float64)
    labels = sn.tensor([1, 0, 1, 1])

    def per_sample(x, y):
        return sn.nn.functional.cross_entropy((W @ x)[None], y[None])

    sizes = []
    for n in (3, 40):
        x = sn.tensor(np.random.default_rng(n).normal(size=(n, 3)), dtype=sn.float64)
        out = sn.func.vmap(per_sample)(x, labels.repeat(10)[:n])
        assert out.shape == (n,)
        sizes.append(len(sn.trace([out]).specs))
        loop = [per_sample(x[k], labels.repeat(10)[k]).item() for k in range(n)]
        np.testing.assert_allclose(out.numpy(), loop, rtol=1e-12)
    assert sizes[0] == sizes[1]
    assert sn.func.vmap(lambda x: W.sum())(sn.ones(4, 3)).shape == (4,)  # independent of the sample: expanded
    with pytest.raises(ValueError, match="same size"):
        sn.func.vmap(lambda a, b: a + b)(sn.ones(2, 3), sn.ones(4, 3))
    with pytest.raises(ValueError, match="at least one input"):
        sn.func.vmap(lambda a: a, in_dims=None)(sn.ones(2))
