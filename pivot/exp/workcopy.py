"""An experiment's working copy: the project's git-tracked files as they are now
(HEAD plus uncommitted edits of tracked files), its params overridden, sharing
the project's cache (objects and run cache) so results flow both ways.

The user's workspace is only read, never written (no outputs, no state).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pivot.errors import UserError
from pivot.exp import grid
from pivot.exp.grid import Override
from pivot.project import config_edit
from pivot.project.layout import Layout


def git(root: Path, *args: str) -> str:
    try:
        proc = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=False)
    except FileNotFoundError as exc:
        raise UserError("experiments need git (`git` was not found on PATH)") from exc
    if proc.returncode != 0:
        first = (proc.stderr.strip().splitlines() or ["failed"])[0]
        raise UserError(f"experiments need a git repository with a commit: git {args[0]}: {first}", path=str(root))
    return proc.stdout


def base_commit(root: Path) -> str:
    return git(root, "rev-parse", "HEAD").strip()


def tracked_files(root: Path) -> list[str]:
    """Files git tracks under the project root, as they are in the working tree."""
    out = git(root, "ls-files", "-z", "--cached", "--full-name", "--", ".")
    prefix = git(root, "rev-parse", "--show-prefix").strip()
    rels = [name[len(prefix):] for name in out.split("\0") if name and name.startswith(prefix)]
    return [r for r in rels if not r.startswith(".pivot/") or r.startswith((".pivot/config.yaml", ".pivot/stages/"))]


def make_copy(root: Path, cache_url: str, overrides: Mapping[Override, Any], parent: Path) -> Path:
    """A fresh working copy under ``parent``; the caller removes it."""
    dest = Path(tempfile.mkdtemp(prefix="exp-", dir=parent))
    for rel in tracked_files(root):
        src = root / rel
        if not src.is_file():  # deleted in the working tree, or a submodule
            continue
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, target)
    # Locks let unchanged stages be checked out of the shared cache instead of run.
    stages = Layout(root).state_dir / "stages"
    if stages.is_dir():
        shutil.copytree(stages, Layout(dest).state_dir / "stages", dirs_exist_ok=True)
    config = Layout(dest).config_file
    doc = config_edit.load(config)
    config_edit.set_value(doc, "cache.dir", cache_url)
    config_edit.save(config, doc)
    grid.write_overrides(dest, overrides, "exp run")
    return dest


def scratch_parent(root: Path) -> Path:
    """Working copies live outside the project (its discovery never sees them), on the same disk when possible."""
    base = Path(os.environ.get("PIVOT_EXP_TMP") or tempfile.gettempdir())
    base.mkdir(parents=True, exist_ok=True)
    return base
