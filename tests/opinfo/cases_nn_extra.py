"""Cases of the rest of the ``torch.nn`` surface: the in-place activations (``relu_`` …), pooling with indices
and in 3-d (adaptive max, LP), pixel and channel shuffles, Softmax2d, pdist, the deprecated ``upsample*``,
feature alpha dropout's deterministic edges and instance norm's running statistics (returned as outputs, so
PyTorch's update rule is checked number for number). Random draws (gumbel_softmax, dropout masks) and lazy
modules are checked by their laws in tests/test_nn_extra.py."""

import warnings

from tests.opinfo.spec import Case, arg


def F(t):  # noqa: N802 - reads as PyTorch's ``F``
    return t.nn.functional


def Refused(name: str, fn, args) -> Case:  # noqa: N802 - reads as a kind of Case
    """A call PyTorch refuses: symnet must refuse it too (no gradient to check)."""
    return Case(name, fn, args, grad=False)


def inplace(name: str, *params):
    """``F.<name>_`` on a computed tensor (in place on a leaf that requires grad is refused); the tensor it
    wrote into is the output, so the write itself is checked."""
    def call(t, x):
        y = x * 1.0
        getattr(F(t), f"{name}_")(y, *params)
        return y
    return call


def deprecated(name: str, **kwargs):
    """``F.<name>``, its deprecation warning silenced (PyTorch and symnet both warn)."""
    def call(t, x):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return getattr(F(t), name)(x, **kwargs)
    return call


def instance_norm_module(t, x):
    """Training updates the running statistics, eval normalizes with them: both outputs and the buffers."""
    norm = t.nn.InstanceNorm2d(3, momentum=0.3, affine=True, track_running_stats=True).to(x.dtype)
    trained = norm(x)
    return trained, norm.eval()(x), norm.running_mean * 1.0, norm.running_var * 1.0


CASES = [
    # ---------------------------------------------------------------- in-place activations
    Case("relu_/computed", inplace("relu"), [arg(3, 5)]),
    Case("elu_/alpha", inplace("elu", 0.5), [arg(4, 3)]),
    Case("celu_/alpha", inplace("celu", 2.0), [arg(2, 3, 2)]),
    Case("selu_", inplace("selu"), [arg(7)]),
    Case("hardtanh_/range", inplace("hardtanh", -0.5, 0.75), [arg(3, 4)]),
    Case("leaky_relu_/slope", inplace("leaky_relu", 0.2), [arg(5, 1)]),
    Case("threshold_", inplace("threshold", 0.1, -2.0), [arg(4, 4)], fd=False),
    Case("rrelu_/eval", inplace("rrelu", 0.1, 0.3), [arg(3, 3)]),
    Case("hardtanh_/int", lambda t, i: F(t).hardtanh_(i * 1, -1, 2), [arg(3, 4, kind="int")], grad=False),
    Case("relu_/returns-input", lambda t, x: F(t).relu_(x * 2.0) + 1.0, [arg(2, 3)]),
    Refused("relu_/leaf-requiring-grad", lambda t, x: F(t).relu_(x.requires_grad_()), [arg(3)]),
    Refused("elu_/int", lambda t, i: F(t).elu_(i), [arg(3, kind="int")]),
    # ---------------------------------------------------------------- pooling with indices, 3-d pooling
    Case("max_pool1d_with_indices", lambda t, x: F(t).max_pool1d_with_indices(x, 3, 2, 1), [arg(2, 3, 7)]),
    Case("max_pool2d_with_indices/ceil-dilation", lambda t, x: F(t).max_pool2d_with_indices(
        x, 2, 2, 0, (1, 2), ceil_mode=True), [arg(1, 2, 5, 7)]),
    Case("max_pool2d_with_indices/flag-ignored", lambda t, x: F(t).max_pool2d_with_indices(x, 2, return_indices=False),
         [arg(3, 4, 4)]),
    Case("max_pool3d_with_indices", lambda t, x: F(t).max_pool3d_with_indices(x, 2), [arg(1, 2, 4, 5, 4)]),
    Case("adaptive_max_pool1d_with_indices", lambda t, x: F(t).adaptive_max_pool1d_with_indices(x, 3),
         [arg(2, 2, 7)]),
    Case("adaptive_max_pool2d_with_indices/unbatched", lambda t, x: F(t).adaptive_max_pool2d_with_indices(x, (3, 4)),
         [arg(2, 5, 7)]),
    Case("adaptive_max_pool3d/odd", lambda t, x: F(t).adaptive_max_pool3d(x, (2, 3, 2)), [arg(1, 2, 5, 4, 3)]),
    Case("adaptive_max_pool3d_with_indices", lambda t, x: F(t).adaptive_max_pool3d_with_indices(x, (3, 2, None)),
         [arg(2, 1, 5, 3, 2)]),
    Case("AdaptiveMaxPool3d/divisible", lambda t, x: t.nn.AdaptiveMaxPool3d(2, return_indices=True)(x),
         [arg(1, 2, 4, 4, 2)]),
    Case("lp_pool3d/p2", lambda t, x: F(t).lp_pool3d(x, 2, 2), [arg(1, 2, 4, 4, 5, kind="positive")]),
    Case("LPPool3d/p1.5-ceil", lambda t, x: t.nn.LPPool3d(1.5, (2, 3, 2), 2, ceil_mode=True)(x),
         [arg(1, 1, 5, 4, 3, kind="positive")]),
    Refused("max_pool2d_with_indices/2d-input", lambda t, x: F(t).max_pool2d_with_indices(x, 2), [arg(4, 4)]),
    Refused("adaptive_max_pool3d/4d-spatial", lambda t, x: F(t).adaptive_max_pool3d(x, 2), [arg(1, 1, 2, 2, 2, 2)]),
    # ---------------------------------------------------------------- rearranging
    Case("pixel_shuffle/2", lambda t, x: F(t).pixel_shuffle(x, 2), [arg(2, 8, 3, 2)]),
    Case("pixel_shuffle/3-extra-batch-dim", lambda t, x: F(t).pixel_shuffle(x, 3), [arg(2, 1, 9, 2, 3)]),
    Case("pixel_shuffle/unbatched", lambda t, x: t.nn.PixelShuffle(2)(x), [arg(4, 3, 1)]),
    Case("pixel_unshuffle/2", lambda t, x: F(t).pixel_unshuffle(x, 2), [arg(2, 3, 4, 6)]),
    Case("pixel_unshuffle/3-extra-batch-dim", lambda t, x: t.nn.PixelUnshuffle(3)(x), [arg(1, 2, 2, 6, 3)]),
    Case("pixel_shuffle/round-trip", lambda t, x: F(t).pixel_shuffle(F(t).pixel_unshuffle(x, 2), 2),
         [arg(1, 3, 2, 4)]),
    Case("pixel_shuffle/int", lambda t, i: F(t).pixel_shuffle(i, 2), [arg(1, 4, 2, 3, kind="int")], grad=False),
    Case("channel_shuffle/3-groups", lambda t, x: F(t).channel_shuffle(x, 3), [arg(2, 6, 3)]),
    Case("ChannelShuffle/4d", lambda t, x: t.nn.ChannelShuffle(2)(x), [arg(1, 4, 2, 3)]),
    Refused("pixel_shuffle/indivisible", lambda t, x: F(t).pixel_shuffle(x, 2), [arg(1, 6, 2, 2)]),
    Refused("pixel_unshuffle/odd-height", lambda t, x: F(t).pixel_unshuffle(x, 2), [arg(1, 1, 3, 4)]),
    Refused("pixel_shuffle/2d", lambda t, x: F(t).pixel_shuffle(x, 1), [arg(4, 4)]),
    Refused("channel_shuffle/2d", lambda t, x: F(t).channel_shuffle(x, 2), [arg(2, 4)]),
    Refused("channel_shuffle/indivisible", lambda t, x: F(t).channel_shuffle(x, 2), [arg(2, 5, 3)]),
    # ---------------------------------------------------------------- Softmax2d, pdist, upsample
    Case("Softmax2d/4d", lambda t, x: t.nn.Softmax2d()(x), [arg(2, 3, 2, 2)]),
    Case("Softmax2d/3d", lambda t, x: t.nn.Softmax2d()(x), [arg(4, 1, 3)]),
    Refused("Softmax2d/2d", lambda t, x: t.nn.Softmax2d()(x), [arg(3, 4)]),
    Case("pdist/default", lambda t, x: F(t).pdist(x), [arg(5, 3)]),
    Case("pdist/p1", lambda t, x: F(t).pdist(x, 1.0), [arg(4, 3)]),
    Case("pdist/p3", lambda t, x: F(t).pdist(x, 3.0), [arg(3, 4)]),
    Case("pdist/inf", lambda t, x: F(t).pdist(x, float("inf")), [arg(4, 2)], fd=False),
    Refused("pdist/3d", lambda t, x: F(t).pdist(x), [arg(2, 3, 4)]),
    Refused("pdist/negative-p", lambda t, x: F(t).pdist(x, -1.0), [arg(3, 2)]),
    Case("upsample/bilinear-corners", deprecated("upsample", scale_factor=2, mode="bilinear", align_corners=True),
         [arg(1, 2, 2, 3)]),
    Case("upsample_nearest/size", deprecated("upsample_nearest", size=5), [arg(2, 1, 3)]),
    Case("upsample_bilinear/scale", deprecated("upsample_bilinear", scale_factor=1.5), [arg(1, 1, 3, 2)]),
    # ---------------------------------------------------------------- feature alpha dropout (deterministic edges)
    Case("feature_alpha_dropout/p1-zeros", lambda t, x: F(t).feature_alpha_dropout(x, 1.0, True), [arg(2, 3, 4)]),
    Case("FeatureAlphaDropout/eval", lambda t, x: t.nn.FeatureAlphaDropout(0.4).eval()(x), [arg(2, 3, 2)]),
    Refused("feature_alpha_dropout/1d", lambda t, x: F(t).feature_alpha_dropout(x, 0.5, True), [arg(4)]),
    Refused("feature_alpha_dropout/p-above-1", lambda t, x: F(t).feature_alpha_dropout(x, 1.5), [arg(2, 3)]),
    # ---------------------------------------------------------------- instance norm's running statistics
    Case("instance_norm/running-update", lambda t, x, m, v: (F(t).instance_norm(x, m, v, momentum=0.3), m, v),
         [arg(3, 2, 5), arg(2, grad=False), arg(2, kind="positive", grad=False)], fd=False,
         compile=False),  # the statistics are operands here, not a model's buffers: the step fixture has none
    Case("instance_norm/running-eval", lambda t, x, m, v, w: F(t).instance_norm(x, m, v, w, None, False),
         [arg(2, 3, 2, 2), arg(3, grad=False), arg(3, kind="positive", grad=False), arg(3)]),
    Case("InstanceNorm2d/track-train-then-eval", instance_norm_module, [arg(2, 3, 3, 2)], fd=False, compile=False),
    Refused("instance_norm/eval-without-stats", lambda t, x: F(t).instance_norm(x, use_input_stats=False),
            [arg(2, 3, 4)]),
    Refused("instance_norm/running-size", lambda t, x, m, v: F(t).instance_norm(x, m, v),
            [arg(2, 3, 4), arg(4), arg(4, kind="positive")]),
]
