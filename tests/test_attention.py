"""Attention against PyTorch: ``scaled_dot_product_attention``, ``MultiheadAttention``,
``TransformerEncoderLayer`` and ``TransformerEncoder`` (tests/fixtures/attention.npz, written by
tests/fixtures/make_attention_fixtures.py over the cases of tests/fixtures/attention_configs.py): outputs, attention
weights and the gradients of every input and parameter, eagerly on the reference backend (every case in float64,
a few in float32: each distinct graph costs a compile on the native one); an SGD run eagerly and through
``sn.compile`` (native); state_dict keys, initialization by its law, repr, dropout's law and the refusals."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

import symnet as sn
from symnet.errors import DTypeError, NotSupportedError, ShapeError
from tests.fixtures import attention_configs as cfg
from tests.stored_fixtures import DTYPES, Stored, eager_mse_losses

F = sn.nn.functional
FIXTURES = Stored("attention")
close, mask, state, check_run = FIXTURES.close, FIXTURES.mask, FIXTURES.state, FIXTURES.check_run


def sgd_batches(dtype: str) -> list:
    return FIXTURES.sgd_batches(dtype, cfg.SGD_STEPS)
FLOAT32_MODULES = ("mha", "mha_bias_kv_zero_attn", "layer_masks_no_bias")
MODULE_CASES = [(case, "float64") for case in cfg.MODULES] + [(case, "float32") for case in FLOAT32_MODULES]





def weighted_sum(results, prefix: str) -> sn.Tensor:
    out, weights = results if isinstance(results, tuple) else (results, None)
    total = (out * sn.tensor(FIXTURES[f"{prefix}/w_out"], dtype=out.dtype)).sum()
    if weights is None:
        return total
    return total + (weights * sn.tensor(FIXTURES[f"{prefix}/w_weights"], dtype=out.dtype)).sum()



# ------------------------------------------------------------------------------ scaled_dot_product_attention
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", cfg.SDPA)
@pytest.mark.usefixtures("reference")
def test_scaled_dot_product_attention_matches_pytorch(case, dtype):
    shapes, kwargs, mask_kind = cfg.SDPA[case]
    inputs = [sn.tensor(FIXTURES[f"sdpa/{case}/in{i}"], dtype=DTYPES[dtype], requires_grad=True)
              for i in range(len(shapes))]
    extra = {} if mask_kind is None else {"attn_mask": mask(mask_kind, dtype)}
    out = F.scaled_dot_product_attention(*inputs, **kwargs, **extra)
    weighted_sum(out, f"sdpa/{case}").backward()
    close(out.numpy(), f"{dtype}/sdpa/{case}/out", dtype)
    for i, x in enumerate(inputs):
        close(x.grad.numpy(), f"{dtype}/sdpa/{case}/grad/in{i}", dtype)


def test_a_query_that_takes_no_key_gives_zeros_and_zero_gradients_as_pytorch():
    assert not FIXTURES["mask/bool"][1].any()
    assert (FIXTURES["float64/sdpa/bool_mask/out"][:, 1] == 0).all()
    assert (FIXTURES["float64/sdpa/bool_mask/grad/in0"][:, 1] == 0).all()


@pytest.mark.usefixtures("reference")
def test_dropout_scales_kept_weights_and_p_zero_is_exact():
    sn.manual_seed(0)
    q = sn.randn(2, 64, 4, dtype=sn.float64)
    v = sn.ones(2, 64, 1, dtype=sn.float64)
    plain = F.scaled_dot_product_attention(q, q, v).numpy()
    np.testing.assert_array_equal(F.scaled_dot_product_attention(q, q, v, dropout_p=0.0).numpy(), plain)
    dropped = F.scaled_dot_product_attention(q, q, v, dropout_p=0.5).numpy()  # Σ kept weights / (1 − p)
    assert np.abs(dropped.mean() - 1.0) < 0.1 and dropped.std() > 0.1
    mha = sn.nn.MultiheadAttention(4, 2, dropout=0.5).double().eval()
    x = sn.randn(5, 2, 4, dtype=sn.float64)
    np.testing.assert_array_equal(mha(x, x, x)[0].numpy(), mha(x, x, x)[0].numpy())


# ------------------------------------------------------------------------------ modules
def build(case: str, dtype: str) -> sn.nn.Module:
    module = cfg.build(sn.nn, case).to(DTYPES[dtype])
    expected = state(f"{dtype}/{case}/state/")
    assert list(module.state_dict()) == list(expected)
    module.load_state_dict(expected)
    return module.train(case in cfg.TRAIN)


@pytest.mark.parametrize(("case", "dtype"), MODULE_CASES)
@pytest.mark.usefixtures("reference")
def test_modules_match_pytorch(case, dtype):
    module = build(case, dtype)
    _, _, shapes, call, case_masks = cfg.MODULES[case]
    inputs = [sn.tensor(FIXTURES[f"{case}/in{i}"], dtype=DTYPES[dtype], requires_grad=True)
              for i in range(len(shapes))]
    result = module(*inputs, **call, **{name: mask(kind, dtype) for name, kind in case_masks.items()})
    weighted_sum(result, case).backward()
    prefix = f"{dtype}/{case}"
    out, weights = result if isinstance(result, tuple) else (result, None)
    close(out.numpy(), f"{prefix}/out", dtype)
    assert (weights is None) == (f"{prefix}/weights" not in FIXTURES)
    if weights is not None:
        close(weights.numpy(), f"{prefix}/weights", dtype)
    for i, x in enumerate(inputs):
        close(x.grad.numpy(), f"{prefix}/grad/in{i}", dtype)
    params = dict(module.named_parameters())
    recorded = [k[len(prefix) + 6:] for k in FIXTURES.files if k.startswith(f"{prefix}/grad/")]
    assert sorted(params) == sorted(k for k in recorded if not re.fullmatch(r"in\d", k))
    for name, p in params.items():
        close(p.grad.numpy(), f"{prefix}/grad/{name}", dtype)


@pytest.mark.usefixtures("reference")
def test_attention_weights_of_a_sample_that_takes_no_key_are_nan_as_pytorchs():
    """need_weights=True takes a plain softmax (0/0), the scaled_dot_product_attention path zeros."""
    module = build("mha_padding_all", "float64")
    x = sn.tensor(FIXTURES["mha_padding_all/in0"])
    kv = sn.tensor(FIXTURES["mha_padding_all/in1"])
    out, weights = module(x, kv, kv, key_padding_mask=mask("padding_all", "float64"))
    assert np.isnan(weights.numpy()[0]).all() and np.isfinite(weights.numpy()[1]).all()
    assert np.isnan(out.numpy()[:, 0]).all() and np.isfinite(out.numpy()[:, 1]).all()


# ------------------------------------------------------------------------------ training, eagerly and compiled
def sgd_model(dtype: str) -> tuple[sn.nn.Module, sn.optim.SGD]:
    model = cfg.sgd_model(sn.nn).to(DTYPES[dtype])
    model.load_state_dict(state(f"{dtype}/sgd/initial/"))
    return model, sn.optim.SGD(model.parameters(), lr=cfg.SGD_LR, momentum=cfg.SGD_MOMENTUM)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.usefixtures("reference")
def test_sgd_run_matches_pytorch_eagerly(dtype):
    model, opt = sgd_model(dtype)
    losses = eager_mse_losses(model, opt, sgd_batches(dtype))
    check_run(model, losses, dtype)


def test_sgd_run_matches_pytorch_in_a_compiled_step():
    model, opt = sgd_model("float64")
    step = sn.compile(model, sn.nn.MSELoss(), opt)
    check_run(model, [step.step(x, y) for x, y in sgd_batches("float64")], "float64")


# ------------------------------------------------------------------------------ construction
def test_state_dict_keys_follow_pytorch():
    assert list(sn.nn.MultiheadAttention(4, 2).state_dict()) == [
        "in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias"]
    assert list(sn.nn.MultiheadAttention(4, 2, kdim=3, vdim=5, add_bias_kv=True, bias=False).state_dict()) == [
        "q_proj_weight", "k_proj_weight", "v_proj_weight", "bias_k", "bias_v", "out_proj.weight"]


def test_initialization_follows_pytorchs_laws():
    sn.manual_seed(0)
    embed = 64
    mha = sn.nn.MultiheadAttention(embed, 4, add_bias_kv=True)
    weight = mha.in_proj_weight.numpy()
    bound = math.sqrt(6 / (embed + 3 * embed))  # xavier_uniform over (3E, E)
    assert np.abs(weight).max() <= bound and np.abs(weight).max() > 0.98 * bound
    assert abs(weight.std() - bound / math.sqrt(3)) < 0.02 * bound
    out_bound = 1 / math.sqrt(embed)  # Linear's default
    assert out_bound * 0.98 < np.abs(mha.out_proj.weight.numpy()).max() <= out_bound
    assert not mha.in_proj_bias.numpy().any() and not mha.out_proj.bias.numpy().any()
    bias_k = np.concatenate([mha.bias_k.numpy().ravel(), mha.bias_v.numpy().ravel()])
    assert abs(bias_k.std() - 1 / math.sqrt(embed)) < 0.25 / math.sqrt(embed)  # xavier_normal over (1, 1, E)
    separate = sn.nn.MultiheadAttention(embed, 4, kdim=16)
    k_bound = math.sqrt(6 / (embed + 16))
    assert k_bound * 0.95 < np.abs(separate.k_proj_weight.numpy()).max() <= k_bound


def test_repr_follows_pytorch():
    assert repr(sn.nn.MultiheadAttention(4, 2)) == (
        "MultiheadAttention(\n  (out_proj): NonDynamicallyQuantizableLinear(in_features=4, out_features=4, "
        "bias=True)\n)")
    layer = repr(sn.nn.TransformerEncoderLayer(8, 2))
    assert layer.splitlines()[4:7] == [
        "  (linear1): Linear(in_features=8, out_features=2048, bias=True)",
        "  (dropout): Dropout(p=0.1, inplace=False)",
        "  (linear2): Linear(in_features=2048, out_features=8, bias=True)"]
    assert "  (norm1): LayerNorm((8,), eps=1e-05, elementwise_affine=True, bias=True)" in layer


def test_encoder_layers_are_independent_copies():
    encoder = sn.nn.TransformerEncoder(sn.nn.TransformerEncoderLayer(4, 2, 6), 2)
    first, second = encoder.layers[0].linear1.weight, encoder.layers[1].linear1.weight
    assert first is not second and (first.numpy() == second.numpy()).all()


# ------------------------------------------------------------------------------ refusals
q3, k3, v3 = sn.randn(2, 3, 4), sn.randn(2, 5, 4), sn.randn(2, 5, 6)
REFUSALS = [
    (lambda: F.scaled_dot_product_attention(sn.randn(4), sn.randn(4), sn.randn(4)), ShapeError, "at least 2-d"),
    (lambda: F.scaled_dot_product_attention(q3, sn.randn(2, 5, 3), v3), ShapeError, "disagree"),
    (lambda: F.scaled_dot_product_attention(q3, k3, sn.randn(2, 6, 6)), ShapeError, "disagree"),
    (lambda: F.scaled_dot_product_attention(q3, k3, v3, attn_mask=sn.ones(3, 5, dtype=sn.bool_), is_causal=True),
     ValueError, "is_causal"),
    (lambda: F.scaled_dot_product_attention(q3, k3, v3, attn_mask=sn.ones(3, 5, dtype=sn.int64)), DTypeError,
     "bool or float"),
    (lambda: F.scaled_dot_product_attention(sn.randn(1, 3, 2, 4), sn.randn(1, 2, 5, 4), sn.randn(1, 2, 5, 4),
                                            enable_gqa=True), ShapeError, "divide"),
    (lambda: sn.nn.MultiheadAttention(5, 2), ValueError, "divisible"),
    (lambda: sn.nn.MultiheadAttention(0, 2), ValueError, "greater than 0"),
    (lambda: sn.nn.MultiheadAttention(4, 2)(sn.randn(3, 2, 4), sn.randn(3, 2, 4), sn.randn(3, 2, 4),
                                            is_causal=True), ValueError, "Need attn_mask"),
    (lambda: sn.nn.MultiheadAttention(4, 2)(sn.randn(3, 2, 4), sn.randn(5, 2, 4), sn.randn(5, 2, 4),
                                            attn_mask=sn.zeros(3, 4)), ShapeError, "2D attn_mask"),
    (lambda: sn.nn.MultiheadAttention(4, 2)(sn.randn(3, 2, 4), sn.randn(5, 2, 4), sn.randn(5, 2, 4),
                                            key_padding_mask=sn.zeros(2, 4, dtype=sn.bool_)), ShapeError,
     "key_padding_mask shape"),
    (lambda: sn.nn.MultiheadAttention(4, 2)(sn.randn(3, 2, 4), sn.randn(5, 4), sn.randn(5, 4)), ShapeError,
     "3-D"),
    (lambda: sn.nn.MultiheadAttention(4, 2)(sn.randn(3, 2, 5), sn.randn(5, 2, 5), sn.randn(5, 2, 5)), ShapeError,
     "embedding dimension"),
    (lambda: sn.nn.MultiheadAttention(4, 2)(sn.randn(3, 2, 4), sn.randn(5, 2, 4), sn.randn(5, 2, 4),
                                            attn_mask=sn.zeros(3, 5, dtype=sn.int64)), DTypeError, "only bool"),
    (lambda: F.multi_head_attention_forward(q3, q3, q3, 4, 2, None, None, None, None, False, 0.0, sn.randn(4, 4),
                                            None, static_k=q3), NotSupportedError, "static_k"),
    (lambda: sn.nn.TransformerEncoderLayer(4, 2, activation="tanh"), ValueError, "relu/gelu"),
]


@pytest.mark.parametrize(("call", "error", "message"), REFUSALS)
def test_refusals_name_the_problem(call, error, message):
    with pytest.raises(error, match=message):
        call()
