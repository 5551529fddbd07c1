"""Run records pushed or seen are kept in the remote index like objects: a push with nothing
new reads only the gc epoch, and a gc, or `push --verify`, still re-sends a lost record."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fixtures.project import run_cli
from tests.remote.conftest import add_remote, working_copy


def _records(store_url: str) -> list[str]:
    from pivot.cache.layout import RUNS
    from pivot.cache.odb import ObjectStore

    return sorted(ObjectStore(store_url).iter_records(RUNS))


@pytest.mark.s3
def test_noop_push_only_reads_the_epoch(origin: Path, tmp_path: Path, s3_bucket: str,
                                        s3_requests: list[tuple[str, str, str]]) -> None:
    a = working_copy(origin, tmp_path / "a")
    add_remote(a, s3_bucket + "/store")
    assert run_cli(a, "push", "--json").json()["records"] == 8
    s3_requests.clear()
    again = run_cli(a, "push", "--json").json()
    assert again["ok"] and again["transferred"] == 0 and again["records"] == 0
    assert [(m, p.rsplit("/", 2)[-2:]) for m, p, _ in s3_requests] == [("GET", ["meta", "gc-epoch"])]


def test_lost_record_is_pushed_again_after_gc_epoch_or_with_verify(origin: Path, tmp_path: Path) -> None:
    from pivot.cache.odb import ObjectStore
    from pivot.remote.store import EPOCH_RECORD

    a = working_copy(origin, tmp_path / "a")
    url = f"file://{tmp_path / 'remote'}"
    add_remote(a, url)
    run_cli(a, "push")
    store = ObjectStore(url)
    first = _records(url)[0]
    store.delete_record(first)  # lost behind the index's back
    assert run_cli(a, "push", "--json").json()["records"] == 0  # the index is trusted...
    assert run_cli(a, "push", "--verify", "--json").json()["records"] == 1  # ...but not by --verify
    assert first in _records(url)
    store.delete_record(first)
    store.put_record(EPOCH_RECORD, b"a teammate's gc")  # what `pivot gc` writes before deleting
    assert run_cli(a, "push", "--json").json()["records"] == 1
    assert first in _records(url)
