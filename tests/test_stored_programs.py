"""Eager programs (backward's gradients, lazy values, the optimizer's update) kept on disk by the durable key of
their structure: a new process runs them without deriving, with the same numbers; an entry that does not fit
is a miss."""

import json

import numpy as np
import pytest

import symnet as sn
from codegen import cache
from codegen.pool import POOL
from symnet import pipeline
from symnet.core.cache import clear_all


@pytest.fixture
def folder(tmp_path, monkeypatch):
    POOL.ensure()
    monkeypatch.setenv("SYMNET_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def loop(steps=5, optimizer=sn.optim.Adam):
    """The seed's PyTorch-style loop on a small MLP: its losses and final weights."""
    sn.manual_seed(3)
    rng = np.random.default_rng(0)
    x, y = sn.tensor(rng.standard_normal((9, 3)).astype(np.float32)), sn.tensor(rng.integers(0, 2, 9))
    net = sn.nn.Sequential(sn.nn.Linear(3, 4), sn.nn.Tanh(), sn.nn.Linear(4, 2))
    opt, criterion, losses = optimizer(net.parameters(), lr=0.05), sn.nn.CrossEntropyLoss(), []
    for _ in range(steps):
        loss = criterion(net(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses, [p.numpy().copy() for p in net.parameters()]


def derivations() -> int:
    return pipeline.timings()["differentiate"][0] + pipeline.timings()["lower"][0]


def entries(folder):
    return sorted(folder.glob("*.program"))


def as_new_process():
    """What a new process has: no program in memory (only the disk cache)."""
    clear_all()


def test_a_new_process_runs_the_loop_without_deriving(folder):
    losses, weights = loop()
    assert len(entries(folder)) == 2  # backward's gradients, the optimizer's update
    as_new_process()
    before = derivations()
    again, weights_again = loop()
    assert derivations() == before and again == losses
    for a, b in zip(weights, weights_again, strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_found_program_derives_its_graph_when_asked(folder):
    x = sn.tensor([0.5, -1.0], requires_grad=True)
    text = str(sn.formulas((x.tanh() * x).sum(), [x]))
    (x.tanh() * x).sum().backward()
    as_new_process()
    y = sn.tensor([0.5, -1.0], requires_grad=True)
    before = derivations()
    (y.tanh() * y).sum().backward()
    assert derivations() == before  # run from the disk
    np.testing.assert_array_equal(y.grad.numpy(), x.grad.numpy())
    assert str(sn.formulas((y.tanh() * y).sum(), [y])) == text
    assert derivations() > before  # derived for the printing


def test_lazily_computed_values_come_from_the_disk_too(folder):
    a = sn.tensor([1.0, 2.0]).exp().log1p().numpy()
    as_new_process()
    before = derivations()
    np.testing.assert_array_equal(sn.tensor([1.0, 2.0]).exp().log1p().numpy(), a)
    assert derivations() == before


def rewrite(path, mutate):
    meta = cache.load(path.name[:-len(".program")], kind="program")[1]
    cache.store(path.name[:-len(".program")], b"", mutate(json.loads(json.dumps(meta))), kind="program")


#: per kind of entry (a program's names, or an update's states), what a tamperer changes in its payload
TAMPERED = {
    "too short": ({"names": lambda v: v[:-1]}, {"states": lambda v: v[:-1]}),
    "out of range": ({"leaves": lambda v: [999]}, {"states": lambda v: [[["x"], []]] * 9}),
    "not names": ({"order": lambda v: [999, "seed"]}, {"states": lambda v: [[[1], [2]]] * len(v)}),
    "another's outputs": ({"outputs": lambda v: ["nothing"]}, {"states": lambda v: "states"}),
    "object missing": ({}, {}),
}


def tamper(how):
    def mutate(meta):
        program, update = TAMPERED[how]
        for field, change in (program if "names" in meta["payload"] else update).items():
            meta["payload"][field] = change(meta["payload"][field])
        if how == "object missing":
            meta["object"] = "f" * 64
        return meta
    return mutate


@pytest.mark.parametrize("how", sorted(TAMPERED))
def test_an_entry_that_does_not_fit_is_a_miss(folder, how):
    losses, _ = loop(3)
    for path in entries(folder):
        rewrite(path, tamper(how))
    as_new_process()
    before = derivations()
    assert loop(3)[0] == losses
    assert derivations() > before


def test_the_reference_backend_keeps_no_programs(folder):
    with sn.backend.use("reference"):
        loop(2)
    assert entries(folder) == []


def test_each_optimizer_and_its_hyperparameters_are_their_own_program(folder):
    sgd, adam = loop(3, sn.optim.SGD), loop(3, sn.optim.Adam)
    assert sgd[0] != adam[0]
    as_new_process()
    assert loop(3, sn.optim.SGD)[0] == sgd[0] and loop(3, sn.optim.Adam)[0] == adam[0]


def derivatives():
    """autograd.grad (with and without a cotangent), jvp and Taylor-mode derivatives of a small function."""
    x = sn.tensor([0.5, -1.0, 2.0], dtype=sn.float64, requires_grad=True)
    y = x.sin() * x
    (g,) = sn.autograd.grad(y.sum(), x)
    (weighted,) = sn.autograd.grad(y, x, sn.tensor([1.0, 2.0, 3.0], dtype=sn.float64))
    _, tangent = sn.autograd.functional.jvp(lambda a: a.sin() * a, x.detach(), sn.ones(3, dtype=sn.float64))
    orders = sn.autograd.derivatives(y, x, sn.ones(3, dtype=sn.float64), order=2)
    return [t.numpy() for t in (g, weighted, tangent, *orders)]


def test_derivatives_come_from_the_disk_without_deriving(folder):
    first = derivatives()
    assert len(entries(folder)) >= 4
    as_new_process()
    before = derivations()
    for a, b in zip(derivatives(), first, strict=True):
        np.testing.assert_array_equal(a, b)
    assert derivations() == before


@pytest.mark.parametrize("change", [{"seeds": lambda v: v + [None]}, {"used": lambda v: ["yes"] * len(v)},
                                    {"seeds": lambda v: ["another"] * len(v)}])
def test_a_derivative_entry_that_does_not_fit_is_a_miss(folder, change):
    first = derivatives()

    def mutate(meta):
        for field, how in change.items():
            if field in meta["payload"]:
                meta["payload"][field] = how(meta["payload"][field])
        return meta

    for path in entries(folder):
        rewrite(path, mutate)
    as_new_process()
    before = derivations()
    for a, b in zip(derivatives(), first, strict=True):
        np.testing.assert_array_equal(a, b)
    assert derivations() > before
