"""Each named stability rewrite round-trips (same values, stable form); graph CSE and pruning do their job."""

import numpy as np
import pytest
import sympy as sp

import symnet as sn
from symnet import trace
from symnet.core import functions as F
from symnet.core.reference import _compiled
from symnet.core.simplify import STABILIZE, stabilize
from symnet.pipeline import cache_clear, forward_program

x = sp.Symbol("x", real=True)
EXAMPLES = {
    "log1p_exp_to_softplus": (sp.log(1 + sp.exp(x)), F.softplus(x)),
    "log_sigmoid_to_softplus": (sp.log(F.sigmoid(x)), -F.softplus(-x)),
    "logistic_to_sigmoid": (1 / (1 + sp.exp(-x)), F.sigmoid(x)),
    "exp_ratio_to_sigmoid": (sp.exp(x) / (1 + sp.exp(x)), F.sigmoid(x)),
    "log_exp": (sp.log(sp.exp(x + 1)), x + 1),
}


@pytest.mark.parametrize("rule", STABILIZE, ids=lambda r: r.name)
def test_rewrite_round_trip(rule):
    before, after = EXAMPLES[rule.name]
    assert rule(before) == after
    points = np.linspace(-30, 30, 61)
    with np.errstate(all="ignore"):
        stable, naive = _compiled(after, (x,))(points), _compiled(before, (x,))(points)
        np.testing.assert_allclose(stable, naive, rtol=1e-9, atol=1e-12)
        big = np.array([800.0, -800.0])
        assert np.isfinite(_compiled(stabilize(before), (x,))(big)).all()


def test_graph_cse_merges_identical_definitions():
    a = sn.tensor([0.5, 1.0], requires_grad=True)
    y = (a * 3).sigmoid().sum() * (a * 3).sigmoid().sum()
    traced = trace([y])
    specs, _ = traced.specs, traced.tensors
    cache_clear()
    graph = forward_program(specs, (len(specs) - 1,)).graph
    assert sum(d.body.has(F.sigmoid) for d in graph.defs) == 1


def test_pruning_drops_what_no_output_needs():
    a = sn.tensor([0.5, 1.0], requires_grad=True)
    unused = a.exp().sum()
    y = (a * a).sum()
    traced = trace([y])
    specs, _ = traced.specs, traced.tensors
    graph = forward_program(specs, (len(specs) - 1,)).graph
    assert not any(d.body.has(sp.exp) for d in graph.defs)
    assert unused.item() == pytest.approx(np.exp([0.5, 1.0]).sum(), rel=1e-6)


def test_a_constant_summed_over_an_index_is_the_constant_times_its_extent():
    """δb of Σ_i (x[i]·w + b) prints as 5, not Σ_i 1: no loop over the batch for a constant."""
    x = sn.tensor(np.arange(5.0), name="x")
    w, b = (sn.tensor(v, requires_grad=True, name=n) for v, n in ((0.5, "w"), (2.0, "b")))
    lines = dict(line.split(" = ", 1) for line in str(sn.formulas((x * w + b).sum(), [w, b])).splitlines())
    assert lines["δb"] == "5"
    loss = (x * w + b).sum()
    loss.backward()
    assert b.grad.item() == 5.0 and w.grad.item() == 10.0


def _every_rule_by_matching(expr):
    """``stabilize`` without its shape prefilter: SymPy's matcher tried for every rule on the whole body."""
    for rule in STABILIZE:
        expr = rule(expr)
    return expr


HAND_WRITTEN = [
    sp.log(1 + sp.exp(-x)), sp.log(sp.exp(x) + 1) * sp.exp(x), 1 / (1 + sp.exp(x)), (1 + sp.exp(-2 * x)) ** -2,
    2 * sp.exp(x) / (1 + sp.exp(x)), sp.exp(x) / (sp.exp(x) + 1) ** 2, sp.log(2 + sp.exp(x)),
    sp.log(sp.exp(x) + sp.exp(2 * x)), sp.log(F.sigmoid(x) * 2), sp.log(sp.exp(x) * 3), sp.exp(sp.log(x)),
    x / (1 + sp.exp(-x)) + sp.log(1 + sp.exp(x)), sp.log(1 + sp.exp(sp.log(1 + sp.exp(x)))), sp.Integer(1) / 2,
]


@pytest.mark.parametrize("expr", HAND_WRITTEN, ids=str)
def test_the_prefilter_never_skips_a_match(expr):
    assert stabilize(expr) == _every_rule_by_matching(expr)


def test_the_prefilter_changes_no_derived_body(monkeypatch):
    """Every body the pipeline stabilizes while deriving losses and activations that meet the rules' functions
    (log, exp, sigmoid, softplus) comes out as matching every rule would give."""
    import symnet.core.simplify as simplify

    seen = []

    def checked(expr):
        got = stabilize(expr)
        assert got == _every_rule_by_matching(expr), expr
        seen.append(got != expr)
        return got

    monkeypatch.setattr(simplify, "stabilize", checked)
    cache_clear()
    z = sn.tensor([[0.3, -2.0, 5.0], [800.0, -800.0, 0.0]], requires_grad=True)
    p = sn.tensor([[0.2, 0.5, 0.9], [0.1, 0.6, 0.3]])
    labels = sn.tensor([2, 0])
    nn = sn.nn
    losses = [nn.CrossEntropyLoss()(z, labels), nn.BCEWithLogitsLoss()(z, p), nn.BCELoss()(z.sigmoid(), p),
              nn.SoftMarginLoss()(z, p * 2 - 1), nn.MultiLabelSoftMarginLoss()(z, (p > 0.4).double()),
              nn.PoissonNLLLoss()(z, p), nn.KLDivLoss(reduction="batchmean")(z.log_softmax(1), p),
              nn.NLLLoss()(nn.LogSoftmax(1)(z), labels)]
    losses += [m(z).sum() for m in (nn.Sigmoid(), nn.LogSigmoid(), nn.Softplus(), nn.SiLU(), nn.Mish(), nn.GELU(),
                                    nn.ELU(), nn.SELU(), nn.Tanh(), nn.Softmax(1), nn.LogSoftmax(1))]
    losses += [(1 / (1 + (-z).exp())).sum(), (z.exp() / (1 + z.exp())).sum(), (1 + z.exp()).log().sum(),
               z.exp().log().sum(), z.sigmoid().log().sum()]
    for loss in losses:
        loss.item()
        sn.autograd.grad(loss, z)[0].numpy()
    assert sum(seen) >= 5  # the rules did fire on the way
