from __future__ import annotations

import dataclasses
import logging
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pivot.state import (
    LmdbState,
    MemoryState,
    StateBase,
    StateNoop,
    StatEntry,
    mtime_granularity_ns,
    stat_is_trusted,
)

GRAN = 2_000_000_000


@pytest.fixture(params=["memory", "lmdb"])
def state(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StateBase]:
    if request.param == "memory":
        yield MemoryState()
        return
    db = LmdbState.open(tmp_path / ".pivot" / "state.lmdb")
    yield db
    db.close()


def _entry(st: os.stat_result, recorded_ns: int, digest: str = "xxh3_128:ab") -> StatEntry:
    return StatEntry.from_stat(st, recorded_ns, digest)


def test_stat_entry_bytes_round_trip() -> None:
    e = StatEntry(1, 2, 3, 4, 5, "xxh3_128:00ff")
    assert StatEntry.from_bytes(e.to_bytes()) == e
    assert len(e.to_bytes()) < 60  # compact


def test_racily_clean_rule(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"x")
    st = path.stat()
    assert stat_is_trusted(_entry(st, st.st_mtime_ns + GRAN + 1), st, GRAN)
    assert not stat_is_trusted(_entry(st, st.st_mtime_ns + GRAN), st, GRAN)  # strictly after
    assert not stat_is_trusted(_entry(st, st.st_mtime_ns), st, GRAN)
    good = _entry(st, st.st_mtime_ns + 10 * GRAN)
    variants = {
        "mtime": dataclasses.replace(good, mtime_ns=st.st_mtime_ns + 1),
        "size": dataclasses.replace(good, size=st.st_size + 1),
        "inode": dataclasses.replace(good, inode=st.st_ino + 1),
        "ctime": dataclasses.replace(good, ctime_ns=st.st_ctime_ns + 1),
    }
    assert stat_is_trusted(good, st, GRAN)
    for field, changed in variants.items():
        assert not stat_is_trusted(changed, st, GRAN), field


def test_default_granularity_and_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PIVOT_MTIME_GRANULARITY_NS", raising=False)
    assert mtime_granularity_ns() == GRAN
    monkeypatch.setenv("PIVOT_MTIME_GRANULARITY_NS", "1000")
    assert mtime_granularity_ns() == 1000


def test_backend_contract(state: StateBase) -> None:
    assert state.get("remote:origin:ab") is None
    state.put_many({"remote:origin:ab": b"1", "remote:origin:cd": b"2", "remote:other:ab": b"3"})
    assert state.get("remote:origin:ab") == b"1"
    state.delete_prefix("remote:origin:")
    assert state.get("remote:origin:ab") is None
    assert state.get("remote:origin:cd") is None
    assert state.get("remote:other:ab") == b"3"
    entry = StatEntry(1, 2, 3, 4, 5, "xxh3_128:ab")
    state.put_stats({"data/a.csv": entry})
    assert state.get_stat("data/a.csv") == entry
    assert state.get_stat("data/b.csv") is None


def test_keys_longer_than_lmdb_allows(state: StateBase) -> None:
    long_key = "stat:" + "d/" * 400 + "file"
    other = "stat:" + "d/" * 400 + "other"
    state.put_many({long_key: b"v", other: b"w"})
    assert state.get(long_key) == b"v"
    assert state.get(other) == b"w"
    state.delete_prefix("stat:" + "d/" * 400 + "f")
    assert state.get(long_key) is None
    assert state.get(other) == b"w"


def test_noop_remembers_nothing() -> None:
    state = StateNoop()
    state.put_many({"k": b"v"})
    state.put_stats({"f": StatEntry(1, 2, 3, 4, 5, "x:y")})
    assert state.get("k") is None
    assert state.get_stat("f") is None


def test_one_environment_per_path(tmp_path: Path) -> None:
    path = tmp_path / "state.lmdb"
    a = LmdbState.open(path)
    b = LmdbState.open(path)
    assert a is b
    a.put_many({"k": b"v"})
    a.close()
    assert b.get("k") == b"v"  # still open: b holds a reference
    b.close()
    c = LmdbState.open(path)
    assert c is not a
    assert c.get("k") == b"v"  # persisted
    c.close()


def test_readers_do_not_wait_for_a_writer(tmp_path: Path) -> None:
    state = LmdbState.open(tmp_path / "state.lmdb")
    state.put_many({"k": b"v"})
    holding, release = threading.Event(), threading.Event()

    def writer() -> None:
        with state._env.begin(write=True) as txn:
            txn.put(b"k", b"new")
            holding.set()
            release.wait(10)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert holding.wait(10)
        t0 = time.monotonic()
        assert state.get("k") == b"v"  # the last committed value, at once
        assert time.monotonic() - t0 < 5  # the writer holds its transaction for 10 s
    finally:
        release.set()
        thread.join()
    assert state.get("k") == b"new"
    state.close()


def test_damaged_db_is_rebuilt_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / ".pivot" / "state.lmdb"
    state = LmdbState.open(path)
    state.put_many({"k": b"v"})
    state.close()
    (path / "data.mdb").write_bytes(os.urandom(64 * 1024))
    with caplog.at_level(logging.WARNING, logger="pivot.state"):
        rebuilt = LmdbState.open(path)
    try:
        assert "unreadable" in caplog.text
        assert rebuilt.get("k") is None
        rebuilt.put_many({"k": b"again"})
        assert rebuilt.get("k") == b"again"
        assert any(p.name.startswith("state.lmdb.broken-") for p in path.parent.iterdir())
    finally:
        rebuilt.close()


def test_truncated_db_is_rebuilt(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "state.lmdb"
    state = LmdbState.open(path)
    state.put_many({f"k{i}": b"v" * 100 for i in range(1000)})
    state.close()
    (path / "data.mdb").write_bytes(b"garbage")
    rebuilt = LmdbState.open(path)
    try:
        assert rebuilt.get("k1") is None
    finally:
        rebuilt.close()


def test_damage_found_mid_run_is_rebuilt(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "state.lmdb"
    state = LmdbState.open(path)
    state.put_many({f"k{i:04d}": b"v" * 100 for i in range(1000)})
    state.close()
    data = bytearray((path / "data.mdb").read_bytes())
    middle = len(data) // 4096 // 2  # a leaf page: the open-time probe does not touch it
    data[middle * 4096 : (middle + 1) * 4096] = os.urandom(4096)
    (path / "data.mdb").write_bytes(bytes(data))
    state = LmdbState.open(path)
    try:
        with caplog.at_level(logging.WARNING, logger="pivot.state"):
            for i in range(1000):
                state.get(f"k{i:04d}")  # never raises
        assert "unreadable" in caplog.text
        state.put_many({"fresh": b"1"})
        assert state.get("fresh") == b"1"
    finally:
        state.close()


def test_garbage_stat_value_is_a_miss(state: StateBase) -> None:
    state.put_many({"stat:f": b"\x01" * 40 + b"no digest here"})
    assert state.get_stat("f") is None
    state.put_many({"stat:g": b"short"})
    assert state.get_stat("g") is None
