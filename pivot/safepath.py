"""Paths read from disk or the network, checked once at the boundary (DESIGN rule 13).

A lock file, a run-cache record, a tree manifest, a ``.pvt`` file or a task
result may be damaged or hostile: a remote is written by a whole team and its
CI. Every path taken from one goes through ``safe_path`` (project-relative) or
``safe_entry`` (relative to a directory artifact) exactly once, where it is
read; what comes out is a ``SafePath``, the only form the rest of Pivot holds.
``check_writable`` is the last check, at write time: a symlink already in the
workspace must not carry a write outside the project.
"""

from __future__ import annotations

import functools
import os
import posixpath
from pathlib import Path
from typing import NewType

from pivot.errors import UserError

SafePath = NewType("SafePath", str)  # project-relative POSIX; a directory ends with "/"
STATE_DIR = ".pivot"


class UnsafePathError(UserError):
    """A path read from ``source`` would reach outside the project (or into .pivot/)."""

    def __init__(self, message: str, *, path: str | None = None, stage: str | None = None,
                 source: str = "") -> None:
        super().__init__(message, path=path, stage=stage)
        self.source = source

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild, (self.message, self.path, self.stage, self.source))


def _rebuild(message: str, path: str | None, stage: str | None, source: str) -> UnsafePathError:
    return UnsafePathError(message, path=path, stage=stage, source=source)


def _refuse(raw: object, source: str, why: str) -> UnsafePathError:
    shown = repr(raw) if not isinstance(raw, str) else repr(raw.replace("\x00", "\\0"))
    return UnsafePathError(f"{source}: refusing path {shown}: {why}", path=str(raw), source=source)


def _basic(raw: object, source: str) -> str:
    if not isinstance(raw, str):
        raise _refuse(raw, source, "not a string")
    if not raw.strip("/"):
        raise _refuse(raw, source, "empty")
    if "\x00" in raw:
        raise _refuse(raw, source, "contains a NUL byte")
    if raw.startswith("/") or posixpath.isabs(raw):
        raise _refuse(raw, source, "absolute paths are never accepted")
    return raw


def safe_path(raw: object, *, source: str) -> SafePath:
    """``raw`` as a normalised project-relative path, or UnsafePathError naming ``source``."""
    if isinstance(raw, str) and _already_normal(raw):
        return SafePath(raw)  # what the checks below would return unchanged (most paths, every no-op)
    text = _basic(raw, source)
    trailing = text.endswith("/")
    norm = posixpath.normpath(text)
    if norm == ".." or norm.startswith("../"):
        raise _refuse(raw, source, "it leaves the project root")
    if norm == ".":
        raise _refuse(raw, source, "it names the project root itself")
    if norm.split("/", 1)[0] == STATE_DIR:
        raise _refuse(raw, source, "it points into .pivot/")
    return SafePath(norm + "/" if trailing else norm)


def _already_normal(raw: str) -> bool:
    """True only when the full check accepts ``raw`` and returns it as is: relative, no
    empty, "." or ".." component, no NUL, not into .pivot/ (at most one trailing "/")."""
    body = raw[:-1] if raw.endswith("/") else raw
    if not body or "\x00" in body or body.startswith("/"):
        return False
    parts = body.split("/")
    return parts[0] != STATE_DIR and "" not in parts and "." not in parts and ".." not in parts


def safe_entry(raw: object, *, source: str) -> str:
    """A file's path inside a directory artifact: plain, relative, never leaving it."""
    text = _basic(raw, source)
    parts = text.split("/")
    if any(p in ("", ".", "..") for p in parts):
        raise _refuse(raw, source, "a directory entry must be a plain relative path inside its folder")
    return text


def check_writable(root: Path, dest: Path, *, source: str = "workspace") -> None:
    """Refuse a write at ``dest`` that would go through a symlink leading outside ``root``.

    ``dest`` itself may be a symlink (it is replaced, not written through); every
    existing folder above it must resolve inside the project.
    """
    real_root = _real_root(str(root))
    parent = dest.parent
    while not os.path.lexists(parent) and parent != parent.parent:
        parent = parent.parent  # folders still to be created cannot be links yet
    real = os.path.realpath(parent)
    if real != real_root and not real.startswith(real_root.rstrip(os.sep) + os.sep):
        rel = os.path.relpath(dest, root)
        raise UnsafePathError(
            f"{source}: refusing to write {rel}: a symlink in the workspace leads outside the project ({real})",
            path=rel, source=source)


@functools.lru_cache(maxsize=64)
def _real_root(root: str) -> str:
    # The project root is resolved once per process (a run writes thousands of outputs under it);
    # what is checked per write is the folder the bytes go into.
    return os.path.realpath(root)
