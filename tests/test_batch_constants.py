"""Tensors a compiled step's forward makes with the batch size (``zeros(layers, x.size(0), hidden)``,
``zeros_like(h)``, ``x.new_zeros(x.size(0), k)``, max unpooling's scatter) take the symbolic batch: a step
compiled on a batch of 4 trains the short last batch of 3 too, exactly as the same loop run eagerly (float64).
A forward that takes the batch size as a Python number (``len(x)``, ``2 * x.size(0)``) gets a step for each
batch size: the short last batch is its own, never the traced batch's numbers."""

from __future__ import annotations

import numpy as np
import pytest

import symnet as sn
from codegen.pool import POOL
from symnet import pipeline
from symnet.errors import NotSupportedError, ShapeError
from symnet.frontend.batch import BatchSize

F = sn.nn.functional


class LSTMNet(sn.nn.Module):
    """The tutorials' LSTM: explicit zero initial states sized by the batch."""

    def __init__(self):
        super().__init__()
        self.num_layers, self.hidden_size = 2, 4
        self.lstm = sn.nn.LSTM(3, 4, num_layers=2, batch_first=True)
        self.fc = sn.nn.Linear(4, 2)

    def forward(self, x):
        h0 = sn.zeros(self.num_layers, x.size(0), self.hidden_size, dtype=x.dtype)
        c0 = x.new_zeros(self.num_layers, x.shape[0], self.hidden_size)
        out, _ = self.lstm(x, (h0, c0))
        return self.fc(out[:, -1, :])


class FilledMLP(sn.nn.Module):
    """Constants shaped like computed tensors or sized by the batch, in every constructor's form."""

    def __init__(self):
        super().__init__()
        self.fc1, self.fc2 = sn.nn.Linear(3, 5), sn.nn.Linear(5 + 6, 2)

    def forward(self, x):
        h = self.fc1(x)
        h = F.relu(h) * sn.ones_like(h) + sn.zeros_like(h) + sn.full_like(h, 0.5) + sn.empty_like(h) * 0
        extra = sn.cat([x.new_zeros(x.size(0), 2) + 1, x.new_ones((x.size(0), 1)), x.new_full((x.size(-2), 1), 2.0),
                        sn.zeros(x.size()[0], 1), sn.full((x.shape[0], 1), -1.5)], 1)
        noise = sn.randn(x.size(0), 2) * 0 + sn.rand(x.size(0), 2) * 0  # drawn per step; exactly 0 here
        return self.fc2(sn.cat([h, extra], 1)) + noise


class PoolAutoencoder(sn.nn.Module):
    """Max pooling with indices, then unpooling (a scatter over the batch) and a decoder."""

    def __init__(self):
        super().__init__()
        self.enc, self.dec = sn.nn.Conv2d(1, 2, 3, padding=1), sn.nn.Conv2d(2, 1, 3, padding=1)
        self.pool, self.unpool = sn.nn.MaxPool2d(2, return_indices=True), sn.nn.MaxUnpool2d(2)

    def forward(self, x):
        h, where = self.pool(F.relu(self.enc(x)))
        return self.dec(self.unpool(h, where))


def _data(model: str) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    if model == "lstm":
        return rng.standard_normal((11, 3, 3)), rng.standard_normal((11, 2))
    if model in ("mlp", "per_row"):
        return rng.standard_normal((11, 3)), rng.standard_normal((11, 2))
    x = rng.standard_normal((11, 1, 4, 4))
    return x, x


class PerRowMLP(sn.nn.Module):
    """The batch size as an operand (``out / x.size(0)``, ``x.shape[0] * out``), a clamp bound and a fill value:
    each step's own, not the traced batch's."""

    def __init__(self):
        super().__init__()
        self.fc = sn.nn.Linear(3, 2)

    def forward(self, x):
        out = self.fc(x)
        bounded = (out * 10).clamp(max=x.size(0)) + (out * 10).clamp(-1.5, x.shape[0])
        return out / x.size(0) * 4 + (x.shape[0] - out) * 0.25 + out.size(0) + bounded + out.masked_fill(
            out > 0, x.size(0))


MODELS = {"lstm": LSTMNet, "mlp": FilledMLP, "autoencoder": PoolAutoencoder, "per_row": PerRowMLP}


def _trained(name: str, compiled: bool) -> tuple[list[float], dict]:
    """Three SGD steps over batches of 4, 4 and 3 (a DataLoader without drop_last): losses and final state."""
    sn.manual_seed(0)
    model = MODELS[name]().double()
    opt = sn.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    x, y = _data(name)
    loader = sn.data.DataLoader(sn.data.TensorDataset(sn.tensor(x), sn.tensor(y)), batch_size=4)
    losses = []
    step = sn.compile(model, sn.nn.MSELoss(), opt) if compiled else None
    for xb, yb in loader:
        if compiled:
            losses.append(float(step.step(xb, yb)))
        else:
            opt.zero_grad()
            loss = F.mse_loss(model(xb), yb)
            loss.backward()
            opt.step()
            losses.append(loss.item())
    return losses, {k: np.array(v) for k, v in model.state_dict().items()}


@pytest.mark.parametrize("name", MODELS)
def test_a_compiled_step_trains_the_short_last_batch_as_the_eager_loop(name):
    eager_losses, eager_state = _trained(name, compiled=False)
    losses, state = _trained(name, compiled=True)
    assert len(losses) == 3
    np.testing.assert_allclose(losses, eager_losses, rtol=1e-10)
    for key, value in eager_state.items():
        np.testing.assert_allclose(state[key], value, rtol=1e-10, atol=1e-14, err_msg=key)


class Head(sn.nn.Module):
    """``Linear(3, 2)``, then ``extra(x, out)``: the forward the edge cases vary."""

    def __init__(self, extra):
        super().__init__()
        self.fc, self.extra = sn.nn.Linear(3, 2), extra

    def forward(self, x):
        return self.extra(x, self.fc(x))


def _first_step(extra) -> None:
    """One compiled SGD step of ``Head(extra)`` on a batch of 4."""
    model = Head(extra).double()
    step = sn.compile(model, sn.nn.MSELoss(), sn.optim.SGD(model.parameters(), lr=0.1))
    x, y = (sn.tensor(a[:4]) for a in _data("mlp"))
    step.step(x, y)


def test_a_size_not_tied_to_the_batch_holds_the_step_to_each_batch_size():
    """A size the trace cannot tie to the batch (a literal 4, arithmetic on ``x.size(0)``) makes a step for each
    batch size, as PyTorch runs it: ``zeros(4, 2)`` added to the output works at 4 rows and is PyTorch's
    broadcast error at 3; ``zeros(x.size(0) + 0, 2)`` works at both."""
    four = 4
    x, y = _data("mlp")
    for extra, short_batch_runs in ((lambda x, out: out + sn.zeros(four, 2), False),
                                    (lambda x, out: out + sn.zeros(x.size(0) + 0, 2), True)):
        model = Head(extra).double()
        step = sn.compile(model, sn.nn.MSELoss(), sn.optim.SGD(model.parameters(), lr=0.1))
        assert np.isfinite(step.step(x[:4], y[:4]))
        if short_batch_runs:
            assert np.isfinite(step.step(x[:3], y[:3]))
        else:
            with pytest.raises(ShapeError, match=r"add: shapes \(3, 2\) and \(4, 2\) cannot be broadcast"):
                step.step(x[:3], y[:3])


def test_the_batch_size_is_marked_only_inside_the_trace():
    seen = []

    def spy(x, out):
        seen.extend([x.size(0), x.shape[0], x.size()[0], out.shape[0], out.T.shape[1], x.size(0) + 0])
        return out

    _first_step(spy)  # traced on the batch of 4, then on one row more (``_holds_batch_size``)
    assert [type(d) for d in seen] == ([BatchSize] * 5 + [int]) * 2 and seen == [4] * 6 + [5] * 6
    seen.clear()
    x = sn.tensor(_data("mlp")[0][:4])
    spy(x, Head(spy).double()(x))  # eagerly: plain ints, and the constructors make constants
    assert all(type(d) is int for d in seen) and sn.zeros(x.size(0), 2).node is None
    assert all(type(d) is int for d in x.shape)


def test_requires_grad_on_a_batch_sized_constant_is_refused_in_a_compiled_step():
    with pytest.raises(NotSupportedError, match="requires_grad=True"):
        _first_step(lambda x, out: out + sn.zeros(x.size(0), 2, requires_grad=True))
    with pytest.raises(NotSupportedError, match="randn.*one draw kept for every step"):
        _first_step(lambda x, out: out + sn.randn(4, 2))


def _mean_by_hand(pred, target):
    return ((pred - target) ** 2).sum() / target.size(0)


@pytest.mark.parametrize("how", ["step", "fit"])
def test_a_loss_divided_by_the_batch_size_divides_each_batch_by_its_own(how):
    """``loss.sum() / y.size(0)`` in a compiled step: the short last batch of 3 is divided by 3, not by the 4 the
    step was traced on (it used to be: silently 3/4 of PyTorch's loss and gradient)."""
    x, y = _data("mlp")
    results = []
    for compiled in (False, True):
        sn.manual_seed(0)
        model = sn.nn.Linear(3, 2).double()
        opt = sn.optim.SGD(model.parameters(), lr=0.1)
        loader = sn.data.DataLoader(sn.data.TensorDataset(sn.tensor(x), sn.tensor(y)), batch_size=4)
        if not compiled:
            losses = []
            for xb, yb in loader:
                opt.zero_grad()
                loss = _mean_by_hand(model(xb), yb)
                loss.backward()
                opt.step()
                losses.append(loss.item())
        else:
            step = sn.compile(model, _mean_by_hand, opt)
            losses = [step.step(xb, yb) for xb, yb in loader] if how == "step" else list(
                step.fit(loader, epochs=1, progress=False))
        results.append((losses, model.weight.numpy().copy()))
    (eager, w_eager), (ours, w_ours) = results
    assert len(ours) == 3
    np.testing.assert_allclose(ours, eager, rtol=1e-12)
    np.testing.assert_allclose(w_ours, w_eager, rtol=1e-12)


def test_the_batch_size_as_an_operand_promotes_as_a_python_int():
    seen = {}

    def spy(x, out):
        seen["float"] = (out / x.size(0)).dtype, (out.float() * x.shape[0]).dtype
        seen["int"] = (x.long() // x.size(0)).dtype, ((x > 0) + x.size(0)).dtype, (x.long() / x.size(0)).dtype
        return out

    _first_step(spy)
    assert seen["float"] == (sn.float64, sn.float32)
    assert seen["int"] == (sn.int64, sn.int64, sn.float32)


#: forwards that take the batch size as a Python number: each batch's step must see its own
BY_NUMBER = {
    "len": lambda x, out: out * len(x) / 4,
    "arithmetic": lambda x, out: out * (2 * x.size(0)) / 8 + x.shape[0] / 4,
    "fill": lambda x, out: out + sn.full((1,), float(x.size(0)), dtype=x.dtype) / 10,
    "rows": lambda x, out: sn.stack([out[i] * (i + 1) for i in range(len(x))]) / 4,  # a Python loop over rows
    "tensor": lambda x, out: out * sn.tensor(len(out), dtype=x.dtype),
}


def _by_number(extra, how: str) -> tuple[list[float], np.ndarray, int]:
    """SGD over batches of 4, 4 and 3 of ``Head(extra)``: eagerly, by compiled steps or by ``fit``: the losses,
    the final weight and how many steps were derived."""
    x, y = _data("mlp")
    sn.manual_seed(0)
    model = Head(extra).double()
    opt = sn.optim.SGD(model.parameters(), lr=0.1)
    loader = sn.data.DataLoader(sn.data.TensorDataset(sn.tensor(x), sn.tensor(y)), batch_size=4)
    derived = pipeline.timings()["differentiate"][0]
    if how == "eager":
        losses = []
        for xb, yb in loader:
            opt.zero_grad()
            loss = F.mse_loss(model(xb), yb)
            loss.backward()
            opt.step()
            losses.append(loss.item())
    else:
        step = sn.compile(model, sn.nn.MSELoss(), opt)
        losses = [step.step(xb, yb) for xb, yb in loader] if how == "step" else list(
            step.fit(loader, epochs=1, progress=False))
    return losses, model.fc.weight.numpy().copy(), pipeline.timings()["differentiate"][0] - derived


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch):
    """A disk cache of the test's own: every step is derived here (``_by_number`` counts them)."""
    POOL.ensure()  # the pool's own object is cached where it was first made
    monkeypatch.setenv("SYMNET_CACHE_DIR", str(tmp_path / "cache"))


@pytest.mark.parametrize("how", ["step", "fit"])
@pytest.mark.parametrize("form", BY_NUMBER)
def test_a_forward_that_takes_the_batch_size_as_a_number_gets_a_step_per_batch_size(form, how, fresh_cache):
    """The step traced on 4 rows held 4 where the forward said ``len(x)``: the short last batch of 3 got it,
    silently. Now each batch size has its own step (derived twice here: 4 rows, then 3)."""
    eager, w_eager, _ = _by_number(BY_NUMBER[form], "eager")
    ours, w_ours, derived = _by_number(BY_NUMBER[form], how)
    assert len(ours) == 3 and derived == 2
    np.testing.assert_allclose(ours, eager, rtol=1e-12)
    np.testing.assert_allclose(w_ours, w_eager, rtol=1e-12)


def test_a_forward_that_only_reads_shapes_has_one_step_for_every_batch_size(fresh_cache):
    ours, _, derived = _by_number(lambda x, out: out / x.size(0) + out.new_zeros(x.size(0), 2), "step")
    assert len(ours) == 3 and derived == 1


def test_predict_is_made_for_each_batch_size_when_the_forward_takes_it_as_a_number():
    model = Head(BY_NUMBER["len"]).double()
    step = sn.compile(model, sn.nn.MSELoss(), sn.optim.SGD(model.parameters(), lr=0.1))
    x = sn.tensor(_data("mlp")[0])
    for rows in (4, 3, 4, 1):
        np.testing.assert_allclose(step.predict(x[:rows]).numpy(), model(x[:rows]).detach().numpy(), rtol=1e-14)


def test_tracing_again_on_another_batch_size_leaves_the_generator_where_it_was():
    """The second trace draws the dropout keys again: the user's generator must not see it."""
    model = sn.nn.Sequential(sn.nn.Linear(3, 4), sn.nn.Dropout(0.5), sn.nn.Linear(4, 2)).double()
    step = sn.compile(model, sn.nn.MSELoss(), sn.optim.SGD(model.parameters(), lr=0.1))
    x, y = _data("mlp")
    sn.manual_seed(3)
    rec = step._record(x[:4], y[:4])
    before = sn.get_rng_state()
    assert not step._holds_batch_size(rec, x[:4], y[:4])
    np.testing.assert_array_equal(sn.get_rng_state().numpy(), before.numpy())


def test_a_forward_that_fails_on_another_batch_size_is_held_to_its_own():
    """``x.view(4, -1)`` runs on a batch of 4 only: the step for 4 rows, and PyTorch's error at another size."""
    def fixed(x, out):
        return out.view(4, -1) * 1.0

    model = Head(fixed).double()
    step = sn.compile(model, sn.nn.MSELoss(), sn.optim.SGD(model.parameters(), lr=0.1))
    x, y = _data("mlp")
    assert np.isfinite(step.step(x[:4], y[:4]))
    with pytest.raises(ShapeError, match=r"reshape: shape \(4, -1\) is invalid for input of shape \(3, 2\)"):
        step.step(x[:3], y[:3])
