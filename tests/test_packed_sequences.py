"""Packed sequences (``torch.nn.utils.rnn``): packing a padded batch or a list of sequences, sorted or not, and
the way back, and RNN, LSTM and GRU run on packed batches (each sequence's state held after its last step, the
reverse direction starting from each one's last step), against the values PyTorch 2.13 gave (stored below), with
gradients through the packing; finite differences check the gradients independently."""

from __future__ import annotations

import numpy as np

import symnet as sn

from .scenarios import scenario_tests
from .test_op_edges import raised, result


def packed_recurrences(lib):
    """RNN, LSTM and GRU on packed batches (unsorted lengths, bidirectional, two layers, batch first): the padded
    outputs, final states and input gradients PyTorch gives."""
    rnn = lib.nn.utils.rnn
    results = []
    for kind, bidirectional, layers, batch_first in (("RNN", True, 1, False), ("LSTM", False, 2, True),
                                                     ("GRU", True, 2, False)):
        module = getattr(lib.nn, kind)(2, 2, num_layers=layers, bidirectional=bidirectional,
                                       batch_first=batch_first).double()
        with lib.no_grad():
            for k, p in enumerate(module.parameters()):
                p.copy_(lib.linspace(-0.5, 0.6, p.numel(), dtype=lib.float64).reshape(p.shape) * (1 + 0.1 * k))
        x = (lib.arange(18, dtype=lib.float64).reshape(3, 3, 2) / 10 - 0.8).requires_grad_()
        packed = rnn.pack_padded_sequence(x, [2, 3, 1], batch_first=batch_first, enforce_sorted=False)
        out, state = module(packed)
        h = state[0] if kind == "LSTM" else state
        padded, lengths = rnn.pad_packed_sequence(out, batch_first=batch_first, padding_value=-1.0)
        (padded.sin().sum() + h.sum()).backward()
        results += [result(padded.detach()), result(h.detach()), lengths.tolist(), result(x.grad),
                    out.batch_sizes.tolist(), out.sorted_indices.tolist()]
    return results


def packing_round_trips(lib):
    """pack_sequence, pack_padded_sequence (sorted and not) and the way back: data, batch sizes, orders, lengths;
    PyTorch's refusals of unsorted lengths and of a zero length."""
    rnn = lib.nn.utils.rnn
    a, b, c = lib.tensor([1.0, 2.0]), lib.tensor([3.0, 4.0, 5.0]), lib.tensor([6.0])
    packed = rnn.pack_sequence([a, b, c], enforce_sorted=False)
    padded, lengths = rnn.pad_packed_sequence(packed, batch_first=True, total_length=4)
    x = lib.arange(12.0).reshape(4, 3)
    sorted_pack = rnn.pack_padded_sequence(x, lib.tensor([4, 2, 1]))
    return [result(packed.data), packed.batch_sizes.tolist(), packed.sorted_indices.tolist(),
            packed.unsorted_indices.tolist(), result(padded), lengths.tolist(), result(sorted_pack.data),
            sorted_pack.sorted_indices is None, [s.tolist() for s in rnn.unpack_sequence(packed)],
            raised(lambda: rnn.pack_padded_sequence(x, [1, 2, 4]), RuntimeError),
            raised(lambda: rnn.pack_padded_sequence(x, [2, 0, 1], enforce_sorted=False), RuntimeError)]


PYTORCH = {
    packed_recurrences: [['float64',
          [[[-0.639109362767, 0.713036227393, -0.439518807755, 0.931461640534],
            [-0.708085297112, 0.785663859027, -0.619954577364, 0.961841002898],
            [-0.765762018248, 0.841609739138, -0.865284032609, 0.921266160829]],
           [[-0.711262899567, 0.935396465124, -0.903569786489, 0.949891254695],
            [-0.756985610027, 0.955962343797, -0.812809138382, 0.989357461446], [-1.0, -1.0, -1.0, -1.0]],
           [[-1.0, -1.0, -1.0, -1.0], [-0.878052285414, 0.986524709613, -0.975775059486, 0.992083601198],
            [-1.0, -1.0, -1.0, -1.0]]]],
         ['float64',
          [[[-0.711262899567, 0.935396465124], [-0.878052285414, 0.986524709613], [-0.765762018248, 0.841609739138]],
           [[-0.439518807755, 0.931461640534], [-0.619954577364, 0.961841002898], [-0.865284032609, 0.921266160829]]]],
         [2, 3, 1],
         ['float64',
          [[[-1.03084739049, 0.0852907583069], [-0.841633333294, 0.00924859635382], [-0.453125681855, 0.323316262295]],
           [[-0.313787157471, 0.0576482006717], [-0.073501757974, 0.0127220712127], [0.0, 0.0]],
           [[0.0, 0.0], [-0.194871658491, -0.0229499824808], [0.0, 0.0]]]],
         [3, 2, 1], [1, 0, 2],
         ['float64',
          [[[0.052190724701, 0.15641098734], [0.0686483623288, 0.22808688188], [-1.0, -1.0]],
           [[0.0520290765034, 0.15631209401], [0.0678432913612, 0.226926502976], [0.0712863452659, 0.256695437276]],
           [[0.0520065111472, 0.156293584218], [-1.0, -1.0], [-1.0, -1.0]]]],
         ['float64',
          [[[0.0569484987487, 0.154512520328], [0.08207302535, 0.267097237038], [0.0532408689495, 0.157619318414]],
           [[0.0686483623288, 0.22808688188], [0.0712863452659, 0.256695437276], [0.0520065111472, 0.156293584218]]]],
         [2, 3, 1],
         ['float64',
          [[[0.0293551978986, 0.0497911881846], [0.0525972052747, 0.0944109912622], [0.0, 0.0]],
           [[0.000763479999215, 0.00507168615481], [-0.00878137254757, 0.00307610095423],
            [-0.013606047312, 0.019308428496]],
           [[-0.0186054530799, 0.00921920832949], [0.0, 0.0], [0.0, 0.0]]]],
         [3, 2, 1], [1, 0, 2],
         ['float64',
          [[[0.481865236315, 0.287196845205, 0.773336062499, 0.398660355225],
            [0.526386715561, 0.258802917561, 0.918252104706, 0.444332238395],
            [0.505565474201, 0.283187549311, 0.547349935019, 0.250871691076]],
           [[0.741050409872, 0.452971773757, 0.571336218955, 0.235692395423],
            [0.792040490499, 0.40934210422, 0.851927659947, 0.332960290181], [-1.0, -1.0, -1.0, -1.0]],
           [[-1.0, -1.0, -1.0, -1.0], [0.899121388897, 0.52228511946, 0.619782682036, 0.2036979534],
            [-1.0, -1.0, -1.0, -1.0]]]],
         ['float64',
          [[[0.268577189915, 0.341975739013], [0.580373616812, 0.584651454133], [0.180120252229, 0.237724858845]],
           [[0.197936036898, 0.312105462794], [0.402317964428, 0.522472159513], [0.213120192507, 0.262147419907]],
           [[0.741050409872, 0.452971773757], [0.899121388897, 0.52228511946], [0.505565474201, 0.283187549311]],
           [[0.773336062499, 0.398660355225], [0.918252104706, 0.444332238395], [0.547349935019, 0.250871691076]]]],
         [2, 3, 1],
         ['float64',
          [[[0.650470260771, 0.911941853245], [0.349758787619, 0.505840120085], [0.599625596236, 0.759458401514]],
           [[0.343645727511, 0.420387763071], [0.123715494403, 0.150991851669], [0.0, 0.0]],
           [[0.0, 0.0], [0.0794578686813, 0.0881874394625], [0.0, 0.0]]]],
         [3, 2, 1], [1, 0, 2]],
    packing_round_trips: [['float32', [3.0, 1.0, 6.0, 4.0, 2.0, 5.0]], [3, 2, 1], [1, 0, 2], [1, 0, 2],
         ['float32', [[1.0, 2.0, 0.0, 0.0], [3.0, 4.0, 5.0, 0.0], [6.0, 0.0, 0.0, 0.0]]], [2, 3, 1],
         ['float32', [0.0, 1.0, 2.0, 3.0, 4.0, 6.0, 9.0]], True, [[1.0, 2.0], [3.0, 4.0, 5.0], [6.0]],
         'raises RuntimeError', 'raises RuntimeError'],
}

test_symnet_gives_pytorchs_values, test_the_stored_values_are_pytorchs = scenario_tests(PYTORCH, rtol=1e-9)


def test_packed_gradients_match_finite_differences():
    """A bidirectional GRU over a packed batch: the input's gradient against central differences (float64)."""
    sn.manual_seed(3)
    gru = sn.nn.GRU(2, 2, bidirectional=True).double()
    x0 = np.random.default_rng(0).standard_normal((3, 3, 2))

    def loss(values, grad=False):
        x = sn.tensor(values, requires_grad=grad)
        out, h = gru(sn.nn.utils.rnn.pack_padded_sequence(x, [2, 3, 1], enforce_sorted=False))
        padded, _ = sn.nn.utils.rnn.pad_packed_sequence(out)
        total = (padded ** 2).sum() + h.sin().sum()
        if grad:
            total.backward()
            return x.grad.numpy()
        return total.item()

    analytic = loss(x0, grad=True)
    numeric = np.zeros_like(x0)
    for k in np.ndindex(x0.shape):
        step = np.zeros_like(x0)
        step[k] = 1e-6
        numeric[k] = (loss(x0 + step) - loss(x0 - step)) / 2e-6
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-8)
    assert (analytic[2:, 0] == 0).all() and (analytic[1:, 2] == 0).all()  # the padding gets no gradient

