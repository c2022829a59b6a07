"""Sweeps on Dask (issue 17): the sweep's numbers are the one-by-one loop's, failures stay in their trial, a
structure is compiled once per machine (and travels to other machines), results, figure and CLI.

One LocalCluster of two worker processes serves the module (each test points the workers at a cache folder of
its own); one test starts and stops the default cluster itself."""

from __future__ import annotations

import argparse
import os

import numpy as np
import pytest

import symnet as sn
from codegen.gemm import LIBRARIES as GEMM_LIBRARIES
from codegen.pool import POOL
from symnet.sweep import grid, install_entries, run_trial, sweep, sweep_command, trial_seed

distributed = pytest.importorskip("distributed")
pd = pytest.importorskip("pandas")

X = np.linspace(-1, 1, 64, dtype=np.float32).reshape(-1, 2)
Y = X[:, :1] * X[:, 1:] + X[:, :1]
OPTIMIZERS = {"SGD": sn.optim.SGD, "Adam": sn.optim.Adam}


def train(config: dict) -> dict:
    """A 2-h-1 tanh network fitted for two epochs; ``fail`` makes it raise or return something unusable."""
    if config.get("fail") == "raise":
        raise ValueError("boom in trial")
    hidden = config.get("hidden", 4)
    net = sn.nn.Sequential(sn.nn.Linear(2, hidden), sn.nn.Tanh(), sn.nn.Linear(hidden, 1))
    step = sn.compile(net, sn.nn.MSELoss(), OPTIMIZERS[config["optimizer"]](net.parameters(), lr=config["lr"]))
    loader = sn.data.DataLoader(sn.data.TensorDataset(sn.tensor(X), sn.tensor(Y)), batch_size=8, shuffle=True)
    history = step.fit(loader, epochs=2, progress=False,
                       metrics={"weight_norm": lambda s: float(np.abs(net[0].weight.numpy()).sum())})
    if config.get("fail") == "object":
        return {"history": history, "step": step}
    return {"history": history, "first_bias": float(net[0].bias.numpy()[0])}


def one_by_one(configs: list[dict], base: int) -> list[dict]:
    """The plain loop the sweep must equal."""
    out = []
    for c in configs:
        sn.manual_seed(trial_seed(c, base))
        out.append(train(dict(c)))
    return out


@pytest.fixture(scope="module")
def client():
    import dask

    with dask.config.set({"distributed.scheduler.allowed-failures": 0}), distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as lc:
        with distributed.Client(lc) as c:
            yield c


def shared_libraries_made() -> None:
    """The process's shared native libraries (the pool, the GEMM kernels) loaded, made where the process began if
    they were not cached there: a trial compiles and writes only its own structures from then on."""
    POOL.ensure()
    for library in GEMM_LIBRARIES.values():
        library.ensure()


def use_cache(folder: str) -> None:
    """In a worker: its next compile reads and writes in ``folder``. Its shared libraries are made first (cached
    where the worker began), so the folder holds only what trials compile, whichever trial ran first."""
    shared_libraries_made()
    os.environ["SYMNET_CACHE_DIR"] = folder


@pytest.fixture
def cache_dirs(client, tmp_path, monkeypatch):
    """A fresh object cache for this process and for each worker (one folder shared, like one machine)."""
    folder = tmp_path / "cache"
    shared_libraries_made()  # in this process too, before the folder is ours
    monkeypatch.setenv("SYMNET_CACHE_DIR", str(folder))
    client.run(use_cache, str(folder))
    return folder


def test_grid_orders_the_last_axis_fastest_and_refuses_bad_axes():
    assert grid(a=[1, 2], b=["x", "y"]) == [{"a": 1, "b": "x"}, {"a": 1, "b": "y"}, {"a": 2, "b": "x"},
                                           {"a": 2, "b": "y"}]
    assert sweep.grid is grid
    with pytest.raises(TypeError, match="lr must be a list"):
        grid(lr="0.1")
    with pytest.raises(ValueError, match="seed has no values"):
        grid(seed=[])


def test_trial_seeds_depend_on_config_and_base_only():
    c = {"lr": 0.1, "optimizer": "SGD", "betas": (0.9, 0.99)}
    seeds = {trial_seed(c), trial_seed({**c, "lr": 0.2}), trial_seed(c, base=1), trial_seed({**c, "seed": 0})}
    assert len(seeds) == 4
    assert trial_seed(dict(reversed(list(c.items())))) == trial_seed(c)        # key order does not matter
    assert trial_seed({**c, "betas": [0.9, 0.99]}) == trial_seed(c)             # as configs travel (JSON)
    assert 0 <= trial_seed(c) < 2**63


def test_default_local_cluster_sweep_equals_the_one_by_one_loop(tmp_path, monkeypatch):
    monkeypatch.setenv("SYMNET_CACHE_DIR", str(tmp_path / "cache"))  # the workers it starts inherit it
    configs = grid(optimizer=["SGD", "Adam"], lr=[0.1, 0.03], seed=[0, 1])
    result = sweep(train, configs, workers=2, seed=7, progress=False)
    expected = one_by_one(configs, 7)
    assert [t.index for t in result.trials] == list(range(len(configs)))
    frame = result.frame
    assert list(frame.columns[:3]) == ["optimizer", "lr", "seed"] and len(frame) == len(configs)
    assert (frame.status == "ok").all() and frame.error.isna().all()
    assert len({t.worker for t in result.trials}) == 2, "both worker processes ran trials"
    for trial, row, want in zip(result.trials, frame.itertuples(), expected, strict=True):
        np.testing.assert_array_equal(trial.history.losses, want["history"].losses)
        assert trial.history.epoch_loss == want["history"].epoch_loss
        assert trial.history.metrics == want["history"].metrics
        assert row.trial_seed == trial_seed(trial.config, 7)
        assert row.first_bias == want["first_bias"]
        assert row.final_loss == want["history"].epoch_loss[-1] and row.best_loss == min(want["history"].epoch_loss)
        assert row.final_weight_norm == want["history"].metrics["weight_norm"][-1]
        assert row.best_weight_norm == min(want["history"].metrics["weight_norm"])
        assert row.steps == len(want["history"]) == 8


def test_failing_trials_are_recorded_and_the_others_finish(client, cache_dirs):
    configs = [{"optimizer": "SGD", "lr": 0.1, "seed": 0}, {"optimizer": "SGD", "lr": 0.1, "fail": "raise"},
               {"optimizer": "SGD", "lr": 1e8, "seed": 0}, {"optimizer": "SGD", "lr": 0.1, "fail": "object"},
               {"optimizer": "Adam", "lr": 0.1, "seed": 1}]
    result = sweep(train, configs, client=client, progress=False)
    frame = result.frame
    assert list(frame.status) == ["ok", "error", "nan", "error", "ok"]
    assert frame.error[1] == "ValueError: boom in trial" and "boom in trial" in result.trials[1].traceback
    assert result.trials[1].history is None and np.isnan(frame.final_loss[1])
    assert frame.error[2].startswith("loss is ") and "at step" in frame.error[2]
    assert not np.isfinite(result.trials[2].history.losses).all()
    assert "returned 'step' as CompiledStep" in frame.error[3]
    assert np.isfinite(frame.final_loss[[0, 4]]).all()
    assert [t.index for t in result.failed] == [1, 2, 3]


def test_a_structure_is_compiled_once_per_machine(client, cache_dirs, tmp_path, monkeypatch):
    configs = grid(hidden=[3, 5], optimizer=["Adam"], lr=[0.1, 0.05], seed=[0, 1])
    result = sweep(train, configs, client=client, progress=False)
    assert (result.frame.status == "ok").all()
    stats = result.compile_stats
    # what one trial per structure compiles, alone in a fresh cache
    monkeypatch.setenv("SYMNET_CACHE_DIR", str(tmp_path / "alone"))
    alone = [run_trial(train, configs[0], 1), run_trial(train, configs[4], 1)]
    needed = sum(len(t.written) for t in alone)
    assert needed >= 2
    assert stats["structures"] == 2
    assert stats["objects_compiled"] == stats["objects_distinct"] == needed, stats   # never twice
    assert list(stats["objects_compiled_per_machine"].values()) == [needed]
    assert stats["executables"] == needed + stats["objects_reused"] and stats["objects_reused"] >= 6
    assert len(list(cache_dirs.glob("*.o"))) == needed


def test_compiled_objects_travel_to_another_machine_with_the_same_cpu(client, tmp_path):
    """Two cache folders stand for two machines: each structure's object is compiled in one and shipped."""
    workers = sorted(client.scheduler_info()["workers"])
    for k, w in enumerate(workers):
        client.run(use_cache, str(tmp_path / f"machine{k}"), workers=[w])
    configs = grid(hidden=[6, 7], optimizer=["SGD"], lr=[0.1, 0.05, 0.02], seed=[0])
    result = sweep(train, configs, client=client, progress=False)
    assert (result.frame.status == "ok").all()
    stats = result.compile_stats
    assert stats["objects_compiled"] == stats["objects_distinct"] == 2  # one per structure
    assert stats["objects_shipped"] == 2, stats
    for k in range(2):
        assert len(list((tmp_path / f"machine{k}").glob("*.o"))) == 2, (stats, k)


def test_entries_install_only_on_the_same_cpu_and_as_data(tmp_path, monkeypatch):
    from codegen import cache

    monkeypatch.setenv("SYMNET_CACHE_DIR", str(tmp_path / "here"))
    trial = run_trial(train, {"optimizer": "SGD", "lr": 0.1, "hidden": 2}, 3, ship=True)
    assert trial.status == "ok" and len(trial.entries) == 1 and trial.fingerprint
    key, obj, meta = trial.entries[0]
    monkeypatch.setenv("SYMNET_CACHE_DIR", str(tmp_path / "there"))
    assert install_entries(trial.entries, "another cpu|+avx|llvmlite 0") == []
    assert not (tmp_path / "there").exists() or not list((tmp_path / "there").glob("*.o"))
    assert install_entries([("../escape", obj, meta), (key, "not bytes", meta), (key, obj, ["meta"])],
                           trial.fingerprint) == []
    stored = install_entries(trial.entries, trial.fingerprint)
    assert [name for name, _ in stored] == [f"{key}.o"]
    assert install_entries(trial.entries, trial.fingerprint) == []                 # already there
    assert cache.load(key) == (obj, meta)
    again = run_trial(train, {"optimizer": "SGD", "lr": 0.1, "hidden": 2}, 3)
    assert again.written == [] and again.compiles == 1                            # loaded, not compiled
    np.testing.assert_array_equal(again.history.losses, trial.history.losses)


def test_plot_colours_curves_by_a_config_entry(client, cache_dirs):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    configs = grid(optimizer=["SGD", "Adam"], lr=[0.3, 0.01], seed=[0]) + [{"optimizer": "SGD", "fail": "raise"}]
    result = sweep(train, configs, client=client, progress=False)
    ax = result.plot(color_by="lr")
    assert len(ax.lines) == 4                                   # the failed trial is left out
    colours = {line.get_color() for line in ax.lines}
    assert len({tuple(c) for c in colours}) == 2                 # one per learning rate
    assert ax.figure.axes[-1].get_ylabel() == "lr"               # a colour bar for numbers
    ax = result.plot(color_by="optimizer")
    assert sorted(t.get_text() for t in ax.get_legend().get_texts()) == ["optimizer = Adam", "optimizer = SGD"]
    with pytest.raises(KeyError, match="no config entry 'momentum'"):
        result.plot(color_by="momentum")
    plt.close("all")


def test_progress_bar_counts_trials(client, cache_dirs, capsys):
    sweep(train, grid(optimizer=["SGD"], lr=[0.1, 0.2], seed=[0]), client=client, progress=True)
    err = capsys.readouterr().err
    assert "trials: 100%" in err and "2/2" in err


def test_an_empty_sweep_and_bad_arguments(client):
    empty = sweep(train, [])
    assert empty.frame.empty and empty.compile_stats["objects_compiled"] == 0
    with pytest.raises(TypeError, match="config keys must be strings"):
        sweep(train, [{1: 2}])
    with pytest.raises(ValueError, match="workers must be at least 1, got 0"):
        sweep(train, [{"lr": 0.1}], workers=0)
    with pytest.raises(ValueError, match="a given client or scheduler brings its own"):
        sweep(train, [{"lr": 0.1}], client=client, workers=2)


def test_rows_take_best_as_asked_and_groups_follow_structure(tmp_path, monkeypatch):
    """In-process trials: what a row says about a history, and the structure grouping the pilots come from."""
    from symnet.sweep import SweepResult, _structure_of

    monkeypatch.setenv("SYMNET_CACHE_DIR", str(tmp_path))
    trials = [run_trial(train, {"optimizer": "SGD", "lr": 0.5, "hidden": 3}, 5, index=0)]
    h = trials[0].history
    assert h.metrics["weight_norm"][0] != h.metrics["weight_norm"][1]
    low, high = SweepResult(trials).frame, SweepResult(trials, maximize=["weight_norm"]).frame
    assert low.best_weight_norm[0] == min(h.metrics["weight_norm"])
    assert high.best_weight_norm[0] == max(h.metrics["weight_norm"])
    assert list(low.columns) == ["optimizer", "lr", "hidden", "trial_seed", "status", "error", "steps", "final_loss",
                                 "best_loss", "final_weight_norm", "best_weight_norm", "first_bias", "seconds",
                                 "compiles", "worker"]
    by_default = _structure_of(None)
    assert by_default({"optimizer": "SGD", "lr": 0.1, "seed": 1}) == by_default({"optimizer": "SGD", "lr": 0.2})
    assert by_default({"optimizer": "SGD"}) != by_default({"optimizer": "Adam"})
    assert _structure_of(["hidden"])({"hidden": 3, "optimizer": "SGD"}) == _structure_of(["hidden"])({"hidden": 3})
    assert _structure_of(len)({"a": 1}) == 1


def test_importing_symnet_needs_neither_dask_nor_pandas():
    import subprocess
    import sys

    code = "import symnet.sweep, sys; print(sorted({'dask', 'distributed', 'pandas'} & set(sys.modules)))"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "[]\n"


def test_symnet_sweep_command_runs_the_optimizers_example(client, cache_dirs, tmp_path, capsys):
    args = argparse.Namespace(name="optimizers", scheduler=client.scheduler.address, workers=None, seed=0,
                              out=str(tmp_path / "out"), color_by="lr")
    assert sweep_command(args) == 0
    out = capsys.readouterr().out
    assert "45 trials, 0 failed; 5 structures" in out
    table = pd.read_csv(tmp_path / "out" / "optimizers_sweep.csv")
    assert len(table) == 45 and set(table.optimizer) == {"SGD", "Momentum", "Adagrad", "RMSprop", "Adam"}
    assert set(table.lr) == {0.003, 0.01, 0.03} and set(table.seed) == {0, 1, 2} and (table.status == "ok").all()
    assert (tmp_path / "out" / "optimizers_sweep.png").stat().st_size > 10_000
    from symnet.cli import CLIError

    with pytest.raises(CLIError, match="no sweep for 'lenet'; the sweeps are: optimizers"):
        sweep_command(argparse.Namespace(**{**vars(args), "name": "lenet"}))


def killer(config: dict) -> dict:
    if config["kill"]:
        os._exit(3)  # the worker process dies mid-trial
    return train(config)


def test_a_killed_worker_fails_only_its_trial(client, cache_dirs):
    """Last in the module: the worker that dies is replaced by its nanny."""
    configs = [{"optimizer": "SGD", "lr": 0.1, "kill": False}, {"optimizer": "SGD", "lr": 0.2, "kill": True},
               {"optimizer": "SGD", "lr": 0.3, "kill": False}]
    result = sweep(killer, configs, client=client, structure=["kill"], progress=False)
    assert list(result.frame.status) == ["ok", "error", "ok"]
    assert result.frame.error[1].startswith("KilledWorker")
