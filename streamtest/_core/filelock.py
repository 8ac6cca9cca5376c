"""Saving a cassette that other processes may be saving too (pytest-xdist workers sharing one).

Each save is atomic already (a temporary file renamed into place). What needs a lock is the
read-merge-write around it: a session re-reads the file another process changed and adds its
own recordings, so neither process's recordings are lost (see ``Session.finish``).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

FileState = tuple[int, int, int] | None
"""A file's inode, modification time and size, or None when it does not exist."""


def file_state(path: Path) -> FileState:
    """What tells whether ``path`` was replaced or changed since it was last looked at."""
    try:
        stat = path.stat()
    except OSError:
        return None
    return (stat.st_ino, stat.st_mtime_ns, stat.st_size)


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock while inside, shared by every process saving a cassette in
    ``path``'s folder. The lock is ``flock`` on the folder itself, so no lock file is left
    beside the cassettes; it is released when the descriptor closes, even if the process dies.
    Where ``flock`` is missing (Windows) or refused (some network file systems), saves run
    unlocked, as they did before."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not on POSIX
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path.parent, os.O_RDONLY)
    except OSError:
        yield
        return
    try:
        with contextlib.suppress(OSError):
            fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)
