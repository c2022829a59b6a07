"""Parametrizations (``nn.utils.parametrize``, ``parametrizations.weight_norm``) and the older ``weight_norm``:
names, values, gradients, assignments and removal against the values PyTorch 2.13 gave; a compiled step trains a
parametrized model as eager code does."""

import copy
import pickle
import warnings

import numpy as np
import pytest

import symnet as sn
from tests.scenarios import scenario_tests

X = [[1.0, 2.0, 3.0], [-1.0, 0.5, 2.0]]


def _linear(lib, n_in: int = 3, n_out: int = 3):
    m = lib.nn.Linear(n_in, n_out)
    with lib.no_grad():
        m.weight.copy_(lib.tensor(np.sin(np.arange(n_in * n_out) * 1.3 + 0.2).astype(np.float32).reshape(n_out, n_in)))
        m.bias.zero_()
    return m


def _symmetric(lib):
    class Symmetric(lib.nn.Module):
        def forward(self, X):
            return X.triu() + X.triu(1).transpose(0, 1)

        def right_inverse(self, A):
            return A.triu()

    return Symmetric()


def a_symmetric_weight_trains_assigns_and_is_removed(lib):
    P = lib.nn.utils.parametrize
    m = _linear(lib)
    optimizer = lib.optim.SGD(m.parameters(), lr=0.1)  # made before: the original keeps its identity
    P.register_parametrization(m, "weight", _symmetric(lib))
    seen = [type(m).__name__, sorted(n for n, _ in m.named_parameters()), list(m.state_dict()), m.weight.tolist(),
            P.is_parametrized(m), P.is_parametrized(m, "bias"), P.type_before_parametrizations(m).__name__]
    x = lib.tensor(X)
    for _ in range(3):
        optimizer.zero_grad()
        (m(x) ** 2).sum().backward()
        optimizer.step()
    seen += [m.weight.tolist(), m.parametrizations.weight.original.tolist()]
    m.weight = lib.tensor([[1.0, 2.0, 3.0], [2.0, 5.0, 6.0], [3.0, 6.0, 9.0]])
    seen += [m.weight.tolist(), m.parametrizations.weight.original.tolist()]
    P.remove_parametrizations(m, "weight")
    return seen + [type(m).__name__, sorted(n for n, _ in m.named_parameters()), m.weight.tolist(),
                   isinstance(m.weight, lib.nn.Parameter), hasattr(m, "parametrizations")]


def chained_parametrizations_and_several_originals(lib):
    """A second parametrization on the same weight, and one whose right_inverse gives two originals."""
    P = lib.nn.utils.parametrize

    class Double(lib.nn.Module):
        def forward(self, X):
            return X * 2

        def right_inverse(self, A):
            return A / 2

    class Halves(lib.nn.Module):
        def forward(self, a, b):
            return a + b

        def right_inverse(self, A):
            return A * 0.25, A * 0.75

    m, n = _linear(lib), _linear(lib)
    P.register_parametrization(m, "weight", _symmetric(lib))
    P.register_parametrization(m, "weight", Double())
    P.register_parametrization(n, "weight", Halves())
    x = lib.tensor(X)
    ((m(x) + n(x)) ** 2).sum().backward()
    seen = [m.weight.tolist(), m.parametrizations.weight.original.grad.tolist(),
            sorted(k for k, _ in n.named_parameters()), n.parametrizations.weight.original0.grad.tolist()]
    P.remove_parametrizations(m, "weight", leave_parametrized=False)
    P.remove_parametrizations(n, "weight")
    return seen + [m.weight.tolist(), n.weight.tolist(), sorted(k for k, _ in n.named_parameters())]


def a_right_inverse_that_reshapes_the_original(lib):
    """The original may take another shape (the parametrized tensor keeps the weight's): checked against the
    weight's shape, not the original's."""
    class Flat(lib.nn.Module):
        def forward(self, x):
            return x.reshape(2, 3)

        def right_inverse(self, w):
            return w.reshape(6)

    m = _linear(lib, 3, 2)
    lib.nn.utils.parametrize.register_parametrization(m, "weight", Flat())
    (m(lib.tensor(X)) ** 2).sum().backward()
    original = m.parametrizations.weight.original
    return list(original.shape), m.weight.tolist(), original.grad.tolist()


def weight_norm_by_dimension(lib):
    seen = []
    for dim in (0, 1, None):
        m = _linear(lib, 3, 2)
        lib.nn.utils.parametrizations.weight_norm(m, dim=dim)
        (m(lib.tensor(X)) ** 2).sum().backward()
        weights = m.parametrizations.weight
        seen += [sorted((k, list(p.shape)) for k, p in m.named_parameters()), m.weight.tolist(),
                 weights.original0.tolist(), weights.original0.grad.tolist(), weights.original1.grad.tolist()]
    return seen


def the_older_weight_norm(lib):
    m = _linear(lib, 3, 2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        lib.nn.utils.weight_norm(m)
    seen = [[type(w.message).__name__ for w in caught], sorted((k, list(p.shape)) for k, p in m.named_parameters())]
    (m(lib.tensor(X)) ** 2).sum().backward()
    seen += [m.weight_g.grad.tolist(), m.weight_v.grad.tolist()]
    lib.nn.utils.remove_weight_norm(m)
    return seen + [sorted(k for k, _ in m.named_parameters()), m.weight.tolist()]


def spectral_norm_iterates_while_training(lib):
    """The power iteration's vectors (set alike in both libraries: their random starts differ) advance with each
    training forward, and stay in eval mode; a 1-d tensor is normalized."""
    m = _linear(lib, 4, 3)
    lib.nn.utils.parametrizations.spectral_norm(m)
    with lib.no_grad():
        m.parametrizations.weight[0]._u.copy_(lib.tensor([0.6, -0.8, 0.0]))
        m.parametrizations.weight[0]._v.copy_(lib.tensor([0.5, 0.5, -0.5, 0.5]))
    seen = [sorted(m.state_dict())]
    optimizer = lib.optim.SGD(m.parameters(), lr=0.03)
    x = lib.tensor([[1.0, 2.0, 3.0, -1.0]])
    for _ in range(3):
        optimizer.zero_grad()
        loss = (m(x) ** 2).sum()
        loss.backward()
        optimizer.step()
        seen.append(loss.item())
    norm = m.parametrizations.weight[0]
    seen += [norm._u.tolist(), norm._v.tolist(), m.parametrizations.weight.original.grad.tolist()]
    m.eval()
    seen += [m.weight.tolist(), norm._u.tolist()]
    bias = lib.nn.Linear(3, 3)
    lib.nn.utils.parametrizations.spectral_norm(bias, "bias")
    return seen + [round(bias.bias.detach().norm().item(), 6)]


def refusals(lib):
    P = lib.nn.utils.parametrize

    class Row(lib.nn.Module):
        def forward(self, X):
            return X[0]

    messages = []
    for attempt in (lambda: P.register_parametrization(_linear(lib), "weight", Row()),
                    lambda: P.register_parametrization(_linear(lib), "nothing", Row()),
                    lambda: P.remove_parametrizations(_linear(lib), "weight")):
        try:
            attempt()
            messages.append("no error")
        except ValueError as exc:
            messages.append(str(exc).split(",")[0].split("\n")[0][:40])
    return messages


#: scenario: what PyTorch 2.13 gives
PYTORCH = {
    a_symmetric_weight_trains_assigns_and_is_removed:
        ['ParametrizedLinear', ['bias', 'parametrizations.weight.original'],
         ['bias', 'parametrizations.weight.original'],
         [[0.19866932928562164, 0.9974949955940247, 0.33498814702033997],
          [0.9974949955940247, -0.7727645039558411, 0.40484991669654846],
          [0.33498814702033997, 0.40484991669654846, -0.9227754473686218]],
         True, False, 'Linear',
         [[-1.8776180744171143, -8.604057312011719, -16.42273712158203],
          [-8.604057312011719, 1.8879278898239136, 10.293379783630371],
          [-16.42273712158203, 10.293379783630371, 7.842423439025879]],
         [[-1.8776180744171143, -8.604057312011719, -16.42273712158203], [0.0, 1.8879278898239136, 10.293379783630371],
          [0.0, 0.0, 7.842423439025879]],
         [[1.0, 2.0, 3.0], [2.0, 5.0, 6.0], [3.0, 6.0, 9.0]], [[1.0, 2.0, 3.0], [0.0, 5.0, 6.0], [0.0, 0.0, 9.0]],
         'Linear', ['bias', 'weight'], [[1.0, 2.0, 3.0], [2.0, 5.0, 6.0], [3.0, 6.0, 9.0]], True, False],
    chained_parametrizations_and_several_originals:
        [[[0.3973386585712433, 1.9949899911880493, 0.6699762940406799],
          [1.9949899911880493, -1.5455290079116821, 0.8096998333930969],
          [0.6699762940406799, 0.8096998333930969, -1.8455508947372437]],
         [[26.742830276489258, 82.9494400024414, 146.23806762695312], [0.0, 1.6566801071166992, -48.72528839111328],
          [0.0, 0.0, -111.15930938720703]],
         ['bias', 'parametrizations.weight.original0', 'parametrizations.weight.original1'],
         [[13.371415138244629, 41.29364776611328, 69.21588134765625],
          [0.18107056617736816, 0.8283400535583496, 1.475609540939331],
          [3.9031496047973633, -25.838253021240234, -55.579654693603516]],
         [[0.19866932928562164, 0.9974949955940247, 0.33498814702033997],
          [0.0, -0.7727645039558411, 0.40484991669654846], [0.0, 0.0, -0.9227754473686218]],
         [[0.19866932928562164, 0.9974949955940247, 0.33498814702033997],
          [-0.81827712059021, -0.7727645039558411, 0.40484991669654846],
          [0.9893582463264465, 0.12445442378520966, -0.9227754473686218]],
         ['bias', 'weight']],
    a_right_inverse_that_reshapes_the_original:
        ([6],
         [[0.19866932928562164, 0.9974949955940247, 0.33498814702033997],
          [-0.81827712059021, -0.7727645039558411, 0.40484991669654846]],
         [4.457138538360596, 13.764549255371094, 23.07196044921875, -4.781702041625977, -3.355431079864502,
          -1.9291601181030273]),
    weight_norm_by_dimension:
        [[('bias', [2]), ('parametrizations.weight.original0', [2, 1]), ('parametrizations.weight.original1', [2, 3])],
         [[0.19866932928562164, 0.9974949955940247, 0.33498814702033997],
          [-0.8182770013809204, -0.7727643847465515, 0.4048498570919037]],
         [[1.0708327293395996], [1.1960960626602173]], [[20.866376876831055], [4.786148548126221]],
         [[0.5858437418937683, -5.672760009765625, 16.544340133666992],
          [-1.5073862075805664, -0.2632325291633606, -3.5491554737091064]],
         [('bias', [2]), ('parametrizations.weight.original0', [1, 3]), ('parametrizations.weight.original1', [2, 3])],
         [[0.19866932928562164, 0.9974949955940247, 0.33498814702033997],
          [-0.81827712059021, -0.7727645039558411, 0.40484991669654846]],
         [[0.842049241065979, 1.2618086338043213, 0.5254716873168945]],
         [[5.698305606842041, 12.936214447021484, 13.222050666809082]],
         [[3.112705707550049, 3.53810977935791, 14.642905235290527],
          [0.7557331323623657, 4.567044258117676, -12.116095542907715]],
         [('bias', [2]), ('parametrizations.weight.original0', []), ('parametrizations.weight.original1', [2, 3])],
         [[0.19866932928562164, 0.9974949955940247, 0.33498814702033997],
          [-0.81827712059021, -0.7727645039558411, 0.40484991669654846]],
         1.6054060459136963, 17.48410987854004,
         [[2.2934763431549072, 2.901059150695801, 19.423681259155273],
          [4.129966735839844, 5.060570240020752, -6.338287830352783]]],
    the_older_weight_norm:
        [['FutureWarning'], [('bias', [2]), ('weight_g', [2, 1]), ('weight_v', [2, 3])],
         [[20.866376876831055], [4.786148548126221]],
         [[0.5858437418937683, -5.672760009765625, 16.544340133666992],
          [-1.5073862075805664, -0.2632325291633606, -3.5491554737091064]],
         ['bias', 'weight'],
         [[0.19866932928562164, 0.9974949955940247, 0.33498814702033997],
          [-0.8182770013809204, -0.7727643847465515, 0.4048498570919037]]],
    spectral_norm_iterates_while_training:
        [['bias', 'parametrizations.weight.0._u', 'parametrizations.weight.0._v', 'parametrizations.weight.original'],
         7.9526238441467285, 2.509016513824463, 1.2536122798919678,
         [0.263872891664505, -0.5580198168754578, -0.7867560386657715],
         [0.6348876357078552, 0.24229547381401062, -0.5200401544570923, -0.5174639225006104],
         [[0.5463722944259644, 1.4696369171142578, 2.5285282135009766, -0.5894447565078735],
          [1.085991382598877, 1.3749573230743408, 1.3771096467971802, -0.9949047565460205],
          [0.47123783826828003, -0.18125605583190918, -1.2381300926208496, -0.3428141474723816]],
         [[0.0390612930059433, 0.3266471028327942, -0.03355412557721138, -0.30965176224708557],
          [-0.45800164341926575, 0.07890290021896362, 0.37583470344543457, 0.1478499472141266],
          [-0.46822410821914673, -0.2527124285697937, 0.385723739862442, 0.4481920599937439]],
         [0.263872891664505, -0.5580198168754578, -0.7867560386657715], 1.0],
    refusals:
        ['Registering a parametrization may not ch', "Module 'Linear(in_features=3", 'Module Linear(in_features=3'],
}

test_symnet_gives_pytorchs_values, test_the_stored_values_are_pytorchs = scenario_tests(PYTORCH, rtol=1e-5)


def _model(parametrized: bool):
    sn.manual_seed(0)
    net = sn.nn.Sequential(sn.nn.Linear(3, 4), sn.nn.Tanh(), sn.nn.Linear(4, 1))
    if parametrized:
        sn.nn.utils.parametrizations.weight_norm(net[0])
        sn.nn.utils.parametrize.register_parametrization(net[2], "bias", _Double())
        sn.nn.utils.parametrizations.spectral_norm(net[2])  # its vectors, buffers, advance in every step
    return net


class _Double(sn.nn.Module):
    def forward(self, x):
        return x * 2

    def right_inverse(self, y):
        return y / 2


def test_a_compiled_step_trains_a_parametrized_model_as_eager_code_does():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((8, 3)).astype(np.float32)
    y = x.sum(1, keepdims=True)
    eager = _model(True)
    optimizer = sn.optim.Adam(eager.parameters(), lr=0.01)
    losses = []
    for _ in range(5):
        optimizer.zero_grad()
        loss = sn.nn.functional.mse_loss(eager(sn.tensor(x)), sn.tensor(y))
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    compiled = _model(True)
    step = sn.compile(compiled, sn.nn.MSELoss(), sn.optim.Adam(compiled.parameters(), lr=0.01))
    np.testing.assert_allclose([step.step(x, y) for _ in range(5)], losses, rtol=1e-5)
    np.testing.assert_allclose(compiled[0].weight.detach().numpy(), eager[0].weight.detach().numpy(), rtol=1e-4)
    np.testing.assert_allclose(compiled[2].parametrizations.weight[0]._u.numpy(),
                               eager[2].parametrizations.weight[0]._u.numpy(), rtol=1e-5)
    fitted = _model(True)
    step = sn.compile(fitted, sn.nn.MSELoss(), sn.optim.Adam(fitted.parameters(), lr=0.01))
    np.testing.assert_allclose(list(step.fit((x, y), epochs=5, progress=False)), losses, rtol=1e-5)


def test_copies_state_dicts_and_the_cache():
    net = _model(True)
    copied = copy.deepcopy(net)
    assert type(copied[0]).__name__ == "ParametrizedLinear"
    assert copied[0].parametrizations.weight.original0 is not net[0].parametrizations.weight.original0
    np.testing.assert_array_equal(copied[0].weight.detach().numpy(), net[0].weight.detach().numpy())
    loaded = _model(True)
    with sn.no_grad():
        net[0].parametrizations.weight.original1.mul_(2)
    loaded.load_state_dict(net.state_dict())
    np.testing.assert_array_equal(loaded[0].weight.detach().numpy(), net[0].weight.detach().numpy())
    with pytest.raises(RuntimeError, match="only supported through state_dict"):
        pickle.dumps(net)
    with sn.nn.utils.parametrize.cached():
        assert net[0].weight is net[0].weight  # computed once in the block
    assert net[0].weight is not net[0].weight


def test_the_parametrization_symnet_lacks_is_a_clear_error():
    with pytest.raises(sn.NotSupportedError, match="orthogonal"):
        sn.nn.utils.parametrizations.orthogonal(sn.nn.Linear(2, 2))


class _Skew(sn.nn.Module):
    def forward(self, X):
        A = X.triu(1)
        return A - A.transpose(-1, -2)


class _Exp(sn.nn.Module):
    def forward(self, X):
        return sn.matrix_exp(X)


def test_pytorchs_tutorial_orthogonal_weight_by_matrix_exp_eagerly_and_refused_compiled():
    """PyTorch's parametrizations tutorial: a skew-symmetric weight through matrix_exp is orthogonal."""
    layer = sn.nn.Linear(3, 3)
    sn.nn.utils.parametrize.register_parametrization(layer, "weight", _Skew())
    sn.nn.utils.parametrize.register_parametrization(layer, "weight", _Exp())
    w = layer.weight.detach().numpy()
    np.testing.assert_allclose(w.T @ w, np.eye(3), atol=1e-6)
    step = sn.compile(layer, sn.nn.MSELoss(), sn.optim.SGD(layer.parameters(), lr=0.1))
    with pytest.raises(sn.NotSupportedError, match="matrix_exp's number of squarings"):
        step.step(np.ones((2, 3), np.float32), np.zeros((2, 3), np.float32))
