"""The Transformer decoder against PyTorch: ``TransformerDecoderLayer``, ``TransformerDecoder`` and
``Transformer`` (tests/fixtures/transformer_decoder.npz, written by
tests/fixtures/make_transformer_decoder_fixtures.py over the cases of tests/fixtures/transformer_decoder_configs.py):
outputs and the gradients of every input and parameter, eagerly on the reference backend (every case in float64,
the Transformer in float32); an SGD run of a decoder eagerly (float32) and through ``sn.compile`` (float64);
state_dict keys, ``Transformer``'s xavier initialization by its law, the causal mask, repr and the refusals."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

import symnet as sn
from tests.fixtures import transformer_decoder_configs as cfg
from tests.stored_fixtures import DTYPES, Stored, eager_mse_losses

F = sn.nn.functional
FIXTURES = Stored("transformer_decoder")
close, mask, state, check_run = FIXTURES.close, FIXTURES.mask, FIXTURES.state, FIXTURES.check_run


def sgd_batches(dtype: str) -> list:
    return FIXTURES.sgd_batches(dtype, cfg.SGD_STEPS)
FLOAT32_CASES = ("transformer",)
CASES = [(case, "float64") for case in cfg.CASES] + [(case, "float32") for case in FLOAT32_CASES]






def build(case: str, dtype: str) -> sn.nn.Module:
    module = cfg.build(sn.nn, case).to(DTYPES[dtype])
    expected = state(f"{dtype}/{case}/state/")
    assert list(module.state_dict()) == list(expected)
    module.load_state_dict(expected)
    return module.train(case in cfg.TRAIN)


@pytest.mark.parametrize(("case", "dtype"), CASES)
@pytest.mark.usefixtures("reference")
def test_modules_match_pytorch(case, dtype):
    module = build(case, dtype)
    _, _, shapes, call, case_masks = cfg.CASES[case]
    inputs = [sn.tensor(FIXTURES[f"{case}/in{i}"], dtype=DTYPES[dtype], requires_grad=True)
              for i in range(len(shapes))]
    out = module(*inputs, **call, **{name: mask(kind, dtype) for name, kind in case_masks.items()})
    (out * sn.tensor(FIXTURES[f"{case}/w_out"], dtype=out.dtype)).sum().backward()
    prefix = f"{dtype}/{case}"
    close(out.numpy(), f"{prefix}/out", dtype)
    for i, x in enumerate(inputs):
        close(x.grad.numpy(), f"{prefix}/grad/in{i}", dtype)
    params = dict(module.named_parameters())
    recorded = [k[len(prefix) + 6:] for k in FIXTURES.files if k.startswith(f"{prefix}/grad/")]
    assert sorted(params) == sorted(k for k in recorded if not re.fullmatch(r"in\d", k))
    for name, p in params.items():
        close(p.grad.numpy(), f"{prefix}/grad/{name}", dtype)


# ------------------------------------------------------------------------------ training, eagerly and compiled
def sgd_model(dtype: str) -> tuple[sn.nn.Module, sn.optim.SGD]:
    model = cfg.sgd_model(sn.nn).to(DTYPES[dtype])
    model.load_state_dict(state(f"{dtype}/sgd/initial/"))
    return model, sn.optim.SGD(model.parameters(), lr=cfg.SGD_LR, momentum=cfg.SGD_MOMENTUM)


@pytest.mark.usefixtures("reference")
def test_sgd_run_matches_pytorch_eagerly():
    model, opt = sgd_model("float32")
    losses = eager_mse_losses(model, opt, sgd_batches("float32"))
    check_run(model, losses, "float32")


def test_sgd_run_matches_pytorch_in_a_compiled_step():
    model, opt = sgd_model("float64")
    step = sn.compile(model, sn.nn.MSELoss(), opt)
    check_run(model, [step.step(x, y) for x, y in sgd_batches("float64")], "float64")


# ------------------------------------------------------------------------------ construction
def test_state_dict_keys_follow_pytorch():
    keys = list(sn.nn.TransformerDecoderLayer(4, 2, 6).state_dict())
    assert keys[:6] == ["self_attn.in_proj_weight", "self_attn.in_proj_bias", "self_attn.out_proj.weight",
                        "self_attn.out_proj.bias", "multihead_attn.in_proj_weight", "multihead_attn.in_proj_bias"]
    assert keys[8:] == ["linear1.weight", "linear1.bias", "linear2.weight", "linear2.bias", "norm1.weight",
                        "norm1.bias", "norm2.weight", "norm2.bias", "norm3.weight", "norm3.bias"]
    keys = list(sn.nn.Transformer(4, 2, 1, 2, 6, bias=False).state_dict())
    assert keys[0] == "encoder.layers.0.self_attn.in_proj_weight" and keys[-1] == "decoder.norm.weight"
    assert "decoder.layers.1.multihead_attn.out_proj.weight" in keys and not any("bias" in k for k in keys)


def test_transformer_initializes_every_matrix_xavier_uniform():
    sn.manual_seed(0)
    model = sn.nn.Transformer(64, 4, 1, 1, 128)
    for name, p in model.named_parameters():
        values = p.numpy()
        if p.dim() < 2:  # biases zero (attention) or Linear's, LayerNorm's ones and zeros: not re-initialized
            continue
        bound = math.sqrt(6 / sum(values.shape))
        assert 0.97 * bound < np.abs(values).max() <= bound, name
        assert abs(values.std() - bound / math.sqrt(3)) < 0.05 * bound, name
    assert (model.decoder.norm.weight.numpy() == 1).all()
    assert not model.encoder.layers[0].self_attn.in_proj_bias.numpy().any()


def test_decoder_layers_are_independent_copies():
    decoder = sn.nn.TransformerDecoder(sn.nn.TransformerDecoderLayer(4, 2, 6), 2)
    first, second = decoder.layers[0].multihead_attn.in_proj_weight, decoder.layers[1].multihead_attn.in_proj_weight
    assert first is not second and (first.numpy() == second.numpy()).all()


def test_generate_square_subsequent_mask_is_pytorchs():
    mask = sn.nn.Transformer.generate_square_subsequent_mask(cfg.T)
    assert mask.dtype == sn.float32
    np.testing.assert_array_equal(mask.numpy(), FIXTURES["mask/causal_float"])
    assert sn.nn.Transformer.generate_square_subsequent_mask(2, dtype=sn.float64).dtype == sn.float64


def test_repr_follows_pytorch():
    lines = repr(sn.nn.TransformerDecoderLayer(8, 2)).splitlines()
    assert lines[0] == "TransformerDecoderLayer(" and lines[4] == "  (multihead_attn): MultiheadAttention("
    assert lines[7:10] == ["  (linear1): Linear(in_features=8, out_features=2048, bias=True)",
                           "  (dropout): Dropout(p=0.1, inplace=False)",
                           "  (linear2): Linear(in_features=2048, out_features=8, bias=True)"]
    assert lines[-4:] == ["  (dropout1): Dropout(p=0.1, inplace=False)", "  (dropout2): Dropout(p=0.1, inplace=False)",
                          "  (dropout3): Dropout(p=0.1, inplace=False)", ")"]
    lines = repr(sn.nn.Transformer(8, 2, 2, 3, 16)).splitlines()
    assert lines[:4] == ["Transformer(", "  (encoder): TransformerEncoder(", "    (layers): ModuleList(",
                         "      (0-1): 2 x TransformerEncoderLayer("]
    assert "      (0-2): 3 x TransformerDecoderLayer(" in lines
    assert "    (norm): LayerNorm((8,), eps=1e-05, elementwise_affine=True, bias=True)" in lines


# ------------------------------------------------------------------------------ refusals
REFUSALS = [
    (lambda: sn.nn.TransformerDecoderLayer(4, 2, activation="tanh"), "relu/gelu"),
    (lambda: sn.nn.TransformerDecoderLayer(5, 2), "divisible"),
    (lambda: sn.nn.TransformerDecoderLayer(4, 2, 6)(sn.randn(3, 2, 4), sn.randn(5, 2, 4), tgt_is_causal=True),
     "Need attn_mask"),
    (lambda: sn.nn.TransformerDecoderLayer(4, 2, 6)(sn.randn(3, 2, 4), sn.randn(5, 2, 4),
                                                    memory_mask=sn.zeros(3, 4)), "2D attn_mask"),
    (lambda: sn.nn.TransformerDecoderLayer(4, 2, 6)(sn.randn(3, 2, 4), sn.randn(5, 4)), "3-D"),
    (lambda: sn.nn.TransformerDecoderLayer(4, 2, 6)(sn.randn(3, 2, 4), sn.randn(5, 2, 6)), "shapes"),
    (lambda: sn.nn.Transformer(4, 2, 1, 1, 6)(sn.randn(5, 2, 4), sn.randn(3, 3, 4)), "batch number"),
    (lambda: sn.nn.Transformer(4, 2, 1, 1, 6, batch_first=True)(sn.randn(2, 5, 4), sn.randn(3, 5, 4)),
     "batch number"),
    (lambda: sn.nn.Transformer(4, 2, 1, 1, 6)(sn.randn(5, 2, 4), sn.randn(3, 2, 6)), "feature number"),
]


@pytest.mark.parametrize(("call", "message"), REFUSALS)
def test_refusals_name_the_problem(call, message):
    with pytest.raises((ValueError, RuntimeError), match=message):
        call()
