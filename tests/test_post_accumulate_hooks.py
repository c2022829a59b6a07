"""``register_post_accumulate_grad_hook``: PyTorch's recipe that fuses each parameter's optimizer step into the
backward pass (a hook that steps and zeroes the parameter's own optimizer once its gradient is in), against the
values PyTorch 2.13 gave."""

import pytest

import symnet as sn
from tests.scenarios import scenario_tests


def optimizer_in_backward(lib):
    m = lib.nn.Linear(3, 2)
    with lib.no_grad():
        m.weight.copy_(lib.tensor([[0.1, -0.2, 0.3], [0.4, 0.5, -0.6]]))
        m.bias.copy_(lib.tensor([0.05, -0.05]))
    optimizers = {p: lib.optim.SGD([p], lr=0.1, momentum=0.9) for p in m.parameters()}
    calls = []

    def step(p):
        calls.append(tuple(p.shape))
        optimizers[p].step()
        optimizers[p].zero_grad()

    handles = [p.register_post_accumulate_grad_hook(step) for p in m.parameters()]
    x = lib.tensor([[1.0, 2.0, 3.0], [-1.0, 0.5, 2.0]])
    for _ in range(3):
        (m(x) ** 2).sum().backward()
    handles[1].remove()  # the bias keeps its gradient from here on
    (m(x) ** 2).sum().backward()
    return m.weight.tolist(), m.bias.tolist(), m.bias.grad.tolist(), len(calls)


#: scenario: what PyTorch 2.13 gives
PYTORCH = {
    optimizer_in_backward: ([[0.27395135164260864, 0.2968622148036957, 1.1197733879089355],
                             [-0.7887798547744751, -0.5498348474502563, -1.5108896493911743]],
                            [-0.34462523460388184, 0.7374998331069946], [-11.981569290161133, 16.813495635986328], 7),
}

test_symnet_gives_pytorchs_values, test_the_stored_values_are_pytorchs = scenario_tests(PYTORCH, rtol=2e-6)


def test_only_a_leaf_that_requires_grad_takes_one():
    w = sn.ones(2, requires_grad=True)
    with pytest.raises(sn.GradError, match="non-leaf"):
        (w * 2).register_post_accumulate_grad_hook(print)
    with pytest.raises(sn.GradError, match="doesn't require gradient"):
        sn.ones(2).register_post_accumulate_grad_hook(print)
    seen = []
    w.register_post_accumulate_grad_hook(lambda p: seen.append(p.grad.tolist()))
    (w * w).sum().backward()
    (w * 3).sum().backward(create_graph=True)  # the graph-building path calls it too
    assert seen == [[2.0, 2.0], [5.0, 5.0]]
