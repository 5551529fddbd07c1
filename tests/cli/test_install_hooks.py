"""`pivot install`: git hooks make data follow a branch checkout and reach the remote before a git push.

Real git repositories (a bare one as the git remote), a folder as Pivot's remote, the real CLI.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.fixtures.project import run_cli

GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@e", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@e"}


def git(root: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, check=check,
                          env={**os.environ, **GIT_ENV})


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository whose project (in a sub-folder) tracks data/in.txt = "main" on main and
    "feature" on the branch feature; main is checked out, the workspace holds main's bytes."""
    top = tmp_path / "repo"
    root = top / "proj"
    (root / "data").mkdir(parents=True)
    git(top, "init", "-q", "-b", "main")
    run_cli(root, "init")
    (root / "data" / "in.txt").write_text("main\n")
    run_cli(root, "track", "data/in.txt")
    git(top, "add", "-A")
    git(top, "commit", "-q", "-m", "main data")
    git(top, "checkout", "-q", "-b", "feature")
    (root / "data" / "in.txt").write_text("feature\n")
    run_cli(root, "track", "data/in.txt")
    git(top, "commit", "-q", "-am", "feature data")
    git(top, "checkout", "-q", "main")
    run_cli(root, "checkout")
    return root


def test_branch_checkout_places_that_branchs_data(repo: Path) -> None:
    data = repo / "data" / "in.txt"
    git(repo, "checkout", "-q", "feature")
    assert data.read_text() == "main\n"  # without the hook git moves only the .pvt file
    git(repo, "checkout", "-q", "main")
    out = run_cli(repo, "install").out
    assert "post-checkout" in out and "pre-push" in out
    git(repo, "checkout", "-q", "feature")
    assert data.read_text() == "feature\n"
    git(repo, "checkout", "-q", "main")
    assert data.read_text() == "main\n"
    run_cli(repo, "install")  # again: its own hooks are simply rewritten
    assert "removed" in run_cli(repo, "install", "--uninstall").out
    git(repo, "checkout", "-q", "feature")
    assert data.read_text() == "main\n"


def test_pre_push_pushes_data_and_stops_git_push_when_that_fails(repo: Path, tmp_path: Path) -> None:
    bare = tmp_path / "origin.git"
    subprocess.run(["git", "init", "-q", "--bare", str(bare)], check=True)
    git(repo, "remote", "add", "origin", str(bare))
    store = tmp_path / "pivot-remote"
    run_cli(repo, "remote", "add", "team", str(store), "--default")
    run_cli(repo, "install")
    git(repo, "push", "-q", "origin", "main")
    assert run_cli(repo, "status", "--remote", "--json").json()["to_push"] == 0
    assert any(store.rglob("*")), "the hook pushed nothing"
    # A push Pivot cannot make stops the git push: teammates never get commits whose data is nowhere.
    run_cli(repo, "config", "set", "remotes.team", "nosuch://bucket/x")
    (repo / "data" / "in.txt").write_text("newer\n")
    run_cli(repo, "track", "data/in.txt")
    git(repo, "commit", "-q", "-am", "newer data")
    failed = git(repo, "push", "-q", "origin", "main", check=False)
    assert failed.returncode != 0 and "pivot push failed" in failed.stderr
    assert git(repo, "rev-parse", "HEAD").stdout != subprocess.run(
        ["git", "-C", str(bare), "rev-parse", "main"], capture_output=True, text=True).stdout


def test_a_hook_pivot_did_not_write_is_never_replaced(repo: Path) -> None:
    hooks = Path(git(repo, "rev-parse", "--git-path", "hooks").stdout.strip())
    hooks = hooks if hooks.is_absolute() else repo / hooks
    hooks.mkdir(parents=True, exist_ok=True)
    (hooks / "pre-push").write_text("#!/bin/sh\necho mine\n")
    bad = run_cli(repo, "install", check=False)
    assert bad.code == 2 and "pre-push exists and was not written by Pivot" in bad.err and "Traceback" not in bad.err
    assert not (hooks / "post-checkout").exists()  # nothing written
    assert "no hook of Pivot's" in run_cli(repo, "install", "--uninstall").out
    assert (hooks / "pre-push").read_text() == "#!/bin/sh\necho mine\n"


def test_outside_git_is_one_line(tmp_path: Path) -> None:
    run_cli(tmp_path, "init")
    bad = run_cli(tmp_path, "install", check=False)
    assert bad.code == 2 and "git init" in bad.err and "Traceback" not in bad.err
