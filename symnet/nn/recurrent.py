"""Recurrent layers as in ``torch.nn``: the cells ``RNNCell``, ``LSTMCell``, ``GRUCell`` and the sequence layers
``RNN``, ``LSTM``, ``GRU`` (stacked, bidirectional, dropout between layers, LSTM projections), with PyTorch's
gate order, parameter names, shapes, initialization and checks.

One step of each cell is one function of ``gi = W_ih x + b_ih`` (the input's part, computed for the whole
sequence at once by one matmul) and the previous state; the cell modules and the sequence layers share it. The
time loop is a Python loop, so a compiled step holds the unrolled sequence and autodiff derives backpropagation
through time. A missing initial state is a zero vector that broadcasts against the batch.
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Callable, Sequence

import numpy as np

from ..errors import DTypeError, ShapeError
from ..frontend.creation import tensor, zeros
from ..frontend.device import check_device
from ..frontend.shaping import cat, stack
from ..frontend.tensor import Tensor
from . import init
from .dropout import dropout
from .layers import linear
from .module import Module, Parameter
from .utils.rnn import PackedSequence, packed_like, pad_packed_sequence

#: a cell's state: (h,) for RNN and GRU, (h, c) for LSTM
State = tuple[Tensor, ...]
#: the parameters of one cell: W_ih, W_hh, b_ih, b_hh (None without bias), W_hr (None without projection)
Weights = tuple[Tensor, Tensor, Tensor | None, Tensor | None, Tensor | None]


# ------------------------------------------------------------------------------ one step of each cell
def rnn_step(gi: Tensor, state: State, weights: Weights, nonlinearity: str = "tanh") -> tuple[Tensor]:
    """h' = act(W_ih x + b_ih + W_hh h + b_hh), act tanh or relu."""
    z = gi + linear(state[0], weights[1], weights[3])
    return (z.tanh() if nonlinearity == "tanh" else z.relu(),)


def lstm_step(gi: Tensor, state: State, weights: Weights) -> tuple[Tensor, Tensor]:
    """PyTorch's gates i, f, g, o: (i, f, g, o) = (σ, σ, tanh, σ)(W_ih x + b_ih + W_hh h + b_hh),
    c' = f⊙c + i⊙g, h' = o⊙tanh(c'), then h' = W_hr h' with a projection."""
    h, c = state
    i, f, g, o = (gi + linear(h, weights[1], weights[3])).chunk(4, -1)
    c = f.sigmoid() * c + i.sigmoid() * g.tanh()
    h = o.sigmoid() * c.tanh()
    return (h if weights[4] is None else linear(h, weights[4]), c)


def gru_step(gi: Tensor, state: State, weights: Weights) -> tuple[Tensor]:
    """PyTorch's gates r, z, n: r = σ(W_ir x + b_ir + W_hr h + b_hr), z likewise, n = tanh(W_in x + b_in +
    r⊙(W_hn h + b_hn)), h' = (1 − z)⊙n + z⊙h, computed as n + z⊙(h − n) as PyTorch does."""
    h = state[0]
    i_r, i_z, i_n = gi.chunk(3, -1)
    h_r, h_z, h_n = linear(h, weights[1], weights[3]).chunk(3, -1)
    r, z = (i_r + h_r).sigmoid(), (i_z + h_z).sigmoid()
    n = (i_n + r * h_n).tanh()
    return (n + z * (h - n),)


def _zero_state(sizes: Sequence[int], like: Tensor) -> State:
    """The zero state as vectors: they broadcast against the batch (so a compiled step, whose batch size is
    symbolic, holds no batch-sized constant) and keep W_hh in the graph, so its gradient is PyTorch's zeros
    rather than none."""
    return tuple(zeros(size, dtype=like.dtype) for size in sizes)


Step = Callable[[Tensor, State, Weights], tuple[Tensor, ...]]


def _check_size(value: Tensor, size: int, what: str, expected: str) -> None:
    if value.shape[-1] != size:
        raise ShapeError(f"{what} has inconsistent {expected}: got {value.shape[-1]}, expected {size} "
                         f"(shape {list(value.shape)})")


def _init_uniform(module: Module, hidden_size: int) -> None:
    """Every parameter from U(−1/√hidden, 1/√hidden), PyTorch's default for recurrent layers."""
    bound = 1.0 / math.sqrt(hidden_size) if hidden_size > 0 else 0
    for p in module.parameters():
        init.uniform_(p, -bound, bound)


# ------------------------------------------------------------------------------ cells
class RNNCellBase(Module):
    """The parameters of one cell of ``gates·hidden_size`` rows: ``weight_ih``, ``weight_hh``, ``bias_ih``,
    ``bias_hh``, as PyTorch names and lays them out."""

    _gates = 1
    _name = "RNNCell"
    _states = 1

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None, dtype=None):
        super().__init__()
        check_device(device)
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        rows = self._gates * hidden_size
        self.weight_ih = Parameter(zeros(rows, input_size, dtype=dtype))
        self.weight_hh = Parameter(zeros(rows, hidden_size, dtype=dtype))
        if bias:
            self.bias_ih = Parameter(zeros(rows, dtype=dtype))
            self.bias_hh = Parameter(zeros(rows, dtype=dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _init_uniform(self, self.hidden_size)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s

    def _run(self, step: Step, input: Tensor, hx: Sequence[Tensor] | None) -> tuple[Tensor, ...]:
        """One step on (N, input_size) or (input_size,) input; states of (N, hidden) or (hidden,)."""
        name = self._name
        if not isinstance(input, Tensor):
            raise TypeError(f"{name}: expected a Tensor input, got {type(input).__name__}")
        if input.dim() not in (1, 2):
            raise ShapeError(f"{name}: Expected input to be 1D or 2D, got {input.dim()}D instead")
        batched = input.dim() == 2
        _check_size(input, self.input_size, "input", "input_size")
        if hx is not None:
            for k, value in enumerate(hx):
                if value.dim() != input.dim() or (batched and value.shape[0] != input.shape[0]):
                    raise ShapeError(f"{name}: input of shape {list(input.shape)} and hidden{k} of shape "
                                     f"{list(value.shape)} differ in batch size (or batchedness)")
                _check_size(value, self.hidden_size, f"hidden{k}", "hidden_size")
        weights = (self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh, None)
        state = _zero_state((self.hidden_size,) * self._states, input) if hx is None else tuple(hx)
        return step(linear(input, self.weight_ih, self.bias_ih), state, weights)


class RNNCell(RNNCellBase):
    """h' = tanh(W_ih x + b_ih + W_hh h + b_hh) (or relu): one step of an Elman RNN."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh",
                 device=None, dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity: {nonlinearity}")
        super().__init__(input_size, hidden_size, bias, device, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        return self._run(lambda gi, s, w: rnn_step(gi, s, w, self.nonlinearity), input,
                         None if hx is None else (hx,))[0]


class LSTMCell(RNNCellBase):
    """One LSTM step (gates i, f, g, o as PyTorch): returns (h', c')."""

    _gates, _name, _states = 4, "LSTMCell", 2

    def forward(self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None) -> tuple[Tensor, Tensor]:
        h, c = self._run(lstm_step, input, hx)
        return h, c


class GRUCell(RNNCellBase):
    """One GRU step (gates r, z, n as PyTorch): returns h'."""

    _gates, _name = 3, "GRUCell"

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        return self._run(gru_step, input, None if hx is None else (hx,))[0]


# ------------------------------------------------------------------------------ sequence layers
def _check_int(value, what: str) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{what} should be of type int, got: {type(value).__name__}")
    if value <= 0:
        raise ValueError(f"{what} must be greater than zero")


class RNNBase(Module):
    """A stack of ``num_layers`` recurrent layers, each one or two directions, over (L, N, H_in) input
    ((N, L, H_in) when ``batch_first``, (L, H_in) unbatched). Parameters per layer k and direction:
    ``weight_ih_l{k}``, ``weight_hh_l{k}``, ``bias_ih_l{k}``, ``bias_hh_l{k}`` (``weight_hr_l{k}`` with an LSTM
    projection), ``_reverse`` for the backward direction, in PyTorch's order."""

    _gates = 1
    _name = "RNN"
    _states = 1

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 proj_size: int = 0, device=None, dtype=None):
        super().__init__()
        check_device(device)
        if not isinstance(dropout, numbers.Number) or isinstance(dropout, bool) or not 0 <= dropout <= 1:
            raise ValueError("dropout should be a number in range [0, 1] representing the probability of an "
                             "element being zeroed")
        if dropout > 0 and num_layers == 1:
            warnings.warn("dropout option adds dropout after all but last recurrent layer, so non-zero dropout "
                          f"expects num_layers greater than 1, but got dropout={dropout} and "
                          f"num_layers={num_layers}", UserWarning, stacklevel=3)
        for flag, what in ((bias, "bias"), (batch_first, "batch_first")):
            if not isinstance(flag, bool):
                raise TypeError(f"{what} should be of type bool, got: {type(flag).__name__}")
        _check_int(input_size, "input_size")
        _check_int(hidden_size, "hidden_size")
        _check_int(num_layers, "num_layers")
        if proj_size < 0:
            raise ValueError("proj_size should be a positive integer or zero to disable projections")
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout = bias, batch_first, float(dropout)
        self.bidirectional, self.proj_size = bidirectional, proj_size
        out = proj_size or hidden_size
        rows = self._gates * hidden_size
        self._all_weights: list[list[str]] = []
        for layer in range(num_layers):
            for suffix in ("", "_reverse")[:self._directions]:
                names = [f"weight_ih_l{layer}{suffix}", f"weight_hh_l{layer}{suffix}"]
                shapes = [(rows, input_size if layer == 0 else out * self._directions), (rows, out)]
                if bias:
                    names += [f"bias_ih_l{layer}{suffix}", f"bias_hh_l{layer}{suffix}"]
                    shapes += [(rows,), (rows,)]
                if proj_size:
                    names.append(f"weight_hr_l{layer}{suffix}")
                    shapes.append((proj_size, hidden_size))
                for name, shape in zip(names, shapes, strict=True):
                    setattr(self, name, Parameter(zeros(*shape, dtype=dtype)))
                self._all_weights.append(names)
        self.reset_parameters()

    @property
    def _directions(self) -> int:
        return 2 if self.bidirectional else 1

    def reset_parameters(self) -> None:
        _init_uniform(self, self.hidden_size)

    def flatten_parameters(self) -> None:
        """A no-op, as PyTorch's on the CPU (it packs cuDNN's weights)."""

    @property
    def all_weights(self) -> list[list[Parameter]]:
        return [[getattr(self, name) for name in names] for names in self._all_weights]

    def _weights(self, layer: int, direction: int) -> Weights:
        suffix = "_reverse" if direction else ""
        get = self._parameters.get
        return (get(f"weight_ih_l{layer}{suffix}"), get(f"weight_hh_l{layer}{suffix}"),
                get(f"bias_ih_l{layer}{suffix}"), get(f"bias_hh_l{layer}{suffix}"),
                get(f"weight_hr_l{layer}{suffix}"))

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size != 0:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s

    def _step(self, gi: Tensor, state: State, weights: Weights) -> tuple[Tensor, ...]:
        raise NotImplementedError

    def _state_sizes(self) -> tuple[int, ...]:
        """The last dim of each state tensor: h (the projection's size with one), then c."""
        return (self.proj_size or self.hidden_size, self.hidden_size)[:self._states]

    def _check_input(self, input: Tensor) -> None:
        if not isinstance(input, Tensor):
            raise TypeError(f"{self._name}: input of type {type(input).__name__}; expected a Tensor or a "
                            "PackedSequence")
        if input.dim() not in (2, 3):
            raise ShapeError(f"{self._name}: Expected input to be 2D or 3D, got {input.dim()}D tensor instead")
        if input.dtype != self.weight_ih_l0.dtype:
            raise DTypeError(f"RNN input dtype ({input.dtype}) does not match weight dtype "
                             f"({self.weight_ih_l0.dtype}). Convert input: input.to({self.weight_ih_l0.dtype}), "
                             f"or convert model: model.to({input.dtype})")
        if input.shape[-1] != self.input_size:
            raise ShapeError(f"input.size(-1) must be equal to input_size. Expected {self.input_size}, "
                             f"got {input.shape[-1]}")

    def _initial_states(self, hx: Sequence[Tensor] | None, batched: bool, batch: int) -> list[State]:
        """The initial state of each (layer, direction), from ``hx``'s tensors of (layers·directions, N, size)
        (N left out when unbatched), or zeros."""
        count = self.num_layers * self._directions
        if hx is None:
            return [_zero_state(self._state_sizes(), self.weight_ih_l0)] * count
        rank = 3 if batched else 2
        if any(h.dim() != rank for h in hx):
            kind = "batched 3-D" if batched else "unbatched 2-D"
            raise ShapeError(f"For {kind} input, hx should also be {rank}-D but got "
                             f"{', '.join(f'{h.dim()}-D' for h in hx)} tensor(s)")
        per_state = []
        for k, (h, size) in enumerate(zip(hx, self._state_sizes(), strict=True)):
            expected = (count, batch, size) if batched else (count, size)
            if tuple(h.shape) != expected:
                raise ShapeError(f"Expected hidden[{k}] size {expected}, got {list(h.shape)}")
            per_state.append(h.unbind(0))
        return list(zip(*per_state, strict=True))

    def _run(self, input: Tensor | PackedSequence, hx: Sequence[Tensor] | None
             ) -> tuple[Tensor | PackedSequence, tuple[Tensor, ...]]:
        """The output sequence (of the last layer, both directions concatenated) and each state's final
        values, stacked (layers·directions first). Unbatched input runs as is: every step's tensors are then
        vectors, the shapes PyTorch returns. A PackedSequence runs as its padded batch, each sequence's state
        held after its last step (the reverse direction starts from each one's last step), and its output is
        packed alike; the states are in the batch's own order, as PyTorch's."""
        packed = input if isinstance(input, PackedSequence) else None
        if packed is not None:
            input, lengths = pad_packed_sequence(packed)
        self._check_input(input)
        if hx is not None and (not isinstance(hx, Sequence) or len(hx) != self._states
                               or not all(isinstance(h, Tensor) for h in hx)):
            raise TypeError(f"{self._name}: hx must be "
                            f"{'a tuple (h_0, c_0)' if self._states == 2 else 'a Tensor'}, got {type(hx).__name__}")
        batched, batch_first = input.dim() == 3, self.batch_first and packed is None
        if input.shape[1 if batched and batch_first else 0] == 0:
            raise ShapeError(f"Expected sequence length to be larger than 0 in RNN (input of shape "
                             f"{list(input.shape)})")
        batch = input.shape[0 if batch_first else 1] if batched else 1
        states = self._initial_states(hx, batched, batch)
        # a packed batch's valid steps: (B, 1) per step, broadcast over the state's features
        valid = None if packed is None else tensor(np.arange(input.shape[0])[:, None, None] <
                                                   lengths.numpy()[None, :, None]).unbind(0)
        # the layers run batch first: a compiled step's symbolic batch is then the leading dim of every matmul
        # (the usual (N, L, H_in) data made sequence-first by a transpose comes back to its own layout)
        swap = batched and not batch_first
        layer_input = input.transpose(0, 1) if swap else input
        time = 1 if batched else 0
        finals: list[tuple[Tensor, ...]] = []
        for layer in range(self.num_layers):
            if layer:
                layer_input = dropout(layer_input, self.dropout, self.training)
            outputs = []
            for direction in range(self._directions):
                weights = self._weights(layer, direction)
                steps = linear(layer_input, weights[0], weights[2]).unbind(time)
                state = states[layer * self._directions + direction]
                hs = []
                for t in range(len(steps) - 1, -1, -1) if direction else range(len(steps)):
                    new = self._step(steps[t], state, weights)
                    state = new if valid is None else tuple(n.where(valid[t], s) for n, s in zip(new, state,
                                                                                                   strict=True))
                    hs.append(state[0])
                finals.append(state)
                outputs.append(stack(hs[::-1] if direction else hs, time))
            layer_input = outputs[0] if len(outputs) == 1 else cat(outputs, -1)
        output = layer_input.transpose(0, 1) if swap else layer_input
        if packed is not None:
            output = packed_like(output, packed)
        return output, tuple(stack(list(s), 0) for s in zip(*finals, strict=True))


class RNN(RNNBase):
    """Elman RNN: h_t = tanh(W_ih x_t + b_ih + W_hh h_(t−1) + b_hh) (or relu) per layer; returns
    (output, h_n)."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, nonlinearity: str = "tanh",
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 device=None, dtype=None, **kwargs):
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        if kwargs:
            raise TypeError(f"RNN got unexpected keyword arguments {sorted(kwargs)}")
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'.")
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         device=device, dtype=dtype)
        self.nonlinearity = nonlinearity

    def _step(self, gi: Tensor, state: State, weights: Weights) -> tuple[Tensor, ...]:
        return rnn_step(gi, state, weights, self.nonlinearity)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> tuple[Tensor, Tensor]:
        output, (h,) = self._run(input, None if hx is None else (hx,))
        return output, h


class LSTM(RNNBase):
    """Long short-term memory (gates i, f, g, o as PyTorch; ``proj_size`` projects h); returns
    (output, (h_n, c_n))."""

    _gates, _name, _states = 4, "LSTM", 2

    def _step(self, gi: Tensor, state: State, weights: Weights) -> tuple[Tensor, ...]:
        return lstm_step(gi, state, weights)

    def forward(self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None
                ) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        output, (h, c) = self._run(input, hx)
        return output, (h, c)


class GRU(RNNBase):
    """Gated recurrent unit (gates r, z, n as PyTorch); returns (output, h_n)."""

    _gates, _name = 3, "GRU"

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, device=None,
                 dtype=None, **kwargs):
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        if kwargs:
            raise TypeError(f"GRU got unexpected keyword arguments {sorted(kwargs)}")
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         device=device, dtype=dtype)

    def _step(self, gi: Tensor, state: State, weights: Weights) -> tuple[Tensor, ...]:
        return gru_step(gi, state, weights)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> tuple[Tensor, Tensor]:
        output, (h,) = self._run(input, None if hx is None else (hx,))
        return output, h

