"""Sweeps: many small trainings at once on Dask — a local cluster of processes by default, or any Dask cluster.

    result = sn.sweep(train, sn.sweep.grid(lr=[0.1, 0.01], optimizer=["SGD", "Adam"], seed=[0, 1]))
    result.frame            # one row per trial: config, trial seed, status, final and best metrics, seconds
    result.plot(color_by="lr")

``train(config)`` builds and fits a model and returns a dict: ``"history"`` (what ``fit`` returns, or a list of
per-step losses) and any scalar metrics. Each trial runs after ``sn.manual_seed(trial_seed(config, seed))``, so a
trial's numbers do not depend on where or in which order it runs: the sweep equals the plain loop
``for c in configs: sn.manual_seed(trial_seed(c, seed)); train(c)``. A trial that raises, or whose loss turns NaN
or infinite, is recorded with its error; the others finish.

Compile once per structure. Configs are grouped by ``structure`` (by default the config without its ``seed`` and
``lr``: symnet feeds the learning rate to the compiled step as data and the seed changes only initial values). The
first trial of each group (its pilot) runs first; the group's other trials follow once it is done, so they find
its compiled objects in the on-disk object cache (``codegen/cache.py``) which the workers of one machine share. On
a cluster of several machines (several cache folders), the pilot returns the cache entries it used, read back
through the cache's own checks, and they are stored into the other folders whose CPU fingerprint
(``codegen.jit.host_fingerprint``) equals the pilot's; a different CPU refuses them and compiles for itself.
Entries travel as plain bytes and JSON metadata; nothing read from a cache file is ever unpickled or evaluated,
and an entry is used only under its own key, as for any cache entry. The grouping only schedules: a wrong
grouping costs a compile, never a result.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import re
import time
import traceback
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from codegen import cache, jit

from . import pipeline
from .frontend.creation import manual_seed
from .train.history import running_mean

if TYPE_CHECKING:
    import pandas as pd

#: config entries that never change the compiled structure (the default grouping leaves them out)
DATA_KEYS = ("seed", "lr")
_ENTRY_NAME = re.compile(r"[0-9a-f]{64}\.o")

Config = Mapping[str, Any]


def grid(**axes: Sequence) -> list[dict]:
    """Every combination of the given values, the last axis varying fastest.

    >>> grid(lr=[0.1, 0.01], seed=[0, 1])
    [{'lr': 0.1, 'seed': 0}, {'lr': 0.1, 'seed': 1}, {'lr': 0.01, 'seed': 0}, {'lr': 0.01, 'seed': 1}]
    """
    for name, values in axes.items():
        if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
            raise TypeError(f"grid: {name} must be a list of values, got {values!r}")
    names, values = list(axes), [list(v) for v in axes.values()]
    for name, options in zip(names, values, strict=True):
        if not options:
            raise ValueError(f"grid: {name} has no values")
    return [dict(zip(names, combination, strict=True)) for combination in itertools.product(*values)]


def _canonical(config: Config) -> str:
    """The config as stable text (keys sorted; tuples and lists alike; anything else by its repr)."""
    return json.dumps(dict(config), sort_keys=True, default=repr)


def trial_seed(config: Config, base: int = 0) -> int:
    """The seed a trial runs with: a hash of the config and the base seed (the same on every machine and run)."""
    digest = hashlib.sha256(f"{int(base)}\0{_canonical(config)}".encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


# ---------------------------------------------------------------- one trial, as a worker runs it


@dataclass
class Trial:
    """What one trial left: plain data, so it travels back from a worker."""

    index: int
    config: dict
    seed: int
    status: str = "ok"  # ok | error | nan
    error: str | None = None
    traceback: str | None = None
    history: Any = None
    metrics: dict = field(default_factory=dict)
    seconds: float = 0.0
    #: executables built in the trial (0: the worker had the structure in memory already)
    compiles: int = 0
    worker: str = ""
    storage: tuple = ()
    #: cache entries (name, inode) that appeared or were rewritten while the trial ran: compiled objects
    written: list = field(default_factory=list)
    #: cache entries (key, object, metadata) the trial used, when asked to ship them to other machines
    entries: list = field(default_factory=list)
    fingerprint: str = ""


def _host() -> str:
    import socket  # a sweep's alone: ``import symnet`` does not load it (about 4 ms)

    return socket.gethostname()


def _storage() -> tuple[str, str]:
    """Where this process keeps compiled objects: its machine and cache folder."""
    return _host(), os.path.abspath(cache.cache_dir())


def _entries() -> dict[str, tuple[int, int]]:
    """The object cache's entries by file name: (inode, modification time in ns); names only, nothing read."""
    found = {}
    try:
        with os.scandir(cache.cache_dir()) as listing:
            for entry in listing:
                if _ENTRY_NAME.fullmatch(entry.name) and entry.is_file(follow_symlinks=False):
                    info = entry.stat(follow_symlinks=False)
                    found[entry.name] = (info.st_ino, info.st_mtime_ns)
    except OSError:
        pass
    return found


def _outcome(trial: Trial, returned: Any) -> None:
    """Split what ``train`` returned into the history and scalar metrics; a non-finite loss fails the trial."""
    if not isinstance(returned, Mapping):
        raise TypeError(f"train(config) must return a dict of metrics and 'history', got {type(returned).__name__}")
    for name, value in returned.items():
        if name == "history":
            trial.history = value
        elif isinstance(value, (bool, int, float, str, np.number, np.bool_)) or value is None:
            trial.metrics[name] = value.item() if isinstance(value, (np.number, np.bool_)) else value
        else:
            raise TypeError(f"train(config) returned {name!r} as {type(value).__name__}: metrics must be numbers "
                            "or strings ('history' holds the losses)")
    if trial.history is not None:
        losses = np.asarray(trial.history, dtype=np.float64).ravel()
        bad = np.flatnonzero(~np.isfinite(losses))
        if bad.size:
            trial.status, trial.error = "nan", f"loss is {losses[bad[0]]} at step {bad[0] + 1}"


def run_trial(train: Callable[[dict], Mapping], config: Config, seed: int, index: int = 0,
              ship: bool = False) -> Trial:
    """Seed, run ``train(config)`` and record it; any exception becomes the trial's error, never the sweep's.
    With ``ship``, the cache entries the trial used come back with it (for the other machines of a cluster)."""
    trial = Trial(index=index, config=dict(config), seed=seed, storage=_storage(),
                  worker=f"{_host()}:{os.getpid()}")
    before, compiles = _entries(), pipeline.timings()["compile"][0]
    began_ns, began = time.time_ns(), time.perf_counter()
    try:
        manual_seed(seed)
        _outcome(trial, train(dict(config)))
    except Exception as exc:  # the trial fails, the sweep goes on
        trial.status, trial.error, trial.traceback = "error", f"{type(exc).__name__}: {exc}", traceback.format_exc()
        trial.history, trial.metrics = None, {}
    trial.seconds = time.perf_counter() - began
    trial.compiles = pipeline.timings()["compile"][0] - compiles
    after = _entries()
    trial.written = [(name, ino) for name, (ino, _) in after.items() if before.get(name, (None,))[0] != ino]
    if ship:
        trial.entries, trial.fingerprint = _read_entries(n for n, (_, t) in after.items() if t >= began_ns)
    return trial


def _read_entries(names: Iterable[str]) -> tuple[list, str]:
    """The named cache entries as (key, object, metadata), read through the cache's checks, and this CPU's
    fingerprint."""
    entries = []
    for name in names:
        loaded = cache.load(name[:-2])
        if loaded is not None:
            entries.append((name[:-2], loaded[0], loaded[1]))
    return entries, jit.host_fingerprint()


def install_entries(entries: Sequence[tuple[str, bytes, dict]], fingerprint: str) -> list[tuple[str, int]]:
    """Store another machine's cache entries here when this CPU is the same and they are missing; returns what
    was stored (file name, inode). They are data: each goes through ``cache.store`` under its own key and is used
    only on a match of that key, which names this CPU and this codegen — a different CPU would never look it up,
    so it is refused at once."""
    if fingerprint != jit.host_fingerprint():
        return []
    stored = set()
    for key, obj, meta in entries:
        valid = isinstance(key, str) and _ENTRY_NAME.fullmatch(f"{key}.o") and isinstance(obj, bytes)
        if valid and isinstance(meta, dict) and cache.load(key) is None:
            cache.store(key, obj, meta)
            stored.add(f"{key}.o")
    return [(name, ino) for name, (ino, _) in _entries().items() if name in stored]


# ---------------------------------------------------------------- results


def _final_and_best(name: str, values: Sequence[float], maximize: bool) -> dict:
    values = np.asarray(values, dtype=np.float64)
    if not values.size:
        return {}
    best = np.nanmax(values) if maximize else np.nanmin(values)
    return {f"final_{name}": float(values[-1]), f"best_{name}": float(best)}


class SweepResult:
    """The trials of a sweep: ``frame`` (pandas, one row per trial), ``histories``, ``failed``, ``compile_stats``
    and ``plot(color_by=…)``."""

    def __init__(self, trials: list[Trial], maximize: Iterable[str] = (), stats: dict | None = None):
        self.trials = sorted(trials, key=lambda t: t.index)
        self.maximize = frozenset(maximize)
        self.compile_stats = stats if stats is not None else compile_stats(self.trials, 0, {})

    @property
    def histories(self) -> list:
        """Each trial's history (None for a trial that raised), in config order."""
        return [t.history for t in self.trials]

    @property
    def failed(self) -> list[Trial]:
        return [t for t in self.trials if t.status != "ok"]

    def row(self, trial: Trial) -> dict:
        """One trial's row: its config, seed, status, final and best loss and metrics, time and compiles."""
        row = {**trial.config, "trial_seed": trial.seed, "status": trial.status, "error": trial.error}
        h = trial.history
        if h is not None:
            losses = np.asarray(h, dtype=np.float64).ravel()
            per_epoch = getattr(h, "epoch_loss", None) or losses
            row["steps"] = int(losses.size)
            row.update(_final_and_best("loss", per_epoch, maximize=False))
            for name, values in getattr(h, "metrics", {}).items():
                row.update(_final_and_best(name, values, maximize=name in self.maximize))
        row.update(trial.metrics)
        row.update({"seconds": trial.seconds, "compiles": trial.compiles, "worker": trial.worker})
        return row

    @property
    def frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame([self.row(t) for t in self.trials])

    def plot(self, color_by: str, ax=None, title: str | None = None):
        """Every trial's loss per step (its running mean over an epoch), coloured by the config entry
        ``color_by``: a colour scale for numbers (logarithmic when they span a factor of 10 or more), one colour
        per value otherwise. Failed trials are left out. Returns the Axes."""
        import matplotlib.pyplot as plt
        from matplotlib import colors

        shown = [t for t in self.trials if t.status == "ok" and t.history is not None]
        missing = [t.index for t in shown if color_by not in t.config]
        if missing or not shown:
            raise KeyError(f"plot: no config entry {color_by!r} in trial {missing[0] if missing else '(none)'}; "
                           f"the configs have {sorted({k for t in self.trials for k in t.config})}")
        if ax is None:
            ax = plt.subplots(figsize=(7, 4.5))[1]
        values = [t.config[color_by] for t in shown]
        numeric = all(isinstance(v, (int, float, np.number)) and not isinstance(v, bool) for v in values)
        if numeric:
            low, high = float(min(values)), float(max(values))
            logarithmic = low > 0 and high / low >= 10
            norm = colors.LogNorm(low, high) if logarithmic else colors.Normalize(low, high if high > low else low + 1)
            cmap = plt.get_cmap("viridis")
            colour = {v: cmap(norm(v)) for v in values}
        else:
            order = list(dict.fromkeys(map(repr, values)))
            colour = {v: f"C{order.index(repr(v)) % 10}" for v in values}
        labelled: set[str] = set()
        for t, value in zip(shown, values, strict=True):
            losses = np.asarray(t.history, dtype=np.float64).ravel()
            epochs = len(getattr(t.history, "epoch_loss", ()) or ()) or 1
            window = max(1, losses.size // epochs)
            label = None if numeric or repr(value) in labelled else f"{color_by} = {value}"
            labelled.add(repr(value))
            ax.plot(np.arange(1, losses.size + 1), running_mean(losses, window), color=colour[value], lw=1.0,
                    alpha=0.8, label=label)
        if numeric:
            mappable = plt.cm.ScalarMappable(norm=norm, cmap=cmap)
            ax.figure.colorbar(mappable, ax=ax, label=color_by)
        else:
            ax.legend(fontsize="small")
        every = np.concatenate([np.asarray(t.history, dtype=np.float64).ravel() for t in shown])
        if every.size and np.min(every) > 0 and np.max(every) / np.min(every) > 100:
            ax.set_yscale("log")
        ax.set_xlabel("step")
        ax.set_ylabel("loss (running mean over an epoch)")
        ax.set_title(title or f"{len(shown)} trials, coloured by {color_by}")
        return ax

    def __repr__(self) -> str:
        return f"SweepResult({len(self.trials)} trials, {len(self.failed)} failed)"


# ---------------------------------------------------------------- the sweep


def _structure_of(structure: Callable[[dict], Hashable] | Sequence[str] | None) -> Callable[[dict], Hashable]:
    if callable(structure):
        return structure
    if structure is None:
        return lambda c: _canonical({k: v for k, v in c.items() if k not in DATA_KEYS})
    keys = list(structure)
    return lambda c: _canonical({k: c.get(k) for k in keys})


def _client(client, workers: int | None):
    """The Client to run on and what to close afterwards: a LocalCluster of processes (one per core) by
    default, a given Client as is, or a new Client of a scheduler address."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ImportError("sn.sweep runs on Dask: pip install 'symnet[sweep]' (dask[distributed], pandas)") from None
    if client is None:
        n = workers or os.cpu_count() or 1
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=":0")
        own = Client(cluster)
        return own, [own, cluster]
    if isinstance(client, str):
        own = Client(client)
        return own, [own]
    return client, []


def sweep(train: Callable[[dict], Mapping], configs: Iterable[Config], *, client=None, workers: int | None = None,
          seed: int = 0, structure: Callable[[dict], Hashable] | Sequence[str] | None = None,
          maximize: Iterable[str] = (), progress: bool | None = None) -> SweepResult:
    """Run ``train(config)`` for every config on Dask and gather the results.

    ``client``: None for a LocalCluster of ``workers`` processes (default: one per core), a
    ``distributed.Client``, or a scheduler address. ``seed``: the base of every trial's seed (``trial_seed``).
    ``structure``: config keys (or a function of the config) that decide the compiled structure — see the module
    docstring. ``maximize``: per-epoch metrics whose best is the largest (``best_<name>``; losses and the rest
    take the smallest). ``progress``: a bar over trials (None: on a terminal).
    """
    from distributed import as_completed
    from tqdm.auto import tqdm

    if workers is not None and (client is not None or workers < 1):
        raise ValueError(f"sweep: workers must be at least 1, got {workers}" if workers < 1 else
                         "sweep: workers= sizes the local cluster; a given client or scheduler brings its own")
    configs = [dict(c) for c in configs]
    for c in configs:
        if not all(isinstance(k, str) for k in c):
            raise TypeError(f"sweep: config keys must be strings, got {c!r}")
    group_of = _structure_of(structure)
    groups: dict[Hashable, list[int]] = {}
    for k, c in enumerate(configs):
        groups.setdefault(group_of(c), []).append(k)
    seeds = [trial_seed(c, seed) for c in configs]
    if not configs:
        return SweepResult([], maximize)
    client, owned = _client(client, workers)
    try:
        storages = client.run(_storage)
        ship = len(set(storages.values())) > 1
        one_per_storage = {s: w for w, s in sorted(storages.items())}

        index = {}

        def submit(k: int, pilot: bool):
            future = client.submit(run_trial, train, configs[k], seeds[k], k, ship and pilot, pure=False)
            index[future.key] = k
            return future

        pilots = {submit(members[0], True): members for members in groups.values()}
        running = as_completed(list(pilots))
        trials, shipped = [], {}
        bar = tqdm(total=len(configs), desc="trials", unit="trial", disable=(not progress) if progress is not None
                   else None)
        with bar:
            for future in running:
                trial = _collect(future, index[future.key], configs, seeds)
                trials.append(trial)
                bar.update(1)
                bar.set_postfix(failed=sum(t.status != "ok" for t in trials), refresh=False)
                members = pilots.get(future)
                if members is None:
                    continue
                if trial.entries:
                    targets = [w for s, w in one_per_storage.items() if s != tuple(trial.storage)]
                    stored = client.run(install_entries, trial.entries, trial.fingerprint, workers=targets)
                    for w, objects in stored.items():
                        shipped.setdefault(":".join(storages[w]), set()).update(objects)
                    trial.entries = []
                running.update(submit(k, False) for k in members[1:])
    finally:
        for resource in owned:
            resource.close()
    return SweepResult(trials, maximize, compile_stats(trials, len(groups), shipped))


def _collect(future, trial_index: int, configs: list[dict], seeds: list[int]) -> Trial:
    """The trial a future ran; a future that failed outside ``train`` (a killed worker) is a failed trial too."""
    try:
        return future.result()
    except Exception as exc:
        return Trial(index=trial_index, config=configs[trial_index], seed=seeds[trial_index], status="error",
                     error=f"{type(exc).__name__}: {exc}")


def compile_stats(trials: list[Trial], structures: int, shipped: dict[str, set]) -> dict:
    """Compile reuse over the sweep, per cache folder ("host:folder"): the objects compiled there (an entry
    written twice counts twice: it was compiled twice; one shipped in is not compiled) next to the distinct
    objects; executables built in all (the rest of them came from the cache); objects shipped in."""
    written: dict[str, set] = {}
    for t in trials:
        if t.storage:
            written.setdefault(":".join(t.storage), set()).update(map(tuple, t.written))
    compiled = {where: objects - shipped.get(where, set()) for where, objects in written.items()}
    per_machine = {where: len(objects) for where, objects in compiled.items()}
    executables = sum(t.compiles for t in trials)
    return {"structures": structures, "executables": executables, "objects_compiled": sum(per_machine.values()),
            "objects_distinct": sum(len({name for name, _ in objects}) for objects in compiled.values()),
            "objects_compiled_per_machine": per_machine,
            "objects_reused": max(executables - sum(per_machine.values()), 0),
            "objects_shipped": sum(map(len, shipped.values()))}


sweep.grid = grid  # sn.sweep.grid(lr=[…], seed=[…])


# ---------------------------------------------------------------- `symnet sweep NAME`


def sweep_command(args) -> int:
    """``symnet sweep NAME``: run ``examples/NAME_sweep.py``'s ``NAME_sweep(client=, workers=, seed=,
    progress=)``, print its trials best first and the compile reuse, save the table as CSV and the loss curves
    as PNG under ``--out``."""
    from .cli import CLIError, examples_folder, load_example

    path = examples_folder() / f"{args.name}_sweep.py"
    if not path.is_file():
        known = sorted(p.stem.removesuffix("_sweep") for p in examples_folder().glob("*_sweep.py"))
        raise CLIError(f"no sweep for {args.name!r}; the sweeps are: {', '.join(known)}")
    run = getattr(load_example(str(path), need_program=False), f"{args.name}_sweep", None)
    if run is None:
        raise CLIError(f"{path} defines no {args.name}_sweep()")
    if args.workers is not None and args.workers < 1:
        raise CLIError(f"--workers must be at least 1, got {args.workers}")
    result = run(client=args.scheduler, workers=args.workers, seed=args.seed, progress=None)
    frame, stats = result.frame, result.compile_stats
    shown = [c for c in (*result.trials[0].config, "final_loss", "best_loss", "seconds", "status", "error")
             if c in frame.columns]
    order = frame.sort_values("best_loss", na_position="last") if "best_loss" in frame.columns else frame
    folder = Path(args.out)
    folder.mkdir(parents=True, exist_ok=True)
    table, figure = folder / f"{args.name}_sweep.csv", folder / f"{args.name}_sweep.png"
    frame.to_csv(table, index=False)
    print(f"{order[shown].to_string(index=False)}\n\n"  # noqa: T201 - the command's output
          f"{len(frame)} trials, {len(result.failed)} failed; {stats['structures']} structures: "
          f"{stats['objects_compiled']} objects compiled, {stats['objects_reused']} reused from the cache, "
          f"{stats['objects_shipped']} shipped to other machines\nsaved {table}")
    keys = {k for t in result.trials for k in t.config}
    if args.color_by not in keys:
        raise CLIError(f"--color-by {args.color_by!r} is not a config entry (the configs have "
                       f"{', '.join(sorted(keys))}): no figure")
    import matplotlib

    matplotlib.use("Agg")
    result.plot(color_by=args.color_by).figure.savefig(figure, dpi=110, bbox_inches="tight")
    print(f"saved {figure}")  # noqa: T201
    return 0
