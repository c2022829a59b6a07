"""Recurrent layers (symnet/nn/recurrent.py) against PyTorch: outputs and the gradients of the input, the initial
states and every parameter for each case of tests/fixtures/recurrent_configs.py (recorded in recurrent.npz by
make_recurrent_fixtures.py), eagerly; an LSTM's SGD trajectory inside ``sn.compile``; a compiled step serving
other batch sizes; dropout between layers by its laws; initialization, repr, and the refusals."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import symnet as sn
from symnet.errors import DTypeError, ShapeError
from tests.fixtures.recurrent_configs import BATCH, CASES, EVAL, FLOAT32, HIDDEN, INPUT, LR, MOMENTUM, STEPS

nn = sn.nn
FIXTURES = np.load(Path(__file__).parent / "fixtures" / "recurrent.npz")
TOLERANCE = {"float64": 1e-9, "float32": 1e-4}
DTYPES = {"float64": sn.float64, "float32": sn.float32}
#: the float64 table runs on the NumPy reference (the layers' graphs are under test, and a native compile of each
#: unrolled sequence costs seconds); the float32 cases, the trajectories and the compiled steps run natively
BACKEND = {"float64": "reference", "float32": "native"}


def flat(outputs) -> list:
    return [outputs] if isinstance(outputs, sn.Tensor) else [t for o in outputs for t in flat(o)]


# ------------------------------------------------------------------------------ parity with PyTorch
PARITY = [(name, "float64") for name in CASES] + [(name, "float32") for name in FLOAT32]


@pytest.mark.parametrize(("name", "dtype"), PARITY, ids=[f"{n}-{d}" for n, d in PARITY])
def test_outputs_and_gradients_match_pytorch(name, dtype):
    with sn.backend.use(BACKEND[dtype]):
        check_case(name, dtype)


def check_case(name: str, dtype: str) -> None:
    layer, kwargs, _, states = CASES[name]
    prefix, tol = f"{name}/{dtype}/", TOLERANCE[dtype]
    module = getattr(nn, layer)(**kwargs).to(DTYPES[dtype]).train(name not in EVAL)
    assert list(module.state_dict()) == list(FIXTURES[f"{name}/keys"])
    module.load_state_dict({k: FIXTURES[prefix + f"param/{k}"] for k in FIXTURES[f"{name}/keys"]})
    x = sn.tensor(FIXTURES[prefix + "x"], dtype=DTYPES[dtype], requires_grad=True)
    hx = [sn.tensor(FIXTURES[prefix + f"hx{k}"], dtype=DTYPES[dtype], requires_grad=True) for k in range(len(states))]
    state = None if not hx else hx[0] if len(hx) == 1 else tuple(hx)
    outputs = flat(module(x) if state is None else module(x, state))
    assert len(outputs) == sum(k.startswith(prefix + "out") for k in FIXTURES.files)
    loss = 0
    for k, out in enumerate(outputs):
        np.testing.assert_allclose(out.numpy(), FIXTURES[prefix + f"out{k}"], rtol=tol, atol=tol, err_msg=f"out{k}")
        loss = loss + (out * sn.tensor(FIXTURES[prefix + f"G{k}"], dtype=DTYPES[dtype])).sum()
    loss.backward()
    np.testing.assert_allclose(x.grad.numpy(), FIXTURES[prefix + "grad/x"], rtol=tol, atol=tol)
    for k, h in enumerate(hx):
        np.testing.assert_allclose(h.grad.numpy(), FIXTURES[prefix + f"grad/hx{k}"], rtol=tol, atol=tol)
    for key, p in module.named_parameters():
        assert p.dtype == DTYPES[dtype]
        np.testing.assert_allclose(p.grad.numpy(), FIXTURES[prefix + f"grad/param/{key}"], rtol=tol, atol=tol,
                                   err_msg=key)


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.LSTM(INPUT, HIDDEN, batch_first=True)
        self.fc = nn.Linear(HIDDEN, 1)

    def forward(self, x):
        return self.fc(self.rnn(x)[0][:, -1])


def trajectory_model(dtype: str) -> nn.Module:
    model = Model().to(DTYPES[dtype])
    prefix = f"traj/{dtype}/initial/"
    model.load_state_dict({k[len(prefix):]: FIXTURES[k] for k in FIXTURES.files if k.startswith(prefix)})
    return model


def batches(dtype: str):
    x, y = FIXTURES["traj/x"].astype(dtype), FIXTURES["traj/y"].astype(dtype)
    return [(x[s * BATCH:(s + 1) * BATCH], y[s * BATCH:(s + 1) * BATCH]) for s in range(STEPS)]


def check_trajectory(model: nn.Module, losses: list[float], dtype: str) -> None:
    tol = TOLERANCE[dtype]
    np.testing.assert_allclose(losses, FIXTURES[f"traj/{dtype}/losses"], rtol=tol, atol=tol)
    prefix = f"traj/{dtype}/final/"
    for key, value in model.state_dict().items():
        np.testing.assert_allclose(value, FIXTURES[prefix + key], rtol=tol, atol=tol, err_msg=key)


@pytest.mark.parametrize("dtype", ["float64"])
def test_lstm_trajectory_matches_pytorch_in_a_compiled_step(dtype):
    model = trajectory_model(dtype)
    step = sn.compile(model, nn.MSELoss(), sn.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM))
    check_trajectory(model, [step.step(x, y) for x, y in batches(dtype)], dtype)


def test_compiled_bidirectional_gru_serves_any_batch_size():
    sn.manual_seed(0)

    class Tagger(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.GRU(2, 2, bidirectional=True)
            self.fc = nn.Linear(4, 1)

        def forward(self, x):  # (N, L, 2) batches into a sequence-first layer
            out, h = self.rnn(x.transpose(0, 1))
            return self.fc(out.mean(0)) + h.sum(0).sum(-1, keepdim=True)

    model = Tagger().double()
    step = sn.compile(model, nn.MSELoss(), sn.optim.SGD(model.parameters(), lr=0.1))
    rng = np.random.default_rng(0)
    for batch in (3, 5):
        x = rng.standard_normal((batch, 2, 2))
        with sn.backend.use("reference"):
            expected = model(sn.tensor(x)).numpy()
        np.testing.assert_allclose(step.predict(x).numpy(), expected, rtol=1e-12, atol=1e-12)


# ------------------------------------------------------------------------------ dropout between layers
@pytest.fixture
def reference():
    with sn.backend.use("reference"):
        yield


def test_dropout_acts_between_layers_in_training_only(reference):
    sn.manual_seed(0)
    lstm = nn.LSTM(3, 4, num_layers=2, dropout=0.5).double()
    x = sn.randn(3, 2, 3, dtype=sn.float64)
    out_train, (h_train, c_train) = lstm(x)
    out_eval, (h_eval, c_eval) = lstm.eval()(x)
    assert np.array_equal(h_train.numpy()[0], h_eval.numpy()[0])  # the first layer sees no dropout
    assert not np.allclose(out_train.numpy(), out_eval.numpy())
    assert np.isfinite(out_train.numpy()).all()


def test_dropout_one_feeds_the_next_layer_zeros(reference):
    sn.manual_seed(0)
    stacked = nn.GRU(3, 4, num_layers=2, dropout=1.0).double()
    top = nn.GRU(4, 4).double()
    top.load_state_dict({k.replace("l1", "l0"): v for k, v in stacked.state_dict().items() if "l1" in k})
    out, h = stacked(sn.randn(3, 2, 3, dtype=sn.float64))
    expected, h_top = top(sn.zeros(3, 2, 4, dtype=sn.float64))
    np.testing.assert_allclose(out.numpy(), expected.numpy(), rtol=1e-15, atol=1e-15)
    np.testing.assert_allclose(h.numpy()[1], h_top.numpy()[0], rtol=1e-15, atol=1e-15)


def test_saturated_gates_stay_finite():
    sn.manual_seed(0)
    x = sn.tensor(np.array([[[1e4, -1e4]], [[-1e3, 1e3]]]), requires_grad=True)
    out = nn.LSTM(2, 2).double()(x)[0]
    out.sum().backward()
    assert np.isfinite(out.numpy()).all() and np.abs(out.numpy()).max() <= 1
    assert np.isfinite(x.grad.numpy()).all()


# ------------------------------------------------------------------------------ construction
def test_parameters_start_uniform_within_one_over_root_hidden():
    sn.manual_seed(0)
    lstm = nn.LSTM(5, 16, num_layers=2, bidirectional=True, proj_size=4)
    values = np.concatenate([p.numpy().ravel() for p in lstm.parameters()])
    bound = 1 / 4
    assert values.size == sum(p.numel() for p in lstm.parameters()) > 3000
    assert np.abs(values).max() <= bound and np.abs(values).max() > 0.99 * bound
    assert abs(values.mean()) < 0.01 and abs(values.var() - bound**2 / 3) < 0.002  # U(−b, b) has variance b²/3
    cell = nn.GRUCell(3, 100)
    assert all(np.abs(p.numpy()).max() <= 0.1 for p in cell.parameters())


def test_parameter_shapes_and_names_follow_pytorch():
    lstm = nn.LSTM(3, 5, num_layers=2, bias=False, bidirectional=True, proj_size=2)
    shapes = {k: v.shape for k, v in lstm.state_dict().items()}
    assert shapes == {"weight_ih_l0": (20, 3), "weight_hh_l0": (20, 2), "weight_hr_l0": (2, 5),
                      "weight_ih_l0_reverse": (20, 3), "weight_hh_l0_reverse": (20, 2),
                      "weight_hr_l0_reverse": (2, 5), "weight_ih_l1": (20, 4), "weight_hh_l1": (20, 2),
                      "weight_hr_l1": (2, 5), "weight_ih_l1_reverse": (20, 4), "weight_hh_l1_reverse": (20, 2),
                      "weight_hr_l1_reverse": (2, 5)}
    assert [len(w) for w in lstm.all_weights] == [3] * 4
    cell = nn.GRUCell(3, 4, bias=False)
    assert list(cell.state_dict()) == ["weight_ih", "weight_hh"] and cell.bias_ih is None


REPRS = [
    (lambda: nn.RNN(3, 4, 2, "relu", False, True, 0.5, True),
     "RNN(3, 4, num_layers=2, bias=False, batch_first=True, dropout=0.5, bidirectional=True)"),
    (lambda: nn.LSTM(3, 4, proj_size=2), "LSTM(3, 4, proj_size=2)"),
    (lambda: nn.GRU(3, 4), "GRU(3, 4)"),
    (lambda: nn.RNNCell(3, 4, bias=False, nonlinearity="relu"), "RNNCell(3, 4, bias=False, nonlinearity=relu)"),
    (lambda: nn.LSTMCell(3, 4), "LSTMCell(3, 4)"),
    (lambda: nn.GRUCell(3, 4, bias=False), "GRUCell(3, 4, bias=False)"),
]


@pytest.mark.parametrize(("make", "text"), REPRS, ids=[t for _, t in REPRS])
def test_repr_is_pytorchs(make, text):
    assert repr(make()) == text


# ------------------------------------------------------------------------------ refusals
class NotASequence:  # neither a Tensor nor a PackedSequence
    pass


REFUSALS = [
    (lambda: nn.LSTM(3, 4)(NotASequence()), TypeError, "expected a Tensor or a PackedSequence"),
    (lambda: nn.GRU(3, 4)(sn.randn(2, 3, 4, 3)), ShapeError, "Expected input to be 2D or 3D, got 4D"),
    (lambda: nn.RNN(3, 4)(sn.randn(5, 2, 4)), ShapeError, "Expected 3, got 4"),
    (lambda: nn.RNN(3, 4)(sn.randn(0, 2, 3)), ShapeError, "sequence length to be larger than 0"),
    (lambda: nn.LSTM(3, 4)(sn.randn(5, 2, 3), (sn.randn(1, 3, 4), sn.randn(1, 2, 4))), ShapeError,
     r"Expected hidden\[0\] size \(1, 2, 4\), got \[1, 3, 4\]"),
    (lambda: nn.LSTM(3, 4, proj_size=2)(sn.randn(5, 2, 3), (sn.randn(1, 2, 2), sn.randn(1, 2, 2))), ShapeError,
     r"Expected hidden\[1\] size \(1, 2, 4\)"),
    (lambda: nn.GRU(3, 4)(sn.randn(5, 3), sn.randn(1, 1, 4)), ShapeError, "unbatched 2-D input, hx should also"),
    (lambda: nn.LSTM(3, 4)(sn.randn(5, 2, 3), sn.randn(1, 2, 4)), TypeError, "tuple"),
    (lambda: nn.GRU(3, 4)(sn.randn(5, 2, 3, dtype=sn.float64)), DTypeError, "does not match weight dtype"),
    (lambda: nn.GRU(3, 4, proj_size=2), ValueError, "only supported for LSTM"),
    (lambda: nn.RNN(3, 4, nonlinearity="sigmoid"), ValueError, "Unknown nonlinearity 'sigmoid'"),
    (lambda: nn.LSTM(3, 4, dropout=1.5), ValueError, r"range \[0, 1\]"),
    (lambda: nn.LSTM(3, 4, proj_size=4), ValueError, "smaller than hidden_size"),
    (lambda: nn.LSTM(3, 0), ValueError, "hidden_size must be greater than zero"),
    (lambda: nn.LSTM(3, 4.0), TypeError, "hidden_size should be of type int"),
    (lambda: nn.LSTM(3, 4, device="cuda"), RuntimeError, "CPU"),
    (lambda: nn.GRUCell(3, 4)(sn.randn(2, 5)), ShapeError, "inconsistent input_size: got 5, expected 3"),
    (lambda: nn.GRUCell(3, 4)(sn.randn(2, 3), sn.randn(3, 4)), ShapeError, "differ in batch size"),
    (lambda: nn.LSTMCell(3, 4)(sn.randn(2, 3), (sn.randn(2, 4), sn.randn(2, 5))), ShapeError,
     "hidden1 has inconsistent hidden_size: got 5, expected 4"),
    (lambda: nn.RNNCell(3, 4)(sn.randn(1, 2, 3)), ShapeError, "Expected input to be 1D or 2D, got 3D"),
]


@pytest.mark.parametrize(("call", "error", "match"), REFUSALS, ids=[m for _, _, m in REFUSALS])
def test_refusals_name_the_problem(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_dropout_with_one_layer_warns_as_pytorch():
    with pytest.warns(UserWarning, match="non-zero dropout expects num_layers greater than 1"):
        nn.GRU(3, 4, dropout=0.2)
