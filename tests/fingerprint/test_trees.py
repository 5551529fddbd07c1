from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pivot.digest import Digest, hash_bytes
from pivot.errors import UserError
from pivot.fingerprint.trees import (
    CHUNK,
    Hasher,
    TreeEntry,
    file_executable,
    hash_file,
    hash_tree,
    manifest_bytes,
    parse_manifest,
)
from pivot.state import LmdbState, MemoryState

OLD = 1_600_000_000 * 10**9  # an mtime far in the past: entries recorded now are trusted


def _write(path: Path, data: bytes, mtime_ns: int | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    if mtime_ns is not None:
        os.utime(path, ns=(mtime_ns, mtime_ns))
    return path


class Counting:
    """The file-hash function, counting how often a file's bytes are read."""

    def __init__(self) -> None:
        self.paths: list[str] = []

    def __call__(self, path: Path) -> Digest:
        self.paths.append(path.name)
        return hash_file(path)


@pytest.fixture
def lmdb_state(tmp_path: Path) -> Iterator[LmdbState]:
    state = LmdbState.open(tmp_path / ".pivot" / "state.lmdb")
    yield state
    state.close()


# -- plain hashing -----------------------------------------------------------
@pytest.mark.parametrize("size", [0, 1, 5000, CHUNK + 3, (1 << 20) + 7])
def test_hash_file_is_xxh3_128_of_the_bytes(tmp_path: Path, size: int) -> None:
    data = os.urandom(size)
    assert hash_file(_write(tmp_path / "f", data)) == hash_bytes(data)


def test_manifest_is_canonical() -> None:
    a = TreeEntry("a", hash_bytes(b"a"), 1, False)
    b = TreeEntry("d/b", hash_bytes(b"b"), 1, True)
    assert manifest_bytes([a, b]) == manifest_bytes([b, a])
    assert b'"schema":1' in manifest_bytes([a])
    assert parse_manifest(manifest_bytes([b, a])) == (a, b)
    with pytest.raises(ValueError):
        parse_manifest(b'{"schema": 99, "kind": "pivot-tree", "entries": []}')


def test_hash_tree_walks_everything(tmp_path: Path) -> None:
    root = tmp_path / "data"
    for rel in ["a.csv", "build/x.o", "dist/pkg.whl", ".hidden", "deep/er/f.txt"]:
        _write(root / rel, rel.encode())
    art = hash_tree(root)
    assert art.is_dir
    assert [e.path for e in art.entries] == sorted(
        ["a.csv", "build/x.o", "dist/pkg.whl", ".hidden", "deep/er/f.txt"]
    )
    assert art.size == sum(len(e.path) for e in art.entries)
    assert art.digest == hash_bytes(manifest_bytes(art.entries))
    _write(root / "build" / "x.o", b"changed")
    assert hash_tree(root).digest != art.digest


def test_executable_bit_is_part_of_a_tree(tmp_path: Path) -> None:
    tool = _write(tmp_path / "d" / "tool", b"#!/bin/sh\n")
    before = hash_tree(tmp_path / "d")
    tool.chmod(0o755)
    assert file_executable(tool)
    after = hash_tree(tmp_path / "d")
    assert after.digest != before.digest
    assert after.entries[0].executable


def test_symlink_to_a_file_hashes_by_content(tmp_path: Path) -> None:
    target = _write(tmp_path / "real.txt", b"content")
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "link.txt").symlink_to(target)
    art = hash_tree(tmp_path / "d")
    assert art.entries == (TreeEntry("link.txt", hash_bytes(b"content"), 7, False),)
    hasher = Hasher(tmp_path, MemoryState())
    (tmp_path / "top.txt").symlink_to(target)
    got = hasher.hash("top.txt")
    assert got is not None and got.digest == hash_bytes(b"content")


def test_directory_symlink_loop_raises(tmp_path: Path) -> None:
    _write(tmp_path / "d" / "f", b"x")
    (tmp_path / "d" / "back").symlink_to(tmp_path / "d")
    with pytest.raises(UserError, match="loop"):
        hash_tree(tmp_path / "d")
    with pytest.raises(UserError):
        Hasher(tmp_path, MemoryState()).hash("d/")


def test_file_symlink_loop_raises(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "a").symlink_to(tmp_path / "d" / "b")
    (tmp_path / "d" / "b").symlink_to(tmp_path / "d" / "a")
    with pytest.raises(UserError):
        hash_tree(tmp_path / "d")
    with pytest.raises(UserError):
        Hasher(tmp_path, MemoryState()).hash("d/a")


def test_broken_symlink_inside_a_tree_raises(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "dangling").symlink_to(tmp_path / "nowhere")
    with pytest.raises(UserError, match="broken symlink"):
        hash_tree(tmp_path / "d")


# -- the Hasher and the racy-safe stat cache ----------------------------------
def test_missing_artifacts_are_none(tmp_path: Path) -> None:
    hasher = Hasher(tmp_path, MemoryState())
    assert hasher.hash("nope.txt") is None
    assert hasher.hash("nope/") is None
    _write(tmp_path / "file", b"x")
    assert hasher.hash("file/inside") is None


def test_file_and_directory(tmp_path: Path, lmdb_state: LmdbState) -> None:
    _write(tmp_path / "data" / "a", b"A")
    _write(tmp_path / "data" / "build" / "b", b"B")
    hasher = Hasher(tmp_path, lmdb_state)
    art = hasher.hash("data/")
    assert art == hash_tree(tmp_path / "data")
    f = hasher.hash("data/a")
    assert f is not None and (f.digest, f.size, f.is_dir) == (hash_bytes(b"A"), 1, False)


def test_trusted_entry_is_not_reread(tmp_path: Path, lmdb_state: LmdbState) -> None:
    _write(tmp_path / "f.txt", b"stable", mtime_ns=OLD)
    first = Counting()
    hasher = Hasher(tmp_path, lmdb_state, file_hash=first)
    expected = hasher.hash("f.txt")
    hasher.flush()
    assert first.paths == ["f.txt"]
    again = Counting()
    assert Hasher(tmp_path, lmdb_state, file_hash=again).hash("f.txt") == expected
    assert again.paths == []


def test_directory_reuses_per_file_entries(tmp_path: Path, lmdb_state: LmdbState) -> None:
    for name in ["a", "b", "build/c"]:
        _write(tmp_path / "d" / name, name.encode(), mtime_ns=OLD)
    hasher = Hasher(tmp_path, lmdb_state, file_hash=Counting())
    art = hasher.hash("d/")
    hasher.flush()
    assert lmdb_state.get_stat("d/build/c") is not None
    _write(tmp_path / "d" / "b", b"B!", mtime_ns=OLD + 10**9)
    counting = Counting()
    changed = Hasher(tmp_path, lmdb_state, file_hash=counting).hash("d/")
    assert counting.paths == ["b"]
    assert changed is not None and art is not None and changed.digest != art.digest
    assert changed == hash_tree(tmp_path / "d")


def test_racy_rewrite_within_the_same_tick_is_detected(
    tmp_path: Path, lmdb_state: LmdbState
) -> None:
    path = _write(tmp_path / "f.txt", b"version 1")
    mtime_ns = path.stat().st_mtime_ns
    hasher = Hasher(tmp_path, lmdb_state)
    first = hasher.hash("f.txt")
    hasher.flush()
    # Same size, same mtime: only the racy rule (entry recorded too close to the
    # mtime) and the ctime stand between this write and a stale hash.
    _write(tmp_path / "f.txt", b"version 2", mtime_ns=mtime_ns)
    assert path.stat().st_mtime_ns == mtime_ns
    second = Hasher(tmp_path, lmdb_state).hash("f.txt")
    assert first is not None and second is not None
    assert second.digest == hash_bytes(b"version 2") != first.digest


def test_a_racy_entry_is_rehashed_even_when_unchanged(tmp_path: Path) -> None:
    _write(tmp_path / "f.txt", b"just written")  # mtime == now: within the granularity
    state = MemoryState()
    hasher = Hasher(tmp_path, state)
    hasher.hash("f.txt")
    hasher.flush()
    counting = Counting()
    Hasher(tmp_path, state, file_hash=counting).hash("f.txt")
    assert counting.paths == ["f.txt"]  # not trusted yet: read again


def test_granularity_comes_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write(tmp_path / "f.txt", b"x", mtime_ns=time.time_ns() - 5 * 10**9)
    state = MemoryState()
    hasher = Hasher(tmp_path, state)
    hasher.hash("f.txt")
    hasher.flush()
    monkeypatch.setenv("PIVOT_MTIME_GRANULARITY_NS", str(60 * 10**9))
    counting = Counting()
    Hasher(tmp_path, state, file_hash=counting).hash("f.txt")
    assert counting.paths == ["f.txt"]  # 5 s old is racy under a 60 s granularity


def test_replaced_file_with_identical_stat_fields_but_new_inode(
    tmp_path: Path, lmdb_state: LmdbState
) -> None:
    _write(tmp_path / "f", b"aaaa", mtime_ns=OLD)
    hasher = Hasher(tmp_path, lmdb_state)
    hasher.hash("f")
    hasher.flush()
    _write(tmp_path / "g", b"bbbb", mtime_ns=OLD)
    os.replace(tmp_path / "g", tmp_path / "f")
    got = Hasher(tmp_path, lmdb_state).hash("f")
    assert got is not None and got.digest == hash_bytes(b"bbbb")


def test_flush_writes_nothing_until_called(tmp_path: Path) -> None:
    _write(tmp_path / "f", b"x", mtime_ns=OLD)
    state = MemoryState()
    hasher = Hasher(tmp_path, state)
    hasher.hash("f")
    assert state.get_stat("f") is None
    hasher.flush()
    entry = state.get_stat("f")
    assert entry is not None and entry.digest == str(hash_bytes(b"x"))
