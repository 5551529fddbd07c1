"""pivot/git.py against real git repositories: files, locks and .pvt at a revision, prefixes, errors."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from pivot import lockfile
from pivot.digest import hash_bytes
from pivot.git import GitError, open_repo
from pivot.lockfile import LockRecord
from pivot.outrecord import OutRecord


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def _lock(stage: str, out: str, data: bytes) -> str:
    return lockfile.dumps(LockRecord(stage, "k" * 32, params={"lr": 0.1},
                                     outs=(OutRecord(out, hash_bytes(data), len(data)),)))


@pytest.fixture
def repo(tmp_path: Path) -> tuple[Path, Path]:
    """A git repository at ``top`` whose Pivot project lives in ``top/sub``; two commits."""
    top = tmp_path / "top"
    root = top / "sub"
    (root / ".pivot" / "stages").mkdir(parents=True)
    _git(top, "init", "-q", "-b", "main")
    _git(top, "config", "user.email", "t@example.com")
    _git(top, "config", "user.name", "T")
    for n in (1, 2):
        (root / ".pivot" / "stages" / "train.lock").write_text(_lock("train", "model.bin", f"v{n}".encode()))
        (root / "data.csv.pvt").write_text(f"path: data.csv\nhash: xxh3_128:{n:032x}\nsize: {n}\n")
        (root / "notes.txt").write_bytes(b"binary\0\nline\n" * n)
        _git(top, "add", "-A")
        _git(top, "commit", "-q", "-m", f"commit {n}")
    return top, root


def test_reads_a_project_in_a_subfolder_at_each_revision(repo: tuple[Path, Path]) -> None:
    top, root = repo
    r = open_repo(root)
    assert r.top.resolve() == top.resolve() and r.prefix == "sub/"
    assert r.read("HEAD~1", "notes.txt") == b"binary\0\nline\n"  # NUL and newlines survive the batch
    assert r.read("HEAD", "notes.txt") == b"binary\0\nline\n" * 2
    assert r.read("HEAD", "missing.txt") is None
    assert r.read_many("HEAD~1", ["missing.txt", "notes.txt"]) == {"notes.txt": b"binary\0\nline\n"}
    assert set(r.files("HEAD")) == {".pivot/stages/train.lock", "data.csv.pvt", "notes.txt"}
    locks = {rev: r.locks(rev)["train"] for rev in ("HEAD~1", "HEAD")}
    assert locks["HEAD~1"].outs[0].digest == hash_bytes(b"v1") and locks["HEAD"].outs[0].digest == hash_bytes(b"v2")
    (item,) = r.tracked("HEAD~1")
    assert item.path == "data.csv" and item.size == 1
    assert [c.subject for c in r.revisions()] == ["commit 2", "commit 1"]
    assert r.resolve("main") == r.resolve("HEAD")


def test_a_lock_from_history_with_an_escaping_path_is_ignored(repo: tuple[Path, Path]) -> None:
    top, root = repo
    (root / ".pivot" / "stages" / "evil.lock").write_text(_lock("evil", "../../etc/passwd", b"x"))
    _git(top, "add", "-A")
    _git(top, "commit", "-q", "-m", "evil")
    assert set(open_repo(root).locks("HEAD")) == {"train"}


def test_errors_are_user_errors(repo: tuple[Path, Path], tmp_path: Path) -> None:
    _, root = repo
    with pytest.raises(GitError, match="unknown git revision 'v9'"):
        open_repo(root).read("v9", "notes.txt")
    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(GitError, match="not in a git repository") as info:
        open_repo(plain)
    assert info.value.exit_code == 2
