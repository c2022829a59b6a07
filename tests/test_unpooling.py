"""Max unpooling against PyTorch (tests/fixtures/unpooling.npz, written by tests/fixtures/make_unpooling_fixtures.py
over tests/fixtures/unpooling_configs.py): ``max_unpool1d/2d/3d`` outputs and gradients from PyTorch's indices,
then chained after symnet's own ``max_pool`` (its indices must be PyTorch's), repeated indices whose gradients
gather, an SGD run eagerly and in a compiled step (its scatter keyed by the symbolic batch), repr and the
refusals."""

from __future__ import annotations

import numpy as np
import pytest

import symnet as sn
from symnet import backend
from symnet.errors import DTypeError, IndexRangeError, ShapeError
from tests.fixtures import unpooling_configs as cfg
from tests.stored_fixtures import DTYPES, Stored, eager_mse_losses

F = sn.nn.functional
FIXTURES = Stored("unpooling")
close, mask, state, check_run = FIXTURES.close, FIXTURES.mask, FIXTURES.state, FIXTURES.check_run


def sgd_batches(dtype: str) -> list:
    return FIXTURES.sgd_batches(dtype, cfg.SGD_STEPS)



@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", cfg.CASES)
def test_max_unpool_matches_pytorch(case, dtype):
    n, _, pool, unpool, output_size = cfg.CASES[case]
    unpool_nd, w = getattr(F, f"max_unpool{n}d"), sn.tensor(FIXTURES[f"{case}/w"], dtype=DTYPES[dtype])
    with backend.use("reference"):
        v = sn.tensor(FIXTURES[f"{case}/v"], dtype=DTYPES[dtype], requires_grad=True)
        out = unpool_nd(v, sn.tensor(FIXTURES[f"{case}/indices"]), **unpool, output_size=output_size)
        (out * w).sum().backward()
        close(out.numpy(), f"{dtype}/{case}/out", dtype)
        close(v.grad.numpy(), f"{dtype}/{case}/grad_v", dtype)
        x = sn.tensor(FIXTURES[f"{case}/x"], dtype=DTYPES[dtype], requires_grad=True)
        pooled, indices = getattr(F, f"max_pool{n}d")(x, **pool, return_indices=True)
        np.testing.assert_array_equal(indices.numpy(), FIXTURES[f"{case}/indices"])
        (unpool_nd(pooled, indices, **unpool, output_size=output_size) * w).sum().backward()
        close(x.grad.numpy(), f"{dtype}/{case}/grad_x", dtype)


def test_repeated_indices_each_receive_the_gradient_at_their_position():
    indices = FIXTURES["1d_overlap/indices"][0, 0]
    assert len(set(indices)) < len(indices)  # the fixture does repeat
    grad = FIXTURES["float64/1d_overlap/grad_v"][0, 0]
    np.testing.assert_array_equal(grad, FIXTURES["1d_overlap/w"][0, 0][indices])


# ------------------------------------------------------------------------------ training, eagerly and compiled
def sgd_model(dtype: str) -> tuple[sn.nn.Module, sn.optim.SGD]:
    model = cfg.sgd_model(sn.nn).to(DTYPES[dtype])
    model.load_state_dict({k[len(f"{dtype}/sgd/initial/"):]: FIXTURES[k] for k in FIXTURES.files
                           if k.startswith(f"{dtype}/sgd/initial/")})
    return model, sn.optim.SGD(model.parameters(), lr=cfg.SGD_LR)


def test_sgd_run_matches_pytorch_eagerly():
    model, opt = sgd_model("float32")
    with backend.use("reference"):
        losses = eager_mse_losses(model, opt, sgd_batches("float32"))
    check_run(model, losses, "float32")


def test_sgd_run_matches_pytorch_in_a_compiled_step():
    model, opt = sgd_model("float64")
    step = sn.compile(model, sn.nn.MSELoss(), opt)
    losses = [float(step.step(x, y)) for x, y in sgd_batches("float64")]
    check_run(model, losses, "float64")


# ------------------------------------------------------------------------------ construction and refusals
def test_repr_follows_pytorch():
    assert repr(sn.nn.MaxUnpool2d(2)) == "MaxUnpool2d(kernel_size=(2, 2), stride=(2, 2), padding=(0, 0))"
    assert repr(sn.nn.MaxUnpool1d(3, stride=2, padding=1)) == "MaxUnpool1d(kernel_size=(3,), stride=(2,), padding=(1,))"
    assert repr(sn.nn.MaxUnpool3d((2, 2, 1))) == ("MaxUnpool3d(kernel_size=(2, 2, 1), stride=(2, 2, 1), "
                                                  "padding=(0, 0, 0))")
    assert sn.nn.MaxUnpool2d(2).state_dict() == {}


x4, i4 = sn.randn(1, 1, 2, 2), sn.tensor([[[[0, 1], [2, 3]]]])
REFUSALS = [
    (lambda: F.max_unpool2d(x4, sn.tensor([[[[0, 1], [2, 16]]]]), 2), IndexRangeError,
     r"invalid max index: 16 \(output volumes are of size 4x4"),
    (lambda: F.max_unpool1d(sn.randn(1, 1, 2), sn.tensor([[[0, -1]]]), 2), IndexRangeError, "invalid max index: -1"),
    (lambda: F.max_unpool2d(x4, i4, 2, output_size=(7, 7)), ValueError, "dim 0 must be between 2 and 6"),
    (lambda: F.max_unpool2d(x4, i4, 2, output_size=(7,)), ValueError, "2 or 4 elements"),
    (lambda: F.max_unpool2d(x4, sn.tensor([[[[0, 1, 2]]]]), 2), ShapeError, "same as that of the input"),
    (lambda: F.max_unpool2d(x4, i4.float(), 2), DTypeError, "int64"),
    (lambda: F.max_unpool2d(x4[0, 0], i4[0, 0], 2), ShapeError, "3d or 4d"),
    (lambda: sn.nn.MaxUnpool2d((2, 2, 2)), ValueError, "kernel_size"),
]


@pytest.mark.parametrize(("call", "error", "message"), REFUSALS)
def test_refusals_name_the_problem(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_output_size_of_the_whole_shape_and_unbatched_input():
    values = sn.tensor([[[[1.0, 2.0]]]])
    out = F.max_unpool2d(values, sn.tensor([[[[1, 4]]]]), 2, output_size=(1, 1, 3, 3))
    np.testing.assert_array_equal(out.numpy()[0, 0], [[0, 1, 0], [0, 2, 0], [0, 0, 0]])
    assert F.max_unpool2d(values[0], sn.tensor([[[1, 4]]]), 2).shape == (1, 2, 4)
