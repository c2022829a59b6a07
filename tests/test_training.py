"""symnet.nn modules, data loading, the compiled training step, checkpoints and schedules."""

import io
import json
import os
import pickle
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import symnet as sn


def regression(n=64, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 3)).astype(np.float32)
    y = np.tanh(x @ rng.standard_normal((3, 2))).astype(np.float32)
    return sn.tensor(x), sn.tensor(y)


def mlp(seed=0):
    sn.manual_seed(seed)
    return sn.nn.Sequential(sn.nn.Linear(3, 8), sn.nn.Tanh(), sn.nn.Linear(8, 2))


# ------------------------------------------------------------------------------------------- modules
def test_module_registration_state_dict_and_repr():
    model = mlp()
    assert list(model.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert [p.shape for p in model.parameters()] == [(8, 3), (8,), (2, 8), (2,)]
    assert "Linear(in_features=3, out_features=8, bias=True)" in repr(model)
    assert model.eval().training is False and model[0].training is False and model.train().training


def test_linear_default_init_follows_pytorch_bounds():
    layer = sn.nn.Linear(400, 300)
    bound = 1 / np.sqrt(400)
    w, b = layer.weight.numpy(), layer.bias.numpy()
    assert np.abs(w).max() <= bound and np.abs(b).max() <= bound
    assert abs(w.std() - bound / np.sqrt(3)) < 0.01 * bound    # uniform(−a, a) has std a/√3


def test_init_functions():
    w = sn.nn.Parameter(sn.zeros(200, 100))
    sn.nn.init.normal_(w, std=0.01)
    assert abs(w.numpy().std() - 0.01) < 5e-4
    sn.nn.init.xavier_uniform_(w)
    assert np.abs(w.numpy()).max() <= np.sqrt(6 / 300)
    sn.nn.init.kaiming_normal_(w, nonlinearity="relu")
    assert abs(w.numpy().std() - np.sqrt(2 / 100)) < 0.01
    sn.nn.init.constant_(w, 0.5)
    assert (w.numpy() == 0.5).all()


def test_dtype_conversion_and_load_state_dict_validation():
    model = mlp().double()
    assert all(p.dtype == sn.float64 for p in model.parameters())
    state = model.state_dict()
    with pytest.raises(sn.ShapeError, match="0.weight has shape"):
        model.load_state_dict({**state, "0.weight": np.zeros((3, 3))})
    with pytest.raises(KeyError, match="missing keys"):
        model.load_state_dict({"0.weight": state["0.weight"]})


# ------------------------------------------------------------------------------------------- data
def test_dataloader_batches_short_last_and_drop_last():
    x, y = regression(10)
    loader = sn.data.DataLoader(sn.data.TensorDataset(x, y), batch_size=4)
    assert [b[0].shape[0] for b in loader] == [4, 4, 2] and len(loader) == 3
    dropped = sn.data.DataLoader(sn.data.TensorDataset(x, y), batch_size=4, drop_last=True)
    assert [b[0].shape[0] for b in dropped] == [4, 4] and len(dropped) == 2


def test_dataloader_shuffle_is_seeded():
    x, y = regression(20)
    first = [b[0].numpy() for b in sn.data.DataLoader(sn.data.TensorDataset(x, y), 5, shuffle=True, generator=3)]
    again = [b[0].numpy() for b in sn.data.DataLoader(sn.data.TensorDataset(x, y), 5, shuffle=True, generator=3)]
    assert all((a == b).all() for a, b in zip(first, again, strict=True))
    assert not all((a == b).all() for a, b in zip(first, [b[0].numpy() for b in sn.data.DataLoader(
        sn.data.TensorDataset(x, y), 5)], strict=True))


def test_random_split_and_idx_files(tmp_path):
    x, y = regression(10)
    parts = sn.data.random_split(sn.data.TensorDataset(x, y), [0.7, 0.3], generator=0)
    assert [len(p) for p in parts] == [7, 3]
    assert set(parts[0].indices) | set(parts[1].indices) == set(range(10))
    import gzip
    images = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    header = bytes([0, 0, 0x08, 3]) + b"".join(int(n).to_bytes(4, "big") for n in images.shape)
    with gzip.open(tmp_path / "train-images-idx3-ubyte.gz", "wb") as f:
        f.write(header + images.tobytes())
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(bytes([0, 0, 0x08, 1]) + (2).to_bytes(4, "big") + b"\x03\x07")
    ds = sn.data.mnist(tmp_path)
    assert ds.tensors[0].shape == (2, 3, 3) and ds.tensors[1].tolist() == [3, 7]
    assert ds.tensors[0].numpy().max() == pytest.approx(17 / 255)
    (tmp_path / "bad").write_bytes(b"\x01\x02\x03")
    with pytest.raises(ValueError, match="not an IDX file"):
        sn.data.load_idx(tmp_path / "bad")


# ------------------------------------------------------------------------------------------- training
def test_native_epochs_equal_single_steps():
    x, y = regression(50)
    a, b = mlp(), mlp()
    step_a = sn.compile(a, sn.nn.MSELoss(), sn.optim.Adam(a.parameters(), lr=0.01))
    step_b = sn.compile(b, sn.nn.MSELoss(), sn.optim.Adam(b.parameters(), lr=0.01))
    order = np.random.default_rng(0).permutation(50)
    loader = sn.data.DataLoader(sn.data.TensorDataset(x, y), batch_size=8, sampler=lambda: order)
    native = step_a.fit(loader, epochs=3)
    single = [step_b.step(sn.tensor(x.numpy()[order[i:i + 8]]), sn.tensor(y.numpy()[order[i:i + 8]]))
              for _ in range(3) for i in range(0, 50, 8)]
    assert native == single and len(native) == 21
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        np.testing.assert_array_equal(pa.numpy(), pb.numpy())


def test_compiled_step_equals_pytorch_style_loop():
    x, y = regression(32)
    a, b = mlp(), mlp()
    step = sn.compile(a, sn.nn.MSELoss(), sn.optim.SGD(a.parameters(), lr=0.1, momentum=0.9))
    compiled = step.fit((x, y), epochs=20)
    opt = sn.optim.SGD(b.parameters(), lr=0.1, momentum=0.9)
    eager = []
    for _ in range(20):
        opt.zero_grad()
        loss = sn.nn.functional.mse_loss(b(x), y)
        loss.backward()
        opt.step()
        eager.append(loss.item())
    np.testing.assert_allclose(compiled, eager, rtol=1e-5)


def test_predict_evaluate_formulas_and_callbacks():
    x, y = regression(40)
    model = mlp()
    step = sn.compile(model, sn.nn.MSELoss(), sn.optim.Adam(model.parameters(), lr=0.05))
    seen = []
    schedule = sn.optim.lr_scheduler.StepLR(step.optimizer, step_size=1, gamma=0.5)
    step.fit(sn.data.DataLoader(sn.data.TensorDataset(x, y), batch_size=10, shuffle=True), epochs=3,
             callbacks=[lambda s, epoch, losses: (seen.append((epoch, len(losses))), schedule.step())])
    assert seen == [(0, 4), (1, 4), (2, 4)] and step.optimizer.lr == pytest.approx(0.05 / 8)
    np.testing.assert_allclose(step.predict(x).numpy(), model(x).numpy(), rtol=1e-5, atol=1e-6)
    loader = sn.data.DataLoader(sn.data.TensorDataset(x, y), batch_size=16)
    assert step.evaluate(loader) == pytest.approx(sn.nn.functional.mse_loss(model(x), y).item(), rel=1e-5)
    text = step.formulas()
    assert "δW0[" in text and "Adam: at step t" in text and "m ← " in text


def test_training_bad_input_is_clear():
    x, y = regression(16)
    model = mlp()
    step = sn.compile(model, sn.nn.MSELoss(), sn.optim.SGD(model.parameters(), lr=0.1))
    step.step(x, y)
    with pytest.raises(sn.ShapeError, match=r"input X: expected shape \(N, 3\)"):
        step.step(sn.ones(16, 4), y)
    bad = x.numpy().copy()
    bad[5, 1] = np.nan
    with pytest.raises(ValueError, match="sample 5 of the data holds NaN"):
        step.fit(sn.data.DataLoader(sn.data.TensorDataset(sn.tensor(bad), y), batch_size=4))
    classifier = sn.nn.Linear(3, 4)
    ce = sn.compile(classifier, sn.nn.CrossEntropyLoss(), sn.optim.SGD(classifier.parameters(), lr=0.1))
    ce.step(x, sn.tensor(np.arange(16) % 4))
    with pytest.raises(sn.IndexRangeError, match="takes the value 4, outside \\[0, 4\\)"):
        ce.step(x, sn.tensor(np.arange(16) % 5))


def test_diverging_loss_warns_naming_the_step():
    x, y = regression(16)
    model = mlp()
    step = sn.compile(model, sn.nn.MSELoss(), sn.optim.SGD(model.parameters(), lr=1e3))
    with pytest.warns(RuntimeWarning, match=r"the loss became (nan|inf) at step \d+"):
        step.fit((x, y), epochs=50)


# ------------------------------------------------------------------------------------------- checkpoints
def train(model, optimizer, x, y, steps):
    return sn.compile(model, sn.nn.MSELoss(), optimizer).fit((x, y), epochs=steps)


def test_resume_from_checkpoint_equals_uninterrupted_run(tmp_path):
    x, y = regression(24)
    whole = mlp()
    whole_opt = sn.optim.Adam(whole.parameters(), lr=0.02)
    expected = train(whole, whole_opt, x, y, 30)

    first = mlp()
    first_opt = sn.optim.Adam(first.parameters(), lr=0.02)
    losses = train(first, first_opt, x, y, 12)
    sn.save({"model": first, "optimizer": first_opt.state_dict()}, tmp_path / "ck.npz")

    resumed = mlp(seed=99)
    resumed_opt = sn.optim.Adam(resumed.parameters(), lr=0.02)
    state = sn.load(tmp_path / "ck.npz")
    resumed.load_state_dict(state["model"])
    resumed_opt.load_state_dict(state["optimizer"])
    losses += train(resumed, resumed_opt, x, y, 18)
    assert losses == expected
    for a, b in zip(resumed.parameters(), whole.parameters(), strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_mismatched_checkpoint_is_a_clear_error(tmp_path):
    sn.save({"model": mlp()}, tmp_path / "ck.npz")
    other = sn.nn.Sequential(sn.nn.Linear(3, 5), sn.nn.Tanh(), sn.nn.Linear(5, 2))
    with pytest.raises(sn.ShapeError, match="0.weight has shape"):
        other.load_state_dict(sn.load(tmp_path / "ck.npz")["model"])
    (tmp_path / "plain.npz").write_bytes(b"not a zip")
    with pytest.raises(Exception, match="zip|pickle|load|File"):
        sn.load(tmp_path / "plain.npz")


def test_killed_mid_write_leaves_previous_checkpoint_intact(tmp_path):
    target = tmp_path / "ck.npz"
    sn.save({"step": 1, "w": np.zeros(10)}, target)
    script = textwrap.dedent(f"""
        import numpy as np, symnet as sn
        big = np.random.default_rng(0).standard_normal((4000, 4000))
        print("ready", flush=True)
        while True:
            sn.save({{"step": 2, "w": big}}, {str(target)!r})
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    time.sleep(0.3)                       # inside a write of 128 MB
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    state = sn.load(target)               # the old checkpoint, or a complete new one — never a torn file
    assert state["step"] in (1, 2) and state["w"].shape in ((10,), (4000, 4000))


def test_remaining_pytorch_named_api():
    model = mlp()
    assert [type(m).__name__ for m in model.children()] == ["Linear", "Tanh", "Linear"]
    w = sn.nn.Parameter(sn.zeros(300, 200))
    sn.nn.init.ones_(w)
    assert (w.numpy() == 1).all() and w.is_leaf and not (w * 2).is_leaf
    sn.nn.init.xavier_normal_(w)
    assert abs(w.numpy().std() - np.sqrt(2 / 500)) < 0.005
    schedule = sn.optim.lr_scheduler.ExponentialLR(sn.optim.SGD(model.parameters(), lr=0.1), gamma=0.5)
    schedule.step()
    assert schedule.get_last_lr() == [pytest.approx(0.05)]


def test_a_tensor_the_model_makes_is_a_constant_of_the_step():
    """A tensor made in forward (a mask, a scale) is neither a parameter nor the batch: the step binds it."""
    class Scaled(sn.nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = sn.nn.Linear(2, 1).double()
            self.scale = sn.tensor([[3.0]], dtype=sn.float64)

        def forward(self, x):
            return self.linear(x) * self.scale + sn.tensor([0.5], dtype=sn.float64)

    model = Scaled()
    x, y = np.ones((4, 2)), np.zeros((4, 1))
    expected = (model.linear(sn.tensor(x, dtype=sn.float64)) * 3 + 0.5).numpy()
    step = sn.compile(model, sn.nn.MSELoss(), sn.optim.SGD(model.parameters(), lr=0.0))
    assert step.step(x, y) == pytest.approx(float((expected ** 2).mean()))
    np.testing.assert_allclose(step.predict(x).numpy(), expected)


def compiled_and_eager_losses(make_model, batches, lr: float) -> tuple[list[float], list[float]]:
    """The losses of SGD steps over ``batches`` (float64 arrays) through ``sn.compile`` and in the eager loop, each
    from the model ``make_model`` builds after seeding."""
    def losses(compiled):
        sn.manual_seed(0)
        model = make_model()
        opt = sn.optim.SGD(model.parameters(), lr=lr)
        if compiled:
            step = sn.compile(model, sn.nn.MSELoss(), opt)
            return [step.step(x, y) for x, y in batches]
        out = []
        for x, y in batches:
            loss = sn.nn.MSELoss()(model(sn.tensor(x, dtype=sn.float64)), sn.tensor(y, dtype=sn.float64))
            opt.zero_grad()
            loss.backward()
            opt.step()
            out.append(loss.item())
        return out

    return losses(True), losses(False)


class _Detaching(sn.nn.Module):
    """A forward reading a parameter's or a buffer's value outside the graph, in each way PyTorch code does."""

    def __init__(self, how: str):
        super().__init__()
        self.how, self.linear = how, sn.nn.Linear(2, 1).double()
        self.register_buffer("seen", sn.zeros(1, dtype=sn.float64))

    def forward(self, x):
        w = self.linear.weight
        if self.how == "assigned first":
            self.seen = self.seen + 1  # the rest of the forward reads the new value, as in eager mode
        scale = {"detach": lambda: (w * 3).detach().sum(), "data": lambda: w.data.sum() * 3,
                 "buffer": lambda: self.seen.detach() + 1, "assigned first": lambda: self.seen}[self.how]()
        if self.how == "buffer":
            self.seen = self.seen + 1  # a buffer the forward updates: every step reads its new value
        return self.linear(x) * scale


@pytest.mark.parametrize("how", ["detach", "data", "buffer", "assigned first"])
def test_a_detached_parameter_or_buffer_is_computed_every_step_not_frozen(how):
    """detach()/.data of what the steps change stays in the compiled program (its gradient stopped): the compiled
    losses are the eager loop's, never those of the values at the trace."""
    compiled, eager = compiled_and_eager_losses(lambda: _Detaching(how), [(np.ones((4, 2)), np.zeros((4, 1)))] * 4,
                                                lr=0.1)
    assert len(set(eager)) == 4
    np.testing.assert_allclose(compiled, eager, rtol=1e-12)


def test_an_in_place_write_into_a_buffer_is_refused_in_a_compiled_step():
    """An in-place update would write the trace's value once; assigning the buffer is the supported form."""
    class Counting(sn.nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = sn.nn.Linear(2, 1)
            self.register_buffer("seen", sn.zeros(1))

        def forward(self, x):
            self.seen.add_(1)
            return self.linear(x)

    model = Counting()
    step = sn.compile(model, sn.nn.MSELoss(), sn.optim.SGD(model.parameters(), lr=0.1))
    with pytest.raises(sn.NotSupportedError, match="add_ writes into a parameter or buffer"):
        step.step(np.ones((2, 2), np.float32), np.zeros((2, 1), np.float32))
    assert model.seen.item() == 0.0 and model.seen.node is None  # untouched by the refused trace
    model.seen.add_(1)  # eager writes stay allowed
    assert model.seen.item() == 1.0


def test_a_mask_computed_from_a_parameter_is_refused_in_a_compiled_step():
    class Masked(sn.nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = sn.nn.Linear(3, 3)

        def forward(self, x):
            return self.linear(x)[:, self.linear.bias > 0].sum(1, keepdim=True)

    model = Masked()
    step = sn.compile(model, sn.nn.MSELoss(), sn.optim.SGD(model.parameters(), lr=0.1))
    with pytest.raises(sn.ShapeError, match="parameter"):
        step.step(np.ones((2, 3), np.float32), np.zeros((2, 1), np.float32))


def test_predict_on_an_empty_batch_first():
    """A first predict on 0 rows traces on one (a batch of 0 would read as a fixed size: an embedding's reshape
    refused it); the program is the symbolic batch's, right for any size after."""

    from tests.test_export_c import Tokens

    sn.manual_seed(0)
    model = Tokens()
    step = sn.compile(model, sn.nn.MSELoss(), sn.optim.SGD(model.parameters(), lr=0.1))
    x = np.random.default_rng(0).integers(0, 10, (7, 5))
    assert step.predict(x[:0]).shape == (0, 3)
    np.testing.assert_allclose(step.predict(x).numpy(), model(sn.tensor(x)).detach().numpy(), rtol=1e-6)


def test_reading_a_varying_value_while_tracing_is_refused():
    """item(), bool() and friends on what the steps change would be one step's value kept for all: refused."""
    class Branching(sn.nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = sn.nn.Linear(2, 1)

        def forward(self, x):
            out = self.linear(x)
            return out * 2 if out.sum() > 0 else out

    model = Branching()
    step = sn.compile(model, sn.nn.MSELoss(), sn.optim.SGD(model.parameters(), lr=0.1))
    with pytest.raises(sn.NotSupportedError, match="reads the value of a tensor"):
        step.step(np.ones((2, 2), np.float32), np.zeros((2, 1), np.float32))
    assert model(sn.ones(2, 2)).shape == (2, 1)  # eager: a Python condition is fine


def test_repeats_from_the_batch_are_refused_in_a_compiled_step():
    class Repeating(sn.nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = sn.nn.Linear(2, 1)

        def forward(self, x):
            counts = (x[:, 0] > 0).long()
            return self.linear(x).repeat_interleave(counts, dim=0).sum(0, keepdim=True)

    model = Repeating()
    step = sn.compile(model, sn.nn.MSELoss(), sn.optim.SGD(model.parameters(), lr=0.1))
    with pytest.raises(sn.ShapeError, match="data-dependent shape"):
        step.step(np.ones((2, 2), np.float32), np.zeros((1, 1), np.float32))


def test_the_view_by_batch_size_idiom_compiles_for_every_batch_size():
    """``x.view(x.size(0), -1)`` (and nn.Unflatten, reshape by ``x.shape[0]``) keep the symbolic batch: one
    program serves every batch size with the eager loop's numbers."""
    class Flattening(sn.nn.Module):
        def __init__(self):
            super().__init__()
            self.linear, self.unflatten = sn.nn.Linear(12, 1).double(), sn.nn.Unflatten(1, (3, 4))

        def forward(self, x):
            x = self.unflatten(x.view(x.size(0), -1))
            return self.linear(x.reshape(x.shape[0], 12))

    rng = np.random.default_rng(0)
    batches = [(rng.standard_normal((n, 3, 4)), rng.standard_normal((n, 1))) for n in (4, 5, 1)]
    np.testing.assert_allclose(*compiled_and_eager_losses(Flattening, batches, lr=0.05), rtol=1e-12)


def test_a_contraction_over_a_transposed_batch_compiles():
    """A Linear over x.transpose(0, 1) has the symbolic batch as an inner extent: no fixed strides, so not the
    implicit GEMM (its emitter crashed on the missing output strides)."""
    class Transposed(sn.nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = sn.nn.Linear(2, 1).double()

        def forward(self, x):
            return self.linear(x.transpose(0, 1)).mean(0)

    rng = np.random.default_rng(0)
    batches = [(rng.standard_normal((n, 4, 2)), rng.standard_normal((n, 1))) for n in (3, 5)]
    np.testing.assert_allclose(*compiled_and_eager_losses(Transposed, batches, lr=0.1), rtol=1e-12)


def test_save_and_load_as_pytorch_programs_write_them(tmp_path):
    """torch.save(tensor), a checkpoint dict of tensors, torch.load(weights_only=True): tensors come back as
    tensors of their dtype; a Module saved whole comes back as its state, or with weights_only=False as the
    object."""
    sn.save(sn.tensor([1.5, 2.5], dtype=sn.float64), tmp_path / "t.pt")
    alone = sn.load(tmp_path / "t.pt", map_location="cpu", weights_only=True)
    assert isinstance(alone, sn.Tensor) and alone.dtype == sn.float64 and alone.tolist() == [1.5, 2.5]
    sn.save({"epoch": 4, "ids": sn.tensor([3, 1]), "mask": sn.tensor([True, False]), "raw": np.ones(2)},
            tmp_path / "d.pt")
    loaded = sn.load(tmp_path / "d.pt")
    assert loaded["epoch"] == 4 and loaded["ids"].dtype == sn.int64 and loaded["mask"].tolist() == [True, False]
    assert isinstance(loaded["raw"], np.ndarray) and isinstance(loaded["ids"], sn.Tensor)
    model = mlp()
    sn.save(model, tmp_path / "model.pth")
    again = mlp(seed=5)
    again.load_state_dict(sn.load(tmp_path / "model.pth", weights_only=True))
    for a, b in zip(again.parameters(), model.parameters(), strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    whole = sn.load(tmp_path / "model.pth", weights_only=False)  # the object, rebuilt from data
    assert type(whole) is sn.nn.Sequential and repr(whole) == repr(model)
    np.testing.assert_array_equal(whole(sn.ones(2, 3)).detach().numpy(), model(sn.ones(2, 3)).detach().numpy())
    for hostile in (5, ["missing"], [3]):
        np.savez(tmp_path / "h.npz", __json__=np.array(json.dumps({"__tensors__": hostile})))
        with pytest.raises(ValueError, match="tensor"):
            sn.load(tmp_path / "h.npz")


class Tied(sn.nn.Module):
    """A model of the tutorials' kind: its own class, a shared block, tied weights, plain and tensor attributes."""

    def __init__(self):
        super().__init__()
        self.embed = sn.nn.Embedding(5, 3)
        self.block = sn.nn.Linear(3, 3)
        self.blocks = sn.nn.ModuleList([self.block, sn.nn.ReLU(), self.block])
        self.head = sn.nn.Linear(3, 5, bias=False)
        self.head.weight = self.embed.weight  # tied
        self.register_buffer("scale", sn.tensor([2.0]), persistent=False)
        self.settings = {"kernel": (3, 3), "names": ["a", "b"], "dtype": sn.float64, "act": sn.nn.functional.gelu}
        self.unregistered = [sn.nn.Linear(3, 1), self.block]  # a plain list: PyTorch pickles it, not registered
        self.constants = (np.array([[0.5, 0.25]], np.float32), np.int64(3))  # NumPy data kept as it is

    def forward(self, ids):
        x = self.embed(ids)
        for layer in self.blocks:
            x = layer(x)
        return self.settings["act"](self.head(x)) * self.scale


def test_a_module_saved_whole_comes_back_as_the_object_without_running_code_from_the_file(tmp_path):
    """torch.save(model) then torch.load(path, weights_only=False), as PyTorch's save-and-load tutorial: the object
    rebuilt from data — its class looked up in the program, its attributes, shared modules and tied weights kept,
    non-persistent buffers too — trains on; weights_only=True still gives the state dict."""
    sn.manual_seed(0)
    model = Tied()
    model.eval()
    ids = sn.tensor([[0, 4, 2]])
    sn.save(model, tmp_path / "model.pth")
    again = sn.load(tmp_path / "model.pth", weights_only=False)
    assert type(again) is Tied and not again.training and repr(again) == repr(model)
    np.testing.assert_array_equal(again(ids).detach().numpy(), model(ids).detach().numpy())
    assert again.head.weight is again.embed.weight and again.blocks[0] is again.blocks[2] is again.block
    assert again.settings == model.settings and again.scale.tolist() == [2.0]
    assert again.constants[0].dtype == np.float32 and again.constants[0].tolist() == [[0.5, 0.25]]
    assert type(again.constants[1]) is np.int64 and again.constants[1] == 3
    assert again.unregistered[1] is again.block and np.array_equal(again.unregistered[0].weight.detach().numpy(),
                                                                    model.unregistered[0].weight.detach().numpy())
    assert "scale" not in again.state_dict() and list(again.state_dict()) == list(model.state_dict())
    assert isinstance(again.head.weight, sn.nn.Parameter) and again.head.weight.requires_grad
    optimizer = sn.optim.SGD(again.parameters(), lr=0.1)
    again.train()
    again(ids).sum().backward()
    optimizer.step()
    assert not np.array_equal(again.embed.weight.detach().numpy(), model.embed.weight.detach().numpy())
    assert list(sn.load(tmp_path / "model.pth")) == list(model.state_dict())


def test_a_module_file_is_data_a_hostile_one_is_refused_by_name(tmp_path):
    """What a rebuild may make is a Module class the program already has, with plain data: a class it has not
    imported, a non-Module (eval, os.system), a function outside symnet, a dunder member, a lambda attribute and
    malformed entries are refused; nothing is imported or called."""
    model = mlp()
    model.hook = lambda x: x
    sn.save(model, tmp_path / "lambda.pth")
    with pytest.raises(sn.NotSupportedError, match=r"Sequential.hook was a function.*never code"):
        sn.load(tmp_path / "lambda.pth", weights_only=False)
    sn.save(mlp(), tmp_path / "model.pth")
    with np.load(tmp_path / "model.pth") as data:
        arrays = {k: data[k] for k in data.files}
    plain = json.loads(str(arrays["__json__"]))

    def altered(change) -> str:
        scalars = json.loads(json.dumps(plain))
        change(scalars["__module__"])
        np.savez(tmp_path / "hostile.npz", **{**arrays, "__json__": np.array(json.dumps(scalars))})
        return tmp_path / "hostile.npz"

    for module, qualname in (("os", "system"), ("builtins", "eval"), ("not_imported_anywhere", "Net"),
                             ("symnet.nn", "Parameter"), ("symnet.nn", "Linear.__class__")):
        path = altered(lambda d, m=module, q=qualname: d["modules"][0].__setitem__("class", [m, q]))
        with pytest.raises(sn.NotSupportedError, match="not a Module this program defines"):
            sn.load(path, weights_only=False)
    for attributes, error in (({"__class__": None}, ValueError), ({"act": {"function": ["os", "system"]}}, ValueError),
                              ({"act": {"function": ["symnet.nn.functional", "__builtins__"]}}, ValueError),
                              ({"x": {"tensor": 99}}, ValueError), ({"x": {"dtype": "complex64"}}, TypeError),
                              ({"x": {"tuple": [1], "list": [2]}}, ValueError),
                              ({"x": {"numpy": ["object", [1], [1], False]}}, ValueError),
                              ({"x": {"numpy": ["float32", [2], [1.0], False]}}, ValueError)):
        path = altered(lambda d, a=attributes: d["modules"][0]["attributes"].update(a))
        with pytest.raises(error):
            sn.load(path, weights_only=False)
    for change in (lambda d: d["modules"][0]["children"].update({"0": 7}), lambda d: d["modules"].clear(),
                   lambda d: d["tensors"][0].update({"key": "missing"}), lambda d: d.update({"modules": "x"}),
                   lambda d: d["modules"][1]["parameters"].update({"weight": 30}),
                   lambda d: d["modules"][1]["parameters"].update({"weight": True}),
                   lambda d: d["modules"][1]["children"].update({"loop": 0}),  # a cycle: recursions would not end
                   lambda d: d["modules"][0]["attributes"].update({"_modules": {"dict": {"x": {"module": 0}}}}),
                   lambda d: d["modules"][1]["attributes"].pop("in_features")):  # what its class reads
        with pytest.raises((ValueError, sn.NotSupportedError)):
            sn.load(altered(change), weights_only=False)


def test_save_and_load_through_file_objects_and_refuse_what_is_not_a_checkpoint(tmp_path):
    """torch.save(state, io.BytesIO()) as PyTorch's; a pickle, a bare .npy, garbage or nothing is refused as not a
    checkpoint (NumPy's own words would suggest unpickling it); a notebook shows PyTorch's load_state_dict answer."""
    model, buffer = mlp(), io.BytesIO()
    sn.save({"model": model.state_dict(), "step": 3}, buffer)
    buffer.seek(0)
    loaded = sn.load(buffer, weights_only=True)
    again = mlp(seed=5)
    assert repr(again.load_state_dict(loaded["model"])) == "<All keys matched successfully>"
    assert loaded["step"] == 3 and all(np.array_equal(a.numpy(), b.numpy())
                                       for a, b in zip(again.parameters(), model.parameters(), strict=True))
    assert str(again.load_state_dict({}, strict=False)).startswith("IncompatibleKeys(missing_keys=['0.weight'")
    np.save(tmp_path / "one.npy", np.ones(2))
    for source in (io.BytesIO(pickle.dumps({"a": 1})), io.BytesIO(b"garbage"), io.BytesIO(b""), tmp_path / "one.npy"):
        with pytest.raises(ValueError, match="not a symnet checkpoint"):
            sn.load(source)
