"""Every PyTorch loss (issue 12, item 1): values and gradients against stored PyTorch 2.13 fixtures
(tests/fixtures/make_loss_fixtures.py: float64 rtol 1e-9, float32 1e-4) for every option and reduction, float64
gradients against finite differences, the derived gradients printed, the losses inside a compiled training step
equal to the eager loop, and PyTorch's refusals.

A loss's forward is evaluated and differentiated through the whole pipeline, so the sweep is split: by default
float64 runs on the reference backend (the derivation is what is checked) and float32 on native code, the
reductions rotating over the cases; ``SYMNET_DEEP=1`` runs every case, dtype and reduction on both backends.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pytest

import symnet as sn
import symnet.nn.functional as F
from tests.fixtures.make_loss_fixtures import CASES, DTYPES, call
from tests.recomputed import assert_recomputed

STORED = np.load(Path(__file__).parent / "fixtures" / "losses_all.npz")
DEEP = os.environ.get("SYMNET_DEEP") == "1"
RTOL = {"float64": 1e-9, "float32": 1e-4}


def _runs() -> list[tuple[str, str, str, str]]:
    """Every case, dtype, reduction and backend with SYMNET_DEEP=1; by default each case once in float64 (on
    the reference backend) and every third case in float32 (native), the reductions rotating over the cases."""
    runs = []
    for k, (name, case) in enumerate(CASES.items()):
        for j, reduction in enumerate(case.reductions):
            if DEEP:
                runs += [(name, d, reduction, b) for d in DTYPES for b in ("reference", "native")]
                continue
            if j == k % len(case.reductions):
                runs.append((name, "float64", reduction, "reference"))
            if k % 3 == 0 and j == (k // 3 + 1) % len(case.reductions):
                runs.append((name, "float32", reduction, "native"))
    return runs


RUNS = _runs()


def tensor(a: np.ndarray, dtype: str, grad: bool = False, name: str | None = None) -> sn.Tensor:
    """A float array as ``dtype`` (an operand of the case), an integer array as it is (class indices)."""
    if a.dtype.kind == "f":
        return sn.tensor(a, dtype=getattr(sn, dtype), requires_grad=grad, name=name)
    return sn.tensor(a, name=name)


def operands(name: str, dtype: str) -> tuple[list[sn.Tensor], dict]:
    case = CASES[name]
    xs = [tensor(STORED[f"{name}/in/{i}"], dtype, i in case.grads, f"X{i}") for i in range(len(case.operands))]
    kwargs = {k: tensor(STORED[f"{name}/kw/{k}"], dtype) if isinstance(v, np.ndarray) else v
              for k, v in case.kwargs.items()}
    return xs, kwargs


def evaluate(name: str, xs: list, kwargs: dict, reduction: str) -> sn.Tensor:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # KLDivLoss's 'mean' warning (tested on its own)
        return call(sn.nn, F, CASES[name], xs, kwargs, reduction)


def close(actual: np.ndarray, expected: np.ndarray, rtol: float, what: str) -> None:
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape}, PyTorch's {expected.shape}"
    scale = max(float(np.abs(expected[np.isfinite(expected)]).max(initial=0.0)), 1.0)
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * scale, err_msg=what, equal_nan=True)


def test_the_fixture_table_is_stored():
    for name, case in CASES.items():
        for i, a in enumerate(case.operands):
            np.testing.assert_array_equal(STORED[f"{name}/in/{i}"], a, err_msg=f"{name} operand {i}")
        for dtype in DTYPES:
            for reduction in case.reductions:
                assert f"{name}/{dtype}/{reduction}/value" in STORED.files, (name, dtype, reduction)
    covered = {(case.loss.lower().replace("_", ""), r) for case in CASES.values() for r in case.reductions}
    for loss in sn.nn.__all__:
        if loss.endswith("Loss") and loss != "CTCLoss":  # (its values are stored in tests/test_ctc_loss.py)
            assert all((loss.lower(), r) in covered for r in ("none", "mean", "sum")), loss


@pytest.mark.parametrize(("name", "dtype", "reduction", "backend"), RUNS, ids=["-".join(r) for r in RUNS])
def test_matches_pytorch(name, dtype, reduction, backend):
    xs, kwargs = operands(name, dtype)
    with sn.backend.use(backend):
        value = evaluate(name, xs, kwargs, reduction)
        upstream = sn.tensor(STORED[f"{name}/{reduction}/upstream"], dtype=getattr(sn, dtype))
        (value * upstream).sum().backward()
        assert value.dtype == getattr(sn, dtype)
        rtol = RTOL[dtype]
        close(value.numpy(), STORED[f"{name}/{dtype}/{reduction}/value"], rtol, "value")
        for i in CASES[name].grads:
            close(xs[i].grad.numpy(), STORED[f"{name}/{dtype}/{reduction}/grad/{i}"], rtol, f"gradient {i}")


#: the first case of each loss
FIRSTS = [next(n for n, c in CASES.items() if c.loss == loss) for loss in dict.fromkeys(c.loss for c in CASES.values())]
#: by default the richest option set of each loss; every case with SYMNET_DEEP=1. Not the clamped variances:
#: there PyTorch's gradient is the unclamped one's (its clamp runs under no_grad), not the value's derivative
RICHEST = ("mse_weight", "l1_weight", "smooth_l1", "huber_weight", "bce_weight", "bce_logits_weights",
           "nll_nd", "ce_weight_ignore_smoothing", "ce_probabilities_weight_smoothing", "kl_div_log_target",
           "poisson_nll_full_rate", "gaussian_nll_full_homoscedastic", "margin_ranking", "hinge_embedding",
           "soft_margin", "multilabel_soft_margin", "multi_margin_p2_weight", "multilabel_margin", "cosine_embedding",
           "triplet_p1_swap", "triplet_cosine_distance_swap")
FD_CASES = [name for name in CASES if name != "gaussian_nll_broadcast_clamped" and (DEEP or name in RICHEST)]


@pytest.mark.parametrize("name", FD_CASES)
def test_gradient_against_finite_differences(name):
    xs, kwargs = operands(name, "float64")
    case = CASES[name]
    reduction = "batchmean" if "batchmean" in case.reductions else "mean"

    def fn(*floats):
        merged = list(xs)
        for i, f in zip(case.grads, floats, strict=True):
            merged[i] = f
        return evaluate(name, merged, kwargs, reduction)

    with sn.backend.use("reference"):
        sn.check_grads(fn, [xs[i] for i in case.grads], order=1)


@pytest.mark.parametrize("name", FIRSTS)
def test_derived_gradient_prints(name):
    xs, kwargs = operands(name, "float64")
    with sn.backend.use("reference"):
        text = str(sn.formulas(evaluate(name, xs, kwargs, "mean")))
    for i in CASES[name].grads:
        assert f"δ{xs[i].name}[" in text or f"δ{xs[i].name} =" in text, f"no adjoint of operand {i}:\n{text}"
    assert "Piecewise" not in text and "KroneckerDelta" not in text and "Heaviside" not in text


# ---------------------------------------------------------------- inside a compiled training step
def _batches(classes: int, targets: str, steps: int = 3, batch: int = 6):
    rng = np.random.default_rng(5)
    for _ in range(steps):
        x = rng.standard_normal((batch, 3))
        if targets == "labels":
            y = rng.integers(0, classes, batch)
            y[rng.random(batch) < 0.3] = -100
            y[0] = 1  # never all ignored
        elif targets == "probabilities":
            y = rng.random((batch, classes))
            y /= y.sum(1, keepdims=True)
        elif targets == "signs":
            y = np.where(rng.random(batch) < 0.5, -1.0, 1.0)
        else:
            y = rng.uniform(0, 1, (batch, classes))
        yield x, y


W = np.array([0.5, 2.0, 1.0, 1.5])
COMPILED = {  # a loss of the model's (batch, 4) output and y, and the kind of targets
    "cross_entropy_weight_ignore_smoothing": (lambda: sn.nn.CrossEntropyLoss(
        weight=sn.tensor(W), label_smoothing=0.1), "labels"),
    "nll_weight_ignore": (lambda: lambda out, y: F.nll_loss(out.log_softmax(1), y, weight=sn.tensor(W)), "labels"),
    "cross_entropy_probabilities": (lambda: sn.nn.CrossEntropyLoss(label_smoothing=0.2), "probabilities"),
    "bce_with_logits_pos_weight": (lambda: sn.nn.BCEWithLogitsLoss(pos_weight=sn.tensor(W)), "unit"),
    "bce_weight": (lambda: lambda out, y: F.binary_cross_entropy(out.sigmoid(), y, weight=sn.tensor(W)), "unit"),
    "kl_div_batchmean": (lambda: lambda out, y: F.kl_div(out.log_softmax(1), y, reduction="batchmean"),
                         "probabilities"),
    "multi_margin_p2_weight": (lambda: lambda out, y: F.multi_margin_loss(out, y.abs(), p=2, weight=sn.tensor(W)),
                               "labels"),
    "multilabel_soft_margin": (lambda: sn.nn.MultiLabelSoftMarginLoss(weight=sn.tensor(W)), "unit"),
    "poisson_nll": (lambda: sn.nn.PoissonNLLLoss(full=True), "unit"),
    "gaussian_nll": (lambda: lambda out, y: F.gaussian_nll_loss(out[:, :2], y[:, :2], out[:, 2:].exp()), "unit"),
    "margin_ranking": (lambda: lambda out, y: F.margin_ranking_loss(out[:, 0], out[:, 1], y, margin=0.2), "signs"),
    "cosine_embedding": (lambda: lambda out, y: F.cosine_embedding_loss(out[:, :2], out[:, 2:], y), "signs"),
    "triplet_swap": (lambda: lambda out, y: F.triplet_margin_loss(out[:, :2], out[:, 2:], y[:, :2], swap=True),
                     "unit"),
}
COMPILED_RUNS = list(COMPILED) if DEEP else ["cross_entropy_weight_ignore_smoothing", "nll_weight_ignore",
                                              "bce_with_logits_pos_weight", "multi_margin_p2_weight", "gaussian_nll"]


def _model():
    rng = np.random.default_rng(3)
    model = sn.nn.Linear(3, 4).double()
    model.load_state_dict({"weight": sn.tensor(rng.uniform(-1, 1, (4, 3))), "bias": sn.tensor(rng.uniform(-1, 1, 4))})
    return model


@pytest.mark.parametrize("name", COMPILED_RUNS)
def test_compiled_step_equals_eager_loop(name):
    make_loss, targets = COMPILED[name]
    batches = list(_batches(4, targets))
    if name == "multi_margin_p2_weight":
        batches = [(x, np.where(y < 0, 3, y)) for x, y in batches]
    as_y = (lambda y: sn.tensor(y)) if targets == "labels" else (lambda y: sn.tensor(y, dtype=sn.float64))
    eager, compiled = _model(), _model()
    loss_fn = make_loss()
    opt = sn.optim.SGD(eager.parameters(), lr=0.1, momentum=0.9)
    eager_losses = []
    for x, y in batches:
        opt.zero_grad()
        loss = loss_fn(eager(sn.tensor(x)), as_y(y))
        loss.backward()
        opt.step()
        eager_losses.append(loss.item())
    step = sn.compile(compiled, make_loss(), sn.optim.SGD(compiled.parameters(), lr=0.1, momentum=0.9))
    compiled_losses = [step.step(x, y) for x, y in batches]
    np.testing.assert_allclose(compiled_losses, eager_losses, rtol=1e-12)
    for (key, a), (_, b) in zip(compiled.state_dict().items(), eager.state_dict().items(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15, err_msg=key)


def test_compiled_step_range_checks_each_batch_and_changes_nothing_on_error():
    model = _model()
    step = sn.compile(model, sn.nn.CrossEntropyLoss(ignore_index=-1), sn.optim.SGD(model.parameters(), lr=0.1))
    x = np.random.default_rng(0).standard_normal((4, 3))
    step.step(x, np.array([0, -1, 3, 2]))  # -1 ignored
    before = {k: np.array(v) for k, v in model.state_dict().items()}
    for bad in ([0, 1, 4, 2], [0, -100, 1, 2]):  # class 4 of 4, and -100 is not the ignore_index here
        with pytest.raises(IndexError):
            step.step(x, np.array(bad))
        for k, v in model.state_dict().items():
            np.testing.assert_array_equal(v, before[k])


def test_compiled_step_over_an_all_ignored_batch_leaves_parameters_as_pytorch():
    """All padding: the loss is NaN and every gradient 0, so plain SGD moves nothing (no NaN reaches them)."""
    model = _model()
    step = sn.compile(model, sn.nn.CrossEntropyLoss(weight=sn.tensor(W)), sn.optim.SGD(model.parameters(), lr=0.1))
    before = {k: np.array(v) for k, v in model.state_dict().items()}
    assert np.isnan(step.step(np.ones((3, 3)), np.full(3, -100)))
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v, before[k])


# ---------------------------------------------------------------- semantics beyond the fixtures
def test_all_ignored_is_nan_with_zero_gradient_as_pytorch():
    x = sn.tensor(np.ones((3, 4)), requires_grad=True)
    for kwargs in ({}, {"label_smoothing": 0.2}, {"weight": sn.tensor(W)}):
        x.grad = None
        loss = F.cross_entropy(x, sn.tensor([-100, -100, -100]), **kwargs)
        loss.backward()
        assert np.isnan(loss.item()) and not x.grad.numpy().any(), kwargs
    assert F.nll_loss(x, sn.tensor([-100, -100, -100]), reduction="sum").item() == 0


def test_empty_batches():
    x = sn.tensor(np.zeros((0, 4)))
    y = sn.tensor(np.zeros(0, np.int64))
    assert np.isnan(F.cross_entropy(x, y).item()) and F.cross_entropy(x, y, reduction="sum").item() == 0
    assert F.cross_entropy(x, y, reduction="none").shape == (0,)
    assert np.isnan(F.cross_entropy(x, sn.tensor(np.zeros((0, 4)))).item())
    assert np.isnan(F.mse_loss(x, x).item())


LEGACY = [  # torch.nn._reduction.legacy_get_string: either None counts as True, reduce=False wins
    (False, None, "sum"), (True, None, "mean"), (None, False, "none"), (None, True, "mean"),
    (False, False, "none"), (True, True, "mean"), (False, True, "sum"),
]


@pytest.mark.parametrize(("size_average", "reduce", "expected"), LEGACY)
def test_legacy_size_average_and_reduce(size_average, reduce, expected):
    for loss in ("MSELoss", "BCELoss", "NLLLoss", "CrossEntropyLoss", "KLDivLoss", "MultiMarginLoss",
                 "TripletMarginLoss", "MarginRankingLoss", "PoissonNLLLoss"):
        with pytest.warns(DeprecationWarning, match="deprecated"):
            module = getattr(sn.nn, loss)(size_average=size_average, reduce=reduce)
        assert module.reduction == expected, loss
    p, t = sn.tensor([0.2, 0.7]), sn.tensor([0.0, 1.0])
    with pytest.warns(DeprecationWarning):
        legacy = F.binary_cross_entropy(p, t, size_average=size_average, reduce=reduce)
    np.testing.assert_allclose(legacy.numpy(), F.binary_cross_entropy(p, t, reduction=expected).numpy())


def test_modules_keep_options_and_weights_as_pytorch():
    loss = sn.nn.CrossEntropyLoss(weight=sn.tensor(W), ignore_index=3, label_smoothing=0.1, reduction="sum")
    assert (loss.ignore_index, loss.label_smoothing, loss.reduction) == (3, 0.1, "sum")
    assert list(loss.state_dict()) == ["weight"]
    assert loss.float().weight.dtype == sn.float32
    assert repr(loss) == "CrossEntropyLoss()"  # PyTorch's losses print no options
    assert list(sn.nn.BCEWithLogitsLoss(pos_weight=sn.tensor(W)).state_dict()) == ["pos_weight"]
    kl = sn.nn.KLDivLoss(reduction="batchmean", log_target=True)
    assert kl.log_target and kl.reduction == "batchmean"
    gauss = sn.nn.GaussianNLLLoss(full=True, eps=1e-3)
    x = sn.tensor([[0.5, 1.0]])
    np.testing.assert_allclose(gauss(x, x * 2, 0.25).item(), F.gaussian_nll_loss(x, x * 2, 0.25, True, 1e-3).item())
    with pytest.warns(UserWarning, match="batchmean"):
        sn.nn.KLDivLoss()(x.log(), x)


def test_stable_for_any_logit():
    x = sn.tensor([-1e4, -800.0, 800.0, 1e4], requires_grad=True)
    t = sn.tensor([1.0, 0.0, 1.0, 0.0])
    loss = F.binary_cross_entropy_with_logits(x, t, pos_weight=sn.tensor(3.0), reduction="sum")
    loss.backward()
    np.testing.assert_allclose(loss.item(), 3e4 + 1e4)
    np.testing.assert_allclose(x.grad.numpy(), [-3.0, 0.0, 0.0, 1.0])
    y = sn.tensor([1e4, -1e4], requires_grad=True)
    F.soft_margin_loss(y, sn.tensor([-1.0, 1.0]), reduction="sum").backward()
    np.testing.assert_allclose(y.grad.numpy(), [1.0, -1.0])


def _x(*shape, dtype=sn.float64):
    return sn.tensor(np.full(shape, 0.5), dtype=dtype)


def _labels(*values):
    return sn.tensor(np.array(values, np.int64))


ERRORS = [  # PyTorch's refusals: (call, exception type, PyTorch's words)
    ("bce_outside", lambda: F.binary_cross_entropy(sn.tensor([0.5, 1.2]), sn.tensor([0.0, 1.0])), RuntimeError,
     "all elements of input should be between 0 and 1"),
    ("bce_nan", lambda: F.binary_cross_entropy(sn.tensor([0.5, float("nan")]), sn.tensor([0.0, 1.0])), RuntimeError,
     "all elements of input should be between 0 and 1"),
    ("reduction", lambda: F.cross_entropy(_x(2, 3), _labels(0, 1), reduction="avg"), ValueError,
     "avg is not a valid value for reduction"),
    ("kl_reduction", lambda: F.kl_div(_x(2), _x(2), reduction="batch"), ValueError, "not a valid value"),
    ("ce_batch", lambda: F.cross_entropy(_x(3, 4), _labels(0, 1)), ValueError,
     r"Expected input batch_size \(3\) to match target batch_size \(2\)"),
    ("ce_float_labels", lambda: F.cross_entropy(_x(3, 4), _x(3)), TypeError, "expected scalar type Long"),
    ("ce_out_of_bounds", lambda: F.cross_entropy(_x(3, 4), _labels(0, 4, 1)), IndexError, "Target 4 is out of bounds"),
    ("ce_negative", lambda: F.cross_entropy(_x(3, 4), _labels(0, -1, 1)), IndexError, "Target -1 is out of bounds"),
    ("ce_weight_size", lambda: F.cross_entropy(_x(3, 4), _labels(0, 1, 1), weight=_x(3)), ValueError,
     "weight tensor should be defined either for all 4 classes or no classes"),
    ("ce_weight_dtype", lambda: F.nll_loss(_x(3, 4), _labels(0, 1, 1), weight=_x(4, dtype=sn.float32)), TypeError,
     "expected scalar type Double but found Float"),
    ("ce_smoothing", lambda: F.cross_entropy(_x(3, 4), _labels(0, 1, 1), label_smoothing=1.5), ValueError,
     "label_smoothing must be between 0.0 and 1.0"),
    ("nll_0d", lambda: F.nll_loss(_x(), _labels(0).reshape(())), ValueError, "1D, 2D or more"),
    ("bce_shape", lambda: F.binary_cross_entropy(_x(3), _x(3, 1)), ValueError,
     "that is different to the input size"),
    ("bce_logits_shape", lambda: F.binary_cross_entropy_with_logits(_x(3), _x(3, 1)), ValueError,
     r"must be the same as input size"),
    ("mse_weight", lambda: F.mse_loss(_x(3, 2), _x(3, 2), weight=_x(2)), ValueError,
     "Weights and input must have the same size"),
    ("smooth_beta", lambda: F.smooth_l1_loss(_x(2), _x(2), beta=-1.0), ValueError, "negative values for beta"),
    ("huber_delta", lambda: F.huber_loss(_x(2), _x(2), delta=0.0), ValueError, "non-positive values for delta"),
    ("gaussian_negative_var", lambda: F.gaussian_nll_loss(_x(2), _x(2), sn.tensor([0.5, -1.0])), ValueError,
     "var has negative entry"),
    ("gaussian_var_size", lambda: F.gaussian_nll_loss(_x(3, 4), _x(3, 4), _x(2, 4)), ValueError,
     "var is of incorrect size"),
    ("margin_ranking_dims", lambda: F.margin_ranking_loss(_x(3), _x(3), _x(3, 1)), ValueError,
     "All input tensors should have same dimension"),
    ("multi_margin_p", lambda: F.multi_margin_loss(_x(3, 4), _labels(0, 1, 2), p=3), ValueError,
     "only p == 1 and p == 2 supported"),
    ("multi_margin_target", lambda: F.multi_margin_loss(_x(3, 4), _labels(0, 4, 2)), IndexError, "target out of range"),
    ("multi_margin_shape", lambda: F.multi_margin_loss(_x(3, 4), _labels(0, 1)), ValueError,
     "Expected target size"),
    ("multi_margin_weight", lambda: F.multi_margin_loss(_x(3, 4), _labels(0, 1, 2), weight=_x(3)), ValueError,
     "inconsistent weight size"),
    ("multilabel_margin_target", lambda: F.multilabel_margin_loss(_x(1, 4), _labels([3, -2, -1, 1])), IndexError,
     "'target' is out of range"),
    ("multilabel_margin_shape", lambda: F.multilabel_margin_loss(_x(2, 4), _labels([3, 0, -1], [1, -1, 0])),
     ValueError, "inconsistent target size"),
    ("cosine_embedding_target", lambda: F.cosine_embedding_loss(_x(3, 4, 2), _x(3, 4, 2), _x(3, 4)), ValueError,
     "0D or 1D target tensor expected"),
    ("triplet_dims", lambda: F.triplet_margin_loss(_x(3, 4), _x(4), _x(3, 4)), ValueError,
     "anchor 2D, positive 1D, and negative 2D"),
    ("triplet_distance_margin", lambda: F.triplet_margin_with_distance_loss(_x(2), _x(2), _x(2), margin=0.0),
     ValueError, "margin must be greater than 0"),
    ("triplet_module_margin", lambda: sn.nn.TripletMarginLoss(margin=0.0), ValueError,
     "expected margin to be greater than 0"),
    ("multi_margin_module_weight", lambda: sn.nn.MultiMarginLoss(weight=_x(2, 2)), ValueError,
     "expected weight to be None or 1D tensor"),
    ("integer_mean", lambda: F.l1_loss(_labels(1, 2), _labels(0, 2)), TypeError, "could not infer output dtype"),
    ("bce_dtypes", lambda: F.binary_cross_entropy(_x(2, dtype=sn.float32), _x(2)), TypeError,
     "Found dtype Double but expected Float"),
    ("bce_logits_integer_target", lambda: F.binary_cross_entropy_with_logits(_x(2), _labels(0, 1)), TypeError,
     "can't be cast to the desired output type"),
    ("ce_integer_input", lambda: F.cross_entropy(_labels([1, 2]), _labels(0)), NotImplementedError,
     "not implemented for int64"),
]


MIXES = [  # (loss, operand dtypes, PyTorch's result dtype): promotion as torch.result_type
    ("mse_loss", ("float32", "float64"), "float64"), ("mse_loss", ("float64", "int64"), "float64"),
    ("kl_div", ("float32", "float64"), "float64"), ("soft_margin_loss", ("float64", "int64"), "float64"),
    ("hinge_embedding_loss", ("float32", "int64"), "float32"), ("poisson_nll_loss", ("float32", "int64"), "float32"),
    ("binary_cross_entropy_with_logits", ("float32", "float64"), "float64"),
    ("multilabel_soft_margin_loss", ("float32", "int64"), "float32"),
]


@pytest.mark.parametrize(("loss", "kinds", "expected"), MIXES, ids=[f"{m[0]}-{'-'.join(m[1])}" for m in MIXES])
def test_dtype_mixes_promote_as_pytorch(loss, kinds, expected):
    values = (np.array([[0.2, 0.7], [0.4, 0.9]]), np.array([[1, -1], [1, 1]]))
    operands = [sn.tensor(v.astype(kind), dtype=getattr(sn, kind)) for v, kind in zip(values, kinds, strict=True)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mixed = getattr(F, loss)(*operands)
        exact = getattr(F, loss)(*(sn.tensor(o.numpy().astype(np.float64)) for o in operands))
    assert mixed.dtype == getattr(sn, expected)
    np.testing.assert_allclose(mixed.item(), exact.item(), rtol=RTOL[expected])


@pytest.mark.parametrize(("call_", "error", "words"), [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS])
def test_refuses_what_pytorch_refuses(call_, error, words):
    with pytest.raises(error, match=words):
        call_().numpy()


def test_fixtures_are_what_pytorch_computes_now():
    """With PyTorch installed, the generator reruns and its output must equal the stored fixtures."""
    pytest.importorskip("torch")
    from tests.fixtures import make_loss_fixtures

    names = list(CASES) if DEEP else ["ce_weight_ignore_smoothing", "gaussian_nll_broadcast_clamped", "triplet_3d"]
    live = make_loss_fixtures.record(names)
    assert sorted(live) == sorted(k for k in STORED.files if k.split("/")[0] in names)
    for key, value in live.items():
        assert_recomputed(STORED[key], value, key)
