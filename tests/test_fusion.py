"""``nn.utils.fusion``: a convolution or linear layer and the BatchNorm after it folded into one layer in eval
mode — the fused weights and biases against PyTorch 2.13's, the fused layer's output against the pair's."""

import numpy as np
import pytest

import symnet as sn
from tests.scenarios import scenario_tests


def _pair(lib, layer, norm, features: int = 3, affine: bool = True):
    rng = np.random.default_rng(0)
    bn = norm(features, affine=affine)
    with lib.no_grad():
        layer.weight.copy_(lib.tensor(rng.standard_normal(tuple(layer.weight.shape)).astype(np.float32)))
        if layer.bias is not None:
            layer.bias.copy_(lib.tensor(rng.standard_normal(tuple(layer.bias.shape)).astype(np.float32)))
        if affine:
            bn.weight.copy_(lib.tensor([0.5, 2.0, -1.0][:features]))
            bn.bias.copy_(lib.tensor([0.1, 0.2, 0.3][:features]))
        bn.running_mean.copy_(lib.tensor([0.3, -0.2, 1.0][:features]))
        bn.running_var.copy_(lib.tensor([2.0, 0.5, 1.5][:features]))
    return layer.eval(), bn.eval()


def fused_weights_and_biases(lib):
    nn, fuse = lib.nn, lib.nn.utils
    cases = [fuse.fuse_conv_bn_eval(*_pair(lib, nn.Conv2d(2, 3, 3), nn.BatchNorm2d)),
             fuse.fuse_conv_bn_eval(*_pair(lib, nn.Conv1d(2, 3, 2, bias=False), nn.BatchNorm1d, affine=False)),
             fuse.fuse_conv_bn_eval(*_pair(lib, nn.ConvTranspose2d(2, 3, 2), nn.BatchNorm2d), transpose=True),
             fuse.fuse_linear_bn_eval(*_pair(lib, nn.Linear(4, 3), nn.BatchNorm1d)),
             fuse.fuse_linear_bn_eval(*_pair(lib, nn.Linear(4, 3), nn.BatchNorm1d, features=1))]
    return [[m.weight.tolist(), m.bias.tolist(), isinstance(m.weight, nn.Parameter), m.weight.requires_grad]
            for m in cases]


#: scenario: what PyTorch 2.13 gives
PYTORCH = {
    fused_weights_and_biases:
        [[[[[[0.044452231377363205, -0.046706002205610275, 0.22642302513122559],
             [0.03708769753575325, -0.189387246966362, 0.12784282863140106],
             [0.4610324501991272, 0.33484283089637756, -0.24880734086036682]],
            [[-0.44739294052124023, -0.22036023437976837, 0.014610902406275272],
             [-0.822020411491394, -0.07735433429479599, -0.44049492478370667],
             [-0.2588949501514435, -0.19242413341999054, -0.11182870715856552]]],
           [[[1.1642552614212036, 2.948643445968628, -0.36354726552963257],
             [3.864903450012207, -1.881435751914978, 0.9942106604576111],
             [2.5553739070892334, 0.2659042477607727, -2.102912425994873]],
            [[-2.607006788253784, -1.2946311235427856, 0.6227996349334717],
             [-2.855602741241455, -0.5916318893432617, -0.4503518342971802],
             [1.5297268629074097, 0.6071416139602661, 1.0051356554031372]]],
           [[[0.5338470339775085, 0.10582873970270157, -0.6401111483573914],
             [-1.2193772792816162, 1.0280193090438843, -1.2361094951629639],
             [-1.098899006843567, -0.6379359364509583, -0.215926393866539]],
            [[0.25631606578826904, -1.190464973449707, -1.600538969039917],
             [-1.4710237979888916, -1.0737742185592651, -0.2917989194393158],
             [0.9865847229957581, 0.0036367722786962986, -0.5360077619552612]]]],
          [-0.4615691602230072, 1.8832424879074097, 0.7655128240585327], True, True],
         [[[[0.08890446275472641, -0.09341200441122055], [0.45284605026245117, 0.0741753950715065]],
           [[-0.7575433254241943, 0.5113674998283386], [1.844115972518921, 1.339361310005188]],
           [[-0.5745955109596252, -1.0332088470458984], [-0.5088997483253479, 0.03374240919947624]]],
          [-0.21213150024414062, 0.2828398644924164, -0.8164938688278198], True, True],
         [[[[[0.044452231377363205, -0.046706002205610275], [0.22642302513122559, 0.03708769753575325]],
            [[-1.5150866508483887, 1.0227349996566772], [3.688231945037842, 2.678722620010376]],
            [[0.5745955109596252, 1.0332088470458984], [0.5088997483253479, -0.03374240919947624]]],
           [[[-0.822020411491394, -0.07735433429479599], [-0.44049492478370667, -0.2588949501514435]],
            [[-1.539381504058838, -0.8946229219436646], [1.1642552614212036, 2.948643445968628]],
            [[0.1049477607011795, -1.1157089471817017], [0.5431273579597473, -0.28700581192970276]]]],
          [0.3133583664894104, 1.0315840244293213, 1.7235565185546875], True, True],
         [[[0.044452231377363205, -0.046706002205610275, 0.22642302513122559, 0.03708769753575325],
           [-1.5150866508483887, 1.0227349996566772, 3.688231945037842, 2.678722620010376],
           [0.5745955109596252, 1.0332088470458984, 0.5088997483253479, -0.03374240919947624]],
          [-0.8280861377716064, 0.14684969186782837, 2.133772611618042], True, True],
         [[[0.044452231377363205, -0.046706002205610275, 0.22642302513122559, 0.03708769753575325],
           [-0.189387246966362, 0.12784282863140106, 0.4610324501991272, 0.33484283089637756],
           [-0.24880734086036682, -0.44739294052124023, -0.22036023437976837, 0.014610902406275272]],
          [-0.8280861377716064, -0.08342009037733078, -0.44656071066856384], True, True]],
}

test_symnet_gives_pytorchs_values, test_the_stored_values_are_pytorchs = scenario_tests(PYTORCH, rtol=2e-6)


def test_a_fused_layer_computes_what_the_pair_computes():
    rng = np.random.default_rng(1)
    conv, bn = _pair(sn, sn.nn.Conv2d(2, 3, 3), sn.nn.BatchNorm2d)
    x = sn.tensor(rng.standard_normal((2, 2, 6, 6)).astype(np.float32))
    fused = sn.nn.utils.fuse_conv_bn_eval(conv, bn)
    np.testing.assert_allclose(fused(x).numpy(), bn(conv(x)).numpy(), rtol=1e-5, atol=1e-5)
    assert fused is not conv and not fused.training  # a new layer; the pair is left as it was
    linear, bn1 = _pair(sn, sn.nn.Linear(4, 3), sn.nn.BatchNorm1d)
    z = sn.tensor(rng.standard_normal((5, 4)).astype(np.float32))
    np.testing.assert_allclose(sn.nn.utils.fuse_linear_bn_eval(linear, bn1)(z).numpy(), bn1(linear(z)).numpy(),
                               rtol=1e-5, atol=1e-6)


def test_only_an_eval_pair_of_matching_features_is_fused():
    conv, bn = _pair(sn, sn.nn.Conv2d(2, 3, 3), sn.nn.BatchNorm2d)
    with pytest.raises(AssertionError, match="Fusion only for eval"):
        sn.nn.utils.fuse_conv_bn_eval(conv.train(), bn)
    linear, bn2 = _pair(sn, sn.nn.Linear(4, 3), sn.nn.BatchNorm1d, features=2)
    with pytest.raises(AssertionError, match="linear.out_features == bn.num_features"):
        sn.nn.utils.fuse_linear_bn_eval(linear, bn2)
