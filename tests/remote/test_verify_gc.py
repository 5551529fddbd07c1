"""`verify --allow-missing` against the remote, and `gc` of the cache and of a remote."""

from __future__ import annotations

import shutil
from pathlib import Path

from pivot.cache.odb import ObjectStore
from pivot.digest import Digest
from pivot.lockfile import LockRecord, read
from tests.fixtures.project import run_cli
from tests.remote.conftest import FRESH, add_remote, working_copy


def test_verify_allow_missing_asks_the_remote(origin: Path, tmp_path: Path, s3_bucket: str) -> None:
    a = working_copy(origin, tmp_path / "a")
    url = s3_bucket + "/pivot-cache"
    add_remote(a, url)
    run_cli(a, "push")
    shutil.rmtree(a / ".pivot" / "cache")  # outputs now only on the remote
    assert run_cli(a, "verify", check=False).code == 1
    run_cli(a, "verify", "--allow-missing")

    lock = read(a / ".pivot" / "stages" / "prep" / "shards.lock")
    assert lock is not None
    store = ObjectStore(url, storage_options=FRESH)
    entry = store.read_manifest(lock.outs[0].digest)[0]
    store.delete(entry.digest)  # one file inside a folder output
    result = run_cli(a, "verify", "--allow-missing", "--json", check=False)
    assert result.code == 1
    failed = {s["name"]: s for s in result.json()["stages"] if s["status"] == "failed"}
    assert failed["prep:shards"]["missing_files"] == ["prep/shards/"]


def test_gc_keeps_referenced_objects_and_removes_the_rest(origin: Path, tmp_path: Path) -> None:
    a = working_copy(origin, tmp_path / "a")
    url = f"file://{tmp_path / 'remote'}"
    add_remote(a, url)
    run_cli(a, "push")
    b = working_copy(a, tmp_path / "b")  # another clone; its index says the first version is pushed
    (a / "data" / "raw.txt").write_text("new\ninput\n")
    run_cli(a, "track", "--force", "data/raw.txt")
    run_cli(a, "repro")
    run_cli(a, "push")
    local = ObjectStore(str(a / ".pivot" / "cache"))
    before = set(local.iter_objects())
    runs_before = set(local.iter_records("runs"))

    run_cli(a, "config", "set", "gc.grace", "0")  # everything here is seconds old
    dry = run_cli(a, "gc", "--workspace", "--dry-run", "--json").json()
    assert dry["removed"] and set(local.iter_objects()) == before
    done = run_cli(a, "gc", "--workspace", "--json").json()
    assert done["removed"] == dry["removed"]
    assert set(local.iter_objects()) == before - {Digest.parse(d["digest"]) for d in done["removed"]}
    # Run records follow the objects they name: the first version's go, the current ones stay.
    assert done["records_removed"]
    assert set(local.iter_records("runs")) == runs_before - set(done["records_removed"])
    run_cli(a, "verify")  # everything referenced is still there
    shutil.rmtree(a / "prep")
    run_cli(a, "checkout")

    remote = ObjectStore(url, storage_options=FRESH)
    removed = [d["digest"] for d in run_cli(a, "gc", "--workspace", "--remote", "origin", "-f", "--json").json()["removed"]]
    assert sorted(removed) == sorted(d["digest"] for d in done["removed"])
    assert set(remote.iter_objects()) == set(local.iter_objects())
    # The gc bumped the remote's epoch: b's index is dropped and b re-sends what gc removed.
    assert run_cli(b, "push", "--json").json()["transferred"] == len(removed)
    for lock in all_locks_of(b):
        for out in lock.outs:
            assert remote.tree_complete(out.digest) if out.is_dir else remote.exists(out.digest)


def all_locks_of(root: Path) -> list[LockRecord]:
    return [lock for p in sorted((root / ".pivot" / "stages").rglob("*.lock")) if (lock := read(p)) is not None]
