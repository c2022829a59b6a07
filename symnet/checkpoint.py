"""Checkpoints: ``save``/``load`` of nested state (model and optimizer state dicts, tensors, numbers, strings) as
``.npz`` — arrays and tensors as arrays (tensors come back as tensors), everything else as one JSON entry; never
pickle, so nothing read is run as code. Writes are atomic (a temporary file in the same folder, then a rename), so
a process killed mid-write leaves the previous file intact."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import zipfile
from pathlib import Path
from typing import BinaryIO

import numpy as np

from . import whole_module
from .frontend.creation import tensor
from .frontend.tensor import Tensor
from .nn.module import Module

_JSON = "__json__"
_TENSORS = "__tensors__"  # the keys whose arrays were tensors
_MODULE = "__module__"  # a Module saved whole: its structure as data (``whole_module``), beside its state


def _flatten(obj, prefix: str, arrays: dict, scalars: dict, tensors: list) -> None:
    if isinstance(obj, Module):
        obj = obj.state_dict()
    if isinstance(obj, Tensor):
        tensors.append(prefix[:-1])
        obj = obj.detach()._array()
    if isinstance(obj, dict):
        for key, value in obj.items():
            if "/" in str(key):
                raise ValueError(f"save: key {key!r} may not contain '/'")
            _flatten(value, f"{prefix}{key}/", arrays, scalars, tensors)
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


def save(obj, path: str | Path | BinaryIO, pickle_module=None, pickle_protocol: int = 2) -> None:  # noqa: ARG001
    """Write a state (a tensor, a dict of state dicts, tensors, arrays and plain values, or a Module: its
    state_dict) to ``path`` atomically, or into a binary file object (``io.BytesIO``), as PyTorch's."""
    arrays: dict[str, np.ndarray] = {}
    scalars: dict = {}
    tensors: list[str] = []
    if isinstance(obj, Module):
        state = obj.state_dict()
        scalars[_MODULE], arrays = whole_module.describe(obj, {id(t._base): k for k, t in state.items()})
        obj = state
    _flatten(obj, "", arrays, scalars, tensors)
    if tensors:
        scalars[_TENSORS] = tensors
    if hasattr(path, "write"):  # a file object: the caller's to keep whole
        np.savez(path, **arrays, **{_JSON: np.array(json.dumps(scalars))})
        return
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


def load(path: str | Path | BinaryIO, map_location=None, pickle_module=None, *, weights_only: bool | None = None,
         mmap: bool | None = None, **pickle_load_args):  # noqa: ARG001 - torch's signature; the file holds data only
    """Read what ``save`` wrote: nested dicts (``int`` keys restored where they were), tensors where tensors were
    saved. A Module saved whole comes back as its state_dict with ``weights_only`` left out or True (PyTorch's
    default), and as the module object with ``weights_only=False``: rebuilt from data by ``whole_module`` (its
    class must be one the program defines; nothing in the file is run)."""
    try:
        data = np.load(path if hasattr(path, "read") else Path(path), allow_pickle=False)
    except (ValueError, EOFError, zipfile.BadZipFile) as exc:  # NumPy's words would suggest unpickling it
        raise ValueError(f"{path}: not a symnet checkpoint (an .npz archive of arrays, without pickles)") from exc
    if not isinstance(data, np.lib.npyio.NpzFile):
        raise ValueError(f"{path}: not a symnet checkpoint (one array, not an .npz archive)")
    with data:
        if _JSON not in data.files:
            raise ValueError(f"{path}: not a symnet checkpoint (no {_JSON} entry)")
        flat = {k: data[k] for k in data.files if k != _JSON}
        flat.update(json.loads(str(data[_JSON])))
    module, tensors = flat.pop(_MODULE, None), flat.pop(_TENSORS, [])
    extra = {k: flat.pop(k) for k in [k for k in flat if k.startswith(whole_module.EXTRA + "/")]}
    if not isinstance(tensors, list):
        raise ValueError(f"{path}: its list of tensors is not a list")
    for key in tensors:
        if not isinstance(key, str) or not isinstance(flat.get(key), np.ndarray):
            raise ValueError(f"{path}: entry {key!r} is listed as a tensor but holds no array")
        flat[key] = tensor(flat[key])  # NumPy's dtype kept, an unsupported one refused by name
    if module is not None and weights_only is False:  # the module object, rebuilt from data
        return whole_module.rebuild(module, {**flat, **extra}, repr(str(path)))
    if "" in flat:  # one tensor or array saved alone
        return flat[""]
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
