"""Containers: PyTorch's state_dict keys (checked against torch 2.13 and hard-coded here), list and dict
behaviour, renumbering, reprs, and parameters reaching an optimizer and a compiled step."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest

import symnet as sn
from symnet.nn import Linear, ReLU, Sigmoid, Tanh
from symnet.nn.container import ModuleDict, ModuleList, ParameterDict, ParameterList, Sequential
from symnet.nn.layers import Bilinear


def test_nested_state_dict_keys_are_pytorchs():
    model = Sequential(Linear(2, 3), ModuleList([Linear(3, 3), ReLU(), Linear(3, 1)]),
                       ModuleDict({"a": Linear(1, 2), "b": Bilinear(2, 2, 1)}))
    assert list(model.state_dict()) == ["0.weight", "0.bias", "1.0.weight", "1.0.bias", "1.2.weight", "1.2.bias",
                                        "2.a.weight", "2.a.bias", "2.b.weight", "2.b.bias"]


def test_a_module_held_twice_is_in_the_state_under_both_names_as_pytorchs():
    """PyTorch's state_dict recurses without removing duplicates (named_parameters removes them): a layer reused
    in a Sequential is saved, and loaded, under each of its names."""
    shared = Linear(2, 2)
    model = Sequential(shared, ReLU(), shared)
    assert list(model.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert [name for name, _ in model.named_parameters()] == ["0.weight", "0.bias"]
    state = {k: np.full(v.shape, 3.0, np.float32) for k, v in model.state_dict().items()}
    assert model.load_state_dict(state) == ([], [])
    assert (shared.weight.numpy() == 3.0).all()
    with pytest.raises(KeyError, match="missing keys.*2.weight"):
        model.load_state_dict({"0.weight": state["0.weight"], "0.bias": state["0.bias"]})


def test_parameter_containers_keys_and_wrapping():
    owner = sn.nn.Module()
    owner.pl = ParameterList([sn.nn.Parameter(sn.zeros(2)), sn.ones(3)])
    owner.pd = ParameterDict({"x": sn.zeros(1, 2)})
    assert list(owner.state_dict()) == ["pl.0", "pl.1", "pd.x"]
    assert all(isinstance(p, sn.nn.Parameter) and p.requires_grad for p in owner.parameters())
    assert repr(owner.pl) == ("ParameterList(\n    (0): Parameter containing: [symnet.float32 of size 2]\n"
                              "    (1): Parameter containing: [symnet.float32 of size 3]\n)")
    assert repr(ParameterList()) == "ParameterList()"
    with pytest.raises(TypeError):
        ParameterList([3.0])


def test_sequential_slicing_insert_delete_renumber():
    seq = Sequential(Linear(1, 1), ReLU(), Tanh())
    del seq[0]
    assert list(seq._modules) == ["0", "1"] and isinstance(seq[0], ReLU)
    seq.insert(0, Sigmoid())
    assert [type(m) for m in seq] == [Sigmoid, ReLU, Tanh]
    assert repr(seq) == "Sequential(\n  (0): Sigmoid()\n  (1): ReLU()\n  (2): Tanh()\n)"
    seq.append(Linear(2, 2))
    assert len(seq) == 4 and list(seq.state_dict()) == ["3.weight", "3.bias"]
    head = seq[1:3]
    assert isinstance(head, Sequential) and list(head._modules) == ["1", "2"]  # slices keep names, as in torch
    assert isinstance(seq[-1], Linear)
    with pytest.raises(IndexError):
        seq[4]
    with pytest.raises(IndexError):
        seq.insert(6, ReLU())
    with pytest.raises(TypeError):
        seq.append(3)


def test_sequential_ordered_dict_names_and_forward():
    sn.manual_seed(0)
    seq = Sequential(OrderedDict([("fc", Linear(2, 3)), ("act", ReLU()), ("out", Linear(3, 1))]))
    assert list(seq.state_dict()) == ["fc.weight", "fc.bias", "out.weight", "out.bias"]
    x = sn.randn(4, 2)
    expected = seq.out(seq.act(seq.fc(x)))
    np.testing.assert_allclose(seq(x).numpy(), expected.numpy())


def test_module_list_list_behaviour():
    layers = ModuleList([Linear(2, 2)])
    layers += [ReLU(), Linear(2, 1)]
    layers.extend([Tanh()])
    layers.insert(1, Sigmoid())
    assert [type(m) for m in layers] == [Linear, Sigmoid, ReLU, Linear, Tanh]
    assert list(layers.state_dict()) == ["0.weight", "0.bias", "3.weight", "3.bias"]
    assert isinstance(layers[1:], ModuleList) and len(layers[1:]) == 4
    layers[1] = Tanh()
    assert isinstance(layers[1], Tanh)
    popped = layers.pop(0)
    assert isinstance(popped, Linear) and list(layers.state_dict()) == ["2.weight", "2.bias"]
    assert len(layers + ModuleList([ReLU()])) == 5
    assert repr(ModuleList()) == "ModuleList()"
    assert repr(ModuleList([ReLU()])) == "ModuleList(\n  (0): ReLU()\n)"


def test_module_dict_and_parameter_dict_behave_like_dicts():
    heads = ModuleDict({"a": Linear(1, 1)})
    heads.update([("b", ReLU())])
    heads["c"] = Linear(1, 2)
    assert list(heads) == ["a", "b", "c"] and "b" in heads and len(heads) == 3
    assert isinstance(heads.pop("b"), ReLU) and list(heads.keys()) == ["a", "c"]
    assert list(heads.state_dict()) == ["a.weight", "a.bias", "c.weight", "c.bias"]
    with pytest.raises(KeyError):
        heads["keys"] = ReLU()  # would hide the method
    with pytest.raises(KeyError):
        heads["x.y"] = ReLU()
    params = ParameterDict({"w": sn.ones(2)})
    del params["w"]
    assert len(params) == 0 and not hasattr(params, "w")
    heads.clear()
    assert len(heads) == 0 and list(heads.parameters()) == []


def test_container_parameters_train_in_a_compiled_step():
    """A ModuleList of layers and a ParameterList scale: every parameter gets its update."""
    sn.manual_seed(1)

    class Net(sn.nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = ModuleList([Linear(2, 4), Linear(4, 1)])
            self.scale = ParameterList([sn.nn.Parameter(sn.ones(1))])

        def forward(self, x):
            return self.layers[1](self.layers[0](x).tanh()) * self.scale[0]

    net = Net()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    step = sn.compile(net, sn.nn.MSELoss(), sn.optim.SGD(net.parameters(), lr=0.1))
    step.step(np.ones((3, 2), np.float32), np.zeros((3, 1), np.float32))
    after = net.state_dict()
    assert list(after) == ["layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias", "scale.0"]
    assert all(not np.array_equal(before[k], after[k]) for k in after)
    assert net.scale[0].name == "scale_0"  # the name formulas print for an unnamed list entry


def test_module_list_repr_folds_runs_of_alike_children_as_pytorch():
    layers = sn.nn.ModuleList([sn.nn.Linear(2, 2), sn.nn.Linear(2, 2), sn.nn.ReLU(), sn.nn.Linear(2, 2)])
    assert repr(layers) == ("ModuleList(\n"
                            "  (0-1): 2 x Linear(in_features=2, out_features=2, bias=True)\n"
                            "  (2): ReLU()\n"
                            "  (3): Linear(in_features=2, out_features=2, bias=True)\n"
                            ")")
    assert repr(sn.nn.ModuleList()) == "ModuleList()"
    nested = repr(sn.nn.ModuleList([sn.nn.Sequential(sn.nn.Tanh())] * 3))
    assert nested == "ModuleList(\n  (0-2): 3 x Sequential(\n    (0): Tanh()\n  )\n)"
