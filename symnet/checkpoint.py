"""Checkpoints: ``save``/``load`` of nested state (model and optimizer state dicts, numbers, strings) as
``.npz`` — arrays as arrays, everything else as one JSON entry; never pickle. Writes are atomic (a temporary
file in the same folder, then a rename), so a process killed mid-write leaves the previous file intact."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path

import numpy as np

from .nn.module import Module

_JSON = "__json__"


def _flatten(obj, prefix: str, arrays: dict, scalars: dict) -> None:
    if isinstance(obj, Module):
        obj = obj.state_dict()
    if isinstance(obj, dict):
        for key, value in obj.items():
            if "/" in str(key):
                raise ValueError(f"save: key {key!r} may not contain '/'")
            _flatten(value, f"{prefix}{key}/", arrays, scalars)
    elif isinstance(obj, np.ndarray):
        if obj.dtype == object:
            raise TypeError(f"save: {prefix[:-1]} is an object array; only numeric arrays are saved")
        arrays[prefix[:-1]] = obj
    elif obj is None or isinstance(obj, (bool, int, float, str, list, tuple)):
        scalars[prefix[:-1]] = list(obj) if isinstance(obj, tuple) else obj
    elif isinstance(obj, np.generic):
        scalars[prefix[:-1]] = obj.item()
    else:
        raise TypeError(f"save: cannot store {type(obj).__name__} at {prefix[:-1]!r} (no pickle)")


def save(obj, path: str | Path) -> None:
    """Write a state (a dict of state dicts, arrays and plain values, or a Module) to ``path`` atomically."""
    arrays: dict[str, np.ndarray] = {}
    scalars: dict = {}
    _flatten(obj, "", arrays, scalars)
    path = Path(path)
    _remove_stale_temporaries(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays, **{_JSON: np.array(json.dumps(scalars))})
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _remove_stale_temporaries(path: Path) -> None:
    """Temporaries of saves to ``path`` whose writing process is gone (killed mid-write) are removed."""
    for tmp in path.parent.glob(f".{path.name}.*.tmp"):
        pid = tmp.name[len(path.name) + 2:].split(".", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            with contextlib.suppress(OSError):
                tmp.unlink()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def load(path: str | Path) -> dict:
    """Read a checkpoint written by ``save`` back into nested dicts (``int`` keys restored where they were)."""
    with np.load(Path(path), allow_pickle=False) as data:
        if _JSON not in data.files:
            raise ValueError(f"{path}: not a symnet checkpoint (no {_JSON} entry)")
        flat = {k: data[k] for k in data.files if k != _JSON}
        flat.update(json.loads(str(data[_JSON])))
    root: dict = {}
    for key, value in flat.items():
        node = root
        *parents, leaf = key.split("/")
        for part in parents:
            node = node.setdefault(_key(part), {})
        node[_key(leaf)] = value
    return root


def _key(part: str):
    return int(part) if part.isdigit() and part == str(int(part)) else part
