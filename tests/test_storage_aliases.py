"""``.data`` and ``detach()`` aliases share their tensor's storage, as PyTorch's: an in-place update, an optimizer's
step (eager or compiled) or a fit of the tensor is seen by the alias, a write into the alias by the tensor, and
``.data = …`` or a dtype change gives the tensor another storage. Each scenario runs on symnet and PyTorch 2.13;
the values PyTorch gave are stored beside it (and checked against PyTorch itself where it is installed)."""

import threading

import numpy as np
import pytest

import symnet as sn
from tests.scenarios import scenario_tests


def in_place_update_of_the_tensor(lib):
    p = lib.tensor([1.0, 2.0], requires_grad=True)
    d, a = p.detach(), p.data
    with lib.no_grad():
        p.add_(1)
    return d.tolist(), a.tolist(), (d * 1).tolist()


def write_into_the_alias_after_the_tensor_changed(lib):
    p = lib.tensor([1.0, 2.0], requires_grad=True)
    d = p.detach()
    with lib.no_grad():
        p.add_(1)
    d.mul_(2)
    return p.tolist(), d.tolist()


def optimizer_steps(lib):
    p = lib.tensor([1.0, -2.0], requires_grad=True)
    d, a = p.detach(), p.data
    opt = lib.optim.SGD([p], lr=0.1, momentum=0.9)
    seen = []
    for _ in range(3):
        opt.zero_grad()
        (p * p).sum().backward()
        opt.step()
        seen.append(d.tolist() + (a + 0).tolist())
    return seen


def view_taken_without_grad_follows_the_optimizer(lib):
    p = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
    with lib.no_grad():
        v = p[1:]
    opt = lib.optim.SGD([p], lr=0.5)
    (p * p).sum().backward()
    opt.step()
    with lib.no_grad():  # (PyTorch refuses the view in an op with grad enabled: it was made under no_grad)
        return v.tolist(), (v * 1).tolist()


def alias_of_an_alias_writes_to_the_tensor(lib):
    p = lib.tensor([1.0, 2.0])
    dd = p.detach().data
    dd.add_(5)
    return p.tolist(), dd.tolist()


def data_assignment_gives_the_tensor_another_storage(lib):
    p = lib.tensor([1.0, 2.0])
    d = p.data
    p.data = lib.tensor([7.0, 8.0])
    d.add_(1)
    p.add_(10)
    return p.tolist(), d.tolist()


def module_to_another_dtype_keeps_old_aliases(lib):
    m = lib.nn.Linear(1, 1)
    with lib.no_grad():
        m.weight.fill_(0.5)
    d = m.weight.detach()
    m.double()
    with lib.no_grad():
        m.weight.add_(1)
    return d.tolist(), str(d.dtype).split(".")[-1], m.weight.tolist()


def alias_of_a_computed_tensor(lib):
    x = lib.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    d = y.detach()
    with lib.no_grad():
        y.add_(1)
    seen = d.tolist()
    d.clamp_(max=4.5)
    return seen, d.tolist()


def numpy_of_an_alias_shares_the_storage(lib):
    p = lib.tensor([1.0, 2.0], requires_grad=True)
    a = p.detach().numpy()
    with lib.no_grad():
        p.mul_(3)
    return a.tolist()


def values_computed_before_an_update_keep_the_old_ones(lib):
    p = lib.tensor([1.0, 2.0], requires_grad=True)
    d = p.detach()
    y = d * 2
    opt = lib.optim.SGD([p], lr=1.0)
    p.sum().backward()
    opt.step()
    return y.tolist(), d.tolist()


def alias_through_shape_changes(lib):
    w = lib.ones(1, 3)
    a = w.detach()
    w.squeeze_()
    w.add_(1)
    b = w.detach()
    b.unsqueeze_(0)
    w.mul_(2)
    v = lib.ones(4)
    c = v.detach()
    v.resize_(2)
    return a.tolist(), b.tolist(), list(a.shape), c.tolist()


def compiled_steps_and_fit(lib):
    """symnet's compiled step and fit against PyTorch's eager loop: the same three SGD steps."""
    x = np.array([[1.0], [2.0], [3.0]], dtype=np.float32)
    m = lib.nn.Linear(1, 1)
    with lib.no_grad():
        m.weight.fill_(0.5)
        m.bias.fill_(-0.25)
    d, bias_alias = m.weight.detach(), m.bias.data
    with lib.no_grad():
        row = m.weight[0]
    loss, opt = lib.nn.MSELoss(), lib.optim.SGD(m.parameters(), lr=0.1)
    data = lib.tensor(x), lib.tensor(2 * x)
    seen = []
    if lib is sn:
        step = sn.compile(m, loss, opt)
        step.step(*data)
        seen.append(d.tolist() + bias_alias.tolist() + row.tolist())
        step.fit(data, epochs=2, progress=False)
    else:
        for _ in range(3):
            opt.zero_grad()
            loss(m(data[0]), data[1]).backward()
            opt.step()
            if not seen:
                seen.append(d.tolist() + bias_alias.tolist() + row.tolist())
    seen.append(d.tolist() + bias_alias.tolist() + row.tolist())
    return seen


#: scenario: what PyTorch 2.13 gives
PYTORCH = {
    in_place_update_of_the_tensor: ([2.0, 3.0], [2.0, 3.0], [2.0, 3.0]),
    write_into_the_alias_after_the_tensor_changed: ([4.0, 6.0], [4.0, 6.0]),
    optimizer_steps: [[0.800000011920929, -1.600000023841858, 0.800000011920929, -1.600000023841858],
                      [0.46000000834465027, -0.9200000166893005, 0.46000000834465027, -0.9200000166893005],
                      [0.06199999898672104, -0.12399999797344208, 0.06199999898672104, -0.12399999797344208]],
    view_taken_without_grad_follows_the_optimizer: ([0.0, 0.0], [0.0, 0.0]),
    alias_of_an_alias_writes_to_the_tensor: ([6.0, 7.0], [6.0, 7.0]),
    data_assignment_gives_the_tensor_another_storage: ([17.0, 18.0], [2.0, 3.0]),
    module_to_another_dtype_keeps_old_aliases: ([[0.5]], "float32", [[1.5]]),
    alias_of_a_computed_tensor: ([4.0, 7.0], [4.0, 4.5]),
    numpy_of_an_alias_shares_the_storage: [3.0, 6.0],
    values_computed_before_an_update_keep_the_old_ones: ([2.0, 4.0], [0.0, 1.0]),
    alias_through_shape_changes: ([[4.0, 4.0, 4.0]], [[4.0, 4.0, 4.0]], [1, 3], [1.0, 1.0, 1.0, 1.0]),
    compiled_steps_and_fit: [[[2.0], 0.4000000059604645, 2.0],
                             [[1.8613333702087402], 0.3200000524520874, 1.8613333702087402]],
}


test_symnet_gives_pytorchs_values, test_the_stored_values_are_pytorchs = scenario_tests(PYTORCH, rtol=1e-6)


def test_an_alias_of_a_tensor_resized_to_fewer_elements_and_updated_is_refused_not_stale():
    v = sn.ones(4)
    c = v.detach()
    v.resize_(2)
    v.add_(1)  # PyTorch's alias reads [2, 2, 1, 1]: symnet no longer holds the last two
    with pytest.raises(sn.NotSupportedError, match="resized in place to fewer elements"):
        c.tolist()


def test_an_alias_read_while_another_thread_steps_the_optimizer():
    p = sn.tensor(np.linspace(-1.0, 1.0, 64), requires_grad=True)
    alias, opt, failures = p.detach(), sn.optim.SGD([p], lr=0.01), []

    def read():
        try:
            for _ in range(300):
                values = (alias * 1).numpy()
                assert np.isfinite(values).all() and values.shape == (64,)
        except Exception as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    reader = threading.Thread(target=read)
    reader.start()
    for _ in range(300):
        opt.zero_grad()
        (p * p).sum().backward()
        opt.step()
    reader.join()
    assert not failures, failures
    np.testing.assert_array_equal(alias.numpy(), p.detach().numpy())
    np.testing.assert_allclose(alias.numpy(), np.linspace(-1.0, 1.0, 64) * 0.98**300, rtol=1e-9)
