"""``print(model)`` as PyTorch prints it: each module's repr (its options, PyTorch 2.13's format), stored from
PyTorch and checked against it where it is installed."""

from __future__ import annotations

import pytest

import symnet as sn

#: the module as written in PyTorch's tutorials, and PyTorch's repr of it
REPRS = [
    ('nn.Conv2d(1, 6, 5)', 'Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1))'),
    ('nn.Conv2d(3, 8, 3, stride=2, padding=1, bias=False)',
     'Conv2d(3, 8, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), bias=False)'),
    ("nn.Conv1d(2, 4, 3, padding='same')", 'Conv1d(2, 4, kernel_size=(3,), stride=(1,), padding=same)'),
    ('nn.ConvTranspose2d(4, 2, 2, stride=2)', 'ConvTranspose2d(4, 2, kernel_size=(2, 2), stride=(2, 2))'),
    ('nn.MaxPool2d(2)', 'MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)'),
    ('nn.MaxPool2d(2, 2)', 'MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)'),
    ('nn.AvgPool2d(2)', 'AvgPool2d(kernel_size=2, stride=2, padding=0)'),
    ('nn.AdaptiveAvgPool2d((1, 1))', 'AdaptiveAvgPool2d(output_size=(1, 1))'),
    ('nn.Dropout()', 'Dropout(p=0.5, inplace=False)'),
    ('nn.Dropout(0.2)', 'Dropout(p=0.2, inplace=False)'),
    ('nn.Dropout2d(0.1)', 'Dropout2d(p=0.1, inplace=False)'),
    ('nn.BatchNorm2d(6)', 'BatchNorm2d(6, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)'),
    ('nn.BatchNorm1d(4, affine=False)',
     'BatchNorm1d(4, eps=1e-05, momentum=0.1, affine=False, bias=False, track_running_stats=True)'),
    ('nn.BatchNorm1d(4, bias=False)',
     'BatchNorm1d(4, eps=1e-05, momentum=0.1, affine=True, bias=False, track_running_stats=True)'),
    ('nn.LayerNorm(10)', 'LayerNorm((10,), eps=1e-05, elementwise_affine=True, bias=True)'),
    ('nn.GroupNorm(2, 4)', 'GroupNorm(2, 4, eps=1e-05, affine=True, bias=True)'),
    ('nn.InstanceNorm2d(3)',
     'InstanceNorm2d(3, eps=1e-05, momentum=0.1, affine=False, bias=False, track_running_stats=False)'),
    ('nn.ReLU()', 'ReLU()'),
    ('nn.ReLU(inplace=True)', 'ReLU(inplace=True)'),
    ('nn.LeakyReLU()', 'LeakyReLU(negative_slope=0.01)'),
    ('nn.LeakyReLU(0.2)', 'LeakyReLU(negative_slope=0.2)'),
    ('nn.Sigmoid()', 'Sigmoid()'),
    ('nn.Tanh()', 'Tanh()'),
    ('nn.Softmax(dim=1)', 'Softmax(dim=1)'),
    ('nn.LogSoftmax(dim=1)', 'LogSoftmax(dim=1)'),
    ('nn.GELU()', "GELU(approximate='none')"),
    ('nn.ELU()', 'ELU(alpha=1.0)'),
    ('nn.Softplus()', 'Softplus(beta=1.0, threshold=20.0)'),
    ('nn.Hardtanh()', 'Hardtanh(min_val=-1.0, max_val=1.0)'),
    ('nn.PReLU()', 'PReLU(num_parameters=1)'),
    ('nn.SiLU()', 'SiLU()'),
    ('nn.Flatten()', 'Flatten(start_dim=1, end_dim=-1)'),
    ('nn.Unflatten(1, (2, 5))', 'Unflatten(dim=1, unflattened_size=(2, 5))'),
    ('nn.Linear(4, 2)', 'Linear(in_features=4, out_features=2, bias=True)'),
    ('nn.Linear(4, 2, bias=False)', 'Linear(in_features=4, out_features=2, bias=False)'),
    ('nn.Bilinear(2, 3, 4)', 'Bilinear(in1_features=2, in2_features=3, out_features=4, bias=True)'),
    ('nn.Identity()', 'Identity()'),
    ('nn.Embedding(10, 3)', 'Embedding(10, 3)'),
    ('nn.Embedding(10, 3, padding_idx=0)', 'Embedding(10, 3, padding_idx=0)'),
    ('nn.LSTM(10, 20, 2)', 'LSTM(10, 20, num_layers=2)'),
    ('nn.GRU(4, 8, batch_first=True)', 'GRU(4, 8, batch_first=True)'),
    ('nn.RNN(3, 5)', 'RNN(3, 5)'),
    ('nn.LSTMCell(3, 4)', 'LSTMCell(3, 4)'),
    ('nn.MSELoss()', 'MSELoss()'),
    ("nn.MSELoss(reduction='sum')", 'MSELoss()'),
    ('nn.CrossEntropyLoss(label_smoothing=0.1)', 'CrossEntropyLoss()'),
    ('nn.L1Loss()', 'L1Loss()'),
    ('nn.BCELoss()', 'BCELoss()'),
    ('nn.BCEWithLogitsLoss()', 'BCEWithLogitsLoss()'),
    ('nn.NLLLoss()', 'NLLLoss()'),
    ("nn.KLDivLoss(reduction='batchmean')", 'KLDivLoss()'),
    ('nn.Sequential(nn.Linear(2, 3), nn.ReLU())',
     'Sequential(\n  (0): Linear(in_features=2, out_features=3, bias=True)\n  (1): ReLU()\n)'),
    ('nn.ModuleList([nn.Linear(2, 2)])', 'ModuleList(\n  (0): Linear(in_features=2, out_features=2, bias=True)\n)'),
    ("nn.ModuleDict({'a': nn.ReLU()})", 'ModuleDict(\n  (a): ReLU()\n)'),
    ('nn.MultiheadAttention(8, 2)',
     'MultiheadAttention(\n  (out_proj): NonDynamicallyQuantizableLinear(in_features=8, out_features=8, bias=True)\n)'),
    ('nn.Upsample(scale_factor=2)', "Upsample(scale_factor=2.0, mode='nearest')"),
    ('nn.ZeroPad2d(1)', 'ZeroPad2d((1, 1, 1, 1))'),
    ('nn.ConstantPad1d(2, 3.5)', 'ConstantPad1d(padding=(2, 2), value=3.5)'),
    ('nn.ReflectionPad2d(2)', 'ReflectionPad2d((2, 2, 2, 2))'),
    ('nn.PixelShuffle(2)', 'PixelShuffle(upscale_factor=2)'),
    ('nn.Threshold(0.1, 20)', 'Threshold(threshold=0.1, value=20)'),
    ('nn.Hardswish()', 'Hardswish()'),
    ('nn.Mish()', 'Mish()'),
    ('nn.Softmin(1)', 'Softmin(dim=1)'),
    ('nn.CosineSimilarity()', 'CosineSimilarity()'),
    ('nn.PairwiseDistance()', 'PairwiseDistance()'),
    ('nn.Fold((4, 4), 2)', 'Fold(output_size=(4, 4), kernel_size=2, dilation=1, padding=0, stride=1)'),
    ('nn.Unfold(2)', 'Unfold(kernel_size=2, dilation=1, padding=0, stride=1)'),
    ('nn.EmbeddingBag(10, 3)', "EmbeddingBag(10, 3, mode='mean')"),
    ('nn.RMSNorm(4)', 'RMSNorm((4,), eps=None, elementwise_affine=True)'),
]


@pytest.mark.parametrize("built,printed", REPRS, ids=[b for b, _ in REPRS])
def test_modules_print_as_pytorchs(built, printed):
    assert repr(eval(built, {"nn": sn.nn})) == printed  # noqa: S307 - the table's own constructor calls


@pytest.mark.parametrize("built,printed", REPRS, ids=[b for b, _ in REPRS])
def test_the_stored_reprs_are_pytorchs(built, printed):
    torch = pytest.importorskip("torch")
    assert repr(eval(built, {"nn": torch.nn})) == printed  # noqa: S307 - the table's own constructor calls
