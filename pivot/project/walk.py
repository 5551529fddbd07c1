"""Find every pipeline.py of a project (without importing anything heavy: the load
cache walks the project on every command, hit or miss)."""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass
from pathlib import Path

from pivot.errors import UserError
from pivot.project import reads
from pivot.project.root import absolute

PIPELINE_FILE = "pipeline.py"
IGNORE_FILE = ".pivotignore"
SKIP_DIRS = frozenset({".venv", ".git", ".pivot", "node_modules", "__pycache__", "site-packages"})


@dataclass(frozen=True)
class IgnoreRules:
    """``.pivotignore``: one fnmatch pattern a line; "#" comments; a trailing "/" matches folders only.

    A pattern without "/" matches a file or folder name anywhere; one with "/"
    matches the root-relative path (and so everything below a matched folder).
    Negation ("!") is not supported.
    """

    names: tuple[tuple[str, bool], ...] = ()  # (pattern, folders only)
    paths: tuple[tuple[str, bool], ...] = ()

    @classmethod
    def read(cls, root: Path) -> IgnoreRules:
        try:
            lines = (root / IGNORE_FILE).read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return cls()
        except (OSError, UnicodeDecodeError) as exc:
            raise UserError(f"{IGNORE_FILE}: cannot read ({exc})", path=IGNORE_FILE) from exc
        names: list[tuple[str, bool]] = []
        paths: list[tuple[str, bool]] = []
        for line in (raw.strip() for raw in lines):
            if not line or line.startswith(("#", "!")):
                continue
            dir_only = line.endswith("/")
            pattern = line.strip("/")
            (paths if "/" in line.rstrip("/") else names).append((pattern, dir_only))
        return cls(tuple(names), tuple(paths))

    def ignores(self, name: str, rel: str, is_dir: bool) -> bool:
        return any(fnmatch.fnmatchcase(name, p) for p, d in self.names if is_dir or not d) or any(
            fnmatch.fnmatchcase(rel, p) for p, d in self.paths if is_dir or not d
        )


def discover(root: Path) -> list[Path]:
    """Every pipeline.py below ``root``: the root's first, then by folder."""
    with reads.paused():  # the load cache compares this list itself, not each folder walked
        return _discover(absolute(root))


def _discover(root: Path) -> list[Path]:
    rules = IgnoreRules.read(root)
    found: list[Path] = []
    stack = [("", str(root))]
    while stack:
        rel, folder = stack.pop()
        with os.scandir(folder) as scan:
            entries = list(scan)
        if rel and any(e.name == "pyvenv.cfg" for e in entries):
            continue  # a virtualenv under any name: its packages may hold a pipeline.py
        for entry in entries:
            child = f"{rel}/{entry.name}" if rel else entry.name
            if entry.is_dir(follow_symlinks=False):
                if entry.name not in SKIP_DIRS and not rules.ignores(entry.name, child, True):
                    stack.append((child, entry.path))
            elif entry.name == PIPELINE_FILE and not rules.ignores(entry.name, child, False):
                found.append(Path(entry.path))
    return sorted(found, key=lambda p: p.parent.relative_to(root).parts)
