"""The state DB: a speed-up cache of stat -> hash and small prefixed records.

Nothing here is ever the truth (DESIGN rule 3): a lost, stale or damaged state
only costs re-hashing. Backends come as a triple: ``StateNoop`` remembers
nothing, ``MemoryState`` is a dict, ``LmdbState`` is the real one under
``<root>/.pivot/state.lmdb``. Stat entries are trusted only under Git's
racily-clean rule (DESIGN rule 4, ``stat_is_trusted``).
"""

from __future__ import annotations

import logging
import os
import shutil
import struct
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import xxhash

from pivot.digest import Digest

log = logging.getLogger(__name__)

STAT_PREFIX = "stat:"
DEFAULT_GRANULARITY_NS = 2_000_000_000  # coarser than any common FS timestamp (FAT: 2 s)
GRANULARITY_ENV = "PIVOT_MTIME_GRANULARITY_NS"
MAP_SIZE = 1 << 30  # sparse on every FS we target; LMDB grows the file lazily

_STAT = struct.Struct("<qQQqq")  # mtime_ns, size, inode, ctime_ns, recorded_ns


@dataclass(frozen=True, slots=True)
class StatEntry:
    mtime_ns: int
    size: int
    inode: int
    ctime_ns: int
    recorded_ns: int
    digest: str

    def to_bytes(self) -> bytes:
        head = _STAT.pack(self.mtime_ns, self.size, self.inode, self.ctime_ns, self.recorded_ns)
        return head + self.digest.encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> StatEntry:
        mtime, size, inode, ctime, recorded = _STAT.unpack_from(data)
        return cls(mtime, size, inode, ctime, recorded, data[_STAT.size :].decode())

    @classmethod
    def from_stat(cls, st: os.stat_result, recorded_ns: int, digest: str) -> StatEntry:
        return cls(st.st_mtime_ns, st.st_size, st.st_ino, st.st_ctime_ns, recorded_ns, digest)


def mtime_granularity_ns() -> int:
    raw = os.environ.get(GRANULARITY_ENV)
    return int(raw) if raw else DEFAULT_GRANULARITY_NS


def stat_is_trusted(
    entry: StatEntry, st: os.stat_result, granularity_ns: int | None = None
) -> bool:
    """Git's racily-clean rule.

    ``recorded_ns`` is taken *before* the file was stat'ed and hashed, so any later
    write carries an mtime of at least ``recorded_ns - granularity``; an entry
    recorded more than one granularity after the mtime therefore cannot hide such
    a write behind an unchanged stat.
    """
    gran = mtime_granularity_ns() if granularity_ns is None else granularity_ns
    return (
        entry.mtime_ns == st.st_mtime_ns
        and entry.size == st.st_size
        and entry.inode == st.st_ino
        and entry.ctime_ns == st.st_ctime_ns
        and entry.recorded_ns > entry.mtime_ns + gran
    )


class StateBase(ABC):
    """Stat entries are keyed by root-relative POSIX path; the backend adds the prefix."""

    def get_stat(self, key: str) -> StatEntry | None:
        raw = self.get(STAT_PREFIX + key)
        if raw is None:
            return None
        try:
            entry = StatEntry.from_bytes(raw)
            Digest.parse(entry.digest)
        except (struct.error, UnicodeDecodeError, ValueError):
            return None  # a damaged entry is just a miss
        return entry

    def put_stats(self, entries: Mapping[str, StatEntry]) -> None:
        self.put_many({STAT_PREFIX + k: e.to_bytes() for k, e in entries.items()})

    @abstractmethod
    def get(self, key: str) -> bytes | None: ...

    @abstractmethod
    def put_many(self, items: Mapping[str, bytes]) -> None: ...

    @abstractmethod
    def delete_prefix(self, prefix: str) -> None: ...

    def close(self) -> None:
        return None


class StateNoop(StateBase):
    def get(self, key: str) -> bytes | None:
        return None

    def put_many(self, items: Mapping[str, bytes]) -> None:
        return None

    def delete_prefix(self, prefix: str) -> None:
        return None


class MemoryState(StateBase):
    def __init__(self) -> None:
        self._data: dict[str, bytes] = {}

    def get(self, key: str) -> bytes | None:
        return self._data.get(key)

    def put_many(self, items: Mapping[str, bytes]) -> None:
        self._data.update(items)

    def delete_prefix(self, prefix: str) -> None:
        for key in [k for k in self._data if k.startswith(prefix)]:
            del self._data[key]


_OPEN: dict[tuple[int, str], LmdbState] = {}
_OPEN_LOCK = threading.Lock()
_LONG = b"\x00long:"  # keys too long for LMDB are stored under a hash of themselves


class LmdbState(StateBase):
    """LMDB-backed state. One environment per path per process (LMDB forbids two)."""

    def __init__(self, env: Any, path: Path) -> None:
        self._env = env
        self.path = path
        self._refs = 1
        self._max_key = int(env.max_key_size())

    @classmethod
    def open(cls, path: Path) -> LmdbState:
        # The pid is part of the key: an environment inherited through fork is unusable.
        key = (os.getpid(), str(path.absolute()))
        with _OPEN_LOCK:
            state = _OPEN.get(key)
            if state is not None:
                state._refs += 1
                return state
            state = cls(_open_env(path), path)
            _OPEN[key] = state
            return state

    def close(self) -> None:
        with _OPEN_LOCK:
            self._refs -= 1
            if self._refs > 0:
                return
            _OPEN.pop((os.getpid(), str(self.path.absolute())), None)
            self._env.close()

    def _key(self, key: str) -> tuple[bytes, bytes]:
        """(LMDB key, value prefix). Over-long keys are hashed; the value then names the key."""
        raw = key.encode()
        if len(raw) <= self._max_key:
            return raw, b""
        header = struct.pack("<I", len(raw)) + raw
        return _LONG + xxhash.xxh3_128_digest(raw), header

    def get(self, key: str) -> bytes | None:
        import lmdb

        k, header = self._key(key)
        try:
            with self._env.begin(buffers=False) as txn:
                value: bytes | None = txn.get(k)
        except lmdb.Error as exc:
            self._rebuild(exc)
            return None
        if value is None or not header:
            return value
        return value[len(header) :] if value.startswith(header) else None

    def put_many(self, items: Mapping[str, bytes]) -> None:
        if items:
            self._write(lambda txn: self._put_all(txn, items))

    def _put_all(self, txn: Any, items: Mapping[str, bytes]) -> None:
        for key, value in items.items():
            k, header = self._key(key)
            txn.put(k, header + value)

    def delete_prefix(self, prefix: str) -> None:
        raw = prefix.encode()

        def delete(txn: Any) -> None:
            doomed = [k for k, _ in _iter_from(txn, raw)]
            doomed += [k for k, v in _iter_from(txn, _LONG) if _long_key(v).startswith(raw)]
            for k in doomed:
                txn.delete(k)

        self._write(delete)

    def _write(self, fn: Callable[[Any], None]) -> None:
        """One write transaction; a damaged (or full) DB is rebuilt and the write retried once."""
        import lmdb

        try:
            with self._env.begin(write=True) as txn:
                fn(txn)
        except lmdb.Error as exc:
            self._rebuild(exc)
            with self._env.begin(write=True) as txn:
                fn(txn)

    def _rebuild(self, exc: Exception) -> None:
        # Pages damaged past what the open-time probe touches surface here, mid-run.
        with _OPEN_LOCK:
            self._env.close()
            self._env = _reset_env(self.path, exc)


def _iter_from(txn: Any, start: bytes) -> Iterator[tuple[bytes, bytes]]:
    cursor = txn.cursor()
    if not cursor.set_range(start):
        return
    for k, v in cursor:
        if not bytes(k).startswith(start):
            return
        yield bytes(k), bytes(v)


def _long_key(value: bytes) -> bytes:
    (n,) = struct.unpack_from("<I", value)
    return value[4 : 4 + n]


def _open_env(path: Path) -> Any:
    import lmdb

    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        return _probe(_lmdb_open(path))
    except lmdb.Error as exc:
        return _reset_env(path, exc)


def _lmdb_open(path: Path) -> Any:
    import lmdb

    return lmdb.open(str(path), map_size=MAP_SIZE, max_dbs=0, readahead=False)


def _reset_env(path: Path, exc: Exception) -> Any:
    aside = path.with_name(f"{path.name}.broken-{time.time_ns()}")
    log.warning("state DB %s is unreadable (%s); moved to %s and rebuilt", path, exc, aside)
    if path.exists():
        shutil.move(str(path), str(aside))
    return _lmdb_open(path)


def _probe(env: Any) -> Any:
    """Touch every page header a lookup would: a damaged file fails here, not later."""
    try:
        with env.begin() as txn:
            cursor = txn.cursor()
            if cursor.first():
                cursor.last()
            env.stat()
    except BaseException:
        env.close()
        raise
    return env
