"""Project-relative POSIX paths: the only form a path takes inside Pivot.

A user writes paths relative to the folder of the pipeline that declares them;
everything after registration (graph, lock files, state keys, cache manifests)
uses the project-root-relative POSIX form produced here. A trailing "/" marks a
directory artifact and is kept.
"""

from __future__ import annotations

import posixpath
from pathlib import Path, PurePosixPath

from pivot.errors import RegistrationError

STATE_DIR = ".pivot"


def is_dir_path(path: str) -> bool:
    return path.endswith("/")


def normalize(path: str, *, base: str = "") -> str:
    """Join ``path`` (relative to ``base``, itself root-relative) and normalise it.

    Raises RegistrationError when the result leaves the project root or is absolute.
    """
    raw = path.replace("\\", "/")
    if PurePosixPath(raw).is_absolute():
        raise RegistrationError(f"path {path!r} is absolute; write it relative to the pipeline folder", path=path)
    trailing = raw.endswith("/")
    joined = posixpath.normpath(posixpath.join(base, raw)) if base else posixpath.normpath(raw)
    if joined == ".." or joined.startswith("../") or joined == ".":
        raise RegistrationError(f"path {path!r} leaves the project root", path=path)
    return joined + "/" if trailing else joined


def strip_dir(path: str) -> str:
    return path.rstrip("/")


def to_abs(root: Path, rel: str) -> Path:
    return root / strip_dir(rel)


def relative_to_root(root: Path, path: Path) -> str:
    """The root-relative POSIX form of an absolute or cwd-relative path."""
    absolute = Path(posixpath.normpath(str(path.absolute())))
    try:
        rel = absolute.relative_to(root)
    except ValueError as exc:
        raise RegistrationError(f"path {str(path)!r} is outside the project {str(root)!r}", path=str(path)) from exc
    return rel.as_posix() if str(rel) != "." else ""


def is_inside_state_dir(rel: str) -> bool:
    first = strip_dir(rel).split("/", 1)[0]
    return first == STATE_DIR
