"""Tracked data: ``PATH.pvt`` records a file or folder's content hash.

Decisions never use the hash in a .pvt (DESIGN rule 9): stages are judged by
the file's current bytes. The .pvt is what `checkout` restores and what
`status` reports as clean, modified or missing.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import yaml

from pivot import paths, yamlio
from pivot.digest import Digest
from pivot.errors import UserError
from pivot.lockfile import atomic_write_text
from pivot.safepath import SafePath, UnsafePathError, safe_path

SUFFIX = ".pvt"
_SKIP_DIRS = {".git", ".pivot", ".venv", "node_modules", "__pycache__"}


@dataclass(frozen=True)
class Tracked:
    path: SafePath  # root-relative; trailing "/" for a folder
    digest: Digest
    size: int

    @property
    def is_dir(self) -> bool:
        return self.path.endswith("/")


def pvt_file(root: Path, rel: str) -> Path:
    return root / (paths.strip_dir(rel) + SUFFIX)


def write(root: Path, item: Tracked) -> Path:
    target = pvt_file(root, item.path)
    name = Path(paths.strip_dir(item.path)).name + ("/" if item.is_dir else "")
    text = yaml.safe_dump({"path": name, "hash": str(item.digest), "size": item.size}, sort_keys=True)
    atomic_write_text(target, text)
    return target


def read(root: Path, pvt: Path) -> Tracked:
    try:
        return parse(pvt.read_text(encoding="utf-8"), paths.relative_to_root(root, pvt.parent), str(pvt))
    except (OSError, ValueError) as exc:  # unreadable, or not UTF-8
        raise UserError(f"{pvt}: not a valid .pvt file ({exc})", path=str(pvt)) from exc


def parse(text: str, rel_dir: str, where: str) -> Tracked:
    """A .pvt's text (from disk or a git revision); ``rel_dir`` is its root-relative folder."""
    try:
        data = yamlio.load(text)
        path = _own_path(where, rel_dir, data["path"])
        return Tracked(path, Digest.parse(str(data["hash"])), int(data["size"]))
    except (yaml.YAMLError, KeyError, TypeError, ValueError, UserError) as exc:
        raise UserError(f"{where}: not a valid .pvt file ({exc})", path=where) from exc


def _own_path(where: str, rel_dir: str, name: object) -> SafePath:
    """A .pvt describes only the file or folder beside it, named like itself: one
    naming anything else (another file, a path outside) could make `checkout`
    overwrite it (DESIGN rule 13)."""
    # ``where`` is a path on disk, or REV:PATH for a file read from git.
    pvt = where.replace(os.sep, "/").rsplit("/", 1)[-1].rsplit(":", 1)[-1]
    expected = pvt[: -len(SUFFIX)]
    if not isinstance(name, str) or name.rstrip("/") != expected or name.count("/") > 1:
        raise UnsafePathError(f"{where}: refusing path {name!r}: a .pvt may only name {expected!r}, the file beside it",
                              path=str(name), source=where)
    return safe_path(f"{rel_dir}/{name}" if rel_dir else name, source=where)


def find_all(root: Path) -> list[Tracked]:
    found: list[Tracked] = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS)
        for name in sorted(files):
            if name.endswith(SUFFIX):
                found.append(read(root, Path(folder) / name))
    return found


def add_to_gitignore(root: Path, rel: str) -> None:
    """Ignore the data itself in the folder's .gitignore (the .pvt is committed)."""
    target = root / paths.strip_dir(rel)
    ignore = target.parent / ".gitignore"
    line = "/" + target.name + ("/" if rel.endswith("/") else "")
    existing = ignore.read_text(encoding="utf-8").splitlines() if ignore.exists() else []
    if line not in existing:
        atomic_write_text(ignore, "\n".join([*existing, line]) + "\n")


def remove_from_gitignore(root: Path, rel: str) -> None:
    """Undo ``add_to_gitignore``: drop exactly that line (the file goes when nothing else is left)."""
    target = root / paths.strip_dir(rel)
    ignore = target.parent / ".gitignore"
    if not ignore.exists():
        return
    existing = ignore.read_text(encoding="utf-8").splitlines()
    kept = [line for line in existing if line not in ("/" + target.name, "/" + target.name + "/")]
    if kept == existing:
        return
    if any(line.strip() for line in kept):
        atomic_write_text(ignore, "\n".join(kept) + "\n")
    else:
        ignore.unlink()
