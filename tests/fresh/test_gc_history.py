"""gc can never destroy what a commit still needs (issue 12, DESIGN rule 14).

Observed: `pivot gc --remote NAME` deleted at once everything the current locks did not
reference; `pull` of an older commit then failed ("not in the local cache nor on the
remote"), and on a remote shared by two projects it deleted the other project's objects."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.fixtures.project import run_cli, write
from tests.fresh import gitrepo
from tests.fresh.project import make_git_project


def _objects(remote: Path) -> set[str]:
    return {p.relative_to(remote).as_posix() for p in (remote / "files").rglob("*") if p.is_file()}


def _new_version(root: Path, text: str, message: str | None) -> None:
    (root / "data" / "raw.txt").write_text(text)
    run_cli(root, "track", "data/raw.txt")
    run_cli(root, "repro", "--all")
    run_cli(root, "push")
    if message:
        gitrepo.commit_sources(root, message)


@pytest.fixture(scope="module")
def history_built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two committed versions of the data on a remote, plus a third pushed but never committed."""
    base = tmp_path_factory.mktemp("gc-history")
    root, remote = make_git_project(base / "a"), base / "remote"
    run_cli(root, "remote", "add", "origin", f"file://{remote}", "--default")
    run_cli(root, "push")
    gitrepo.commit_sources(root, "v1")
    _new_version(root, "one two\nthree four\n", "v2")
    _new_version(root, "never committed\nat all\n", None)
    gitrepo.git(root, "checkout", "--", ".")  # back to v2's .pvt and lock files
    run_cli(root, "checkout")
    return root, remote


@pytest.fixture
def history(history_built: tuple[Path, Path], tmp_path: Path) -> tuple[Path, Path]:
    """A private copy of the project and its remote (gc changes both)."""
    root, remote = (tmp_path / "a", tmp_path / "remote")
    shutil.copytree(history_built[0], root, symlinks=True)
    shutil.copytree(history_built[1], remote, symlinks=True)
    _point(root, remote)
    return root, remote


def _point(root: Path, remote: Path) -> None:
    run_cli(root, "remote", "add", "origin", f"file://{remote}", "--default", "--force")


def _clone_at(root: Path, dest: Path, remote: Path, rev: str) -> Path:
    clone = gitrepo.clone(root, dest, shallow=False)
    gitrepo.git(clone, "checkout", "-q", rev)
    _point(clone, remote)  # the committed config names the original remote, not this test's copy
    return clone


def test_gc_without_scope_explains_and_deletes_nothing(history: tuple[Path, Path]) -> None:
    root, remote = history
    before = _objects(remote)
    result = run_cli(root, "gc", "--remote", "origin", "-f", check=False)
    assert result.code == 2 and "--workspace" in result.err and "--all-commits" in result.err
    assert "Traceback" not in result.err
    assert _objects(remote) == before


def test_gc_all_commits_keeps_history_and_older_commit_pulls(history: tuple[Path, Path], tmp_path: Path) -> None:
    root, remote = history
    before = _objects(remote)
    # Default grace (14 days): everything here is minutes old, so nothing goes.
    young = run_cli(root, "gc", "--remote", "origin", "--workspace", "-f", "--json").json()
    assert young["removed"] == [] and _objects(remote) == before

    run_cli(root, "config", "set", "gc.grace", "0")
    dry = run_cli(root, "gc", "--remote", "origin", "--all-commits", "--dry-run")
    listed = [line for line in dry.out.splitlines() if line.startswith("would remove ") and line.endswith(" bytes")]
    assert listed and "bytes" in dry.out
    assert _objects(remote) == before  # a dry run removes nothing

    done = run_cli(root, "gc", "--remote", "origin", "--all-commits", "-f", "--json").json()
    assert len(done["removed"]) == len(listed)
    assert done["records_removed"], "the uncommitted version's run records go with its objects"
    assert len(_objects(remote)) == len(before) - len(done["removed"])

    old = _clone_at(root, tmp_path / "old", remote, "HEAD~1")  # v1
    pulled = run_cli(old, "pull", check=False)
    assert pulled.code == 0, pulled.out + pulled.err
    assert run_cli(old, "repro", "--json").json()["ran"] == 0
    run_cli(old, "verify")


def test_gc_rev_keeps_that_commit_only(history: tuple[Path, Path], tmp_path: Path) -> None:
    root, remote = history
    run_cli(root, "config", "set", "gc.grace", "0")
    run_cli(root, "gc", "--remote", "origin", "--rev", "HEAD~1", "-f")
    old = _clone_at(root, tmp_path / "old", remote, "HEAD~1")
    run_cli(old, "pull")
    run_cli(old, "verify")
    bad = run_cli(root, "gc", "--rev", "no-such-rev", check=False)
    assert bad.code == 2 and "no-such-rev" in bad.err


def test_gc_on_a_shared_remote_spares_the_other_projects_fresh_objects(origin: Path, tmp_path: Path) -> None:
    remote = tmp_path / "shared"
    a = origin
    run_cli(a, "remote", "add", "origin", f"file://{remote}", "--default")
    run_cli(a, "push")
    b = tmp_path / "b"
    b.mkdir()
    gitrepo.init(b)
    run_cli(b, "init")
    write(b / "pipeline.py", "from pivot import Pipeline\npipeline = Pipeline('b')\n"
          "pipeline.register_cmd('copy', cmd=['cp in.txt out.txt'], deps=['in.txt'], outs=['out.txt'])\n")
    write(b / "in.txt", "project b's own data\n")
    run_cli(b, "track", "in.txt")
    run_cli(b, "repro")
    run_cli(b, "remote", "add", "origin", f"file://{remote}", "--default")
    run_cli(b, "push")
    gitrepo.commit_sources(b, "b")

    run_cli(a, "gc", "--remote", "origin", "--workspace", "-f")  # default grace
    b2 = gitrepo.clone(b, tmp_path / "b2")
    run_cli(b2, "pull")
    assert (b2 / "out.txt").read_text() == "project b's own data\n"
    run_cli(b2, "verify")


def test_local_gc_workspace(history: tuple[Path, Path]) -> None:
    root, _ = history
    run_cli(root, "config", "set", "gc.grace", "0")
    report = run_cli(root, "gc", "--workspace", "--json").json()
    assert report["removed"], "v1 and the uncommitted version leave the local cache"
    assert run_cli(root, "repro", "--json").json()["ran"] == 0
    run_cli(root, "verify")


def test_remote_gc_on_a_terminal_asks_first(history: tuple[Path, Path]) -> None:
    import os
    import pty
    import subprocess

    from tests.fixtures.project import PIVOT

    root, remote = history
    run_cli(root, "config", "set", "gc.grace", "0")
    before = _objects(remote)
    leader, follower = pty.openpty()
    try:
        os.write(leader, b"n\n")
        proc = subprocess.run([*PIVOT, "gc", "--remote", "origin", "--all-commits"], cwd=root, stdin=follower,
                              capture_output=True, text=True, timeout=300, check=False)
    finally:
        os.close(leader)
        os.close(follower)
    assert "remove" in proc.stdout and "?" in proc.stdout, proc.stdout + proc.stderr
    assert _objects(remote) == before  # answered no


def test_gc_refuses_when_a_committed_lock_is_unreadable(history: tuple[Path, Path]) -> None:
    """gc cannot know what a damaged lock in history needs, so it deletes nothing and says which file."""
    root, remote = history
    lock = next((root / ".pivot" / "stages").rglob("*.lock"))
    lock.write_text("{{ not yaml\n")
    gitrepo.commit_sources(root, "a damaged lock")
    gitrepo.git(root, "checkout", "-q", "HEAD~1", "--", ".")  # the workspace is fine again
    run_cli(root, "config", "set", "gc.grace", "0")
    before = _objects(remote)
    result = run_cli(root, "gc", "--remote", "origin", "--all-commits", "-f", check=False)
    assert result.code == 2 and "cannot read" in result.err and lock.name in result.err, result.err
    assert "Traceback" not in result.err
    assert _objects(remote) == before
