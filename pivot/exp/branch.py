"""`pivot exp branch NAME BRANCH`: an experiment as a git branch (as `dvc exp branch`).

The branch starts at the commit the experiment ran from and adds one commit holding what the
experiment changed in git's view of the project: its params and its stages' lock files. Its
outputs are in the cache already, so after `git checkout BRANCH`, `pivot checkout` (or the
post-checkout hook of `pivot install`) places them and `pivot repro` has nothing to run.

The commit is made in a temporary git worktree: the user's workspace, index and current branch
are never touched, and a failure leaves no branch. Everything in the record was checked before
(records.checked_locks, grid.parse_override: rule 13), and the branch name by git itself.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from pivot import git, lockfile
from pivot.errors import UserError
from pivot.exp import grid
from pivot.exp.records import ExpRecord
from pivot.lockfile import LockRecord
from pivot.project.layout import Layout


def make_branch(root: Path, record: ExpRecord, locks: dict[str, LockRecord], branch: str) -> str:
    """Create ``branch``; returns its commit id."""
    repo = git.open_repo(root)
    top = str(repo.top)
    if _git(top, "check-ref-format", "--branch", branch, check=False).returncode != 0:
        raise UserError(f"{branch!r} is not a valid git branch name", path=branch)
    if _git(top, "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}", check=False).returncode == 0:
        raise UserError(f"branch {branch!r} already exists", path=branch)
    base = repo.resolve(record.base) if record.base else repo.resolve("HEAD")
    scratch = Path(tempfile.mkdtemp(prefix="pivot-exp-branch-"))
    tree = scratch / "tree"
    try:
        _git(top, "worktree", "add", "--quiet", "--detach", str(tree), base)
        project = tree / repo.prefix
        written = _write(project, record, locks)
        _git(str(project), "add", "--", *written)
        message = f"pivot exp branch: experiment {record.name}\n\n" + "".join(
            f"{key} = {value}\n" for key, value in sorted(record.params.items()))
        _git(str(tree), "commit", "--quiet", "--allow-empty", "-m", message)
        sha = str(_git(str(tree), "rev-parse", "HEAD").stdout).strip()
        _git(top, "branch", branch, sha)
        return sha
    finally:
        _git(top, "worktree", "remove", "--force", str(tree), check=False)
        shutil.rmtree(scratch, ignore_errors=True)
        _git(top, "worktree", "prune", check=False)


def _write(project: Path, record: ExpRecord, locks: dict[str, LockRecord]) -> list[str]:
    """The record's params into their files and its locks into .pivot/stages/, as `exp apply`
    writes them; returns the paths written (relative to the worktree's project folder)."""
    from pivot.project import config_edit

    written = []
    for shown, value in record.params.items():
        override, _ = grid.parse_override(f"{shown}=0")
        doc = config_edit.load(project / override.file)
        config_edit.set_value(doc, override.key, value)
        config_edit.save(project / override.file, doc)
        written.append(override.file)
    layout = Layout(project)
    for lock in locks.values():
        path = layout.lock_file(lock.stage)
        path.parent.mkdir(parents=True, exist_ok=True)
        lockfile.write(path, lock)
        written.append(path.relative_to(project).as_posix())
    return written


def _git(cwd: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[Any]:
    done = subprocess.run(["git", "-C", cwd, *args], capture_output=True, text=True, check=False)
    if check and done.returncode != 0:
        problem = done.stderr.strip().splitlines()
        raise git.GitError(f"git {args[0]}: {problem[-1] if problem else 'failed'}")
    return done
