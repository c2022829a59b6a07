"""On-disk cache of compiled objects, keyed by what the object depends on — and treated as untrusted input.

Entries live in ``$SYMNET_CACHE_DIR`` (default ``~/.cache/symnet``), one file per key holding the object and the
small metadata the runtime needs (so a hit skips IR emission entirely), written atomically (temporary file,
then rename) so two processes compiling the same graph both succeed and a reader never sees half a file.

What is read is never evaluated: the metadata is JSON of plain strings and numbers. An entry carries its own
key and a digest of its content, and is used only when both match (a swapped, truncated or corrupt entry is a
miss: the caller recompiles and overwrites it). Only regular files are read, without following symlinks and
up to a size bound (a symlink to a FIFO or to /dev/zero is a miss, not a hang). A cache folder owned by
someone else, or writable by group or others, is not used at all (one warning; programs compile in memory);
folders are created 0700. The cache is capped (``SYMNET_CACHE_MAX_MB``, default 256): past the cap, the least
recently used entries go, down to ``LOW_WATER`` of it. A process measures a folder once, at its first store
there, and then counts what it writes (another process's writes are seen at its next measure): scanning the
folder at every store cost ~5 µs an entry, 40 ms a compile once the cache held 8000 entries.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
import tempfile
import threading
import warnings
from pathlib import Path

MAGIC = b"SNOBJ3\n"
MAX_ENTRY = 64 << 20  # bytes: no compiled graph comes near; anything larger is not ours
LOW_WATER = 0.9  # an eviction leaves the cache at this share of its cap, so the next stores need no measure
_warned: set[str] = set()
_lock = threading.Lock()
_usage: dict[str, int] = {}  # per folder: its bytes at this process's last measure, plus what it stored since


def cache_dir() -> Path:
    root = os.environ.get("SYMNET_CACHE_DIR")
    return Path(root) if root else Path.home() / ".cache" / "symnet"


def capacity() -> int:
    """The cache's size cap in bytes."""
    try:
        return max(int(float(os.environ.get("SYMNET_CACHE_MAX_MB", "256")) * (1 << 20)), 0)
    except ValueError:
        return 256 << 20


def key(*parts: str) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(p.encode())
        h.update(b"\0")
    return h.hexdigest()


def _usable(directory: Path, create: bool) -> bool:
    """The folder exists (or is made, 0700) as a real directory owned by this user and writable by no one
    else; otherwise it is not used, with one warning."""
    if create:
        with contextlib.suppress(OSError):
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        info = os.lstat(directory)
    except OSError:
        info = None
    problem = None
    if info is None:
        problem = "cannot be created"
    elif not stat.S_ISDIR(info.st_mode):
        problem = "is not a directory"
    elif hasattr(os, "getuid") and info.st_uid != os.getuid():
        problem = f"is owned by user {info.st_uid}, not by you"
    elif info.st_mode & 0o022:
        problem = "is writable by group or others"
    if problem is None:
        return True
    if str(directory) not in _warned:
        _warned.add(str(directory))
        warnings.warn(f"symnet: the object cache {directory} {problem}; compiling in memory instead (set "
                      "SYMNET_CACHE_DIR to a folder of your own)", RuntimeWarning, stacklevel=4)
    return False


def _read_regular(path: Path) -> bytes | None:
    """The file's bytes if it is a regular file (no symlink followed, nothing that blocks) within the bound."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_ENTRY:
            return None
        chunks, left = [], info.st_size
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)
    except OSError:
        return None
    finally:
        os.close(fd)


#: the kinds of entry, by file suffix: compiled objects, and the steps and programs run from them
#: (``symnet.stored``)
KINDS = ("o", "step", "program")


def load(k: str, kind: str = "o") -> tuple[bytes, dict] | None:
    """The object and its metadata for key ``k``, or None (missing, foreign, corrupt, or another key's)."""
    directory = cache_dir()
    if not directory.exists() or not _usable(directory, create=False):
        return None
    path = directory / f"{k}.{kind}"
    data = _read_regular(path)
    if data is None or not data.startswith(MAGIC) or len(data) < len(MAGIC) + 32 + 6:
        return None
    digest, body = data[len(MAGIC):len(MAGIC) + 32], data[len(MAGIC) + 32:]
    own = k.encode()
    start = 2 + len(own)
    if hashlib.sha256(body).digest() != digest or body[:start] != len(own).to_bytes(2, "little") + own:
        return None  # corrupt, or another key's entry under this name
    size = int.from_bytes(body[start:start + 4], "little")
    try:
        meta = json.loads(body[start + 4:start + 4 + size].decode())
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(meta, dict):
        return None
    with contextlib.suppress(OSError):
        os.utime(path)  # recently used: evicted last
    return body[start + 4 + size:], meta


def store(k: str, obj: bytes, meta: dict, kind: str = "o") -> None:
    """Write atomically; failing to write (read-only home, full disk) only costs the next compile."""
    directory = cache_dir()
    if not _usable(directory, create=True):
        return
    encoded, own = json.dumps(meta).encode(), k.encode()
    body = len(own).to_bytes(2, "little") + own + len(encoded).to_bytes(4, "little") + encoded + obj
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{k[:16]}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            f.write(MAGIC + hashlib.sha256(body).digest() + body)
        os.replace(tmp, directory / f"{k}.{kind}")
    except OSError:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        return
    with _lock:
        counted = _usage.get(str(directory))
        if counted is not None:
            counted = _usage[str(directory)] = counted + len(MAGIC) + 32 + len(body)
    if counted is None or counted > capacity():
        evict(directory)


def evict(directory: Path | None = None) -> None:
    """Measure the folder; if it is past its cap, remove the least recently used entries down to ``LOW_WATER``
    of the cap."""
    directory = directory or cache_dir()
    with _lock:
        entries = []
        with contextlib.suppress(OSError):
            for entry in os.scandir(directory):
                if entry.name.rpartition(".")[2] in KINDS and entry.is_file(follow_symlinks=False):
                    info = entry.stat(follow_symlinks=False)
                    entries.append((info.st_mtime, info.st_size, entry.path))
        total, cap = sum(size for _, size, _ in entries), capacity()
        if total > cap:
            for _, size, path in sorted(entries):
                if total <= cap * LOW_WATER:
                    break
                with contextlib.suppress(OSError):
                    os.unlink(path)
                    total -= size
        _usage[str(directory)] = total
