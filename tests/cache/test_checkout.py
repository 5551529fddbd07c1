from __future__ import annotations

import os
import shutil
import stat
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from pivot.cache.checkout import LinkMode, checkout, is_checked_out, store_output
from pivot.cache.odb import ObjectStore
from pivot.digest import hash_bytes
from pivot.errors import CacheError
from pivot.fingerprint.trees import ArtifactHash, TreeEntry, hash_file, hash_tree, manifest_bytes
from pivot.safepath import UnsafePathError


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _tree(root: Path) -> Path:
    (root / "sub").mkdir(parents=True)
    (root / "a.txt").write_bytes(b"A")
    (root / "sub" / "b.txt").write_bytes(b"B")
    tool = root / "sub" / "run.sh"
    tool.write_bytes(b"#!/bin/sh\n")
    tool.chmod(0o755)
    return root


@pytest.fixture
def other_device_store() -> Iterator[ObjectStore]:
    """A cache on tmpfs, so hardlinks into tmp_path fail with EXDEV for real."""
    root = Path("/dev/shm") / f"pivot-test-{uuid.uuid4().hex}"
    assert os.stat("/dev/shm").st_dev != os.stat(Path.cwd()).st_dev
    yield ObjectStore(str(root))
    shutil.rmtree(root, ignore_errors=True)


def test_hardlink_checkout(local_store: ObjectStore, tmp_path: Path) -> None:
    d = local_store.put_bytes(b"payload")
    dest = tmp_path / "ws" / "out.bin"
    dest.parent.mkdir()
    dest.write_bytes(b"stale")
    checkout(local_store, d, False, dest, root=tmp_path)
    obj = local_store.local_path(d)
    assert obj is not None
    assert dest.stat().st_ino == obj.stat().st_ino
    assert _mode(dest) == 0o444  # the shared inode stays read-only
    assert is_checked_out(local_store, d, dest)
    assert sorted(p.name for p in dest.parent.iterdir()) == ["out.bin"]


def test_copy_fallback_across_devices(other_device_store: ObjectStore, tmp_path: Path) -> None:
    d = other_device_store.put_bytes(b"payload")
    dest = tmp_path / "out.bin"
    checkout(other_device_store, d, False, dest, root=tmp_path)
    obj = other_device_store.local_path(d)
    assert obj is not None
    assert dest.read_bytes() == b"payload"
    assert dest.stat().st_ino != obj.stat().st_ino
    assert not is_checked_out(other_device_store, d, dest)
    with pytest.raises(CacheError):  # with no fallback allowed, the failure is reported
        checkout(other_device_store, d, False, dest, modes=(LinkMode.HARDLINK,), root=tmp_path)


def test_writable_checkout_is_a_private_copy(local_store: ObjectStore, tmp_path: Path) -> None:
    d = local_store.put_bytes(b"state v1")
    dest = tmp_path / "incremental.db"
    checkout(local_store, d, False, dest, writable=True, root=tmp_path)
    assert _mode(dest) & stat.S_IWUSR
    dest.write_bytes(b"state v2")
    assert local_store.get_bytes(d) == b"state v1"


def test_symlink_checkout(local_store: ObjectStore, tmp_path: Path) -> None:
    d = local_store.put_bytes(b"payload")
    dest = tmp_path / "out.bin"
    checkout(local_store, d, False, dest, modes=(LinkMode.SYMLINK,), root=tmp_path)
    assert dest.is_symlink()
    assert dest.read_bytes() == b"payload"
    assert is_checked_out(local_store, d, dest)


def test_directory_checkout_rebuilds_the_tree(local_store: ObjectStore, tmp_path: Path) -> None:
    src = _tree(tmp_path / "src")
    art = hash_tree(src)
    store_output(local_store, tmp_path, "src/", art)
    dest = tmp_path / "ws" / "out"
    (dest / "old").mkdir(parents=True)
    (dest / "old" / "stale.txt").write_text("stale")
    checkout(local_store, art.digest, True, dest, root=tmp_path)
    assert hash_tree(dest) == art
    assert not (dest / "old").exists()
    assert os.access(dest / "sub" / "run.sh", os.X_OK)  # executables are copied with their bit
    assert (dest / "a.txt").stat().st_nlink == 2
    assert not is_checked_out(local_store, art.digest, dest)  # run.sh is a copy
    assert sorted(p.name for p in dest.parent.iterdir()) == ["out"]


def test_directory_of_links_is_checked_out(local_store: ObjectStore, tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "x").write_bytes(b"x")
    art = hash_tree(src)
    store_output(local_store, tmp_path, "src/", art)
    dest = tmp_path / "dest"
    checkout(local_store, art.digest, True, dest, root=tmp_path)
    assert is_checked_out(local_store, art.digest, dest)
    (dest / "extra").write_bytes(b"e")
    assert not is_checked_out(local_store, art.digest, dest)


def test_remote_checkout_is_verified_and_copied(memory_store: ObjectStore, tmp_path: Path) -> None:
    src = _tree(tmp_path / "src")
    art = hash_tree(src)
    memory_store.put_tree(src, art)
    dest = tmp_path / "dest"
    checkout(memory_store, art.digest, True, dest, root=tmp_path)
    assert hash_tree(dest) == art
    assert not is_checked_out(memory_store, art.digest, dest)


@pytest.mark.parametrize("mode", [LinkMode.HARDLINK, LinkMode.SYMLINK])
def test_storing_a_checked_out_file_does_not_loop(
    local_store: ObjectStore, tmp_path: Path, mode: LinkMode
) -> None:
    d = local_store.put_bytes(b"payload")
    obj = local_store.local_path(d)
    assert obj is not None
    checkout(local_store, d, False, tmp_path / "out.bin", modes=(mode,), root=tmp_path)
    store_output(local_store, tmp_path, "out.bin", ArtifactHash(d, 7, False))
    assert not obj.is_symlink()
    assert obj.read_bytes() == b"payload"
    assert _mode(obj) == 0o444
    assert hash_file(tmp_path / "out.bin") == d


@pytest.mark.parametrize("mode", [LinkMode.HARDLINK, LinkMode.SYMLINK])
def test_storing_a_checked_out_tree_does_not_loop(
    local_store: ObjectStore, tmp_path: Path, mode: LinkMode
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "f").write_bytes(b"f")
    art = hash_tree(src)
    store_output(local_store, tmp_path, "src/", art)
    shutil.rmtree(src)
    checkout(local_store, art.digest, True, src, modes=(mode,), root=tmp_path)
    store_output(local_store, tmp_path, "src/", art)
    for entry in art.entries:
        obj = local_store.local_path(entry.digest)
        assert obj is not None
        assert not obj.is_symlink()
        assert obj.read_bytes() == b"f"
    assert local_store.tree_complete(art.digest)


def test_store_output_puts_files_and_trees(memory_store: ObjectStore, tmp_path: Path) -> None:
    (tmp_path / "m.txt").write_bytes(b"metric")
    d = hash_file(tmp_path / "m.txt")
    store_output(memory_store, tmp_path, "m.txt", ArtifactHash(d, 6, False))
    assert memory_store.get_bytes(d) == b"metric"
    art = hash_tree(_tree(tmp_path / "d"))
    store_output(memory_store, tmp_path, "d/", art)
    assert memory_store.tree_complete(art.digest)


def test_a_manifest_cannot_escape_its_directory(local_store: ObjectStore, tmp_path: Path) -> None:
    d = local_store.put_bytes(b"evil")
    manifest = local_store.put_bytes(manifest_bytes([TreeEntry("../escaped", d, 4, False)]))
    with pytest.raises(UnsafePathError, match="escaped"):  # refused when the manifest is read
        checkout(local_store, manifest, True, tmp_path / "ws" / "dir", root=tmp_path)
    assert not (tmp_path / "ws" / "escaped").exists()
    assert list((tmp_path / "ws").iterdir()) == []


def test_missing_object_is_reported(local_store: ObjectStore, tmp_path: Path) -> None:
    with pytest.raises(CacheError):
        checkout(local_store, hash_bytes(b"absent"), False, tmp_path / "x", root=tmp_path)
    assert not (tmp_path / "x").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name != "cache"] == []
