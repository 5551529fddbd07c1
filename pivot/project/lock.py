"""One project lock: two repro processes never interleave writes (DESIGN rule 10).

An advisory ``flock`` on ``.pivot/repro.lock``: the kernel releases it when the
holder dies, so a lock left by a killed process is taken over safely. The file
holds the holder's pid for the message a waiting process prints.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from pivot.errors import ProjectLockedError


@contextlib.contextmanager
def project_lock(path: Path, *, wait: bool = True, on_wait: Callable[[str], None] | None = None) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        _acquire(fd, path, wait, on_wait)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _acquire(fd: int, path: Path, wait: bool, on_wait: Callable[[str], None] | None) -> None:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return
    except BlockingIOError:
        holder = _holder(path)
    if not wait:
        raise ProjectLockedError(
            f"another pivot process (pid {holder}) is running in this project; wait for it or stop it",
            path=str(path),
        )
    if on_wait is not None:
        on_wait(f"waiting for another pivot process (pid {holder}) to finish...")
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            time.sleep(0.1)


def _holder(path: Path) -> str:
    try:
        return path.read_text().strip() or "unknown"
    except OSError:
        return "unknown"
