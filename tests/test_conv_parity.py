"""PyTorch parity of the convolution, pooling, padding, fold and lazy layers, and of their functional forms, from
stored fixtures (tests/fixtures/make_conv_fixtures.py wrote them with PyTorch 2.13): for every case of
tests/fixtures/conv_configs.py the output, the input's and every parameter's gradient of ``(out * G).sum()``,
the indices of ``return_indices``, the state_dict's keys and shapes, and the default initialization's bounds.

Every case is a structure of its own, so native compiles of its own (~0.3–1 s each): the layer tests take
out.backward(G), which gives the output and every gradient from one program; the functional tests take the
user's route, (out * G).sum().backward() and then out.numpy() (a gradient program and a forward program)."""

import math
from pathlib import Path

import numpy as np
import pytest

import symnet as sn
from tests.fixtures.conv_configs import CASES, FLOAT32, FUNCTIONAL, LAZY

FIXTURES = Path(__file__).parent / "fixtures"
CONV = np.load(FIXTURES / "conv.npz")
TOLERANCE = {"float64": 1e-9, "float32": 1e-4}
RUNS = [(name, "float64") for name in CASES] + [(name, "float32") for name in FLOAT32]


def array(t) -> np.ndarray:
    """A tensor's (or a gradient's) value as an array, whether ``.grad`` holds a Tensor or an array."""
    assert t is not None, "no value (a gradient that was never written?)"
    return np.asarray(t.numpy() if hasattr(t, "numpy") else t)


def close(actual, expected: np.ndarray, dtype: str, what: str) -> None:
    actual = array(actual)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape}, PyTorch's {expected.shape}"
    rtol = TOLERANCE[dtype]
    scale = max(float(np.abs(expected).max(initial=0.0)), 1.0)
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * scale, err_msg=what)


def stored(prefix: str) -> dict[str, np.ndarray]:
    """The fixture's arrays under ``prefix``, by the rest of their key."""
    return {k[len(prefix):]: CONV[k] for k in CONV.files if k.startswith(prefix)}


def split(result):
    """``(out, indices)`` of a call with ``return_indices=True``, ``(out, None)`` otherwise."""
    if isinstance(result, tuple):
        out, indices = result
        return out, indices
    return result, None


def check_indices(indices, key: str) -> None:
    if f"{key}/indices" not in CONV.files:
        assert indices is None, f"{key}: returned indices without return_indices=True"
        return
    assert indices is not None, f"{key}: return_indices=True returned no indices"
    expected = CONV[f"{key}/indices"]
    got = array(indices)
    assert got.dtype == np.int64, f"{key}: indices have dtype {got.dtype}, PyTorch's int64"
    np.testing.assert_array_equal(got, expected, err_msg=f"{key}: indices (ties go to the first in scan order)")


@pytest.mark.parametrize(("name", "dtype"), RUNS, ids=[f"{n}-{d}" for n, d in RUNS])
def test_layer_matches_pytorch(name, dtype):
    layer, kwargs, _, options = CASES[name]
    key = f"{name}/{dtype}"
    params = stored(f"{key}/param/")
    module = getattr(sn.nn, layer)(**kwargs).to(getattr(sn, dtype))
    x = sn.tensor(CONV[f"{key}/x"], dtype=getattr(sn, dtype), requires_grad=True)
    call = options.get("call", {})
    if layer in LAZY:
        module(x, **call)       # the first call materializes the parameters, with the shapes PyTorch infers
        got = {k: tuple(p.shape) for k, p in module.named_parameters()}
        assert got == {k: v.shape for k, v in params.items()}, f"{layer} materialized {got}"
        assert all(p.dtype == getattr(sn, dtype) for p in module.parameters())
    module.load_state_dict(params)
    out, indices = split(module(x, **call))
    assert out.dtype == getattr(sn, dtype)
    # the gradients of (out * G).sum(), as out.backward(G): one native program gives the output and every gradient
    # (the functional tests below take the (out * G).sum() route, with the forward program run on its own)
    out.backward(sn.tensor(CONV[f"{key}/G"], dtype=getattr(sn, dtype)))
    close(out, CONV[f"{key}/out"], dtype, f"{key}: output")
    close(x.grad, CONV[f"{key}/grad/x"], dtype, f"{key}: input gradient")
    grads = stored(f"{key}/grad/param/")
    named = dict(module.named_parameters())
    assert sorted(named) == sorted(grads)
    for k, p in named.items():
        close(p.grad, grads[k], dtype, f"{key}: gradient of {k}")
    check_indices(indices, key)


@pytest.mark.parametrize("name", list(CASES))
def test_state_dict_keys_shapes_and_round_trip(name):
    layer, kwargs, _, options = CASES[name]
    expected = stored(f"{name}/float64/param/")
    module = getattr(sn.nn, layer)(**kwargs)
    if layer in LAZY:
        module(sn.tensor(CONV[f"{name}/float64/x"], dtype=sn.float32), **options.get("call", {}))
    state = module.state_dict()
    assert list(state) == list(CONV[f"{name}/keys"]), f"{layer}: state_dict keys {list(state)}"
    assert {k: v.shape for k, v in state.items()} == {k: v.shape for k, v in expected.items()}
    module.load_state_dict(expected)
    for k, v in module.state_dict().items():
        np.testing.assert_array_equal(v, expected[k].astype(np.float32), err_msg=k)


def fan_in(weight_shape: tuple) -> int:
    """PyTorch's fan-in for the default init: the weight's dim 1 times its receptive field — for ConvTranspose
    that is out_channels/groups·∏kernel (its weight is (in, out/groups, *kernel)), not in_channels."""
    return weight_shape[1] * math.prod(weight_shape[2:])


INIT_CASES = [name for name in CASES if f"{name}/float64/param/weight" in CONV.files]


@pytest.mark.parametrize("name", INIT_CASES)
def test_default_init_follows_pytorch_bounds(name):
    """kaiming_uniform(a=√5) for the weight and U(±1/√fan_in) for the bias, as in PyTorch's reset_parameters."""
    layer, kwargs, _, options = CASES[name]
    sn.manual_seed(0)
    module = getattr(sn.nn, layer)(**kwargs)
    if layer in LAZY:
        module(sn.tensor(CONV[f"{name}/float64/x"], dtype=sn.float32), **options.get("call", {}))
    bound = 1 / math.sqrt(fan_in(CONV[f"{name}/float64/param/weight"].shape))
    for k, p in module.named_parameters():
        values = np.abs(array(p))
        assert values.max() <= bound * (1 + 1e-6), f"{k}: |value| up to {values.max()}, bound {bound}"
        assert np.abs(CONV[f"{name}/float64/param/{k}"]).max() <= bound * (1 + 1e-6)   # PyTorch's, for the record
        if values.size >= 12:
            assert values.max() > 0.6 * bound, f"{k}: |value| only up to {values.max()}, bound {bound}"


@pytest.mark.parametrize("name", list(FUNCTIONAL))
def test_functional_matches_pytorch(name):
    function, args, kwargs = FUNCTIONAL[name]
    key = f"F/{name}/float64"
    tensors = [sn.tensor(CONV[f"{key}/arg/{arg}"], dtype=sn.float64, requires_grad=True) for arg, _ in args]
    out, indices = split(getattr(sn.nn.functional, function)(*tensors, **kwargs))
    (out * sn.tensor(CONV[f"{key}/G"], dtype=sn.float64)).sum().backward()
    close(out, CONV[f"{key}/out"], "float64", f"{key}: output")     # the forward program, on its own
    for (arg, _), t in zip(args, tensors, strict=True):
        close(t.grad, CONV[f"{key}/grad/{arg}"], "float64", f"{key}: gradient of {arg}")
    check_indices(indices, key)


def test_conv_fixtures_are_what_pytorch_computes_now():
    """With PyTorch installed, a sample of the stored fixtures is recomputed live and must match."""
    pytest.importorskip("torch")
    from tests.fixtures import make_conv_fixtures

    def same(key, value):
        if value.dtype.kind == "f":   # last bits may depend on PyTorch's threads and kernels
            np.testing.assert_allclose(CONV[key], value, rtol=1e-6 if value.dtype == np.float32 else 1e-12,
                                       atol=1e-7 if value.dtype == np.float32 else 1e-15, err_msg=key)
        else:
            np.testing.assert_array_equal(CONV[key], value, err_msg=key)

    for name in ("conv2d_same_even", "convt2d_groups", "maxpool2d_ties_pad", "avgpool2d_ceil_include",
                 "lazyconv2d", "adaptivemax2d_none", "circpad2d_full_wrap"):
        for dtype in ("float64", "float32") if name in FLOAT32 else ("float64",):
            for key, value in make_conv_fixtures.record_case(name, dtype).items():
                same(key, value)
    for name in ("pad_constant_negative", "fold", "conv2d_groups_same"):
        for key, value in make_conv_fixtures.record_functional(name).items():
            same(key, value)
    assert sorted(CONV.files) == sorted(make_conv_fixtures.conv_values())
