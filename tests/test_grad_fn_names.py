"""``grad_fn`` as PyTorch names it: ``tensor(27., grad_fn=<MeanBackward0>)`` in the autograd tutorial, and the walk
``loss.grad_fn.next_functions[0][0]`` of the neural-networks tutorial (MseLoss, then the last layer's Addmm, then
its bias). symnet composes many of PyTorch's ops of several of its own (a loss of a subtraction, a power and a
mean); the frontend function shows the result under PyTorch's name, with the op's inputs as ``next_functions``.
Each name is PyTorch 2.13's, checked against PyTorch where it is installed."""

from __future__ import annotations

import numpy as np
import pytest

import symnet as sn

#: case → (PyTorch's grad_fn name, the op on a float32 (3, 4) tensor x that requires grad)
CASES = {
    "mean()": ("MeanBackward0", lambda L, x: x.mean()),
    "mean(1)": ("MeanBackward1", lambda L, x: x.mean(1)),
    "sum()": ("SumBackward0", lambda L, x: x.sum()),
    "sum(1)": ("SumBackward1", lambda L, x: x.sum(1)),
    "max()": ("MaxBackward1", lambda L, x: x.max()),
    "max(1)": ("MaxBackward0", lambda L, x: x.max(1)[0]),
    "min()": ("MinBackward1", lambda L, x: x.min()),
    "amax": ("AmaxBackward0", lambda L, x: x.amax(1)),
    "view": ("ViewBackward0", lambda L, x: x.view(-1)),
    "reshape": ("ViewBackward0", lambda L, x: x.reshape(-1)),
    "flatten": ("ViewBackward0", lambda L, x: x.flatten()),
    "flatten(1)": ("ViewBackward0", lambda L, x: x[None].flatten(1)),
    "t": ("TBackward0", lambda L, x: x.t()),
    "T": ("PermuteBackward0", lambda L, x: x.T),
    "transpose": ("TransposeBackward0", lambda L, x: x.transpose(0, 1)),
    "permute": ("PermuteBackward0", lambda L, x: x.permute(1, 0)),
    "unsqueeze": ("UnsqueezeBackward0", lambda L, x: x.unsqueeze(0)),
    "squeeze()": ("SqueezeBackward0", lambda L, x: x[None].squeeze()),
    "squeeze(0)": ("SqueezeBackward1", lambda L, x: x[None].squeeze(0)),
    "slice": ("SliceBackward0", lambda L, x: x[:2]),
    "slice1": ("SliceBackward0", lambda L, x: x[:, 1:]),
    "select": ("SelectBackward0", lambda L, x: x[0]),
    "select1": ("SelectBackward0", lambda L, x: x[:, 0]),
    "mm": ("MmBackward0", lambda L, x: x @ x.T),
    "mv": ("MvBackward0", lambda L, x: x @ x[0]),
    "bmm": ("BmmBackward0", lambda L, x: L.bmm(x[None], x.T[None])),
    "dot": ("DotBackward0", lambda L, x: x[0] @ x[1]),
    "linear2d": ("AddmmBackward0", lambda L, x: L.nn.functional.linear(x, x, x[:, 0])),
    "linear2d_nobias": ("MmBackward0", lambda L, x: L.nn.functional.linear(x, x)),
    "linear1d": ("AddBackward0", lambda L, x: L.nn.functional.linear(x[0], x, x[:, 0])),
    "linear3d": ("AddBackward0", lambda L, x: L.nn.functional.linear(x[None], x, x[:, 0])),
    "softmax": ("SoftmaxBackward0", lambda L, x: x.softmax(1)),
    "log_softmax": ("LogSoftmaxBackward0", lambda L, x: x.log_softmax(1)),
    "logsumexp": ("LogsumexpBackward0", lambda L, x: x.logsumexp(1)),
    "mse": ("MseLossBackward0", lambda L, x: L.nn.functional.mse_loss(x, x * 2)),
    "mse_none": ("MseLossBackward0", lambda L, x: L.nn.functional.mse_loss(x, x * 2, reduction="none")),
    "l1": ("MeanBackward0", lambda L, x: L.nn.functional.l1_loss(x, x * 2)),
    "l1_sum": ("SumBackward0", lambda L, x: L.nn.functional.l1_loss(x, x * 2, reduction="sum")),
    "smooth_l1": ("SmoothL1LossBackward0", lambda L, x: L.nn.functional.smooth_l1_loss(x, 2 * x)),
    "huber": ("HuberLossBackward0", lambda L, x: L.nn.functional.huber_loss(x, 2 * x)),
    "ce": ("NllLossBackward0", lambda L, x: L.nn.functional.cross_entropy(x[:, :3], L.tensor([0, 1, 2]))),
    "ce_none": ("NllLossBackward0",
                lambda L, x: L.nn.functional.cross_entropy(x, L.tensor([0, 1, 2]), reduction="none")),
    "nll": ("NllLossBackward0", lambda L, x: L.nn.functional.nll_loss(x, L.tensor([0, 1, 2]))),
    "bce": ("BinaryCrossEntropyBackward0", lambda L, x: L.nn.functional.binary_cross_entropy(x.sigmoid(), x.sigmoid())),
    "bce_logits": ("BinaryCrossEntropyWithLogitsBackward0",
                   lambda L, x: L.nn.functional.binary_cross_entropy_with_logits(x, x.sigmoid())),
    "std()": ("StdBackward0", lambda L, x: x.std()),
    "std(1)": ("StdBackward0", lambda L, x: x.std(1)),
    "var()": ("VarBackward0", lambda L, x: x.var()),
    "var(1)": ("VarBackward0", lambda L, x: x.var(1)),
    "norm()": ("LinalgVectorNormBackward0", lambda L, x: x.norm()),
    "norm(dim)": ("LinalgVectorNormBackward0", lambda L, x: x.norm(dim=1)),
    "double": ("ToCopyBackward0", lambda L, x: x.double()),
    "to": ("ToCopyBackward0", lambda L, x: x.to(L.float64)),
    "stack": ("StackBackward0", lambda L, x: L.stack([x, x])),
    "cat": ("CatBackward0", lambda L, x: L.cat([x, x])),
    "clamp": ("ClampBackward1", lambda L, x: x.clamp(0, 1)),
    "clamp_min": ("ClampBackward1", lambda L, x: x.clamp(min=0)),
    "clamp_t": ("ClampBackward0", lambda L, x: x.clamp(min=L.zeros(4))),
    "relu": ("ReluBackward0", lambda L, x: L.relu(x)),
    "F.relu": ("ReluBackward0", lambda L, x: L.nn.functional.relu(x)),
    "sigmoid": ("SigmoidBackward0", lambda L, x: L.sigmoid(x)),
    "tanh": ("TanhBackward0", lambda L, x: L.tanh(x)),
    "leaky": ("LeakyReluBackward0", lambda L, x: L.nn.functional.leaky_relu(x)),
    "elu": ("EluBackward0", lambda L, x: L.nn.functional.elu(x)),
    "gelu": ("GeluBackward0", lambda L, x: L.nn.functional.gelu(x)),
    "silu": ("SiluBackward0", lambda L, x: L.nn.functional.silu(x)),
    "softplus": ("SoftplusBackward0", lambda L, x: L.nn.functional.softplus(x)),
    "hardtanh": ("HardtanhBackward0", lambda L, x: L.nn.functional.hardtanh(x)),
    "max_pool2d": ("MaxPool2DWithIndicesBackward0", lambda L, x: L.nn.functional.max_pool2d(x[None, None], 2)),
    "avg_pool2d": ("AvgPool2DBackward0", lambda L, x: L.nn.functional.avg_pool2d(x[None, None], 2)),
    "conv1d": ("ConvolutionBackward0", lambda L, x: L.nn.functional.conv1d(x[None], L.randn(2, 3, 2))),
    "conv2d": ("ConvolutionBackward0", lambda L, x: L.nn.functional.conv2d(x[None, None], L.randn(2, 1, 2, 2))),
    "layer_norm": ("NativeLayerNormBackward0", lambda L, x: L.nn.functional.layer_norm(x, (4,))),
    "batch_norm": ("NativeBatchNormBackward0", lambda L, x: L.nn.functional.batch_norm(x, None, None, training=True)),
    "group_norm": ("NativeGroupNormBackward0", lambda L, x: L.nn.functional.group_norm(x[None], 1)),
    "pad": ("ConstantPadNdBackward0", lambda L, x: L.nn.functional.pad(x, (1, 1))),
    "embedding": ("EmbeddingBackward0", lambda L, x: L.nn.functional.embedding(L.tensor([0, 1]), x)),
    "rsub": ("RsubBackward1", lambda L, x: 1 - x),
    "sub_scalar": ("SubBackward0", lambda L, x: x - 1),
    "rdiv": ("MulBackward0", lambda L, x: 1 / x),
    "radd": ("AddBackward0", lambda L, x: 1 + x),
    "pow2": ("PowBackward0", lambda L, x: x ** 2),
    "rpow": ("PowBackward2", lambda L, x: 2 ** x),
    "sqrt": ("SqrtBackward0", lambda L, x: x.abs().sqrt()),
    "neg": ("NegBackward0", lambda L, x: -x),
    "where": ("WhereBackward0", lambda L, x: L.where(x > 0, x, 0.0)),
    "masked_fill": ("MaskedFillBackward0", lambda L, x: x.masked_fill(x > 0, 0.0)),
    "repeat": ("RepeatBackward0", lambda L, x: x.repeat(2, 1)),
    "expand": ("ExpandBackward0", lambda L, x: x[:1].expand(3, 4)),
    "chunk": ("SplitBackward0", lambda L, x: x.chunk(2)[0]),
    "split": ("SplitBackward0", lambda L, x: x.split(1)[0]),
    "unbind": ("UnbindBackward0", lambda L, x: x.unbind()[0]),
    "narrow": ("SliceBackward0", lambda L, x: x.narrow(0, 0, 1)),
    "index_select": ("IndexSelectBackward0", lambda L, x: x.index_select(0, L.tensor([0]))),
    "gather": ("GatherBackward0", lambda L, x: x.gather(1, L.tensor([[0], [1], [2]]))),
    "index_t": ("IndexBackward0", lambda L, x: x[L.tensor([0, 2])]),
    "roll": ("RollBackward0", lambda L, x: x.roll(1, 0)),
    "flip": ("FlipBackward0", lambda L, x: x.flip(0)),
    "cumsum": ("CumsumBackward0", lambda L, x: x.cumsum(1)),
    "prod": ("ProdBackward0", lambda L, x: x.prod()),
    "abs": ("AbsBackward0", lambda L, x: x.abs()),
    "exp": ("ExpBackward0", lambda L, x: x.exp()),
    "clone": ("CloneBackward0", lambda L, x: x.clone()),
    "sort": ("SortBackward0", lambda L, x: x.sort(1)[0]),
    "topk": ("TopkBackward0", lambda L, x: x.topk(2)[0]),
    "one_minus": ("SubBackward0", lambda L, x: L.ones(4) - x),
}


def name_of(lib, case: str) -> str:
    x = lib.tensor(np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32), requires_grad=True)
    return CASES[case][1](lib, x).grad_fn.name()


@pytest.mark.parametrize("case", list(CASES))
def test_grad_fn_is_named_as_pytorch_names_it(case):
    assert name_of(sn, case) == CASES[case][0]


@pytest.mark.parametrize("case", list(CASES))
def test_the_stored_names_are_pytorchs(case):
    torch = pytest.importorskip("torch")
    assert name_of(torch, case) == CASES[case][0]


def walk(lib) -> list[str]:
    """The neural-networks tutorial's walk back from an MSE loss of a small network."""
    lib.manual_seed(0)
    net = lib.nn.Sequential(lib.nn.Linear(4, 3), lib.nn.ReLU(), lib.nn.Linear(3, 2))
    loss = lib.nn.MSELoss()(net(lib.randn(1, 4)), lib.randn(1, 2))
    last = loss.grad_fn.next_functions[0][0]
    return [loss.grad_fn.name(), last.name(), *(f.name() for f, _ in last.next_functions[:2])]


def test_the_walk_back_from_a_loss_is_pytorchs():
    expected = ["MseLossBackward0", "AddmmBackward0", "torch::autograd::AccumulateGrad", "ReluBackward0"]
    assert walk(sn) == expected
    torch = pytest.importorskip("torch")
    assert walk(torch) == expected


def test_the_autograd_tutorials_printout():
    x = sn.ones(2, 2, requires_grad=True)
    y = x + 2
    z = y * y * 3
    out = z.mean()
    assert [repr(t).split("grad_fn=")[1] for t in (y, z, out)] == ["<AddBackward0>)", "<MulBackward0>)",
                                                                  "<MeanBackward0>)"]
    out.backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.full((2, 2), 4.5))


def test_a_name_costs_nothing_without_grad_and_keeps_an_op_that_gives_back_its_input():
    x = sn.randn(3, 4)
    assert x.mean().grad_fn is None and x.reshape(-1).grad_fn is None
    w = sn.randn(3, requires_grad=True)
    assert w.flatten() is w and w.flatten().grad_fn is None  # flatten of a vector is the vector itself
    with sn.no_grad():
        assert sn.nn.functional.mse_loss(w, w * 2).grad_fn is None
