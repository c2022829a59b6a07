"""Stateful modules: buffers, BatchNorm's running statistics and Dropout's masks, eagerly and inside ``sn.compile``.

PyTorch's numbers come from tests/fixtures/stateful.npz (tests/fixtures/make_stateful_fixtures.py wrote them
with PyTorch 2.13): 50 steps of SGD with momentum through BatchNorm1d and BatchNorm2d models must give the same
losses, weights and running statistics. Dropout's masks come from symnet's own counter-based generator (not
PyTorch's), so they are checked by their law: the keep rate within statistical bounds, the scaling, the seed.
"""

from pathlib import Path

import numpy as np
import pytest

import symnet as sn
from symnet.core.random import BITS
from symnet.core.random_bits import random_bits
from symnet.frontend.device import DeviceError, check_device, device
from symnet.nn.batchnorm import BatchNorm1d, BatchNorm2d, batch_norm
from symnet.nn.dropout import AlphaDropout, Dropout, Dropout1d, Dropout2d, dropout, dropout1d, dropout2d

FIXTURES = np.load(Path(__file__).parent / "fixtures" / "stateful.npz")
TOLERANCE = {"float64": 1e-9, "float32": 1e-4}
DTYPES = {"float64": sn.float64, "float32": sn.float32}


def mlp() -> sn.nn.Module:
    return sn.nn.Sequential(sn.nn.Linear(4, 8), BatchNorm1d(8), sn.nn.ReLU(), sn.nn.Linear(8, 3))


def conv() -> sn.nn.Module:
    return sn.nn.Sequential(sn.nn.Conv2d(2, 4, 3), BatchNorm2d(4, momentum=None), sn.nn.ReLU(), sn.nn.Flatten(),
                            sn.nn.Linear(64, 2))


def fixture_state(name: str, dtype: str, when: str) -> dict[str, np.ndarray]:
    prefix = f"{name}/{dtype}/{when}/"
    return {k[len(prefix):]: FIXTURES[k] for k in FIXTURES.files if k.startswith(prefix)}


# ------------------------------------------------------------------------------ PyTorch parity in sn.compile
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name, build, native", [("mlp", mlp, True), ("conv", conv, False)])
def test_running_statistics_match_pytorch_after_50_steps(name, build, native, dtype):
    """The native epochs (mlp, ``fit``) and the per-step calls (conv, ``step``) both update the buffers."""
    model = build().to(DTYPES[dtype])
    model.load_state_dict(fixture_state(name, dtype, "initial"))
    step = sn.compile(model, sn.nn.MSELoss(), sn.optim.SGD(model.parameters(), lr=0.05, momentum=0.9))
    x, y = FIXTURES[f"{name}/x"].astype(dtype), FIXTURES[f"{name}/y"].astype(dtype)
    if native:
        data = sn.data.TensorDataset(sn.tensor(x, dtype=DTYPES[dtype]), sn.tensor(y, dtype=DTYPES[dtype]))
        loader = sn.data.DataLoader(data, batch_size=8)
        losses = step.fit(loader, epochs=5)
    else:
        losses = [step.step(x[k * 8 % 80:k * 8 % 80 + 8], y[k * 8 % 80:k * 8 % 80 + 8]) for k in range(50)]
    tol = TOLERANCE[dtype]
    np.testing.assert_allclose(losses, FIXTURES[f"{name}/{dtype}/losses"], rtol=tol, atol=tol)
    expected = fixture_state(name, dtype, "final")
    state = model.state_dict()
    assert list(state) == list(expected)
    for key, value in expected.items():
        assert state[key].dtype == value.dtype, key
        np.testing.assert_allclose(state[key], value, rtol=tol, atol=tol, err_msg=key)
    assert state["1.num_batches_tracked"] == 50


def test_train_eval_switching_compiles_a_program_per_mode():
    sn.manual_seed(3)
    model = sn.nn.Sequential(sn.nn.Linear(4, 8), BatchNorm1d(8), sn.nn.ReLU(), Dropout(0.5), sn.nn.Linear(8, 1))
    model.double()
    step = sn.compile(model, sn.nn.MSELoss(), sn.optim.SGD(model.parameters(), lr=0.1))
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((16, 4)), rng.standard_normal((16, 1))
    for _ in range(3):
        step.step(x, y)
    bn = model[1]
    assert bn.num_batches_tracked.item() == 3 and not np.allclose(bn.running_mean.numpy(), 0)
    model.eval()
    out = step.predict(x).numpy()
    assert np.array_equal(out, step.predict(x).numpy())  # no dropout
    np.testing.assert_allclose(out, model(sn.tensor(x, dtype=sn.float64)).numpy(), rtol=1e-12, atol=1e-12)
    stats = {k: v.clone() for k, v in model.state_dict().items() if "running" in k}
    step.step(x, y)  # training in eval mode: running statistics used and left alone, as PyTorch
    assert all(np.array_equal(v, model.state_dict()[k]) for k, v in stats.items())
    assert bn.num_batches_tracked.item() == 3
    model.train()
    assert not np.array_equal(step.predict(x).numpy(), step.predict(x).numpy())  # dropout draws anew
    step.step(x, y)
    assert bn.num_batches_tracked.item() == 4
    assert len(step._steps) == 2 and len(step._predicts) == 2


def test_buffers_are_bound_each_step_not_baked_at_trace():
    model = sn.nn.Sequential(sn.nn.Linear(3, 2), BatchNorm1d(2)).double().eval()
    step = sn.compile(model, sn.nn.MSELoss(), sn.optim.SGD(model.parameters(), lr=0.0))
    x = np.random.default_rng(1).standard_normal((5, 3))
    before = step.predict(x).numpy()
    model[1].running_mean.copy_(np.array([1.0, -1.0]))
    np.testing.assert_allclose(step.predict(x).numpy(), before - np.array([1.0, -1.0]) / np.sqrt(1 + 1e-5))


class _LastMean(sn.nn.Module):
    """Keeps the last batch's mean in a buffer it never reads: the step still needs the buffer as an input to
    feed its new value back into (it raised a KeyError building the step)."""

    def __init__(self):
        super().__init__()
        self.linear = sn.nn.Linear(3, 1)
        self.register_buffer("last_mean", sn.zeros(3))

    def forward(self, x):
        sn.nn.module.update_buffer(self.last_mean, x.mean(0))
        return self.linear(x)


@pytest.mark.parametrize("assign", [False, True])
def test_a_buffer_written_but_never_read_is_updated_by_step_fit_and_left_by_predict(assign, monkeypatch):
    if assign:  # ``self.last_mean = value`` is the same update inside a compiled step
        monkeypatch.setattr(_LastMean, "forward", lambda self, x: (setattr(self, "last_mean", x.mean(0)),
                                                                     self.linear(x))[1])
    model = _LastMean()
    step = sn.compile(model, sn.nn.MSELoss(), sn.optim.SGD(model.parameters(), lr=0.1))
    x, y = np.arange(12, dtype=np.float32).reshape(4, 3), np.zeros((4, 1), np.float32)
    step.step(x, y)
    np.testing.assert_array_equal(model.last_mean.numpy(), x.mean(0))
    step.fit((x * 2, y), epochs=2, progress=False)
    np.testing.assert_array_equal(model.last_mean.numpy(), 2 * x.mean(0))
    assert step.predict(x).shape == (4, 1)
    np.testing.assert_array_equal(model.last_mean.numpy(), 2 * x.mean(0))  # predict updates no buffer


# ------------------------------------------------------------------------------ dropout
def dropout_model(p: float = 0.5) -> sn.nn.Module:
    return sn.nn.Sequential(sn.nn.Linear(4, 16), sn.nn.ReLU(), Dropout(p), sn.nn.Linear(16, 1)).double()


def fit_losses(seed: int, steps: int = 10) -> list[float]:
    sn.manual_seed(seed)
    model = dropout_model()
    rng = np.random.default_rng(0)
    x, y = sn.tensor(rng.standard_normal((32, 4)), dtype=sn.float64), sn.tensor(rng.standard_normal((32, 1)),
                                                                                   dtype=sn.float64)
    step = sn.compile(model, sn.nn.MSELoss(), sn.optim.SGD(model.parameters(), lr=0.05))
    return step.fit(sn.data.DataLoader(sn.data.TensorDataset(x, y), batch_size=32), epochs=steps)


def test_dropout_masks_are_reproducible_from_the_seed():
    first = fit_losses(1)
    assert first == fit_losses(1)
    assert first != fit_losses(2)


def test_dropout_masks_differ_per_step_and_fit_equals_step():
    """lr = 0: the weights never move, so the losses differ only by the masks; ``fit``'s native epochs and
    Python-driven ``step`` calls draw the same masks."""
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((32, 4)), rng.standard_normal((32, 1))
    losses = []
    for native in (True, False):
        sn.manual_seed(5)
        model = dropout_model()
        step = sn.compile(model, sn.nn.MSELoss(), sn.optim.SGD(model.parameters(), lr=0.0))
        if native:
            loader = sn.data.DataLoader(sn.data.TensorDataset(sn.tensor(x, dtype=sn.float64),
                                                              sn.tensor(y, dtype=sn.float64)), batch_size=32)
            losses.append(step.fit(loader, epochs=6))
        else:
            losses.append([step.step(x, y) for _ in range(6)])
    assert losses[0] == losses[1]
    assert len(set(losses[0])) == 6


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_dropout_keep_rate_and_scaling(p):
    x = sn.ones(400, 500, dtype=sn.float64)
    out = dropout(x, p).numpy()
    kept = out != 0
    n = out.size
    assert abs(kept.mean() - (1 - p)) < 5 * np.sqrt(p * (1 - p) / n)  # five standard deviations
    np.testing.assert_array_equal(out[kept], 1 / (1 - p))
    assert not np.array_equal(kept, dropout(x, p).numpy() != 0)  # a new mask per call


def test_dropout_gradient_is_the_scaled_mask_and_eval_is_identity():
    x = sn.tensor(np.random.default_rng(0).standard_normal((50, 20)), requires_grad=True, dtype=sn.float64)
    layer = Dropout(0.3)
    y = layer(x)
    y.sum().backward()
    mask = (y.numpy() != 0) / 0.7
    np.testing.assert_allclose(x.grad.numpy(), mask, rtol=1e-15)
    np.testing.assert_allclose(y.numpy(), x.numpy() * mask, rtol=1e-15)
    layer.eval()
    assert layer(x) is x
    assert dropout(x, 0.3, training=False) is x


def test_dropout_edges_p0_p1_and_channels():
    x = sn.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert dropout(x, 0.0) is x
    assert np.array_equal(dropout(x, 1.0).numpy(), np.zeros((2, 2)))
    images = dropout2d(sn.ones(64, 8, 3, 3), 0.5).numpy()
    assert (images == images[:, :, :1, :1]).all() and 0 < (images != 0).mean() < 1
    series = dropout1d(sn.ones(8, 5), 0.5).numpy()  # (C, L): whole channels
    assert (series == series[:, :1]).all()
    selu = AlphaDropout(0.2)(sn.randn(200000, dtype=sn.float64)).numpy()
    assert abs(selu.mean()) < 0.02 and abs(selu.std() - 1) < 0.02  # mean and variance kept


def test_random_bits_native_equals_reference():
    from symnet import pipeline
    from symnet.core.dtypes import bool_, float32, float64
    from symnet.core.ir import BATCH, Def, Graph, Input
    from symnet.core.random import BernoulliMask
    from symnet.core.reference import evaluate

    x, key = Input("x", (BATCH, 7), float32), Input("key", (), float64)
    low = BernoulliMask(0.3, ()).define([x, key])
    graph = Graph([x, key], [Def("m", low.shape, bool_, low.domain, low.out, low.body)], ["m"])
    arrays = {"x": np.zeros((999, 7), np.float32), "key": np.array(2.0**52 - 3)}
    (native,) = pipeline.compile_graph(graph).call([arrays["x"], arrays["key"]])
    np.testing.assert_array_equal(native, evaluate(graph, arrays)["m"])
    bits = random_bits.numpy(np.array(7.0), np.arange(100000))
    assert bits.min() >= 0 and bits.max() < 2**BITS and abs(bits.mean() / 2**BITS - 0.5) < 0.005


# ------------------------------------------------------------------------------ eager batch norm
def test_eager_batchnorm_forward_backward_and_running_update():
    rng = np.random.default_rng(2)
    xa, g = rng.standard_normal((6, 3, 4)), rng.standard_normal((6, 3, 4))
    bn = BatchNorm1d(3).double()
    bn.weight.set_(np.array([0.5, 1.5, -1.0]))
    x = sn.tensor(xa, requires_grad=True, dtype=sn.float64)
    (bn(x) * sn.tensor(g, dtype=sn.float64)).sum().backward()
    mean, var = xa.mean(axis=(0, 2)), xa.var(axis=(0, 2))
    np.testing.assert_allclose(bn.running_mean.numpy(), 0.1 * mean, rtol=1e-12)
    np.testing.assert_allclose(bn.running_var.numpy(), 0.9 + 0.1 * var * 24 / 23, rtol=1e-12)
    assert bn.num_batches_tracked.numpy().dtype == np.int64 and bn.num_batches_tracked.item() == 1

    def loss(a):
        z = (a - a.mean(axis=(0, 2), keepdims=True)) / np.sqrt(a.var(axis=(0, 2), keepdims=True) + 1e-5)
        return (z * np.array([0.5, 1.5, -1.0])[:, None] * g).sum()

    numeric = np.zeros_like(xa)
    for i in np.ndindex(xa.shape):
        e = np.zeros_like(xa)
        e[i] = 1e-6
        numeric[i] = (loss(xa + e) - loss(xa - e)) / 2e-6
    np.testing.assert_allclose(x.grad.numpy(), numeric, rtol=1e-6, atol=1e-8)
    bn.eval()
    expected = (xa - bn.running_mean.numpy()[:, None]) / np.sqrt(bn.running_var.numpy()[:, None] + 1e-5)
    np.testing.assert_allclose(bn(x).numpy(), expected * np.array([0.5, 1.5, -1.0])[:, None], rtol=1e-12)


def test_batchnorm_without_running_stats_or_affine():
    bn = BatchNorm2d(2, affine=False, track_running_stats=False)
    assert bn.weight is None and bn.running_mean is None and list(bn.state_dict()) == []
    out = bn.eval()(sn.randn(4, 2, 3, 3, dtype=sn.float64)).numpy()  # batch statistics even in eval
    np.testing.assert_allclose(out.mean(axis=(0, 2, 3)), 0, atol=1e-12)
    xa = np.random.default_rng(5).standard_normal((5, 3))
    expected = (xa - xa.mean(axis=0)) / np.sqrt(xa.var(axis=0) + 1e-5)  # eps inside the root, as PyTorch
    out = batch_norm(sn.tensor(xa, dtype=sn.float64), None, None, training=True).numpy()
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-14)


# ------------------------------------------------------------------------------ module API
def test_buffers_in_state_dict_with_pytorch_keys_and_load():
    model = mlp().double()
    model[1].register_buffer("scratch", sn.zeros(2), persistent=False)
    assert [k for k, _ in model.named_buffers()] == ["1.running_mean", "1.running_var", "1.num_batches_tracked",
                                                     "1.scratch"]
    expected = fixture_state("mlp", "float64", "final")
    assert list(model.state_dict()) == list(expected)  # PyTorch's order: no non-persistent buffer
    model.load_state_dict(expected)
    assert model[1].num_batches_tracked.dtype == sn.int64 and model[1].num_batches_tracked.item() == 50
    np.testing.assert_array_equal(model[1].running_var.numpy(), expected["1.running_var"])
    model.float()
    assert model[1].running_var.dtype == sn.float32 and model[1].num_batches_tracked.dtype == sn.int64
    with pytest.raises(sn.DTypeError, match="num_batches_tracked"):
        model.load_state_dict({**expected, "1.num_batches_tracked": np.array(1.5)})


def test_module_traversal_apply_and_attributes():
    model = mlp()
    assert [n for n, _ in model.named_modules()] == ["", "0", "1", "2", "3"]
    assert [n for n, _ in model.named_modules(prefix="net")][:2] == ["net", "net.0"]
    assert list(model.children()) == list(model.modules())[1:] and [n for n, _ in model.named_children()][0] == "0"
    seen = []
    assert model.apply(lambda m: seen.append(type(m).__name__)) is model
    assert seen == ["Linear", "BatchNorm1d", "ReLU", "Linear", "Sequential"]
    assert model.get_submodule("1") is model[1] and model.get_parameter("3.bias") is model[3].bias
    assert model.get_buffer("1.running_mean") is model[1].running_mean
    with pytest.raises(AttributeError, match="'Linear' object has no attribute 'foo'"):
        _ = model[0].foo
    model.requires_grad_(False)
    assert not any(p.requires_grad for p in model.parameters())
    assert "BatchNorm1d(8, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)" in repr(model)
    assert repr(Dropout2d(0.2)) == "Dropout2d(p=0.2, inplace=False)"
    with pytest.raises(ValueError, match="boolean"):
        model.train("yes")
    with pytest.raises(KeyError, match="already exists"):
        model[1].register_buffer("weight", sn.zeros(8))
    with pytest.raises(TypeError, match="buffer"):
        model[1].register_buffer("extra", np.zeros(8))
    del model[0].bias
    assert [n for n, _ in model[0].named_parameters()] == ["weight"] and "0.bias" not in model.state_dict()


def test_devices():
    model = mlp()
    assert model.to("cpu") is model and model.cpu() is model
    assert model.to(device=device("cpu"), dtype=sn.float64)[0].weight.dtype == sn.float64
    assert str(device("cuda", 1)) == "cuda:1" and device("cpu") == check_device(None)
    for bad in (lambda: model.cuda(), lambda: model.to("cuda:0"), lambda: check_device("mps"),
                lambda: BatchNorm1d(3, device="cuda"), lambda: sn.nn.Linear(2, 3, device="cuda:0"),
                lambda: sn.nn.PReLU(device="cuda"), lambda: sn.nn.Conv2d(1, 2, 3, device="mps")):
        with pytest.raises(DeviceError, match="CPU"):
            bad()
    # the layers every factory-kwargs call reaches take the CPU by name or object, as PyTorch's
    assert sn.nn.Linear(2, 3, device="cpu").weight.shape == (3, 2)
    assert sn.nn.PReLU(device=device("cpu"), dtype=sn.float64).weight.dtype == sn.float64


@pytest.mark.parametrize("make, message", [
    (lambda: Dropout(1.5), "between 0 and 1"),
    (lambda: Dropout1d(-0.1), "between 0 and 1"),
    (lambda: dropout(sn.ones(3), p=2.0), "between 0 and 1"),
    (lambda: dropout1d(sn.ones(2, 3, 4, 5)), "Expected 2D or 3D input"),
    (lambda: BatchNorm1d(3)(sn.ones(2, 3, 4, 5)), r"expected 2D or 3D input \(got 4D input\)"),
    (lambda: BatchNorm2d(3)(sn.ones(2, 3, 4)), r"expected 4D input \(got 3D input\)"),
    (lambda: BatchNorm1d(3)(sn.ones(1, 3)), "Expected more than 1 value per channel when training"),
    (lambda: BatchNorm1d(4)(sn.ones(2, 3)), "should contain 3 elements not 4"),
])
def test_errors(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_short_last_batch_counts_its_own_rows():
    """The unbiased variance's n − 1 is a formula of the symbolic batch size, not the first batch's size."""
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((20, 3)), rng.standard_normal((20, 1))
    states = []
    for compiled in (True, False):
        sn.manual_seed(0)
        model = sn.nn.Sequential(sn.nn.Linear(3, 4), BatchNorm1d(4), sn.nn.Linear(4, 1)).double()
        opt = sn.optim.SGD(model.parameters(), lr=0.1)
        if compiled:
            data = sn.data.TensorDataset(sn.tensor(x, dtype=sn.float64), sn.tensor(y, dtype=sn.float64))
            sn.compile(model, sn.nn.MSELoss(), opt).fit(sn.data.DataLoader(data, batch_size=8))
        else:
            for i in range(0, 20, 8):
                opt.zero_grad()
                sn.nn.MSELoss()(model(sn.tensor(x[i:i + 8], dtype=sn.float64)),
                                sn.tensor(y[i:i + 8], dtype=sn.float64)).backward()
                opt.step()
        states.append(model.state_dict())
    for key, value in states[0].items():
        np.testing.assert_allclose(value, states[1][key], rtol=1e-12, atol=1e-15, err_msg=key)
