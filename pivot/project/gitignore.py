"""Stage outputs in `.gitignore` files beside them, as `dvc` does (issue 12).

Only in a git repository. Each folder's `.gitignore` gets one block Pivot owns,
between marker lines, listing the outputs declared there (not metrics, which
belong in git, and not tracked data, whose `.pvt` writes its own line). An output
no longer declared leaves its block; the rest of the file is never touched. The
folders Pivot wrote to are remembered in the state DB, so a block whose last
output went away is removed too.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from pivot import paths
from pivot.lockfile import atomic_write_text
from pivot.project.spec import OutKind, OutSpec, StageSpec
from pivot.state import StateBase

BEGIN = "# >>> pivot: stage outputs (managed by `pivot repro`; declare outputs in pipeline.py)"
END = "# <<< pivot"
_STATE_KEY = "gitignore:folders"


def in_git(root: Path) -> bool:
    return any((folder / ".git").exists() for folder in (root, *root.parents))


def ignores(out: OutSpec) -> bool:
    """Whether `pivot repro` lists ``out`` in a .gitignore block: every output but a metric."""
    return out.kind != OutKind.METRIC


def wanted(specs: Iterable[StageSpec]) -> dict[str, list[str]]:
    """Root-relative folder -> its ignore lines ("/name", "/name/" for a folder output)."""
    found: dict[str, set[str]] = {}
    for spec in specs:
        for out in spec.outs:
            if not ignores(out):
                continue
            rel = PurePosixPath(paths.strip_dir(out.path))
            line = "/" + rel.name + ("/" if out.is_dir else "")
            found.setdefault(str(rel.parent) if str(rel.parent) != "." else "", set()).add(line)
    return {folder: sorted(lines) for folder, lines in found.items()}


def sync(root: Path, specs: Iterable[StageSpec], state: StateBase) -> list[Path]:
    """Bring every Pivot block up to date; the .gitignore files changed."""
    if not in_git(root):
        return []
    return sync_wanted(root, wanted(specs), state)


def sync_wanted(root: Path, want: dict[str, list[str]], state: StateBase) -> list[Path]:
    """``sync`` for blocks already worked out (a remembered plan keeps them, pivot.planshot)."""
    before = json.loads(state.get(_STATE_KEY) or b"[]")
    changed = [p for folder in sorted(set(before) | set(want)) if (p := _write(root, folder, want.get(folder, [])))]
    state.put_many({_STATE_KEY: json.dumps(sorted(want)).encode()})
    return changed


def _write(root: Path, folder: str, lines: list[str]) -> Path | None:
    target = root / folder / ".gitignore"
    try:
        text = target.read_text(encoding="utf-8")
    except FileNotFoundError:
        text = ""
    outside = _without_block(text.splitlines())
    block = [BEGIN, *lines, END] if lines else []
    new_lines = [*outside, *block]
    new = "\n".join(new_lines) + "\n" if new_lines else ""
    if new == text or (not new and not target.exists()):
        return None
    if not new:
        target.unlink()
        return target
    atomic_write_text(target, new)
    return target


def _without_block(lines: list[str]) -> list[str]:
    kept, inside = [], False
    for line in lines:
        if line == BEGIN:
            inside = True
        elif line == END and inside:
            inside = False
        elif not inside:
            kept.append(line)
    return kept
