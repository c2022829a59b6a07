"""The numbers the seed tutorials print (../shared/seeds/README.md)."""

import numpy as np
import pytest
import sympy as sp

import symnet as sn
import symnet.nn.functional as F


def test_autograd_seed_values_and_accumulation():
    w = sn.tensor([1.0], requires_grad=True)
    x = sn.tensor([2.0], requires_grad=True)
    seen = []
    for _ in range(3):
        y = (x + w) * (w + 1)
        y.backward()
        seen.append(w.grad.item())
    assert seen == [5, 10, 15]
    assert x.grad.item() == 6
    w.grad.zero_()
    ((x + w) * (w + 1)).backward()
    assert w.grad.item() == 5


def test_printed_gradient_of_seed():
    w = sn.tensor([1.0], requires_grad=True, name="w")
    x = sn.tensor([2.0], requires_grad=True, name="x")
    y = (x + w) * (w + 1)
    ws, xs = sp.symbols("w x", real=True)
    assert sp.expand(sn.grad(y, w) - (xs + 2 * ws + 1)) == 0
    assert sp.expand(sn.grad(y, x) - (ws + 1)) == 0
    assert "∂" in str(sn.formulas(y)) and "2·w + x + 1" in str(sn.formulas(y))


def test_mean_of_square_and_its_gradient():
    v = sn.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    out = (v * v).mean()
    out.backward()
    assert out.item() == 7.5
    np.testing.assert_array_equal(v.grad.numpy(), [[0.5, 1.0], [1.5, 2.0]])
    assert str(sn.grad((v * v).mean(), v)) == "A[i, j]/2"


def test_seed_losses():
    a = sn.tensor([1.0, 2.0, 3.0, 4.0])
    b = sn.tensor([4.0, 5.0, 6.0, 7.0])
    assert F.mse_loss(a, b).item() == 9
    assert F.l1_loss(a, b).item() == 3
    logits = sn.tensor([[-0.1181, -0.3682, -0.2209]])
    assert F.cross_entropy(logits, sn.tensor([0])).item() == pytest.approx(0.9862, abs=5e-5)


def test_numpy_round_trip_shares_memory():
    arr = np.arange(6, dtype=np.float64).reshape(2, 3)
    t = sn.from_numpy(arr)
    arr[0, 0] = 10
    assert t.numpy()[0, 0] == 10 and t.dtype == sn.float64
    np.testing.assert_allclose(t.abs().numpy(), np.abs(arr))
    np.testing.assert_allclose(t.sin().mean().item(), np.sin(arr).mean())
    assert t.data.numpy() is arr


def test_hand_written_update_under_no_grad():
    """Seed 002: plain gradient descent written by hand, grads reset each step."""
    x = sn.linspace(-1, 1, 50, dtype=sn.float64)
    y = 2 * x + 1
    a = sn.tensor(0.0, requires_grad=True, dtype=sn.float64)
    b = sn.tensor(0.0, requires_grad=True, dtype=sn.float64)
    for _ in range(200):
        loss = ((a + b * x - y) ** 2).sum()
        loss.backward()
        with sn.no_grad():
            a -= 0.01 * a.grad
            b -= 0.01 * b.grad
            a.grad = None
            b.grad = None
    assert a.item() == pytest.approx(1, abs=1e-6) and b.item() == pytest.approx(2, abs=1e-6)


def test_values_are_those_at_creation_despite_later_in_place_updates():
    """As in PyTorch: a tensor computed before an in-place update of its leaves keeps the old values."""
    w = sn.tensor([1.0], requires_grad=True)
    y = w * 2
    with sn.no_grad():
        w -= 0.5
    assert y.item() == 2.0 and (w * 2).item() == 1.0
    model = sn.nn.Linear(1, 1)
    x = sn.ones(3, 1)
    out = model(x)
    expected = (model.weight.numpy() + model.bias.numpy()).item()
    sn.compile(model, sn.nn.MSELoss(), sn.optim.SGD(model.parameters(), lr=0.1)).fit((x, sn.zeros(3, 1)), epochs=3)
    assert out.numpy()[0, 0] == pytest.approx(expected) and model(x).numpy()[0, 0] != pytest.approx(expected)
