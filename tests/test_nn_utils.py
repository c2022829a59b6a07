"""symnet.nn.utils against PyTorch 2.13's stored numbers (tests/fixtures/make_scheduler_fixtures.py): gradient
clipping by norm (types 2, 1, inf, 0.5, 3, −inf, 0; float32, float64 and a mix; non-finite norms) and by value;
parameters as one vector and back; PyTorch's errors and edge cases."""

import math
import warnings
from pathlib import Path

import numpy as np
import pytest

import symnet as sn
import symnet.nn.utils as utils
from tests.fixtures.make_scheduler_fixtures import NONFINITE, NORM_TYPES, clip_grads

FIXTURES = np.load(Path(__file__).parent / "fixtures" / "schedulers_all.npz")
RTOL = {"float32": 1e-6, "float64": 1e-12}


def with_grads(grads):
    """Parameters of the gradients' shapes and dtypes, holding those gradients."""
    params = []
    for g in grads:
        p = sn.zeros(*np.shape(g), dtype=str(np.asarray(g).dtype), requires_grad=True)
        p.grad = sn.tensor(np.asarray(g))
        params.append(p)
    return params


def assert_grads(params, key, rtol):
    for k, p in enumerate(params):
        expected = FIXTURES[f"{key}/{k}"]
        assert p.grad.dtype == expected.dtype and p.grad.shape == expected.shape
        np.testing.assert_allclose(p.grad.numpy(), expected, rtol=rtol, atol=0, err_msg=f"{key}/{k}")


@pytest.mark.parametrize("max_norm", [0.5, 100.0])
@pytest.mark.parametrize("norm_type", NORM_TYPES)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_clip_grad_norm_matches_pytorch(dtype, norm_type, max_norm):
    params = with_grads(clip_grads(dtype))
    total = utils.clip_grad_norm_(params, max_norm, norm_type=norm_type)
    key = f"norm/{dtype}/{norm_type}/{max_norm}"
    expected = FIXTURES[f"{key}/total"]
    assert total.shape == () and total.dtype == expected.dtype
    np.testing.assert_allclose(total.numpy(), expected, rtol=RTOL[dtype], atol=0)
    assert_grads(params, key, RTOL[dtype])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_clip_grad_value_matches_pytorch(dtype):
    params = with_grads(clip_grads(dtype))
    assert utils.clip_grad_value_(params, 0.3) is None
    assert_grads(params, f"value/{dtype}", 0)


def test_mixed_dtypes_promote_the_total_norm():
    params = with_grads([clip_grads("float32")[0], clip_grads("float64")[1]])
    total = utils.clip_grad_norm_(params, 0.5)
    assert total.dtype == sn.float64
    np.testing.assert_allclose(total.numpy(), FIXTURES["mixed/total"], rtol=1e-12)
    assert_grads(params, "mixed", 1e-6)


@pytest.mark.parametrize("norm_type", [2.0, math.inf])
@pytest.mark.parametrize("case", sorted(NONFINITE))
def test_nonfinite_norm_spreads_nan_or_raises(case, norm_type):
    params = with_grads([np.array(g) for g in NONFINITE[case]])
    with pytest.raises(RuntimeError, match=rf"The total norm of order {norm_type} for gradients from `parameters` "
                                           r"is non-finite, so it cannot be clipped"):
        utils.clip_grad_norm_(params, 1.0, norm_type=norm_type, error_if_nonfinite=True)
    before = [p.grad.numpy().copy() for p in params]
    assert all(np.array_equal(p.grad.numpy(), b, equal_nan=True) for p, b in zip(params, before, strict=True))
    key = f"nonfinite/{case}/{norm_type}"
    total = utils.clip_grad_norm_(params, 1.0, norm_type=norm_type)
    np.testing.assert_array_equal(total.numpy(), FIXTURES[f"{key}/total"])
    for k, p in enumerate(params):
        np.testing.assert_array_equal(p.grad.numpy(), FIXTURES[f"{key}/{k}"])


def test_total_norm_then_clip_is_clip_grad_norm():
    grads = clip_grads("float64")
    params = with_grads(grads)
    total = utils.get_total_norm([p.grad for p in params], norm_type=1.0)
    utils.clip_grads_with_norm_(params, 0.5, total)
    np.testing.assert_allclose(total.numpy(), FIXTURES["norm/float64/1.0/0.5/total"], rtol=1e-12)
    assert_grads(params, "norm/float64/1.0/0.5", 1e-12)
    with pytest.raises(TypeError, match="total_norm must be a Tensor, not float"):
        utils.clip_grads_with_norm_(params, 0.5, 3.0)


def test_clip_grad_norm_edges():
    """A single tensor, 0-d and empty gradients, parameters without a gradient, nothing at all."""
    w = sn.zeros(requires_grad=True)
    w.grad = sn.tensor(2.0)
    total = utils.clip_grad_norm_(w, 1.0)
    assert total.item() == 2.0 and w.grad.item() == pytest.approx(2 / (2 + 1e-6), rel=1e-7)
    e, none = sn.zeros(0, requires_grad=True), sn.zeros(3, requires_grad=True)
    e.grad = sn.zeros(0)
    assert utils.clip_grad_norm_([e, none], 1.0).item() == 0.0 and none.grad is None
    for norm_type, words in ((math.inf, "infinity norm"), (-math.inf, "-inf norm")):
        with pytest.raises(RuntimeError, match=f"cannot compute the {words} on an empty tensor"):
            utils.clip_grad_norm_([e], 1.0, norm_type=norm_type)
    empty = utils.clip_grad_norm_([], 1.0)
    assert empty.item() == 0.0 and empty.dtype == sn.float32 and empty.shape == ()
    with pytest.warns(UserWarning, match="`parameters` is an empty generator, no gradient clipping will occur."):
        utils.clip_grad_norm_((p for p in []), 1.0)
    with pytest.raises(ValueError, match="could not convert string to float: 'fro'"):
        utils.clip_grad_norm_([w], 1.0, norm_type="fro")
    with pytest.warns(FutureWarning, match="clip_grad_norm` is now deprecated"):
        utils.clip_grad_norm([w], 1.0)


def test_clip_grad_value_edges():
    """NaN stays NaN; a negative clip value clamps everything to it, as clamp(min > max) does in PyTorch."""
    w = sn.zeros(3, requires_grad=True)
    w.grad = sn.tensor([3.0, math.nan, -0.1])
    utils.clip_grad_value_(w, 1.0)
    np.testing.assert_array_equal(w.grad.numpy(), np.array([1.0, np.nan, -0.1], dtype=np.float32))
    utils.clip_grad_value_([w], -1.0)
    np.testing.assert_array_equal(w.grad.numpy()[[0, 2]], [-1.0, -1.0])
    with pytest.raises(TypeError, match="float"):
        utils.clip_grad_value_([w], None)


def test_clipping_a_real_backward_before_the_step():
    """The eager loop: backward, clip, step — the update uses the clipped gradient."""
    w = sn.tensor([3.0, 4.0], dtype=sn.float64, requires_grad=True)
    optimizer = sn.optim.SGD([w], lr=1.0)
    (w * w).sum().backward()  # gradient (6, 8), norm 10
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        total = utils.clip_grad_norm_([w], max_norm=2.0)
    assert total.item() == pytest.approx(10.0, rel=1e-15) and not total.requires_grad
    optimizer.step()
    coef = 2.0 / (10.0 + 1e-6)
    np.testing.assert_allclose(w.numpy(), [3 - 6 * coef, 4 - 8 * coef], rtol=1e-15)


# ---------------------------------------------------------------- parameters as one vector
def test_parameters_to_vector_and_back():
    model = sn.nn.Sequential(sn.nn.Linear(3, 4), sn.nn.Tanh(), sn.nn.Linear(4, 2))
    vec = utils.parameters_to_vector(model.parameters())
    assert vec.shape == (3 * 4 + 4 + 4 * 2 + 2,) and vec.dtype == sn.float32
    np.testing.assert_array_equal(vec.numpy(), np.concatenate([p.numpy().ravel() for p in model.parameters()]))
    utils.vector_to_parameters(sn.arange(26.0) * 2, model.parameters())
    np.testing.assert_array_equal(model[0].weight.numpy(), np.arange(12.0).reshape(4, 3) * 2)
    np.testing.assert_array_equal(model[2].bias.numpy(), [48.0, 50.0])
    assert all(p.requires_grad and p.is_leaf for p in model.parameters())
    np.testing.assert_array_equal(utils.parameters_to_vector(model.parameters()).numpy(), np.arange(26.0) * 2)


def test_parameters_to_vector_promotes_and_differentiates():
    a = sn.tensor([[1.0, 2.0]], requires_grad=True)
    b = sn.tensor(3.0, dtype=sn.float64, requires_grad=True)
    vec = utils.parameters_to_vector([a, b])
    assert vec.dtype == sn.float64
    np.testing.assert_array_equal(vec.numpy(), [1.0, 2.0, 3.0])
    (vec * sn.tensor([1.0, 2.0, 3.0], dtype=sn.float64)).pow(2).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), [[2.0, 16.0]])
    assert b.grad.item() == 54.0
    sn.check_grads(lambda x, y: utils.parameters_to_vector([x, y]).pow(3), [np.array([[0.3, -0.7]]), np.array(1.2)])


def test_vector_to_parameters_errors_and_extra_length():
    x, y = sn.zeros(2, 3), sn.zeros(2, dtype=sn.float64)
    with pytest.raises(TypeError, match="expected symnet.Tensor, but got: list"):
        utils.vector_to_parameters([1.0, 2.0], [x])
    with pytest.raises(RuntimeError, match=r"shape '\[2\]' is invalid for input of size 1"):
        utils.vector_to_parameters(sn.arange(7.0), [x, y])
    with pytest.raises(RuntimeError, match=r"shape '\[2, 3\]' is invalid for input of size 8"):
        utils.vector_to_parameters(sn.arange(8.0).reshape(2, 4), [x, y])
    utils.vector_to_parameters(sn.arange(10.0), [x, y])  # a longer vector is fine, as in PyTorch
    np.testing.assert_array_equal(x.numpy(), np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(y.numpy(), [6.0, 7.0])
    with pytest.raises(ValueError, match="non-empty"):
        utils.parameters_to_vector([])


def test_skip_init_makes_the_module_and_refuses_as_pytorch():
    """PyTorch leaves the parameters uninitialized; symnet's are initialized, one of the values that may come."""
    m = sn.nn.utils.skip_init(sn.nn.Linear, 4, 2, bias=False)
    assert isinstance(m, sn.nn.Linear) and m.weight.shape == (2, 4) and m.bias is None
    with pytest.raises(RuntimeError, match="Expected a Module"):
        sn.nn.utils.skip_init(int)
    with pytest.raises(RuntimeError, match="must support a 'device' arg"):
        sn.nn.utils.skip_init(sn.nn.ReLU)


def test_stateless_functional_call_is_func_functional_call_with_pytorchs_deprecation():
    linear = sn.nn.Linear(2, 1)
    weights = {"weight": sn.ones(1, 2), "bias": sn.zeros(1)}
    with pytest.warns(FutureWarning, match="Please use `torch.func.functional_call`"):
        out = sn.nn.utils.stateless.functional_call(linear, weights, sn.ones(3, 2))
    np.testing.assert_array_equal(out.numpy(), sn.func.functional_call(linear, weights, (sn.ones(3, 2),)).numpy())
