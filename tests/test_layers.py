"""The layer modules of normalization, sparse, distance, upsampling and layers.py: PyTorch's reprs and state_dict
keys (checked against torch 2.13 and hard-coded), initial values, and module-level behaviour (padding rows,
max_norm, from_pretrained, unbatched inputs). The numbers of their functional forms are in the OpInfo table
(tests/opinfo/cases_modules.py)."""

from __future__ import annotations

import numpy as np
import pytest

import symnet as sn
from symnet.nn import distance, layers, normalization, sparse, upsampling

MODULES = [
    (normalization.LayerNorm(4), "LayerNorm((4,), eps=1e-05, elementwise_affine=True, bias=True)", ["weight", "bias"]),
    (normalization.LayerNorm((2, 3), elementwise_affine=False),
     "LayerNorm((2, 3), eps=1e-05, elementwise_affine=False, bias=False)", []),
    (normalization.LayerNorm(4, bias=False), "LayerNorm((4,), eps=1e-05, elementwise_affine=True, bias=False)",
     ["weight"]),
    (normalization.GroupNorm(2, 4), "GroupNorm(2, 4, eps=1e-05, affine=True, bias=True)", ["weight", "bias"]),
    (normalization.InstanceNorm1d(3),
     "InstanceNorm1d(3, eps=1e-05, momentum=0.1, affine=False, bias=False, track_running_stats=False)", []),
    (normalization.InstanceNorm2d(3, affine=True),
     "InstanceNorm2d(3, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=False)",
     ["weight", "bias"]),
    (normalization.RMSNorm(4), "RMSNorm((4,), eps=None, elementwise_affine=True)", ["weight"]),
    (normalization.LocalResponseNorm(3), "LocalResponseNorm(3, alpha=0.0001, beta=0.75, k=1.0)", []),
    (sparse.Embedding(10, 3, padding_idx=-1), "Embedding(10, 3, padding_idx=9)", ["weight"]),
    (sparse.Embedding(10, 3, max_norm=1.0, norm_type=1.0), "Embedding(10, 3, max_norm=1.0, norm_type=1.0)",
     ["weight"]),
    (sparse.EmbeddingBag(10, 3), "EmbeddingBag(10, 3, mode='mean')", ["weight"]),
    (sparse.EmbeddingBag(10, 3, mode="max", padding_idx=0), "EmbeddingBag(10, 3, mode='max', padding_idx=0)",
     ["weight"]),
    (layers.Bilinear(2, 3, 4), "Bilinear(in1_features=2, in2_features=3, out_features=4, bias=True)",
     ["weight", "bias"]),
    (layers.Identity(1, a=2), "Identity()", []),
    (layers.Unflatten(1, (2, 3)), "Unflatten(dim=1, unflattened_size=(2, 3))", []),
    (distance.CosineSimilarity(), "CosineSimilarity()", []),
    (distance.PairwiseDistance(), "PairwiseDistance()", []),
    (upsampling.Upsample(scale_factor=2), "Upsample(scale_factor=2.0, mode='nearest')", []),
    (upsampling.Upsample(size=(3, 4), mode="bilinear"), "Upsample(size=(3, 4), mode='bilinear')", []),
    (upsampling.UpsamplingNearest2d(scale_factor=2), "UpsamplingNearest2d(scale_factor=2.0, mode='nearest')", []),
    (upsampling.UpsamplingBilinear2d(size=3), "UpsamplingBilinear2d(size=3, mode='bilinear')", []),
]


@pytest.mark.parametrize(("module", "text", "keys"), MODULES, ids=[t.split("(")[0] for _, t, _ in MODULES])
def test_repr_and_state_dict_keys_are_pytorchs(module, text, keys):
    assert repr(module) == text
    assert list(module.state_dict()) == keys


def test_norm_layers_start_as_identity_affines():
    for m in (normalization.LayerNorm((2, 3)), normalization.GroupNorm(2, 4), normalization.RMSNorm(3),
              normalization.InstanceNorm3d(2, affine=True)):
        state = m.state_dict()
        assert (state["weight"] == 1).all() and ("bias" not in state or (state["bias"] == 0).all())


def test_instance_norm_unbatched_and_refusals():
    x = sn.randn(3, 5, dtype=sn.float64)
    m = normalization.InstanceNorm1d(3, affine=True).double()
    np.testing.assert_allclose(m(x).numpy(), m(x.unsqueeze(0)).numpy()[0])
    with pytest.raises(sn.ShapeError, match="num_features"):
        m(sn.randn(2, 4, 5, dtype=sn.float64))
    with pytest.raises(sn.ShapeError, match="2D \\(unbatched\\) or 3D"):
        m(sn.randn(1, 3, 4, 4))


def test_layer_norm_formula_reads_as_the_math():
    x = sn.tensor(np.random.default_rng(0).standard_normal((2, 3)), requires_grad=True, name="x")
    text = str(sn.formulas(normalization.layer_norm(x, (3,)).sum()))
    assert "1/sqrt(" in text and "+ 1.0e-5" in text and "Σ_" in text


def test_embedding_init_padding_row_and_gradient():
    sn.manual_seed(0)
    emb = sparse.Embedding(20, 4, padding_idx=3)
    w = emb.weight.numpy()
    assert (w[3] == 0).all() and abs(np.delete(w, 3, 0).std() - 1) < 0.3  # N(0, 1), the padding row zero
    idx = sn.tensor([[3, 1, 3], [1, 2, 3]])
    out = emb(idx)
    assert out.shape == (2, 3, 4)
    out.sum().backward()
    grad = emb.weight.grad.numpy()
    assert (grad[3] == 0).all() and (grad[1] == 2).all() and (grad[2] == 1).all() and (grad[0] == 0).all()


def test_embedding_out_of_range_is_an_error_never_a_read():
    emb = sparse.Embedding(5, 2)
    for bad in ([5], [-1], [[0, 7]]):
        with pytest.raises(sn.IndexRangeError):
            emb(sn.tensor(bad)).numpy()
    computed = sn.tensor([2, 4]) + 2  # not a leaf: the gather checks it when it runs
    with pytest.raises(sn.IndexRangeError):
        emb(computed).numpy()
    with pytest.raises(sn.DTypeError):
        emb(sn.tensor([1.0]))


def test_embedding_max_norm_renorms_looked_up_rows_in_place():
    emb = sparse.Embedding.from_pretrained(sn.tensor([[3.0, 4.0], [0.3, 0.4], [6.0, 8.0]]), freeze=False,
                                           max_norm=1.0)
    out = emb(sn.tensor([0, 1]))
    w = emb.weight.numpy()
    np.testing.assert_allclose(np.linalg.norm(w[0]), 1.0, rtol=1e-6)
    np.testing.assert_allclose(w[1:], [[0.3, 0.4], [6.0, 8.0]])  # within max_norm, and not looked up
    np.testing.assert_allclose(out.numpy(), w[:2])


def test_from_pretrained_freezes_by_default():
    table = sn.tensor([[1.0, 2.0], [3.0, 4.0]])
    emb = sparse.Embedding.from_pretrained(table)
    assert not emb.weight.requires_grad and repr(emb) == "Embedding(2, 2)"
    np.testing.assert_array_equal(emb(sn.tensor([1])).numpy(), [[3.0, 4.0]])
    bag = sparse.EmbeddingBag.from_pretrained(table, freeze=False, mode="sum")
    assert bag.weight.requires_grad
    np.testing.assert_array_equal(bag(sn.tensor([[0, 1]])).numpy(), [[4.0, 6.0]])
    with pytest.raises(sn.ShapeError):
        sparse.Embedding.from_pretrained(sn.tensor([1.0, 2.0]))


def test_embedding_trains_in_a_compiled_step():
    """Token ids as the batch: the lookup, its padding row and its gradient inside one native step."""
    sn.manual_seed(5)
    model = sn.nn.Sequential(sparse.Embedding(6, 3, padding_idx=0), layers.Flatten(), layers.Linear(6, 1))
    before = model[0].weight.numpy().copy()
    step = sn.compile(model, sn.nn.MSELoss(), sn.optim.SGD(model.parameters(), lr=0.1))
    step.step(np.array([[1, 2], [0, 2]]), np.ones((2, 1), np.float32))
    after = model[0].weight.numpy()
    assert (after[0] == before[0]).all() and (after[3:] == before[3:]).all()
    assert not (after[1:3] == before[1:3]).all()


def test_bilinear_init_bound_and_unflatten():
    sn.manual_seed(0)
    m = layers.Bilinear(4, 3, 50)
    bound = 1 / np.sqrt(4)
    assert np.abs(m.weight.numpy()).max() <= bound and np.abs(m.weight.numpy()).max() > 0.9 * bound
    x = sn.randn(5, 12)
    assert layers.Unflatten(-1, (3, -1))(x).shape == (5, 3, 4)
    assert layers.Unflatten(0, (1, 5))(x).shape == (1, 5, 12)


def test_upsample_modules():
    x = sn.tensor(np.arange(4.0).reshape(1, 1, 2, 2))
    np.testing.assert_array_equal(upsampling.UpsamplingNearest2d(scale_factor=2)(x).numpy()[0, 0],
                                  [[0, 0, 1, 1], [0, 0, 1, 1], [2, 2, 3, 3], [2, 2, 3, 3]])
    np.testing.assert_allclose(upsampling.UpsamplingBilinear2d(size=3)(x).numpy()[0, 0],
                               [[0, 0.5, 1], [1, 1.5, 2], [2, 2.5, 3]])
