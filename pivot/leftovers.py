"""Temp names a killed Pivot process leaves behind, and their removal.

Every write goes to a temp name beside its target and is renamed into place
(STYLE habit 6), so a process killed mid-write (SIGKILL, a closed laptop)
leaves only those temp names, never a half-written file under a real name:

- checkout and fetch: ``.NAME.pivot-<12 hex>`` beside a stage output or a tracked file;
- lock files and ``.pvt`` files: ``.NAME.lock.<random>.tmp`` / ``.NAME.pvt.<random>.tmp``.

``repro`` removes them before it runs anything, holding the project lock, so no
other Pivot process of this project can be writing them at that moment.
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from collections.abc import Iterable
from pathlib import Path

_TEMP = re.compile(r"^\..+(\.pivot-[0-9a-f]{12}|\.(lock|pvt)\.[A-Za-z0-9_]{8}\.tmp)$")


def temp_beside(dest: Path) -> Path:
    """Where to build ``dest`` before renaming it into place: a name ``sweep`` recognises."""
    return dest.parent / f".{dest.name}.pivot-{uuid.uuid4().hex[:12]}"


def is_leftover(name: str) -> bool:
    return _TEMP.match(name) is not None


def sweep(root: Path, folders: Iterable[str]) -> list[str]:
    """Remove leftovers in ``folders`` (root-relative) and under ``.pivot/stages``; root-relative names removed."""
    listed: dict[str, list[str]] = {}  # folder -> the names in it (each folder listed once)
    for folder in folders:
        place = os.path.normpath(os.path.join(root, folder))
        if place not in listed:
            try:
                listed[place] = os.listdir(place)
            except OSError:  # not created yet
                listed[place] = []
    stages = os.path.join(root, ".pivot", "stages")
    for folder, subfolders, files in os.walk(stages):  # a lock folder per sub-pipeline: walked once
        listed.setdefault(folder, [*subfolders, *files])
    removed: list[str] = []
    for place, names in listed.items():
        for name in names:
            if name.startswith(".") and is_leftover(name):
                _remove(Path(place, name))
                removed.append(Path(place, name).relative_to(root).as_posix())
    return removed


def folders_of(paths: Iterable[str]) -> set[str]:
    """The folders holding these root-relative paths (a folder output's own parent)."""
    return {os.path.dirname(path.rstrip("/")) or "." for path in paths}


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, onerror=_writable_then_retry)
    else:
        path.unlink(missing_ok=True)


def _writable_then_retry(func: object, path: str, _exc: object) -> None:
    os.chmod(path, 0o700)  # read-only files linked from the cache
    assert callable(func)
    func(path)
