"""On-disk cache of compiled objects, keyed by what the object depends on.

Entries live in ``$SYMNET_CACHE_DIR`` (default ``~/.cache/symnet``), one file per key holding the object and
the small metadata the runtime needs (so a hit skips IR emission entirely), written atomically
(temporary file, then rename), so two processes compiling the same graph both succeed and a reader never
sees half a file. A corrupt or unreadable entry is a miss: the caller recompiles and overwrites it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path

MAGIC = b"SNOBJ2\n"


def cache_dir() -> Path:
    root = os.environ.get("SYMNET_CACHE_DIR")
    return Path(root) if root else Path.home() / ".cache" / "symnet"


def key(*parts: str) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(p.encode())
        h.update(b"\0")
    return h.hexdigest()


def load(k: str) -> tuple[bytes, dict] | None:
    """The object and its metadata, or None when missing, truncated or corrupt."""
    try:
        data = (cache_dir() / f"{k}.o").read_bytes()
    except OSError:
        return None
    head = len(MAGIC) + 32 + 4
    if not data.startswith(MAGIC) or len(data) < head:
        return None
    digest, body = data[len(MAGIC):len(MAGIC) + 32], data[len(MAGIC) + 32:]
    if hashlib.sha256(body).digest() != digest:
        return None
    size = int.from_bytes(body[:4], "little")
    try:
        meta = json.loads(body[4:4 + size])
    except ValueError:
        return None
    return body[4 + size:], meta


def store(k: str, obj: bytes, meta: dict) -> None:
    """Write atomically; failing to write (read-only home, full disk) only costs the next compile."""
    directory = cache_dir()
    encoded = json.dumps(meta).encode()
    body = len(encoded).to_bytes(4, "little") + encoded + obj
    tmp = None
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{k[:16]}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            f.write(MAGIC + hashlib.sha256(body).digest() + body)
        os.replace(tmp, directory / f"{k}.o")
    except OSError:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
