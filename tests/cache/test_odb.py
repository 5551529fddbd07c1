"""Object-store contract: written once, run against every backend in conftest."""

from __future__ import annotations

import io
import os
import stat
from pathlib import Path

import pytest

from pivot.cache.layout import object_key
from pivot.cache.odb import ObjectStore
from pivot.digest import hash_bytes
from pivot.errors import CacheError, CorruptObjectError
from pivot.fingerprint.trees import hash_file, hash_tree


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _corrupt(store: ObjectStore, key: str, data: bytes) -> None:
    if store.is_local:
        target = Path(store.url.removeprefix("file://")) / key
        os.chmod(target, 0o644)
        target.write_bytes(data)
    else:
        store.fs.pipe_file(f"{store._base}/{key}", data)


def test_bytes_round_trip(store: ObjectStore) -> None:
    d = store.put_bytes(b"hello")
    assert d == hash_bytes(b"hello")
    assert store.exists(d)
    assert store.get_bytes(d) == b"hello"
    assert not store.exists(hash_bytes(b"other"))


def test_missing_object_is_a_cache_error(store: ObjectStore, tmp_path: Path) -> None:
    d = hash_bytes(b"never stored")
    with pytest.raises(CacheError) as info:
        store.get_bytes(d)
    assert not isinstance(info.value, CorruptObjectError)
    with pytest.raises(CacheError):
        store.get_file(d, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_file_round_trip(store: ObjectStore, tmp_path: Path) -> None:
    src = _write(tmp_path / "src.bin", os.urandom(100_000))
    d = store.put_file(src)
    assert d == hash_file(src)
    dest = tmp_path / "deep" / "dest.bin"
    store.get_file(d, dest)
    assert dest.read_bytes() == src.read_bytes()
    assert [p.name for p in dest.parent.iterdir()] == ["dest.bin"]  # no temp left behind


def test_put_file_refuses_a_wrong_digest(store: ObjectStore, tmp_path: Path) -> None:
    src = _write(tmp_path / "src", b"actual bytes")
    with pytest.raises(CacheError):
        store.put_file(src, hash_bytes(b"what we thought"))
    assert list(store.iter_objects()) == []


def test_identical_overwrite_is_tolerated(store: ObjectStore, tmp_path: Path) -> None:
    src = _write(tmp_path / "src", b"same")
    d1 = store.put_file(src)
    d2 = store.put_bytes(b"same")
    d3 = store.put_fileobj(io.BytesIO(b"same"))
    d4 = store.put_file(src, d1)
    assert d1 == d2 == d3 == d4
    assert list(store.iter_objects()) == [d1]
    assert store.get_bytes(d1) == b"same"


def test_local_objects_are_read_only(local_store: ObjectStore, tmp_path: Path) -> None:
    d = local_store.put_file(_write(tmp_path / "src", b"data"))
    path = local_store.local_path(d)
    assert path is not None
    assert stat.S_IMODE(path.stat().st_mode) == 0o444
    assert path == tmp_path / "cache" / object_key(d)


def test_remote_store_has_no_local_path(memory_store: ObjectStore) -> None:
    d = memory_store.put_bytes(b"x")
    assert memory_store.local_path(d) is None
    assert not memory_store.is_local


class _Exploding(io.RawIOBase):
    """A source that fails halfway through, like a disk error or a vanished file."""

    def __init__(self) -> None:
        self.calls = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        self.calls += 1
        if self.calls > 2:
            raise OSError("source went away")
        return b"x" * 1024


def test_failed_put_leaves_no_object(store: ObjectStore) -> None:
    with pytest.raises(OSError, match="went away"):
        store.put_fileobj(_Exploding())
    assert list(store.iter_objects()) == []
    if store.is_local:
        leftovers = [p for p in (Path(store.url.removeprefix("file://")) / "tmp").iterdir()]
        assert leftovers == []
    else:
        assert store.fs.find(store._base) == []


def test_exists_many(store: ObjectStore) -> None:
    stored = {store.put_bytes(f"obj {i}".encode()) for i in range(15)}
    missing = {hash_bytes(f"missing {i}".encode()) for i in range(15)}
    assert store.exists_many(stored | missing) == stored
    few = set(list(stored)[:3]) | set(list(missing)[:3])
    assert store.exists_many(few) == few & stored
    assert store.exists_many([]) == set()


def test_exists_many_across_most_prefixes(store: ObjectStore) -> None:
    # Enough digests to spread over >128 "xx/" folders: the single-listing path.
    stored = {store.put_bytes(f"many {i}".encode()) for i in range(20)}
    missing = {hash_bytes(f"absent {i}".encode()) for i in range(300)}
    assert len({d.hex[:2] for d in stored | missing}) > 128
    assert store.exists_many(stored | missing) == stored


def test_iter_and_delete(store: ObjectStore) -> None:
    a, b = store.put_bytes(b"a"), store.put_bytes(b"b")
    store.put_record("runs/ab/cdef", b"{}")  # records are not objects
    assert sorted(store.iter_objects()) == sorted([a, b])
    store.delete(a)
    store.delete(a)  # idempotent
    assert list(store.iter_objects()) == [b]
    assert not store.exists(a)


def test_trees(store: ObjectStore, tmp_path: Path) -> None:
    root = tmp_path / "tree"
    _write(root / "a.txt", b"A")
    _write(root / "sub" / "b.txt", b"B")
    _write(root / "sub" / "dup.txt", b"A")
    art = hash_tree(root)
    store.put_tree(root, art)
    assert store.exists(art.digest)
    assert store.read_manifest(art.digest) == art.entries
    assert store.tree_complete(art.digest)
    store.delete(art.entries[1].digest)  # sub/b.txt
    assert not store.tree_complete(art.digest)
    assert not store.tree_complete(hash_bytes(b"no such manifest"))


def test_a_plain_object_is_not_a_manifest(store: ObjectStore) -> None:
    d = store.put_bytes(b"just bytes")
    with pytest.raises(CacheError):
        store.read_manifest(d)
    assert not store.tree_complete(d)


def test_records(store: ObjectStore) -> None:
    assert store.get_record("runs/ab/cdef") is None
    store.put_record("runs/ab/cdef", b"one")
    store.put_record("runs/ab/cdef", b"two")  # a record may be replaced
    store.put_record("runs/cd/0123", b"three")
    assert store.get_record("runs/ab/cdef") == b"two"
    assert sorted(store.iter_records("runs")) == ["runs/ab/cdef", "runs/cd/0123"]
    assert list(store.iter_records("runs/cd/")) == ["runs/cd/0123"]
    with pytest.raises(ValueError):
        store.put_record("../escape", b"")


def test_garbage_at_an_object_key_is_detected(store: ObjectStore) -> None:
    d = store.put_bytes(b"the real bytes")
    _corrupt(store, object_key(d), b"garbage")
    with pytest.raises(CorruptObjectError):
        store.get_bytes(d)


def test_remote_get_file_verifies(memory_store: ObjectStore, tmp_path: Path) -> None:
    d = memory_store.put_bytes(b"the real bytes")
    _corrupt(memory_store, object_key(d), b"garbage")
    dest = tmp_path / "dest"
    with pytest.raises(CorruptObjectError):
        memory_store.get_file(d, dest)
    assert list(tmp_path.iterdir()) == []  # neither dest nor a temp file


def test_plain_path_and_file_url_are_the_same_store(tmp_path: Path) -> None:
    a = ObjectStore(str(tmp_path / "c"))
    b = ObjectStore(f"file://{tmp_path / 'c'}")
    d = a.put_bytes(b"shared")
    assert a.is_local and b.is_local
    assert b.get_bytes(d) == b"shared"


def test_local_store_recreates_folders_removed_while_it_is_open(tmp_path: Path) -> None:
    # Folders are made on the first miss, not checked before every write: one removed
    # behind a long-lived process (a notebook) must simply be made again.
    import shutil

    store = ObjectStore(str(tmp_path / "cache"))
    first = store.put_bytes(b"one")
    store.put_record("runs/ab/cdef", b"record")
    shutil.rmtree(tmp_path / "cache")
    second = store.put_bytes(b"two")
    store.put_record("runs/ab/cdef", b"record")
    assert store.exists(second) and not store.exists(first)
    assert store.get_record("runs/ab/cdef") == b"record"
    assert stat.S_IMODE(os.stat(store.local_path(second)).st_mode) == 0o444  # type: ignore[arg-type]
    assert list((tmp_path / "cache" / "tmp").iterdir()) == []  # no temp file left behind
