"""Which files and folders a project load read: what the load cache is keyed by.

An audit hook (PEP 578) sees every ``open`` (builtins, ``io.open_code`` used by
imports, ``os.open``) and every folder listing (``os.listdir``/``os.scandir``,
which globbing and the import system's finders use) while a recording is
active. It is installed on the first recording only, so a process that never
misses the cache never pays for it. A read the hook cannot name (by file
descriptor) marks the recording as unusable: the caller then stores nothing.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

Signature = list[int] | None  # [mtime_ns, size, inode, ctime_ns], None: missing


def signature(path: str) -> Signature:
    """What the load cache compares a file or folder by."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [st.st_mtime_ns, st.st_size, st.st_ino, st.st_ctime_ns]


@dataclass
class Recording:
    files: set[str] = field(default_factory=set)
    params: set[str] = field(default_factory=set)  # read by the params resolver only (params_read)
    folders: set[str] = field(default_factory=set)
    unnamed: bool = False  # a read by descriptor: what was read is unknown
    thread: int = field(default_factory=threading.get_ident)  # the loading thread


_PSEUDO = ("/proc/", "/sys/", "/dev/")
_active: list[Recording] = []
_paused = 0
_installed = False


def _name(raw: object) -> str | None:
    if isinstance(raw, bytes):
        raw = os.fsdecode(raw)
    if isinstance(raw, os.PathLike):
        raw = os.fspath(raw)
    if isinstance(raw, bytes):
        raw = os.fsdecode(raw)
    return os.path.abspath(raw) if isinstance(raw, str) else None


def _hook(event: str, args: tuple[object, ...]) -> None:
    if not _active or _paused:
        return
    if event == "open":
        target, into = (args[0] if args else None), "files"
    elif event in ("os.listdir", "os.scandir"):
        target, into = (args[0] if args and args[0] is not None else "."), "folders"
    else:
        return
    name = _name(target)
    # Another thread's reads of kernel pseudo-files are a monitor's (distributed samples
    # /proc every few hundred ms in a process with a Dask client), not the load's: they
    # would change every time and make every load a miss. Its other reads stay recorded.
    foreign_noise = name is not None and name.startswith(_PSEUDO) and threading.get_ident()
    for rec in _active:
        if foreign_noise and foreign_noise != rec.thread:
            continue
        if name is None:
            rec.unnamed = True
        else:
            getattr(rec, into).add(name)


@contextlib.contextmanager
def recording() -> Iterator[Recording]:
    """Record every file opened and folder listed in this process until the block ends."""
    global _installed
    if not _installed:
        sys.addaudithook(_hook)
        _installed = True
    rec = Recording()
    _active.append(rec)
    try:
        yield rec
    finally:
        _active.remove(rec)


@contextlib.contextmanager
def paused() -> Iterator[None]:
    """Reads the cache checks another way (discovery's walk is compared as a list of files)."""
    global _paused
    _paused += 1
    try:
        yield
    finally:
        _paused -= 1


@contextlib.contextmanager
def params_read(path: str) -> Iterator[None]:
    """A params file read by Pivot's resolver: recorded apart from the load's other reads, so
    the load cache can re-resolve shell stages' params when only such a file changed. If
    anything else opens the same file, it is among ``files`` too and the cache treats it as
    any other file."""
    name = os.path.abspath(path)
    for rec in _active:
        rec.params.add(name)
    with paused():
        yield
