"""On-disk cache of compiled objects, keyed by what the object depends on.

Entries live in ``$SYMNET_CACHE_DIR`` (default ``~/.cache/symnet``), one file per key, written atomically
(temporary file, then rename), so two processes compiling the same graph both succeed and a reader never
sees half a file. A corrupt or unreadable entry is a miss: the caller recompiles and overwrites it.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

MAGIC = b"SNOBJ1\n"


def cache_dir() -> Path:
    root = os.environ.get("SYMNET_CACHE_DIR")
    return Path(root) if root else Path.home() / ".cache" / "symnet"


def key(*parts: str) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(p.encode())
        h.update(b"\0")
    return h.hexdigest()


def load(k: str) -> bytes | None:
    try:
        data = (cache_dir() / f"{k}.o").read_bytes()
    except OSError:
        return None
    if not data.startswith(MAGIC) or len(data) < len(MAGIC) + 32:
        return None
    digest, body = data[len(MAGIC):len(MAGIC) + 32], data[len(MAGIC) + 32:]
    return body if hashlib.sha256(body).digest() == digest else None


def store(k: str, obj: bytes) -> None:
    """Write atomically; failing to write (read-only home, full disk) only costs the next compile."""
    directory = cache_dir()
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{k[:16]}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            f.write(MAGIC + hashlib.sha256(obj).digest() + obj)
        os.replace(tmp, directory / f"{k}.o")
    except OSError:
        return
