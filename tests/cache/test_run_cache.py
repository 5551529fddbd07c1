from __future__ import annotations

from pathlib import Path

from pivot.cache.odb import ObjectStore
from pivot.cache.run_cache import RunCache, RunRecord, record_key
from pivot.digest import hash_bytes, hash_json
from pivot.fingerprint.trees import hash_tree
from pivot.outrecord import OutRecord


def _key(name: str) -> str:
    return str(hash_json({"stage": name}))


def test_record_bytes_are_canonical() -> None:
    a = OutRecord("out/a.txt", hash_bytes(b"a"), 1, False)
    b = OutRecord("out/b/", hash_bytes(b"b"), 2, True)
    r1, r2 = RunRecord("k", (a, b)), RunRecord("k", (b, a))
    assert r1.to_bytes() == r2.to_bytes()
    assert b'"schema":1' in r1.to_bytes()
    assert RunRecord.from_bytes(r1.to_bytes()) == RunRecord("k", (b, a))


def test_round_trip_when_every_object_exists(store: ObjectStore, tmp_path: Path) -> None:
    root = tmp_path / "dir"
    (root / "s").mkdir(parents=True)
    (root / "s" / "f").write_bytes(b"in tree")
    tree = hash_tree(root)
    store.put_tree(root, tree)
    d = store.put_bytes(b"out file")
    record = RunRecord(
        _key("train"), (OutRecord("m.pkl", d, 8, False), OutRecord("dir/", tree.digest, tree.size, True))
    )
    cache = RunCache(store)
    assert cache.get(record.stage_key) is None
    cache.put(record)
    got = cache.get(record.stage_key)
    assert got is not None
    assert set(got.outs) == set(record.outs)


def test_missing_file_object_means_no_hit(store: ObjectStore) -> None:
    cache = RunCache(store)
    cache.put(RunRecord(_key("a"), (OutRecord("x", hash_bytes(b"never stored"), 1, False),)))
    assert cache.get(_key("a")) is None


def test_incomplete_tree_means_no_hit(store: ObjectStore, tmp_path: Path) -> None:
    root = tmp_path / "dir"
    root.mkdir()
    (root / "a").write_bytes(b"a")
    (root / "b").write_bytes(b"b")
    tree = hash_tree(root)
    store.put_tree(root, tree)
    store.delete(tree.entries[0].digest)
    cache = RunCache(store)
    cache.put(RunRecord(_key("t"), (OutRecord("dir/", tree.digest, tree.size, True),)))
    assert cache.get(_key("t")) is None


def test_a_record_for_another_key_is_never_replayed(store: ObjectStore) -> None:
    d = store.put_bytes(b"out")
    other = RunRecord(_key("variant-a"), (OutRecord("o", d, 3, False),))
    # Plant variant-a's record where variant-b's would live.
    store.put_record(record_key(_key("variant-b")), other.to_bytes())
    assert RunCache(store).get(_key("variant-b")) is None
    assert RunCache(store).get(_key("variant-a")) is None  # nothing stored under its own key


def test_garbage_record_is_a_miss(store: ObjectStore) -> None:
    store.put_record(record_key(_key("g")), b"\xffnot json")
    assert RunCache(store).get(_key("g")) is None
