"""Formulas for people, and the structural cache that derives each graph once."""

import numpy as np

import symnet as sn
import symnet.nn.functional as F
from symnet import pipeline as program


def mlp(batch=8):
    rng = np.random.default_rng(0)
    X = sn.tensor(rng.standard_normal((batch, 4)), name="X")
    Y = sn.tensor(rng.integers(0, 3, batch), name="Y")
    W1 = sn.tensor(rng.standard_normal((5, 4)), requires_grad=True, name="W1")
    W2 = sn.tensor(rng.standard_normal((3, 5)), requires_grad=True, name="W2")
    Z1 = X @ W1.T
    Z1.name = "Z1"
    Z2 = Z1.relu() @ W2.T
    Z2.name = "Z2"
    return F.cross_entropy(Z2, Y), W1, W2


def test_mlp_formulas_in_index_notation():
    loss, _, _ = mlp()
    text = str(sn.formulas(loss))
    assert "Z1[i, j] = Σ_k W1[j, k]·X[i, k]" in text
    assert "δW1[j, k] = Σ_i X[i, k]·δZ1[i, j]" in text
    assert "δZ1[i, j] = step(Z1[i, j])·δ" in text
    assert "[j = Y[i]]/8" in text and "δZ2[i, j] = exp(" in text     # softmax − onehot
    assert "Heaviside" not in text and "Piecewise" not in text and "KroneckerDelta" not in text
    assert len(text.splitlines()) < 16


def test_latex_and_text_renderings():
    loss, _, _ = mlp()
    f = sn.formulas(loss)
    latex = f.latex()
    assert latex.startswith("\\begin{aligned}") and r"\sum_{i}" in latex and r"\delta W1" in latex
    assert f._repr_latex_().startswith("$$")
    assert "dW1[j, k] = sum_i(X[i, k]*dZ1[i, j])" in f.text() or "dW1[j, k] = sum_i" in f.text()
    assert all(ord(c) < 128 for c in f.text())


def test_scalar_graphs_print_closed_forms():
    a = sn.tensor(0.5, requires_grad=True, name="a")
    y = a.sigmoid().log()
    y.name = "y"
    text = str(sn.formulas(y))
    assert "y = -softplus(-a)" in text           # the stability rewrite, visible
    assert "∂y/∂a = σ(-a)" in text


def test_automatic_names_are_readable():
    x = sn.tensor([1.0, 2.0], requires_grad=True)
    text = str(sn.formulas((x * x).sum()))
    assert "A[i]" in text and "δA[i] = 2·A[i]" in text


def test_structural_cache_derives_once():
    program.cache_clear()
    for _ in range(3):
        loss, W1, W2 = mlp()
        loss.backward()
    assert len(program._PROGRAMS) == 1
    loss, _, _ = mlp(batch=5)                   # another shape: another structure
    loss.backward()
    assert len(program._PROGRAMS) == 2


def test_structural_cache_is_bounded(monkeypatch):
    program.cache_clear()
    monkeypatch.setattr(program._PROGRAMS, "limit", 3)
    for n in range(1, 6):
        (sn.ones(n, requires_grad=True) * 2).sum().backward()
    assert len(program._PROGRAMS) == 3
    program.cache_clear()


def test_rebuilt_graph_reuses_its_bound_plan_and_stays_correct():
    """A graph rebuilt over the same leaves finds its bound program without a trace; anything that changes
    what it computes — a new value array, requires_grad, another leaf — gets another key."""
    import importlib

    T = importlib.import_module("symnet.frontend.autograd")
    importlib.import_module("symnet.frontend.trace").KEYS.clear()  # room: a full table is emptied, keys renewed
    w = sn.tensor([1.0], requires_grad=True)
    x = sn.tensor([2.0], requires_grad=True)
    keys = {((x + w) * (w + 1)).node.key for _ in range(3)}
    assert len(keys) == 1
    for _ in range(3):
        ((x + w) * (w + 1)).backward()
    assert w.grad.item() == 15 and x.grad.item() == 6
    assert T._PLANS.get(keys.pop()) is not None
    with sn.no_grad():
        w -= 1.0                                   # a new value array: a new key, the new value used
    w.grad = None
    ((x + w) * (w + 1)).backward()
    assert w.grad.item() == 3                      # x + 2w + 1 at w = 0
    before = ((x + w) * (w + 1)).node.key
    x.requires_grad_(False)
    assert ((x + w) * (w + 1)).node.key != before
    w2 = sn.tensor([0.0], requires_grad=True)
    assert ((x + w2) * (w2 + 1)).node.key != ((x + w) * (w + 1)).node.key


def _classifier_step():
    sn.manual_seed(0)
    model = sn.nn.Sequential(sn.nn.Linear(3, 4), sn.nn.Tanh(), sn.nn.Linear(4, 1), sn.nn.Tanh(), sn.nn.Linear(1, 2))
    step = sn.compile(model, sn.nn.CrossEntropyLoss(), sn.optim.Adam(model.parameters()))
    step.step(np.ones((5, 3), np.float32), np.array([0, 1, 0, 1, 1]))
    return step.formulas()


def test_a_sum_of_terms_under_sigma_is_bracketed():
    """Where a Σ ends: ``Σ_i (2·a + 2·b·x[i] …)``, never ``Σ_i 2·a + …``; a single product needs no brackets."""
    x = sn.tensor(np.linspace(-1, 1, 5), name="x")
    a, b = (sn.tensor(v, requires_grad=True, name=n) for v, n in ((0.5, "a"), (-1.0, "b")))
    lines = dict(line.split(" = ", 1) for line in str(sn.formulas(((a + b * x - x.sin()) ** 2).sum(), [a, b]))
                 .splitlines())
    assert lines["δa"].startswith("Σ_i (") and lines["δa"].endswith(")")
    assert lines["δb"].startswith("Σ_i 2·(")


def test_compiled_step_formulas_are_consistent_and_rich():
    """Indices of size-1 dimensions print as 0 on both sides, every adjoint part is a δ name, and the step's
    formulas are text with LaTeX (update rule included), rendered in a notebook, and a legend."""
    printed = _classifier_step()
    assert isinstance(printed, sn.printing.StepFormulas) and isinstance(printed, str)
    text = str(printed)
    assert "Adam: at step t" in text and "m ← 0.1·g + 0.9·m" in text
    heads = [line.split(" = ")[0] for line in text.splitlines() if " = " in line]
    assert not [h for h in heads if h.startswith("d")], heads
    for line in text.splitlines():                                       # Linear(4, 1): [b, 0], not [b, j]
        if line.startswith(("matmul2", "δmatmul2")):
            assert line.split(" = ")[0].endswith(", 0]"), line
    latex = printed.latex()
    assert latex.startswith("\\begin{aligned}") and latex.endswith("\\end{aligned}")
    assert "m \\leftarrow  0.1\\cdot g + 0.9\\cdot m" in latex and "←" not in latex
    assert printed._repr_latex_().startswith("$$")
    legend = printed.legend()
    assert "δX: the derivative of the loss by X" in legend and "p ← …" in legend and "sg(x)" in legend
    assert "step(x)" not in legend                                       # no relu here


def test_the_parts_of_an_adjoint_are_delta_names():
    """A tensor read by two contractions: its adjoint is the sum of two named parts, printed δ…_1 and δ…_2."""
    rng = np.random.default_rng(0)
    x = sn.tensor(rng.standard_normal((4, 3)), name="x")
    w1, w2, w3 = (sn.tensor(rng.standard_normal((3, 3)), requires_grad=True, name=n) for n in ("V", "W", "U"))
    h = (x @ w1).tanh()
    text = str(sn.formulas(((h @ w2) + (h @ w3)).sum(), [w1, w2, w3]))
    heads = [line.split(" = ")[0].split("[")[0] for line in text.splitlines()]
    parts = [h for h in heads if h.endswith(("_1", "_2"))]
    assert parts and all(h.startswith("δ") for h in parts), heads


def test_legend_names_only_the_notation_used():
    x = sn.tensor([1.0, 2.0], requires_grad=True, name="x")
    legend = sn.formulas((x * x).sum()).legend()
    assert "δX" in legend and "[c]" not in legend and "sg(x)" not in legend


def test_reshape_index_arithmetic_prints_as_people_write_it():
    x = sn.tensor(np.ones((2, 3, 4)), name="x")
    w = sn.tensor(np.ones((12, 2)), requires_grad=True, name="W")
    text = str(sn.formulas((x.reshape(2, 12) @ w).sum(), [w]))
    assert "⌊" in text and " mod " in text and "floor" not in text and "Mod(" not in text, text


def test_latex_of_a_power_of_a_named_function():
    """SymPy prints σ(x)² by passing the exponent to the function's own LaTeX: it is wrapped and raised."""
    x = sn.tensor(0.3, requires_grad=True, name="x")
    assert r"\left(\sigma\left(x\right)\right)^{2}" in sn.formulas(x.sigmoid() * x.sigmoid()).latex()
    assert r"\left(\tan\left(x\right)\right)^{2} + 1" in sn.formulas(x.tan()).latex()
