"""The rest of the ``torch.nn`` surface, as modules: InstanceNorm's running statistics against PyTorch
(tests/fixtures/nn_extra.npz, written by tests/fixtures/make_nn_extra_fixtures.py) eagerly and inside
``sn.compile``; lazy norm layers; the in-place activations' refusals; gumbel_softmax and feature alpha dropout
by their laws (their draws are symnet's, not PyTorch's); the shuffles inside a compiled step. Numbers of single
calls are in the OpInfo table (tests/opinfo/cases_nn_extra.py)."""

from __future__ import annotations

import inspect
from pathlib import Path

import numpy as np
import pytest

import symnet as sn
from symnet.errors import GradError

F = sn.nn.functional
FIXTURES = np.load(Path(__file__).parent / "fixtures" / "nn_extra.npz")
TOLERANCE = {"float64": 1e-9, "float32": 1e-4}
DTYPES = {"float64": sn.float64, "float32": sn.float32}
BATCH, STEPS, LR, MOMENTUM = 4, 12, 0.05, 0.9


# ------------------------------------------------------------------------------ InstanceNorm running statistics
def instance_model(dtype: str) -> sn.nn.Module:
    model = sn.nn.Sequential(sn.nn.Conv1d(2, 3, 3),
                             sn.nn.InstanceNorm1d(3, momentum=0.2, affine=True, track_running_stats=True),
                             sn.nn.ReLU(), sn.nn.Flatten(), sn.nn.Linear(18, 2)).to(DTYPES[dtype])
    prefix = f"{dtype}/initial/"
    model.load_state_dict({k[len(prefix):]: FIXTURES[k] for k in FIXTURES.files if k.startswith(prefix)})
    return model


def batches(dtype: str):
    x, y = FIXTURES["x"].astype(dtype), FIXTURES["y"].astype(dtype)
    for step in range(STEPS):
        start = step * BATCH % len(x)
        yield x[start:start + BATCH], y[start:start + BATCH]


def check_against_pytorch(model: sn.nn.Module, losses: list[float], predict, dtype: str) -> None:
    tol = TOLERANCE[dtype]
    np.testing.assert_allclose(losses, FIXTURES[f"{dtype}/losses"], rtol=tol, atol=tol)
    prefix = f"{dtype}/final/"
    expected = {k[len(prefix):]: FIXTURES[k] for k in FIXTURES.files if k.startswith(prefix)}
    state = model.state_dict()
    assert list(state) == list(expected)
    for key, value in expected.items():
        np.testing.assert_allclose(state[key], value, rtol=tol, atol=tol, err_msg=key)
    assert state["1.num_batches_tracked"] == 0  # PyTorch's instance norm never counts
    model.eval()
    np.testing.assert_allclose(predict(FIXTURES["x"][:BATCH].astype(dtype)), FIXTURES[f"{dtype}/eval"],
                               rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_instance_norm_running_statistics_match_pytorch_eagerly(dtype):
    model = instance_model(dtype)
    opt = sn.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    losses = []
    for x, y in batches(dtype):
        opt.zero_grad()
        loss = F.mse_loss(model(sn.tensor(x, dtype=DTYPES[dtype])), sn.tensor(y, dtype=DTYPES[dtype]))
        loss.backward()
        opt.step()
        losses.append(loss.item())
    check_against_pytorch(model, losses, lambda x: model(sn.tensor(x, dtype=DTYPES[dtype])).numpy(), dtype)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_instance_norm_running_statistics_match_pytorch_in_a_compiled_step(dtype):
    model = instance_model(dtype)
    step = sn.compile(model, sn.nn.MSELoss(), sn.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM))
    losses = [step.step(x, y) for x, y in batches(dtype)]
    check_against_pytorch(model, losses, lambda x: step.predict(x).numpy(), dtype)


def test_instance_norm_momentum_none_leaves_running_statistics_alone():
    norm = sn.nn.InstanceNorm2d(2, momentum=None, track_running_stats=True).double()
    norm(sn.randn(3, 2, 4, 4, dtype=sn.float64))
    assert np.array_equal(norm.running_mean.numpy(), [0, 0]) and np.array_equal(norm.running_var.numpy(), [1, 1])


def test_instance_norm_num_features_mismatch_warns_without_affine_and_refuses_with_it():
    with pytest.warns(UserWarning, match="does not match num_features"):
        sn.nn.InstanceNorm1d(4)(sn.randn(2, 3, 5))
    with pytest.raises(ValueError, match="to match num_features"):
        sn.nn.InstanceNorm1d(4, affine=True)(sn.randn(2, 3, 5))


def test_batch_norm_without_bias_has_pytorch_keys():
    norm = sn.nn.BatchNorm1d(3, bias=False)
    assert list(norm.state_dict()) == ["weight", "running_mean", "running_var", "num_batches_tracked"]
    assert norm.bias is None and norm(sn.randn(4, 3)).shape == (4, 3)


# ------------------------------------------------------------------------------ lazy norm layers
LAZY = [(sn.nn.LazyBatchNorm1d, sn.nn.BatchNorm1d, (4, 5)), (sn.nn.LazyBatchNorm2d, sn.nn.BatchNorm2d, (2, 5, 3, 3)),
        (sn.nn.LazyBatchNorm3d, sn.nn.BatchNorm3d, (2, 5, 2, 2, 2)),
        (sn.nn.LazyInstanceNorm1d, sn.nn.InstanceNorm1d, (2, 5, 4)),
        (sn.nn.LazyInstanceNorm2d, sn.nn.InstanceNorm2d, (2, 5, 3, 3)),
        (sn.nn.LazyInstanceNorm3d, sn.nn.InstanceNorm3d, (2, 5, 2, 2, 2))]
KEYS = ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]


@pytest.mark.parametrize(("lazy", "becomes", "shape"), LAZY, ids=[c[0].__name__ for c in LAZY])
def test_lazy_norms_read_num_features_at_the_first_call(lazy, becomes, shape):
    module = lazy(momentum=0.3).to(sn.float64)
    with pytest.raises(RuntimeError):
        module.state_dict()
    out = module(sn.randn(*shape, dtype=sn.float64))
    assert type(module) is becomes and module.num_features == 5 and out.shape == shape
    assert list(module.state_dict()) == KEYS  # PyTorch's lazy defaults: affine, tracked statistics
    assert module.weight.dtype == sn.float64 and module.weight.shape == (5,) and module.momentum == 0.3
    assert module.running_mean.shape == (5,) and not np.allclose(module.running_mean.numpy(), 0)


def test_lazy_norm_keeps_its_mode_and_arguments():
    module = sn.nn.LazyBatchNorm1d(affine=False, track_running_stats=False).eval()
    module(sn.randn(4, 3))
    assert not module.training and list(module.state_dict()) == [] and module.weight is None


def test_lazy_instance_norm_reads_dim_1_even_unbatched_as_pytorch():
    with pytest.raises(ValueError, match="num_features"):
        sn.nn.LazyInstanceNorm1d()(sn.randn(3, 5))  # (C, L): num_features becomes L, affine refuses C


# ------------------------------------------------------------------------------ in-place activations
INPLACE = [("relu_", ()), ("elu_", (0.5,)), ("celu_", (2.0,)), ("selu_", ()), ("hardtanh_", (-0.5, 0.5)),
           ("leaky_relu_", (0.2,)), ("threshold_", (0.1, -1.0)), ("rrelu_", ())]


@pytest.mark.parametrize(("name", "params"), INPLACE, ids=[n for n, _ in INPLACE])
def test_inplace_activations_refuse_a_leaf_requiring_grad_and_write_under_no_grad(name, params):
    function, outplace = getattr(F, name), getattr(F, name[:-1])
    assert "inplace" not in inspect.signature(function).parameters
    x = sn.tensor([[-1.5, 0.25], [0.75, -0.1]], dtype=sn.float64, requires_grad=True)
    with pytest.raises(GradError, match="leaf Variable"):
        function(x, *params)
    expected = outplace(x.detach(), *params).numpy()
    with sn.no_grad():
        assert function(x, *params) is x
    np.testing.assert_array_equal(x.numpy(), expected)


def test_inplace_activation_on_a_computed_tensor_keeps_the_gradient():
    x = sn.tensor([-1.0, 2.0, 0.5], dtype=sn.float64, requires_grad=True)
    y = x * 3.0
    F.leaky_relu_(y, 0.1)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [0.3, 3.0, 3.0])


def test_rrelu_inplace_in_training_writes_its_random_slopes_back():
    x = sn.tensor([-1.0, -2.0, 3.0])
    assert F.rrelu_(x, 0.25, 0.5, training=True) is x
    assert x.numpy()[2] == 3.0
    assert ((x.numpy()[:2] / [-1.0, -2.0] >= 0.25) & (x.numpy()[:2] / [-1.0, -2.0] <= 0.5)).all()


class _Noisy(sn.nn.Module):
    """A linear layer, then gumbel_softmax or rrelu: their noise must be drawn anew at every compiled step."""

    def __init__(self, noise):
        super().__init__()
        self.linear, self.noise = sn.nn.Linear(3, 4), noise

    def forward(self, x):
        return self.noise(self.linear(x))


@pytest.mark.parametrize("noise", [lambda h: F.gumbel_softmax(h, tau=0.5), lambda h: F.rrelu(h - 5.0, training=True)],
                         ids=["gumbel_softmax", "rrelu"])
def test_noise_in_a_compiled_forward_is_drawn_anew_each_step(noise):
    sn.manual_seed(4)
    model = _Noisy(noise).double()
    step = sn.compile(model, sn.nn.MSELoss(), sn.optim.SGD(model.parameters(), lr=0.0))
    x, y = np.ones((6, 3)), np.zeros((6, 4))
    losses = [step.step(x, y) for _ in range(4)]
    assert len(set(losses)) == 4


# ------------------------------------------------------------------------------ gumbel_softmax
def test_gumbel_softmax_sums_to_one_and_is_reproducible_from_the_seed():
    logits = sn.randn(6, 4, dtype=sn.float64)
    sn.manual_seed(5)
    first = F.gumbel_softmax(logits, tau=0.5, dim=0).numpy()
    sn.manual_seed(5)
    np.testing.assert_array_equal(F.gumbel_softmax(logits, tau=0.5, dim=0).numpy(), first)
    np.testing.assert_allclose(first.sum(0), 1.0, rtol=1e-12)
    assert (first >= 0).all()


def test_gumbel_softmax_hard_is_one_hot_at_the_soft_argmax_with_the_soft_gradient():
    logits = sn.tensor(np.random.default_rng(0).standard_normal((5, 3)), dtype=sn.float64, requires_grad=True)
    weights = sn.tensor(np.random.default_rng(1).uniform(0.5, 1.5, (5, 3)), dtype=sn.float64)
    sn.manual_seed(7)
    soft = F.gumbel_softmax(logits, tau=0.7)
    (soft * weights).sum().backward()
    soft_grad = logits.grad.numpy().copy()
    logits.grad = None
    sn.manual_seed(7)
    hard = F.gumbel_softmax(logits, tau=0.7, hard=True)
    (hard * weights).sum().backward()
    values = hard.numpy()
    assert set(np.unique(values)) <= {0.0, 1.0} and (values.sum(1) == 1).all()
    assert (values.argmax(1) == soft.numpy().argmax(1)).all()
    np.testing.assert_allclose(logits.grad.numpy(), soft_grad, rtol=1e-12, atol=1e-15)


def test_gumbel_softmax_samples_the_softmax_distribution():
    probabilities = np.array([0.6, 0.3, 0.1])
    sn.manual_seed(0)
    logits = sn.tensor(np.tile(np.log(probabilities), (20000, 1)), dtype=sn.float64)
    frequencies = F.gumbel_softmax(logits, hard=True).numpy().mean(0)
    np.testing.assert_allclose(frequencies, probabilities, atol=0.015)  # ~4.5 standard errors


def test_gumbel_softmax_warns_on_eps_and_refuses_integers():
    with pytest.warns(UserWarning, match="eps"):
        F.gumbel_softmax(sn.randn(2, 3), eps=1e-3)
    with pytest.raises(TypeError):
        F.gumbel_softmax(sn.tensor([1, 2]))


# ------------------------------------------------------------------------------ feature alpha dropout, upsample
def test_feature_alpha_dropout_draws_one_value_per_channel():
    sn.manual_seed(0)
    x = sn.ones(8, 6, 5, dtype=sn.float64)
    out = F.feature_alpha_dropout(x, 0.5, training=True).numpy()
    assert np.allclose(out, out[..., :1])  # shared along the positions of each (sample, channel)
    assert len(np.unique(out.round(12))) == 2  # kept (scaled, shifted) or dropped (SELU's saturation, shifted)
    assert np.array_equal(sn.nn.FeatureAlphaDropout(0.5).eval()(x).numpy(), x.numpy())


@pytest.mark.parametrize("name", ["upsample", "upsample_nearest", "upsample_bilinear"])
def test_upsample_family_warns_as_pytorch(name):
    with pytest.warns(UserWarning, match=f"nn.functional.{name}` is deprecated"):
        out = getattr(F, name)(sn.randn(1, 1, 2, 2), scale_factor=2)
    assert out.shape == (1, 1, 4, 4)


# ------------------------------------------------------------------------------ shuffles in a compiled step
@pytest.mark.parametrize("shuffle", [sn.nn.PixelShuffle(2), sn.nn.ChannelShuffle(2), sn.nn.Softmax2d()],
                         ids=["PixelShuffle", "ChannelShuffle", "Softmax2d"])
def test_shuffles_inside_a_compiled_step_serve_any_batch_size(shuffle):
    sn.manual_seed(0)
    model = sn.nn.Sequential(sn.nn.Conv2d(1, 4, 1), shuffle, sn.nn.Flatten(), sn.nn.Linear(16, 1)).double()
    rng = np.random.default_rng(0)
    step = sn.compile(model, sn.nn.MSELoss(), sn.optim.SGD(model.parameters(), lr=0.1))
    for batch in (3, 5):
        x = rng.standard_normal((batch, 1, 2, 2))
        np.testing.assert_allclose(step.predict(x).numpy(), model(sn.tensor(x, dtype=sn.float64)).numpy(),
                                   rtol=1e-12, atol=1e-12)
        step.step(x, rng.standard_normal((batch, 1)))
