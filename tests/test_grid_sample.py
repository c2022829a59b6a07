"""``F.affine_grid`` and ``F.grid_sample`` against PyTorch 2.13's numbers (``tests/fixtures/grid_sample.npz``, made
by ``make_grid_sample_fixtures.py``): every mode × padding × align_corners in float64 and float32, values and the
gradients by image, grid and θ; finite differences; a spatial transformer trained by a compiled step against the
eager loop; and PyTorch's refusals."""

import os
import warnings

import numpy as np
import pytest

import symnet as sn
import symnet.nn.functional as F
from tests.fixtures.make_grid_sample_fixtures import MODES, PADDINGS, SHAPES
from tests.stored_fixtures import Stored

STORED = Stored("grid_sample")
#: every case with SYMNET_DEEP=1; in CI every padding, both modes, both align_corners and both dtypes at least once
#: in 2-D, two cases in 3-D (a case compiles its own gradient program: 3–10 s)
DEEP = bool(os.environ.get("SYMNET_DEEP"))
CI = {("2d", "float64", "bilinear", p, False) for p in PADDINGS} | {
    ("2d", "float64", "nearest", "reflection", True), ("2d", "float32", "bilinear", "zeros", True),
    ("3d", "float64", "bilinear", "reflection", False), ("3d", "float32", "nearest", "zeros", True)}
CASES = [(n, d, m, p, a) for n in SHAPES for d in ("float64", "float32") for m in MODES for p in PADDINGS
         for a in (True, False) if DEEP or (n, d, m, p, a) in CI]


@pytest.mark.parametrize(("dims", "dtype", "mode", "padding", "align"), CASES)
def test_values_and_gradients_are_pytorchs(dims, dtype, mode, padding, align):
    x, g, th = (sn.tensor(STORED[f"{dims}/{k}"].astype(dtype), requires_grad=True) for k in ("image", "grid", "theta"))
    image, samples, size = SHAPES[dims]
    grid = F.affine_grid(th, size, align_corners=align)
    out = F.grid_sample(x, g, mode=mode, padding_mode=padding, align_corners=align)
    affine = F.grid_sample(x, grid, mode=mode, padding_mode=padding, align_corners=align)
    ((out * sn.tensor(STORED[f"{dims}/weights"].astype(dtype))).sum() + (affine**2).sum()).backward()
    assert out.dtype == x.dtype and tuple(out.shape) == image[:2] + samples and tuple(affine.shape) == size
    key = f"{dims}/{dtype}/{mode}/{padding}/{align}"
    for name, value in (("out", out), ("affine_out", affine), ("affine_grid", grid), ("grad/image", x.grad),
                        ("grad/grid", g.grad), ("grad/theta", th.grad)):
        STORED.close(value.detach().numpy(), f"{key}/{name}", dtype)


@pytest.mark.parametrize("padding", PADDINGS if DEEP else ("reflection",))
def test_bilinear_gradients_match_finite_differences(padding):
    rng = np.random.default_rng(1)
    image = sn.tensor(rng.standard_normal((1, 2, 4, 5)))
    grid = sn.tensor(rng.uniform(-1.2, 1.2, (1, 3, 3, 2)))
    sn.check_grads(lambda x, g: F.grid_sample(x, g, padding_mode=padding, align_corners=False), [image, grid],
                   order=1)
    theta = sn.tensor([[[0.83, 0.29, 0.07], [-0.21, 0.87, 0.04]]])  # no sample on a pixel line (a kink)
    sn.check_grads(lambda t: F.grid_sample(image, F.affine_grid(t, (1, 2, 3, 4), align_corners=True),
                                           padding_mode=padding, align_corners=True), [theta], order=1)


class SpatialTransformer(sn.nn.Module):
    """PyTorch's spatial transformer tutorial in small: a localization net regresses θ (initialized to the
    identity), the image is resampled by it, then classified."""

    def __init__(self):
        super().__init__()
        self.localization = sn.nn.Sequential(sn.nn.Flatten(), sn.nn.Linear(36, 8), sn.nn.Tanh(), sn.nn.Linear(8, 6))
        with sn.no_grad():
            self.localization[3].weight.mul_(0.1)
            self.localization[3].bias.copy_(sn.tensor([1.0, 0, 0, 0, 1, 0], dtype=sn.float64))
        self.classify = sn.nn.Sequential(sn.nn.Flatten(), sn.nn.Linear(36, 3))

    def forward(self, x):
        theta = self.localization(x).view(-1, 2, 3)
        return self.classify(F.grid_sample(x, F.affine_grid(theta, x.size(), align_corners=False),
                                           align_corners=False))


def test_a_spatial_transformer_trains_in_a_compiled_step_as_in_the_eager_loop():
    sn.manual_seed(0)
    sn.set_default_dtype(sn.float64)
    try:
        eager, compiled = SpatialTransformer(), SpatialTransformer()
    finally:
        sn.set_default_dtype(sn.float32)
    compiled.load_state_dict(eager.state_dict())
    rng = np.random.default_rng(2)
    x, y = rng.standard_normal((8, 1, 6, 6)), rng.integers(0, 3, 8)
    opt = sn.optim.SGD(eager.parameters(), lr=0.1)
    for _ in range(3):
        opt.zero_grad()
        sn.nn.CrossEntropyLoss()(eager(sn.tensor(x)), sn.tensor(y)).backward()
        opt.step()
    step = sn.compile(compiled, sn.nn.CrossEntropyLoss(), sn.optim.SGD(compiled.parameters(), lr=0.1))
    step.fit((x, y), epochs=3, progress=False)
    for (name, a), b in zip(eager.state_dict().items(), compiled.state_dict().values(), strict=True):
        np.testing.assert_allclose(b.numpy(), a.numpy(), rtol=1e-10, atol=1e-12, err_msg=name)
    assert not np.allclose(eager.localization[3].bias.numpy(), [1, 0, 0, 0, 1, 0])  # θ was trained


def test_a_grid_far_outside_reads_zeros_with_finite_gradients():
    x = sn.ones(1, 1, 3, 3, requires_grad=True)
    g = sn.tensor([[[[1e6, 0.0], [-1e6, 2.0], [0.0, 0.0]]]], requires_grad=True)
    out = F.grid_sample(x, g, align_corners=True)
    out.sum().backward()
    assert out.tolist() == [[[[0.0, 0.0, 1.0]]]]
    assert np.isfinite(x.grad.numpy()).all() and np.isfinite(g.grad.numpy()).all()
    border = F.grid_sample(x * 2, g, padding_mode="border", align_corners=True)
    assert border.tolist() == [[[[2.0, 2.0, 2.0]]]]


def test_pytorchs_refusals_and_warning():
    x, g = sn.ones(1, 1, 2, 2), sn.zeros(1, 1, 1, 2)
    with pytest.warns(UserWarning, match="align_corners=False since 1.3.0"):
        F.grid_sample(x, g)
    with pytest.warns(UserWarning, match="align_corners=False since 1.3.0"):
        F.affine_grid(sn.zeros(1, 2, 3), (1, 1, 2, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        F.grid_sample(x, g, align_corners=False)
    with pytest.raises(sn.NotSupportedError, match="bicubic"):
        F.grid_sample(x, g, mode="bicubic", align_corners=False)
    with pytest.raises(ValueError, match="expected mode"):
        F.grid_sample(x, g, mode="cubic", align_corners=False)
    with pytest.raises(ValueError, match="expected padding_mode"):
        F.grid_sample(x, g, padding_mode="wrap", align_corners=False)
    with pytest.raises(sn.ShapeError, match="same number of dimensions"):
        F.grid_sample(sn.ones(1, 1, 2, 2, 2), sn.zeros(1, 1, 1, 2), align_corners=False)
    with pytest.raises(sn.ShapeError, match="size 3 in last dimension"):
        F.grid_sample(sn.ones(1, 1, 2, 2, 2), sn.zeros(1, 1, 1, 1, 2), align_corners=False)
    with pytest.raises(sn.DTypeError, match="same floating dtype"):
        F.grid_sample(x, g.double(), align_corners=False)
    with pytest.raises(sn.ShapeError, match="Nx2x3"):
        F.affine_grid(sn.zeros(1, 3, 3), (1, 1, 2, 2), align_corners=False)
    with pytest.raises(sn.DTypeError, match="floating point"):
        F.affine_grid(sn.zeros(1, 2, 3, dtype=sn.int64), (1, 1, 2, 2), align_corners=False)
    one = F.affine_grid(sn.tensor([[[1.0, 0, 0.5], [0, 1, -0.5]]]), (1, 1, 1, 1), align_corners=False)
    assert one.tolist() == [[[[0.5, -0.5]]]]  # a 1-pixel side sits at 0, as PyTorch's
