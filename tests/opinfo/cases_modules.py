"""Cases of the layers' functional forms: normalization, embeddings, linear and bilinear maps, distances and
interpolation (parameters are operands, so PyTorch and symnet see the same values). Module-level behaviour
(state_dict keys, repr, init statistics) is in tests/test_containers.py, tests/test_init.py and
tests/test_layers.py."""

from tests.opinfo.spec import Case, arg


def _functional(name: str):
    """``t.nn.functional.<name>`` (a short name for the case lines)."""
    return lambda t, *args, **kwargs: getattr(t.nn.functional, name)(*args, **kwargs)


layer_norm = _functional("layer_norm")
rms_norm = _functional("rms_norm")
group_norm = _functional("group_norm")
instance_norm = _functional("instance_norm")
local_response_norm = _functional("local_response_norm")
normalize = _functional("normalize")
embedding = _functional("embedding")
embedding_bag = _functional("embedding_bag")
linear = _functional("linear")
bilinear = _functional("bilinear")
cosine_similarity = _functional("cosine_similarity")
pairwise_distance = _functional("pairwise_distance")
interpolate = _functional("interpolate")


def unflatten(t, x, dim, sizes):
    return t.nn.Unflatten(dim, sizes)(x)


def rows_of(t, x, *rows):
    """x with the given rows zeroed (zero vectors: the ε edge of the norms)."""
    mask = [[0.0] if r in rows else [1.0] for r in range(x.shape[0])]
    return x * t.tensor(mask, dtype=x.dtype)


def Refused(name: str, fn, args) -> Case:  # noqa: N802 - reads as a kind of Case
    """A call PyTorch refuses: symnet must refuse it too (no gradient to check)."""
    return Case(name, fn, args, grad=False)


IDX = dict(kind="index", high=6)

CASES = [
    # ---------------------------------------------------------------- normalization
    Case("layer_norm/affine", lambda t, x, w, b: layer_norm(t, x, (4,), w, b), [arg(3, 4), arg(4), arg(4)]),
    Case("layer_norm/two-dims", lambda t, x: layer_norm(t, x, (3, 4)), [arg(2, 3, 4)]),
    Case("layer_norm/weight-only", lambda t, x, w: layer_norm(t, x, [5], w, None, 1e-3), [arg(2, 5), arg(5)]),
    Refused("layer_norm/int-shape", lambda t, x: layer_norm(t, x, 5), [arg(2, 5)]),
    Case("layer_norm/ties", lambda t, x: layer_norm(t, x, (2,)), [arg(5, 2, kind="ties")]),
    Case("layer_norm/size-1", lambda t, x: layer_norm(t, x, (1,)), [arg(3, 1)]),
    Case("layer_norm/big", lambda t, x, w, b: layer_norm(t, x, (6,), w, b), [arg(2, 6, kind="big"), arg(6), arg(6)],
         fd=False),
    Case("layer_norm/empty", lambda t, x: layer_norm(t, x, (4,)), [arg(0, 4)]),
    Refused("layer_norm/wrong-shape", lambda t, x: layer_norm(t, x, (4,)), [arg(3, 5)]),
    Case("rms_norm/affine", lambda t, x, w: rms_norm(t, x, (4,), w), [arg(3, 4), arg(4)]),
    Case("rms_norm/default-eps", lambda t, x: rms_norm(t, x, (2, 3)), [arg(2, 2, 3)]),
    Case("rms_norm/eps", lambda t, x: rms_norm(t, x, (3,), None, 0.5), [arg(4, 3, kind="kinks")]),
    Case("group_norm/affine", lambda t, x, w, b: group_norm(t, x, 3, w, b), [arg(2, 6, 3), arg(6), arg(6)]),
    Case("group_norm/4d", lambda t, x: group_norm(t, x, 2), [arg(2, 4, 3, 2)]),
    Case("group_norm/one-group", lambda t, x: group_norm(t, x, 1), [arg(3, 4, 2)]),
    Case("group_norm/group-per-channel", lambda t, x, w: group_norm(t, x, 3, w), [arg(2, 3, 5), arg(3)]),
    Case("group_norm/no-spatial", lambda t, x: group_norm(t, x, 2), [arg(3, 4)]),
    Refused("group_norm/indivisible", lambda t, x: group_norm(t, x, 4), [arg(2, 6, 3)]),
    Case("instance_norm/1d", lambda t, x: instance_norm(t, x), [arg(2, 3, 5)]),
    Case("instance_norm/2d-affine", lambda t, x, w, b: instance_norm(t, x, None, None, w, b),
         [arg(2, 3, 4, 3), arg(3), arg(3)]),
    Case("instance_norm/3d", lambda t, x: instance_norm(t, x, eps=0.1), [arg(1, 2, 2, 3, 2)]),
    Refused("instance_norm/one-element", lambda t, x: instance_norm(t, x), [arg(2, 3, 1)]),
    Case("local_response_norm/odd", lambda t, x: local_response_norm(t, x, 3), [arg(2, 5, 4)]),
    Case("local_response_norm/even-4d", lambda t, x: local_response_norm(t, x, 2, 1e-2, 0.5, 2.0),
         [arg(2, 4, 3, 2)]),
    Refused("local_response_norm/2d", lambda t, x: local_response_norm(t, x, 3), [arg(2, 5)]),
    Case("normalize/default", lambda t, x: normalize(t, x), [arg(3, 4)]),
    Case("normalize/p1-last-dim", lambda t, x: normalize(t, x, 1.0, -1), [arg(2, 3, 4, kind="nonzero")]),
    Case("normalize/p3", lambda t, x: normalize(t, x, 3.0, 0), [arg(4, 2, kind="nonzero")]),
    Case("normalize/zero-vector", lambda t, x: normalize(t, rows_of(t, x, 1), dim=1), [arg(3, 4)], fd=False),
    # ---------------------------------------------------------------- embeddings
    Case("embedding/2d", lambda t, i, w: embedding(t, i, w), [arg(2, 4, **IDX), arg(6, 3)]),
    Case("embedding/1d-repeated", lambda t, w: embedding(t, t.tensor([1, 4, 1, 1, 0]), w), [arg(6, 3)]),
    Case("embedding/0-d", lambda t, i, w: embedding(t, i, w), [arg((), **IDX), arg(6, 3)]),
    # the padding row's gradient is zero by definition, not the derivative: no finite differences
    Case("embedding/padding", lambda t, i, w: embedding(t, i, w, 0), [arg(3, 5, kind="index", high=3), arg(6, 2)],
         fd=False),
    Case("embedding/negative-padding", lambda t, w: embedding(t, t.tensor([[5, 1], [5, 5]]), w, -1), [arg(6, 2)],
         fd=False),
    Case("embedding/max-norm", lambda t, w: embedding(t, t.tensor([0, 2, 2, 3]), w, None, 1.0), [arg(4, 3)],
         fd=False, compile=False),
    Case("embedding/max-norm-p1", lambda t, w: embedding(t, t.tensor([[1, 3]]), w, max_norm=0.5, norm_type=1.0),
         [arg(4, 3)], fd=False, compile=False),
    Refused("embedding/out-of-range", lambda t, w: embedding(t, t.tensor([1, 6]), w), [arg(6, 3)]),
    Refused("embedding/negative-index", lambda t, w: embedding(t, t.tensor([-1]), w), [arg(6, 3)]),
    Refused("embedding/float-index", lambda t, i, w: embedding(t, i, w), [arg(2), arg(6, 3)]),
    Refused("embedding/padding-out-of-range", lambda t, w: embedding(t, t.tensor([1]), w, 6), [arg(6, 3)]),
    Case("embedding_bag/2d-mean", lambda t, i, w: embedding_bag(t, i, w), [arg(3, 4, **IDX), arg(6, 3)]),
    Case("embedding_bag/2d-sum-padding", lambda t, i, w: embedding_bag(t, i, w, mode="sum", padding_idx=1),
         [arg(3, 4, kind="index", high=3), arg(6, 3)]),
    Case("embedding_bag/2d-max", lambda t, i, w: embedding_bag(t, i, w, mode="max"), [arg(3, 4, **IDX), arg(6, 3)],
         fd=False),
    Case("embedding_bag/2d-max-padding", lambda t, w: embedding_bag(t, t.tensor([[2, 2], [1, 2]]), w, mode="max",
                                                                     padding_idx=2), [arg(6, 3)], fd=False),
    Case("embedding_bag/2d-mean-all-padding", lambda t, w: embedding_bag(t, t.tensor([[0, 0], [1, 0]]), w,
                                                                          padding_idx=0), [arg(6, 3)]),
    Case("embedding_bag/offsets-sum", lambda t, w: embedding_bag(t, t.tensor([1, 2, 4, 5, 4, 3, 2]), w,
                                                                  t.tensor([0, 2, 2, 6]), mode="sum"), [arg(6, 3)]),
    Case("embedding_bag/offsets-mean", lambda t, w: embedding_bag(t, t.tensor([1, 2, 4, 5, 4, 3, 2]), w,
                                                                   t.tensor([0, 3, 3])), [arg(6, 3)]),
    Case("embedding_bag/offsets-max", lambda t, w: embedding_bag(t, t.tensor([1, 2, 4, 5, 4]), w,
                                                                  t.tensor([0, 0, 3]), mode="max"), [arg(6, 3)],
         fd=False),
    Case("embedding_bag/include-last-offset", lambda t, w: embedding_bag(
        t, t.tensor([1, 2, 4, 5, 4]), w, t.tensor([0, 1, 3, 5]), mode="sum", include_last_offset=True), [arg(6, 3)]),
    Case("embedding_bag/per-sample-weights", lambda t, w, p: embedding_bag(
        t, t.tensor([0, 5, 5, 1]), w, t.tensor([0, 1]), mode="sum", per_sample_weights=p), [arg(6, 2), arg(4)]),
    Case("embedding_bag/per-sample-weights-2d-padding", lambda t, i, w, p: embedding_bag(
        t, i, w, mode="sum", per_sample_weights=p, padding_idx=0), [arg(2, 3, kind="index", high=3), arg(3, 2),
                                                                    arg(2, 3)]),
    Refused("embedding_bag/per-sample-weights-mean", lambda t, i, w, p: embedding_bag(t, i, w, per_sample_weights=p),
         [arg(2, 3, **IDX), arg(6, 2), arg(2, 3)]),
    Refused("embedding_bag/2d-with-offsets", lambda t, i, w: embedding_bag(t, i, w, t.tensor([0, 1])),
         [arg(2, 3, **IDX), arg(6, 2)]),
    Refused("embedding_bag/1d-without-offsets", lambda t, i, w: embedding_bag(t, i, w), [arg(4, **IDX), arg(6, 2)]),
    Refused("embedding_bag/offsets-not-from-0", lambda t, w: embedding_bag(t, t.tensor([1, 2]), w, t.tensor([1])),
         [arg(6, 2)]),
    Refused("embedding_bag/bad-mode", lambda t, i, w: embedding_bag(t, i, w, mode="min"), [arg(2, 3, **IDX),
                                                                                         arg(6, 2)]),
    # ---------------------------------------------------------------- linear maps
    Case("linear/bias", lambda t, x, w, b: linear(t, x, w, b), [arg(3, 4), arg(2, 4), arg(2)]),
    Case("linear/batched-no-bias", lambda t, x, w: linear(t, x, w), [arg(2, 3, 4), arg(5, 4)]),
    Case("linear/vector-weight", lambda t, x, w: linear(t, x, w), [arg(3, 4), arg(4)]),
    Refused("linear/mismatch", lambda t, x, w: linear(t, x, w), [arg(3, 4), arg(2, 3)]),
    Case("bilinear/bias", lambda t, a, b, w, c: bilinear(t, a, b, w, c), [arg(3, 2), arg(3, 4), arg(5, 2, 4), arg(5)]),
    Case("bilinear/batched-no-bias", lambda t, a, b, w: bilinear(t, a, b, w), [arg(2, 3, 2), arg(2, 3, 3),
                                                                                 arg(1, 2, 3)]),
    Refused("bilinear/mismatch", lambda t, a, b, w: bilinear(t, a, b, w), [arg(3, 2), arg(3, 4), arg(5, 3, 4)]),
    Case("unflatten/middle", lambda t, x: unflatten(t, x, 1, (2, -1)), [arg(3, 6, 2)]),
    Case("unflatten/first", lambda t, x: unflatten(t, x, 0, (2, 3)), [arg(6, 2)]),
    Refused("unflatten/bad-sizes", lambda t, x: unflatten(t, x, -1, (4, 2)), [arg(3, 6)]),
    # ---------------------------------------------------------------- distances
    Case("cosine_similarity/default", lambda t, a, b: cosine_similarity(t, a, b), [arg(3, 4), arg(3, 4)]),
    Case("cosine_similarity/broadcast-last-dim", lambda t, a, b: cosine_similarity(t, a, b, -1, 1e-6),
         [arg(2, 3, 4), arg(4)]),
    Case("cosine_similarity/zero-vector", lambda t, a, b: cosine_similarity(t, rows_of(t, a, 0), b),
         [arg(2, 3), arg(2, 3)], fd=False),
    Case("cosine_similarity/big", lambda t, a, b: cosine_similarity(t, a, b, 0), [arg(4, 2, kind="big"),
                                                                                 arg(4, 2)], fd=False),
    Refused("cosine_similarity/dim-out-of-range", lambda t, a, b: cosine_similarity(t, a, b), [arg(3), arg(3)]),
    Case("pairwise_distance/default", lambda t, a, b: pairwise_distance(t, a, b), [arg(3, 4), arg(3, 4)]),
    Case("pairwise_distance/p1-keepdim", lambda t, a, b: pairwise_distance(t, a, b, 1.0, 1e-6, True),
         [arg(3, 4), arg(3, 4)]),
    Case("pairwise_distance/p-inf-broadcast", lambda t, a, b: pairwise_distance(t, a, b, float("inf")),
         [arg(2, 3, 4), arg(4)], fd=False),
    Case("pairwise_distance/p3-vectors", lambda t, a, b: pairwise_distance(t, a, b, 3.0, 0.0), [arg(5), arg(5)]),
    Case("pairwise_distance/equal-inputs", lambda t, a: pairwise_distance(t, a, a + 0, eps=0.0), [arg(2, 3)],
         fd=False),
    # ---------------------------------------------------------------- interpolation
    Case("interpolate/nearest-scale", lambda t, x: interpolate(t, x, scale_factor=2), [arg(1, 2, 3, 2)]),
    Case("interpolate/nearest-size", lambda t, x: interpolate(t, x, size=(5, 3)), [arg(2, 1, 3, 4)]),
    Case("interpolate/nearest-fraction", lambda t, x: interpolate(t, x, scale_factor=1.7), [arg(1, 2, 5)]),
    Case("interpolate/nearest-exact", lambda t, x: interpolate(t, x, size=(7, 2), mode="nearest-exact"),
         [arg(1, 1, 4, 5)]),
    Case("interpolate/linear", lambda t, x: interpolate(t, x, size=7, mode="linear"), [arg(2, 2, 4)]),
    Case("interpolate/linear-corners", lambda t, x: interpolate(t, x, scale_factor=2.5, mode="linear",
                                                                align_corners=True), [arg(1, 2, 3)]),
    Case("interpolate/bilinear-down", lambda t, x: interpolate(t, x, scale_factor=(0.6, 1.5), mode="bilinear"),
         [arg(1, 2, 5, 3)]),
    Case("interpolate/bilinear-corners", lambda t, x: interpolate(t, x, size=(4, 1), mode="bilinear",
                                                                  align_corners=True), [arg(2, 1, 3, 3)]),
    Case("interpolate/bilinear-recompute", lambda t, x: interpolate(t, x, scale_factor=1.3, mode="bilinear",
                                                                    recompute_scale_factor=True), [arg(1, 1, 4, 3)]),
    Case("interpolate/trilinear", lambda t, x: interpolate(t, x, scale_factor=1.5, mode="trilinear"),
         [arg(1, 1, 2, 3, 2)]),
    Case("interpolate/area", lambda t, x: interpolate(t, x, size=(2, 3), mode="area"), [arg(1, 2, 5, 6)]),
    # bicubic: four taps a dim, the outer ones clamped at the edges, the source index not clamped at 0
    Case("interpolate/bicubic-up", lambda t, x: interpolate(t, x, scale_factor=2, mode="bicubic"), [arg(2, 1, 3, 4)]),
    Case("interpolate/bicubic-down", lambda t, x: interpolate(t, x, scale_factor=(0.6, 1.7), mode="bicubic"),
         [arg(1, 2, 6, 3)]),
    Case("interpolate/bicubic-corners", lambda t, x: interpolate(t, x, size=(5, 2), mode="bicubic",
                                                                 align_corners=True), [arg(1, 1, 3, 4)]),
    Refused("interpolate/bicubic-needs-4d", lambda t, x: interpolate(t, x, size=3, mode="bicubic"), [arg(1, 1, 2)]),
    Refused("interpolate/linear-needs-3d", lambda t, x: interpolate(t, x, size=3, mode="linear"), [arg(1, 1, 2, 2)]),
    Refused("interpolate/nearest-align-corners", lambda t, x: interpolate(t, x, size=3, align_corners=True),
         [arg(1, 1, 2)]),
    Refused("interpolate/size-and-scale", lambda t, x: interpolate(t, x, size=3, scale_factor=2.0), [arg(1, 1, 2)]),
]
