"""`pivot exp branch NAME BRANCH`: an experiment as a git branch (as `dvc exp branch`).

The branch starts at the commit the experiment ran from and adds one commit holding what the
experiment changed in git's view of the project: its params and its stages' lock files. Its
outputs are in the cache already, so after `git checkout BRANCH`, `pivot checkout` (or the
post-checkout hook of `pivot install`) places them and `pivot repro` has nothing to run.

The commit is made in a temporary git worktree: the user's workspace, index and current branch
are never touched, and a failure leaves no branch. Everything in the record was checked before
(records.applicable, grid.recorded: rule 13), and the branch name by git itself.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from pivot import git, lockfile
from pivot.errors import UserError
from pivot.exp import grid
from pivot.exp.records import ExpRecord
from pivot.lockfile import LockRecord
from pivot.project.layout import Layout


def make_branch(root: Path, record: ExpRecord, locks: dict[str, LockRecord], overrides: dict[grid.Override, Any],
                branch: str) -> str:
    """Create ``branch``; returns its commit id."""
    repo = git.open_repo(root)
    top = str(repo.top)
    if git.run(top, "check-ref-format", "--branch", branch, check=False).returncode != 0:
        raise UserError(f"{branch!r} is not a valid git branch name", path=branch)
    if git.run(top, "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}", check=False).returncode == 0:
        raise UserError(f"branch {branch!r} already exists", path=branch)
    base = repo.resolve(record.base) if record.base else repo.resolve("HEAD")
    scratch = Path(tempfile.mkdtemp(prefix="pivot-exp-branch-"))
    tree = scratch / "tree"
    try:
        git.run(top, "worktree", "add", "--quiet", "--detach", str(tree), base)
        project = tree / repo.prefix
        written = grid.write_overrides(project, overrides, f"experiment {record.name}") + _write_locks(project, locks)
        git.run(str(project), "add", "--", *written)
        message = f"pivot exp branch: experiment {record.name}\n\n" + "".join(
            f"{key} = {value}\n" for key, value in sorted(record.params.items()))
        git.run(str(tree), "commit", "--quiet", "--allow-empty", "-m", message)
        sha = str(git.run(str(tree), "rev-parse", "HEAD").stdout).strip()
        git.run(top, "branch", branch, sha)
        return sha
    finally:
        git.run(top, "worktree", "remove", "--force", str(tree), check=False)
        shutil.rmtree(scratch, ignore_errors=True)
        git.run(top, "worktree", "prune", check=False)


def _write_locks(project: Path, locks: dict[str, LockRecord]) -> list[str]:
    """The record's locks into .pivot/stages/ (the paths written, project-relative)."""
    layout = Layout(project)
    written = []
    for lock in locks.values():
        path = layout.lock_file(lock.stage)
        path.parent.mkdir(parents=True, exist_ok=True)
        lockfile.write(path, lock)
        written.append(path.relative_to(project).as_posix())
    return written



