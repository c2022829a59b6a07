"""What the disk cache keeps besides compiled objects: derived programs and compiled steps, found again by the
durable key of the structure traced (``core.durable``), so a new process runs them without SymPy or LLVM.

An entry holds plain data only: the key of the compiled object (whose own entry carries its calling convention,
``codegen.interface``) and what the caller needs to bind arrays to it (names, positions). Read back it is
untrusted input: this module checks the envelope (version, object key), each caller its payload; anything that
does not fit is a miss, and the thing is derived as if nothing were cached.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import os

from codegen import cache

#: bump when an entry's meaning changes
VERSION = 1


@functools.lru_cache(maxsize=1)
def source_fingerprint() -> str:
    """What is derived depends on all of symnet's and codegen's code: any change to a file is another key. A file
    is known by its path, size and modification time in nanoseconds (an edit or a checkout changes them; reading
    every file would cost a warm start several milliseconds, and so would ``Path.rglob``'s objects)."""
    h = hashlib.sha256()
    codegen_root = os.path.dirname(importlib.util.find_spec("codegen").origin)
    for root in (os.path.dirname(os.path.abspath(__file__)), codegen_root):
        parent = os.path.dirname(root)
        for folder, subfolders, files in os.walk(root):
            subfolders[:] = sorted(d for d in subfolders if d != "__pycache__")
            for name in sorted(f for f in files if f.endswith(".py")):
                path = os.path.join(folder, name)
                info = os.stat(path)
                h.update(f"{os.path.relpath(path, parent)}|{info.st_size}|{info.st_mtime_ns}\n".encode())
    return h.hexdigest()


def key(kind: str, structure_digest: str) -> str:
    return cache.key(kind, str(VERSION), structure_digest, source_fingerprint())


def note(kind: str, entry_key: str | None, executable, payload: dict) -> None:
    """Keep an executable's entry for the next process, when it has a key and runs from its object alone (a native
    one whose interface is plain data); atomic, as every cache write."""
    interface = getattr(executable, "interface", None)
    if entry_key is not None and interface is not None and interface.plain:
        cache.store(entry_key, b"", {"version": VERSION, "object": executable.key, "payload": payload}, kind=kind)


def load(kind: str, entry_key: str) -> tuple[str, dict] | None:
    """The object key and payload stored under the key, or None; the caller checks the payload."""
    entry = cache.load(entry_key, kind=kind)
    if entry is None:
        return None
    meta = entry[1]
    object_key, payload = meta.get("object"), meta.get("payload")
    if meta.get("version") != VERSION or type(object_key) is not str or len(object_key) != 64:
        return None
    return (object_key, payload) if isinstance(payload, dict) else None
