"""Compiled steps found again on disk by the structure traced: the same numbers as a step derived afresh, never
another structure's step, never another model's constants, and any entry that does not fit is a miss."""

import json
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import symnet as sn
from codegen import cache
from codegen.pool import POOL
from symnet import pipeline, stored
from symnet.train import step_cache


@pytest.fixture
def folder(tmp_path, monkeypatch):
    POOL.ensure()  # the pool's own object is cached where it was first made
    monkeypatch.setenv("SYMNET_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture
def no_derivation(monkeypatch):
    """Deriving a step (lowering it) fails: what runs must have come from the cache."""
    def refuse(*args, **kwargs):
        raise AssertionError("the step was derived, not found in the cache")

    def patch():
        monkeypatch.setattr(pipeline, "lower", refuse)
        monkeypatch.setattr(pipeline, "differentiate", refuse)

    return patch


def data(seed=0, n=12):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 4)).astype(np.float32), rng.integers(0, 3, n)


def mlp(seed=0, hidden=5, dropout=False, norm=False, dtype=None):
    sn.manual_seed(seed)
    layers = [sn.nn.Linear(4, hidden)]
    layers += [sn.nn.BatchNorm1d(hidden)] if norm else []
    layers += [sn.nn.Tanh()] + ([sn.nn.Dropout(0.3)] if dropout else []) + [sn.nn.Linear(hidden, 3)]
    net = sn.nn.Sequential(*layers)
    return net.to(dtype) if dtype is not None else net


def train(net, loss=None, opt=None, steps=4, x=None, y=None, **compile_options):
    x, y = data() if x is None else (x, y)
    opt = opt or sn.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    step = sn.compile(net, loss or sn.nn.CrossEntropyLoss(), opt, **compile_options)
    losses = [step.step(x, y) for _ in range(steps)]
    return step, losses, [p.numpy().copy() for p in net.parameters()]


def step_entries(folder):
    return sorted(folder.glob("*.step"))


def test_the_same_structure_is_found_and_gives_the_same_numbers(folder, no_derivation):
    derived, losses, params = train(mlp())
    assert len(step_entries(folder)) == 1
    no_derivation()
    found, again, params_again = train(mlp())
    assert found._step.cache_hit and again == losses
    for p, q in zip(params, params_again, strict=True):
        np.testing.assert_array_equal(p, q)
    net = mlp()  # and through fit's native epochs
    step = sn.compile(net, sn.nn.CrossEntropyLoss(), sn.optim.SGD(net.parameters(), lr=0.1, momentum=0.9))
    history = step.fit([data()], epochs=4, progress=False)
    np.testing.assert_array_equal(np.asarray(history), losses)


def test_buffers_and_dropout_masks_through_the_cache(folder, no_derivation):
    _, losses, params = train(mlp(dropout=True, norm=True))
    net = mlp(dropout=True, norm=True)
    no_derivation()
    _, again, params_again = train(net)
    assert again == losses
    for p, q in zip(params, params_again, strict=True):
        np.testing.assert_array_equal(p, q)
    reference = mlp(dropout=True, norm=True)
    train(reference, steps=0)
    assert not np.array_equal(net[1].running_mean.numpy(), reference[1].running_mean.numpy())


def test_constants_are_this_models_own(folder, no_derivation):
    """A class weight is a constant of the step: a model with other weights finds the same program and runs it
    on its own weights."""
    weight_a, weight_b = sn.tensor([1.0, 2.0, 0.5]), sn.tensor([0.2, 3.0, 1.0])
    train(mlp(), sn.nn.CrossEntropyLoss(weight=weight_a))
    with sn.backend.use("reference"):
        _, expected, _ = train(mlp(), sn.nn.CrossEntropyLoss(weight=weight_b))
    no_derivation()
    _, losses, _ = train(mlp(), sn.nn.CrossEntropyLoss(weight=weight_b))
    np.testing.assert_allclose(losses, expected, rtol=1e-5)


def step_key(variant=None):
    """The key of the step of ``mlp`` trained by SGD with momentum on ``data``, with one thing changed."""
    x, y = data()
    net = mlp(hidden=7 if variant == "hidden" else 5, dtype=sn.float64 if variant == "float64" else None)
    if variant == "features":
        net = sn.nn.Sequential(sn.nn.Linear(6, 5), sn.nn.Tanh(), sn.nn.Linear(5, 3))
        x = np.concatenate([x, x[:, :2]], axis=1)
    if variant == "eval":
        net.eval()
    if variant == "name":
        net[0].weight.name = "first"  # a named leaf prints its name in the formulas: another program
    params = list(net.parameters())
    opt = {"momentum": lambda: sn.optim.SGD(params, lr=0.1, momentum=0.5),
           "nesterov": lambda: sn.optim.SGD(params, lr=0.1, momentum=0.9, nesterov=True),
           "adam": lambda: sn.optim.Adam(params, lr=0.1)}.get(variant,
                                                              lambda: sn.optim.SGD(params, lr=0.1, momentum=0.9))()
    loss = sn.nn.CrossEntropyLoss(label_smoothing=0.1 if variant == "loss" else 0.0)
    step = sn.compile(net, loss, opt, **({"clip_grad_norm": 1.0} if variant == "clipping" else {}))
    x = x.astype(np.float64) if variant == "float64" else x
    x, y = (x[:5], y[:5]) if variant == "batch" else (x, y)
    return step._step_key(step._record(x, y))


@pytest.mark.parametrize("change", ["hidden", "momentum", "nesterov", "clipping", "eval", "float64", "adam",
                                    "batch", "features", "name", "loss"])
def test_another_structure_is_another_key(change):
    base, changed = step_key(), step_key(change)
    assert base is not None and changed is not None and base != changed
    assert step_key() == base  # and the same structure the same key


def test_the_learning_rate_is_an_input_not_a_key(folder, no_derivation):
    net = mlp()
    train(net, opt=sn.optim.SGD(net.parameters(), lr=0.1))
    with sn.backend.use("reference"):
        net = mlp()
        _, expected, _ = train(net, opt=sn.optim.SGD(net.parameters(), lr=0.01))
    no_derivation()
    net = mlp()
    _, losses, _ = train(net, opt=sn.optim.SGD(net.parameters(), lr=0.01))
    np.testing.assert_allclose(losses, expected, rtol=1e-5)


def rewrite_step(path, mutate):
    """Rebuild a step entry around mutated metadata, with a valid digest (a careful tamperer's entry)."""
    key = path.name[:-len(".step")]
    meta = cache.load(key, kind="step")[1]
    cache.store(key, b"", mutate(json.loads(json.dumps(meta))), kind="step")


def layout_change(**changes):
    def mutate(meta):
        meta["payload"].update(changes)
        return meta
    return mutate


TAMPERED = {
    "version": lambda m: {**m, "version": 99},
    "object missing": lambda m: {**m, "object": "0" * 64},
    "object not text": lambda m: {**m, "object": 7},
    "payload not a dict": lambda m: {**m, "payload": [1, 2]},
    "position out of range": layout_change(t=10_000),
    "negative position": layout_change(x=-1),
    "position twice": layout_change(y=0, x=0),
    "position a bool": layout_change(t=True),
    "parameter index out of range": lambda m: {**m, "payload": {**m["payload"], "params": [
        [99, *p[1:]] for p in m["payload"]["params"]]}},
    "state names not text": lambda m: {**m, "payload": {**m["payload"], "params": [
        [p[0], p[1], {"momentum_buffer": "1"}, p[3]] for p in m["payload"]["params"]]}},
    "a bound leaf that is a parameter": lambda m: {**m, "payload": {**m["payload"], "bound": [[
        m["payload"]["params"][0][1], 0]], "params": m["payload"]["params"][1:]}},
    "input count": lambda m: {**m, "payload": {**m["payload"], "inputs": m["payload"]["inputs"] + 1}},
    "groups": layout_change(lrs=[[5, 0]]),
    "missing field": lambda m: {**m, "payload": {k: v for k, v in m["payload"].items() if k != "keys"}},
    "payload": layout_change(keys="__import__('os').system('false')"),
}


@pytest.mark.parametrize("how", sorted(TAMPERED))
def test_an_entry_that_does_not_fit_is_a_miss(folder, how):
    _, losses, _ = train(mlp())
    (path,) = step_entries(folder)
    rewrite_step(path, TAMPERED[how])
    derivations = pipeline.timings()["differentiate"][0]
    step, again, _ = train(mlp())
    assert again == losses
    assert pipeline.timings()["differentiate"][0] > derivations  # derived again, not run from the entry


def test_garbage_in_place_of_an_entry_is_a_miss(folder):
    _, losses, _ = train(mlp())
    (path,) = step_entries(folder)
    path.write_bytes(b"not an entry at all")
    assert train(mlp())[1] == losses
    path.unlink()
    path.mkdir()  # a folder where the entry was: a miss, and the step is not stored over it
    assert train(mlp())[1] == losses


def test_an_object_without_its_interface_is_a_miss(folder):
    _, losses, _ = train(mlp())
    (path,) = step_entries(folder)
    object_key = cache.load(path.name[:-5], kind="step")[1]["object"]
    entry = cache.load(object_key)
    for interface in (None, {**entry[1]["interface"], "dims": ["Q"]}, {**entry[1]["interface"], "defs": []}):
        cache.store(object_key, entry[0], {**entry[1], "interface": interface})
        derivations = pipeline.timings()["differentiate"][0]
        assert train(mlp())[1] == losses
        assert pipeline.timings()["differentiate"][0] > derivations


def test_formulas_and_loops_of_a_step_found_in_the_cache(folder):
    derived, _, _ = train(mlp())
    text = str(derived.formulas())
    found, _, _ = train(mlp())
    assert found._step.cache_hit and found._formulas is None
    assert str(found.formulas()) == text  # derived on demand
    assert found._step.show("loops") == derived._step.show("loops")


def test_the_reference_backend_keeps_no_steps(folder):
    with sn.backend.use("reference"):
        train(mlp())
    assert step_entries(folder) == []


def test_two_threads_build_the_same_step_at_once(folder):
    _, expected, _ = train(mlp(), steps=3)
    for path in step_entries(folder):
        path.unlink()
    nets = [mlp(), mlp()]  # made here: the seeded generator is the process's, as PyTorch's
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda net: train(net, steps=3)[1], nets))
    assert results == [expected, expected]
    assert len(step_entries(folder)) == 1


SCRIPT = textwrap.dedent("""
    import sys
    import numpy as np, symnet as sn
    from symnet import pipeline
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((16, 6)).astype(np.float32), rng.integers(0, 4, 16)
    sn.manual_seed(1)
    net = sn.nn.Sequential(sn.nn.Linear(6, 8), sn.nn.ReLU(), sn.nn.Linear(8, 4))
    step = sn.compile(net, sn.nn.CrossEntropyLoss(), sn.optim.Adam(net.parameters(), lr=0.01))
    losses = [step.step(x, y) for _ in range(3)] + list(step.fit([(x, y)], epochs=3, progress=False))
    loaded = [m for m in ("sympy", "numpy.ma") if m in sys.modules]
    print(repr(losses), "|", pipeline.timings()["differentiate"][0], pipeline.timings()["lower"][0], *loaded)
""")


def test_a_new_process_finds_the_step_without_deriving_it(folder):
    """... and without importing what only deriving needs (SymPy) or a probe might (``numpy.ma``: 15 ms)."""
    def run():
        done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True)
        losses, rest = done.stdout.split(" | ")
        derived, lowered, *loaded = rest.split()
        return losses, int(derived), int(lowered), loaded

    first, second = run(), run()
    assert first[1] > 0 and first[2] > 0 and "sympy" in first[3]
    assert second == (first[0], 0, 0, [])


def test_a_process_exits_without_walking_the_heap():
    """The interpreter's last collections skip what is alive at exit (frozen by an exit handler symnet registers
    on import): a short script's exit took ~20 ms more with symnet's modules loaded."""
    script = textwrap.dedent("""
        import atexit, gc
        atexit.register(lambda: print(gc.get_freeze_count() > 1000))  # runs after symnet's (handlers are LIFO)
        import symnet
        print(gc.get_freeze_count())
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["0", "True"]


def test_the_key_covers_the_source():
    assert len(stored.source_fingerprint()) == 64
    assert step_cache.key("a") != step_cache.key("b")


class Scaled(sn.optim.Optimizer):
    """An optimizer of the user's own, whose rule reads an attribute its hyperparameters do not hold."""

    def __init__(self, params, lr=0.1, scale=1.0):
        self.scale = scale
        super().__init__(params, {"lr": lr})

    def rule(self, group):
        from symnet.core.ops import constant
        from symnet.optim.optimizer import elements

        p, g, lr = elements("p g lr")
        return [(p, p - lr * constant(self.scale) * g)]


def test_an_optimizer_of_the_users_own_is_known_by_its_rule(folder):
    x, y = data()

    def run(scale):
        net = mlp()
        step = sn.compile(net, sn.nn.CrossEntropyLoss(), Scaled(net.parameters(), scale=scale))
        return step._step_key(step._record(x, y)), [step.step(x, y) for _ in range(3)]

    (key_a, losses_a), (key_b, losses_b), (key_a2, losses_a2) = run(1.0), run(3.0), run(1.0)
    assert key_a == key_a2 and key_a != key_b
    assert losses_a == losses_a2 and losses_a != losses_b
    with sn.backend.use("reference"):
        np.testing.assert_allclose(run(3.0)[1], losses_b, rtol=1e-5)


def test_the_default_dtype_is_part_of_the_key():
    """NAdam's 0-d state takes PyTorch's scalar dtype, float64 only under a float64 default."""
    x, y = data()
    keys = []
    for default in (sn.float32, sn.float64):
        sn.set_default_dtype(default)
        net = mlp(dtype=sn.float32)
        step = sn.compile(net, sn.nn.CrossEntropyLoss(), sn.optim.NAdam(net.parameters(), lr=0.01))
        keys.append(step._step_key(step._record(x, y)))
    assert keys[0] != keys[1]
