"""torch's top-level forms of what symnet has (``symnet.conv2d`` is ``F.conv2d``, ``symnet.acos_(x)`` is
``x.acos_()``), their signature differences (ATen's, not F's), and what the OpInfo table cannot express about the
new indexing math: refusals, integer dtypes, 0-d and in-place forms."""

import numpy as np
import pytest

import symnet as sn
import symnet.nn.functional as F
from symnet.errors import DTypeError, GradError, ShapeError

RNG = np.random.default_rng(3)


def t(*shape, positive=False):
    values = RNG.uniform(0.5, 2.0, shape) if positive else RNG.standard_normal(shape)
    return sn.tensor(values)


X3, W3 = t(2, 3, 6), t(4, 3, 2)
LOGP, PROBS = sn.tensor(np.log(RNG.dirichlet(np.ones(4), 3))), sn.tensor(RNG.dirichlet(np.ones(4), 3))
A, B, Y = t(5), t(5), sn.tensor([1.0, -1.0, 1.0, 1.0, -1.0])
W64 = sn.tensor([0.1, 0.2, 0.3], dtype=sn.float64)

#: name: (symnet's top-level call, the F or method form it must equal)
SAME = {
    "conv1d": (lambda: sn.conv1d(X3, W3, None, 2, 1), lambda: F.conv1d(X3, W3, None, 2, 1)),
    "conv_transpose1d": (lambda: sn.conv_transpose1d(X3, W3.transpose(0, 1)),
                         lambda: F.conv_transpose1d(X3, W3.transpose(0, 1))),
    "max_pool1d": (lambda: sn.max_pool1d(X3, 2, ()), lambda: F.max_pool1d(X3, 2)),
    "max_pool1d_with_indices": (lambda: sn.max_pool1d_with_indices(X3, 3, 2),
                                lambda: F.max_pool1d(X3, 3, 2, return_indices=True)),
    "avg_pool1d": (lambda: sn.avg_pool1d(X3, 2), lambda: F.avg_pool1d(X3, 2)),
    "adaptive_max_pool1d": (lambda: sn.adaptive_max_pool1d(X3, 4),
                            lambda: F.adaptive_max_pool1d(X3, 4, return_indices=True)),
    "batch_norm": (lambda: sn.batch_norm(X3, None, None, None, None, True, 0.1, 1e-5, True),
                   lambda: F.batch_norm(X3, None, None, training=True)),
    "instance_norm": (lambda: sn.instance_norm(X3, None, None, None, None, True, 0.1, 1e-5, False),
                      lambda: F.instance_norm(X3)),
    "layer_norm": (lambda: sn.layer_norm(X3, [6], None, None, 1e-5, True), lambda: F.layer_norm(X3, [6])),
    "group_norm": (lambda: sn.group_norm(X3, 3, None, None, 1e-5, True), lambda: F.group_norm(X3, 3)),
    "dropout": (lambda: sn.dropout(X3, 0.5, False), lambda: X3),
    "alpha_dropout": (lambda: sn.alpha_dropout(X3, 0.5, False), lambda: X3),
    "embedding": (lambda: sn.embedding(W3[0], sn.tensor([0, 2, 1]), 2), lambda: F.embedding(
        sn.tensor([0, 2, 1]), W3[0], padding_idx=2)),
    "selu": (lambda: sn.selu(X3), lambda: F.selu(X3)),
    "celu": (lambda: sn.celu(X3, 0.5), lambda: F.celu(X3, 0.5)),
    "rrelu": (lambda: sn.rrelu(X3, 0.1, 0.3), lambda: F.rrelu(X3, 0.1, 0.3)),
    "threshold": (lambda: sn.threshold(X3, 0.1, -2.0), lambda: F.threshold(X3, 0.1, -2.0)),
    "hardshrink": (lambda: sn.hardshrink(X3, 0.7), lambda: F.hardshrink(X3, 0.7)),
    "Tensor.hardshrink": (lambda: X3.hardshrink(0.7), lambda: F.hardshrink(X3, 0.7)),
    "prelu": (lambda: sn.prelu(X3, W64), lambda: F.prelu(X3, W64)),
    "Tensor.prelu": (lambda: X3.prelu(sn.tensor([0.25], dtype=sn.float64)), lambda: X3.relu() - 0.25 * (-X3).relu()),
    "pixel_shuffle": (lambda: sn.pixel_shuffle(t(1, 4, 2, 2), 2), None),
    "native_channel_shuffle": (lambda: sn.native_channel_shuffle(X3[:, :2], 2),
                               lambda: F.channel_shuffle(X3[:, :2], 2)),
    "cosine_similarity": (lambda: sn.cosine_similarity(X3, X3 + 1), lambda: F.cosine_similarity(X3, X3 + 1)),
    "pdist": (lambda: sn.pdist(X3[0]), lambda: F.pdist(X3[0])),
    "constant_pad_nd": (lambda: sn.constant_pad_nd(X3, [1, -2], 1.5), lambda: F.pad(X3, [1, -2], value=1.5)),
    "kl_div-none": (lambda: sn.kl_div(LOGP, PROBS, 0), lambda: F.kl_div(LOGP, PROBS, reduction="none")),
    "kl_div-sum": (lambda: sn.kl_div(LOGP, PROBS, 2), lambda: F.kl_div(LOGP, PROBS, reduction="sum")),
    "kl_div-log-target": (lambda: sn.kl_div(LOGP, LOGP, log_target=True),
                          lambda: F.kl_div(LOGP, LOGP, reduction="none", log_target=True).mean()),
    "kl_div-other-int": (lambda: sn.kl_div(LOGP, PROBS, 7), lambda: F.kl_div(LOGP, PROBS, reduction="none")),
    "binary_cross_entropy_with_logits": (
        lambda: sn.binary_cross_entropy_with_logits(A, B.sigmoid(), None, B.exp(), 2),
        lambda: F.binary_cross_entropy_with_logits(A, B.sigmoid(), reduction="sum", pos_weight=B.exp())),
    "margin_ranking_loss": (lambda: sn.margin_ranking_loss(A, B, Y, 0.1),
                            lambda: F.margin_ranking_loss(A, B, Y, 0.1)),
    "hinge_embedding_loss": (lambda: sn.hinge_embedding_loss(A, Y, 0.5, 0),
                             lambda: F.hinge_embedding_loss(A, Y, 0.5, reduction="none")),
    "cosine_embedding_loss": (lambda: sn.cosine_embedding_loss(X3[0], X3[1], Y[:3]),
                              lambda: F.cosine_embedding_loss(X3[0], X3[1], Y[:3])),
    "triplet_margin_loss": (lambda: sn.triplet_margin_loss(X3[0], X3[1], X3[0] * 2, 1.0, 2.0, 1e-6, True, 2),
                            lambda: F.triplet_margin_loss(X3[0], X3[1], X3[0] * 2, swap=True, reduction="sum")),
    "poisson_nll_loss": (lambda: sn.poisson_nll_loss(A, B.abs(), True, True, 1e-8, 1),
                         lambda: F.poisson_nll_loss(A, B.abs(), True, True)),
    "bilinear": (lambda: sn.bilinear(X3[0], X3[1], t(2, 6, 6)), None),
    "rms_norm": (lambda: sn.rms_norm(X3, [6]), lambda: F.rms_norm(X3, [6])),
}


def _values(result):
    return [np.asarray(r.numpy()) for r in (result if isinstance(result, tuple) else (result,))]


@pytest.mark.parametrize("name", SAME)
def test_top_level_form_equals_the_functional_one(name):
    ours, theirs = SAME[name]
    got = _values(ours())
    if theirs is not None:
        for a, b in zip(got, _values(theirs()), strict=True):
            np.testing.assert_array_equal(a, b)


IN_PLACE = ["acos_", "acosh_", "arccos_", "arccosh_", "arcsin_", "arcsinh_", "arctan_", "arctanh_", "asin_",
            "asinh_", "atan_", "atanh_", "ceil_", "cosh_", "deg2rad_", "erfc_", "exp2_", "expm1_", "fix_", "floor_",
            "frac_", "i0_", "log10_", "log2_", "logit_", "nan_to_num_", "negative_", "rad2deg_", "reciprocal_",
            "round_", "rsqrt_", "sinc_", "sinh_", "tan_", "trunc_"]
BINARY_IN_PLACE = {"clamp_max_": 0.3, "clamp_min_": 0.3, "ldexp_": sn.tensor([1.0, 2.0]),
                   "xlogy_": sn.tensor([0.5, 2.0])}


@pytest.mark.parametrize("name", [*IN_PLACE, *BINARY_IN_PLACE])
def test_top_level_in_place_function_is_the_method(name):
    values = [0.25, 1.5] if "cosh" not in name and name not in ("acosh_", "arccosh_") else [1.25, 1.5]
    args = (BINARY_IN_PLACE[name],) if name in BINARY_IN_PLACE else ()
    a, b = sn.tensor(values), sn.tensor(values)
    assert getattr(sn, name)(a, *args) is a
    getattr(b, name)(*args)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    np.testing.assert_array_equal(a.numpy(), getattr(sn.tensor(values), name[:-1])(*args).numpy())


def test_aten_signatures():
    with pytest.raises(TypeError):
        sn.dropout(X3, 0.5)  # no defaults for p and train
    with pytest.raises(TypeError):
        sn.max_pool1d(X3, 2, return_indices=True)
    with pytest.raises(TypeError):
        sn.selu(X3, True)
    with pytest.raises(TypeError, match="reduction"):
        sn.kl_div(LOGP, PROBS, "mean")
    with pytest.raises(TypeError, match="reduction"):
        sn.margin_ranking_loss(A, B, Y, 0.0, True)
    with pytest.raises(TypeError):
        sn.poisson_nll_loss(A, B)  # every argument required
    values, indices = sn.adaptive_max_pool1d(X3, 2)  # always both
    assert indices.dtype == sn.int64
    # ATen's padding_idx: negative or out of range means none (the gradient reaches every row read)
    w = t(3, 2).requires_grad_()
    sn.embedding(w, sn.tensor([0, 1, 2]), -1).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), np.ones((3, 2)))


def test_in_place_dropout_and_activations_write_back():
    x = t(2, 3)
    expected = F.selu(x).numpy().copy()
    assert sn.selu_(x) is x
    np.testing.assert_array_equal(x.numpy(), expected)
    y = t(2, 3)
    before = y.numpy().copy()
    assert sn.dropout_(y, 0.5, False) is y
    np.testing.assert_array_equal(y.numpy(), before)
    with pytest.raises(GradError):
        sn.celu_(t(2).requires_grad_())


def test_hardshrink_and_prelu_refuse_integers_and_mixed_dtypes():
    with pytest.raises(DTypeError):
        sn.tensor([1, 2]).hardshrink()
    with pytest.raises(DTypeError):
        t(2, 3).prelu(sn.tensor([0.25], dtype=sn.float32))
    with pytest.raises(ShapeError):
        t(2, 3).prelu(sn.tensor([0.1, 0.2], dtype=sn.float64))


# ---------------------------------------------------------------- scatter_reduce, index_reduce, put, fill_diagonal_
def test_scatter_reduce_integer_mean_floors_and_empty_positions_keep_self():
    out = sn.zeros(4, dtype=sn.int64).scatter_reduce(0, sn.tensor([0, 1, 0, 1, 2, 1]),
                                                     sn.tensor([1, 2, 3, 4, 5, 6]), "mean")
    assert out.dtype == sn.int64
    assert out.tolist() == [1, 3, 2, 0]  # PyTorch's: (0+1+3)//3, (0+2+4+6)//4, (0+5)//2, untouched
    out = sn.full((3,), 7.0).scatter_reduce(0, sn.tensor([0, 0]), sn.tensor([1.0, 2.0]), "amin",
                                            include_self=False)
    assert out.tolist() == [1.0, 7.0, 7.0]
    assert sn.tensor(2.0).scatter_reduce(0, sn.tensor(0), sn.tensor(3.0), "prod").item() == 6.0


def test_scatter_reduce_amax_tie_with_self_splits_as_pytorch():
    """include_self=False: PyTorch counts a tying self value among the ties and then drops its share."""
    me = sn.tensor([3.0, 0.0, 0.0], requires_grad=True)
    src = sn.tensor([3.0, 3.0, 1.0], requires_grad=True)
    me.scatter_reduce(0, sn.tensor([0, 0, 1]), src, "amax", include_self=False).sum().backward()
    np.testing.assert_allclose(src.grad.numpy(), [1 / 3, 1 / 3, 1])
    np.testing.assert_allclose(me.grad.numpy(), [0, 0, 1])


@pytest.mark.parametrize(("call", "error"), [
    (lambda: t(3).scatter_reduce(0, sn.tensor([0]), t(1), "max2"), ValueError),
    (lambda: t(3).scatter_reduce(0, sn.tensor([0]), sn.tensor([1]), "sum"), DTypeError),
    (lambda: t(3).scatter_reduce(0, sn.tensor([0, 1]), t(1), "sum"), ShapeError),
    (lambda: t(3).scatter_reduce(0, sn.tensor([3]), t(1), "sum"), IndexError),
    (lambda: t(3, 2).index_reduce(0, sn.tensor([0]), t(1, 2), "sum"), ValueError),
    (lambda: t(3, 2).index_reduce(0, sn.tensor([0, 1]), t(1, 2), "amax"), ShapeError),
    (lambda: t(3, 2).index_reduce(0, sn.tensor([5]), t(1, 2), "amax"), IndexError),
    (lambda: t(2, 3).put(sn.tensor([6]), t(1)), IndexError),
    (lambda: t(2, 3).put(sn.tensor([0, 1]), t(1)), IndexError),
    (lambda: t(2, 3).put(sn.tensor([0]), sn.tensor([1])), DTypeError),
    (lambda: t(3).fill_diagonal_(1.0), ShapeError),
    (lambda: t(3, 3, 2).fill_diagonal_(1.0), ShapeError),
])
def test_refusals(call, error):
    with pytest.raises(error):
        call()


def test_put_and_fill_diagonal_in_place_forms():
    x = sn.zeros(2, 3)
    assert x.put_(sn.tensor([0, 5, -1]), sn.tensor([1.0, 2.0, 3.0])) is x
    assert x.tolist() == [[1.0, 0.0, 0.0], [0.0, 0.0, 3.0]]  # the later write of position 5 wins
    ints = sn.zeros(2, 2, dtype=sn.int64).fill_diagonal_(5.7)
    assert ints.dtype == sn.int64 and ints.tolist() == [[5, 0], [0, 5]]  # cast as PyTorch
    y = sn.ones(3, 2)
    y.index_reduce_(0, sn.tensor([0, 2]), sn.tensor([[2.0, 3.0], [4.0, 5.0]]), "prod")
    assert y.tolist() == [[2.0, 3.0], [1.0, 1.0], [4.0, 5.0]]
    z = sn.zeros(3)
    sn.scatter_reduce(z, 0, sn.tensor([1, 1]), sn.tensor([2.0, 3.0]), "sum")  # the function form: out of place
    assert z.tolist() == [0.0, 0.0, 0.0]
    with pytest.raises(GradError):
        sn.zeros(2, 2, requires_grad=True).fill_diagonal_(1.0)


def test_empty_index_changes_nothing():
    x = t(3)
    out = x.scatter_reduce(0, sn.tensor(np.zeros(0, dtype=np.int64)), t(0), "prod")
    np.testing.assert_array_equal(out.numpy(), x.numpy())


def test_put_matches_pytorch():
    torch = pytest.importorskip("torch")
    base = RNG.standard_normal((2, 3))
    index, source = [4, -6, 2, 4], [1.0, 2.0, 3.0, 4.0]
    for accumulate in (False, True):
        expected = torch.tensor(base).put(torch.tensor(index), torch.tensor(source, dtype=torch.float64),
                                          accumulate=accumulate)
        got = sn.tensor(base).put(sn.tensor(index), sn.tensor(source, dtype=sn.float64), accumulate=accumulate)
        np.testing.assert_allclose(got.numpy(), expected.numpy())
