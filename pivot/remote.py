"""A remote cache: the project's object store layout on another fsspec URL.

Moves single objects and run records between the local cache and the remote;
``pivot.remote_api`` decides which. Everything downloaded is hash-verified
before it enters the local cache (DESIGN rule 7). Objects are named by their
content and each lands with one atomic PUT (or temp + move), so a transfer
killed half-way leaves both sides consistent and the next one finishes it.

The index of objects known to be on the remote (state keys
``remote:<name>:<digest>``) is a pure speed-up for ``push``: entries are only
written after the remote confirmed an object, ``push --verify`` ignores it,
and it is dropped whenever the remote's gc epoch or URL changes.
"""

from __future__ import annotations

import os
import random
import re
import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from pivot.cache.layout import RUNS, object_key
from pivot.cache.odb import ObjectStore
from pivot.cache.run_cache import RunRecord
from pivot.digest import Digest, hash_bytes
from pivot.errors import CacheError, ConfigError, CorruptObjectError

if TYPE_CHECKING:
    from pivot.state import StateBase
    from pivot.workspace import Workspace

T = TypeVar("T")
INDEX_PREFIX = "remote:"
EPOCH_RECORD = "meta/gc-epoch"  # rewritten by every remote gc: other clones' indexes go stale
KILL_AFTER_ENV = "PIVOT_TEST_KILL_AFTER_UPLOADS"  # tests only: SIGKILL this process after N uploads
BATCH = 128  # digests per existence check: at most 128 "xx/" folders, so listings stay per folder
SMALL = 8 << 20  # objects up to this size are read, verified and sent in one PUT
DEFAULT_JOBS = 16
_TRANSIENT = re.compile(
    r"throttl|slow ?down|time(d)? ?out|internal ?error|service ?unavailable|connection (reset|aborted)"
    r"|temporar|\b(500|502|503|504)\b", re.IGNORECASE)


class Progress(Protocol):
    def add_total(self, objects: int, nbytes: int) -> None: ...

    def advance(self, nbytes: int) -> None: ...


class NoProgress:
    def add_total(self, objects: int, nbytes: int) -> None:
        return None

    def advance(self, nbytes: int) -> None:
        return None


@dataclass(frozen=True)
class Failure:
    digest: Digest
    error: str
    corrupt: bool = False
    missing: bool = False


def is_transient(exc: BaseException) -> bool:
    """Timeouts, 5xx and throttling are worth another try; a missing or corrupt object is not."""
    if isinstance(exc, FileNotFoundError | PermissionError | CacheError | ValueError):
        return False
    if isinstance(exc, TimeoutError | ConnectionError):
        return True
    return _TRANSIENT.search(f"{type(exc).__name__} {exc}") is not None


def retry(fn: Callable[[], T], *, attempts: int = 4, base_delay: float = 0.2) -> T:
    """Call ``fn``; on a transient error wait (exponential backoff, jitter) and try again."""
    for attempt in range(1, attempts + 1):
        try:
            return fn()
        except Exception as exc:
            if attempt == attempts or not is_transient(exc):
                raise
            time.sleep(base_delay * 2 ** (attempt - 1) * (0.5 + random.random()))
    raise AssertionError("unreachable")  # pragma: no cover


class _KillSwitch:
    """Failure injection for the interrupted-push test: dies like SIGKILL, no cleanup."""

    def __init__(self) -> None:
        raw = os.environ.get(KILL_AFTER_ENV)
        self.limit = int(raw) if raw else None
        self.count = 0
        self.lock = threading.Lock()

    def tick(self) -> None:
        if self.limit is None:
            return
        with self.lock:
            self.count += 1
            if self.count >= self.limit:
                os.kill(os.getpid(), signal.SIGKILL)


class Remote:
    def __init__(self, name: str, url: str, state: StateBase, *,
                 storage_options: Mapping[str, Any] | None = None) -> None:
        self.name = name
        self.url = url
        self.state = state
        # Listings are re-read before every use anyway; a cached one could hide an object
        # another process (or this one) wrote since, so remotes keep none.
        options = {"use_listings_cache": False, **(storage_options or {})}
        self.odb = ObjectStore(url, storage_options=options)
        self._prefix = f"{INDEX_PREFIX}{name}:"

    def __repr__(self) -> str:
        return f"Remote({self.name!r}, {self.url!r})"

    # -- index (speed-up only) ------------------------------------------------
    def sync_index(self) -> None:
        """Drop the index when the remote was garbage-collected or the name now means another URL."""
        epoch = retry(lambda: self.odb.get_record(EPOCH_RECORD)) or b""
        current = self.url.encode() + b"\n" + epoch
        meta = f"{INDEX_PREFIX}{self.name}"  # no trailing ":" so the prefix delete spares it
        if self.state.get(meta) != current:
            self.forget_all()
            self.state.put_many({meta: current})

    def forget_all(self) -> None:
        self.state.delete_prefix(self._prefix)

    def known(self, d: Digest) -> bool:
        return self.state.get(self._prefix + str(d)) is not None

    def remember(self, ds: Iterable[Digest]) -> None:
        self.state.put_many({self._prefix + str(d): b"1" for d in ds})

    # -- existence ------------------------------------------------------------
    def missing(self, ds: Iterable[Digest], *, jobs: int = DEFAULT_JOBS, use_index: bool = True) -> set[Digest]:
        """The digests the remote does not hold, checked in listing batches, concurrently."""
        todo = sorted({d for d in ds if not (use_index and self.known(d))})
        batches = [todo[i : i + BATCH] for i in range(0, len(todo), BATCH)]
        present: set[Digest] = set()
        for found in pool_map(lambda b: retry(lambda: self.odb.exists_many(b)), batches, jobs):
            present |= found
        self.remember(present)
        return set(todo) - present

    def available(self, d: Digest, is_dir: bool) -> bool:
        """Asks the remote itself (no index): what CI's ``verify --allow-missing`` relies on."""
        if is_dir:
            return retry(lambda: self.odb.tree_complete(d))
        return retry(lambda: self.odb.exists(d))

    # -- objects ----------------------------------------------------------------
    def upload(self, local: ObjectStore, ds: Iterable[Digest], *, jobs: int = DEFAULT_JOBS,
               progress: Progress | None = None) -> list[Failure]:
        kill = _KillSwitch()

        def one(d: Digest) -> int:
            size = retry(lambda: self._put_one(local, d))
            kill.tick()
            return size

        return self._run(one, ds, jobs, progress)

    def _put_one(self, local: ObjectStore, d: Digest) -> int:
        path = local.local_path(d)
        if path is None or path.stat().st_size <= SMALL:
            data = path.read_bytes() if path is not None else local.get_bytes(d)
            if hash_bytes(data) != d:  # never spread a damaged local object
                raise CorruptObjectError(f"local object {object_key(d)} is corrupt", path=object_key(d))
            self.odb.put_bytes(data)
            return len(data)
        self.odb.put_file(path, d)  # hashes the file on the way
        return path.stat().st_size

    def download(self, local: ObjectStore, ds: Iterable[Digest], tmp_dir: Path, *,
                 jobs: int = DEFAULT_JOBS, progress: Progress | None = None) -> list[Failure]:
        tmp_dir.mkdir(parents=True, exist_ok=True)
        return self._run(lambda d: retry(lambda: self._get_one(local, d, tmp_dir)), ds, jobs, progress)

    def _get_one(self, local: ObjectStore, d: Digest, tmp_dir: Path) -> int:
        from pivot.fingerprint.trees import hash_file

        tmp = tmp_dir / f"fetch-{uuid.uuid4().hex}"
        try:
            self.odb.get_file(d, tmp)  # verified on the way in when the remote is not local
            if self.odb.is_local and hash_file(tmp) != d:
                raise CorruptObjectError(f"object {object_key(d)} on {self.url} is corrupt", path=object_key(d))
            local.put_file(tmp, d)
            return tmp.stat().st_size
        finally:
            tmp.unlink(missing_ok=True)

    def get_manifest_bytes(self, d: Digest) -> bytes:
        return retry(lambda: self.odb.get_bytes(d))  # get_bytes always verifies

    def _run(self, fn: Callable[[Digest], int], ds: Iterable[Digest], jobs: int,
             progress: Progress | None) -> list[Failure]:
        """Run ``fn`` over the digests; remember successes in the index as they complete."""
        bar = progress or NoProgress()
        failures: list[Failure] = []
        done: list[Digest] = []
        items = sorted(set(ds))
        if not items:
            return failures
        with ThreadPoolExecutor(max(1, min(jobs, len(items)))) as pool:
            futures = {pool.submit(fn, d): d for d in items}
            for fut in as_completed(futures):
                d = futures[fut]
                try:
                    bar.advance(fut.result())
                    done.append(d)
                except Exception as exc:  # reported per object, the others carry on
                    failures.append(_failure(d, exc, self.url))
                    bar.advance(0)
                if len(done) >= 64:  # the state DB is written from this thread only
                    self.remember(done)
                    done.clear()
        self.remember(done)
        return failures

    # -- run records --------------------------------------------------------------
    def record_keys(self) -> set[str]:
        return set(retry(lambda: list(self.odb.iter_records(RUNS))))

    def push_record(self, local: ObjectStore, key: str) -> bool:
        data = local.get_record(key)
        if data is None:
            return False
        retry(lambda: self.odb.put_record(key, data))
        return True

    def fetch_record(self, local: ObjectStore, key: str) -> RunRecord | None:
        """Copy one record down; anything unreadable or filed under another key is ignored."""
        from pivot.cache.run_cache import record_key

        data = retry(lambda: self.odb.get_record(key))
        if data is None:
            return None
        try:
            record = RunRecord.from_bytes(data)
        except ValueError:
            return None
        if record_key(record.stage_key) != key:
            return None
        local.put_record(key, data)
        return record

    def new_epoch(self) -> None:
        retry(lambda: self.odb.put_record(EPOCH_RECORD, uuid.uuid4().hex.encode()))
        self.forget_all()


def _failure(d: Digest, exc: BaseException, url: str) -> Failure:
    if isinstance(exc, CorruptObjectError):
        return Failure(d, str(exc), corrupt=True)
    if isinstance(exc, FileNotFoundError) or (isinstance(exc, CacheError) and "missing" in str(exc)):
        return Failure(d, f"object {object_key(d)} is missing from {url}", missing=True)
    return Failure(d, f"{type(exc).__name__}: {exc}")


def pool_map(fn: Callable[[Any], T], items: list[Any], jobs: int) -> list[T]:
    if len(items) <= 1 or jobs <= 1:
        return [fn(item) for item in items]
    with ThreadPoolExecutor(min(jobs, len(items))) as pool:
        return list(pool.map(fn, items))


# -- configuration ------------------------------------------------------------------
def remote_names(ws: Workspace) -> dict[str, Any]:
    raw = ws.config.get("remotes") or {}
    if not isinstance(raw, Mapping):
        raise ConfigError("config `remotes` must map names to URLs", path=str(ws.layout.config_file))
    return dict(raw)


def _parse_entry(name: str, entry: Any) -> tuple[str, dict[str, Any]]:
    if isinstance(entry, str):
        return entry, {}
    if isinstance(entry, Mapping) and isinstance(entry.get("url"), str):
        options = {str(k): v for k, v in entry.items() if k != "url" and v is not None}
        return str(entry["url"]), options
    raise ConfigError(f"remote {name!r}: expected a URL or a mapping with `url`", path=f"remotes.{name}")


def get_remote(ws: Workspace, name: str) -> Remote:
    entries = remote_names(ws)
    if name not in entries:
        known = ", ".join(sorted(entries)) or "none configured"
        raise ConfigError(f"no remote named {name!r} ({known}); add one with `pivot remote add NAME URL`",
                          path=f"remotes.{name}")
    url, options = _parse_entry(name, entries[name])
    return Remote(name, url, ws.state, storage_options=options)


def default_remote(ws: Workspace) -> Remote | None:
    """``core.remote``, else the only remote configured, else the legacy ``cache.remote`` URL."""
    chosen = ws.config.get("core.remote")
    if chosen:
        return get_remote(ws, str(chosen))
    entries = remote_names(ws)
    if len(entries) == 1:
        return get_remote(ws, next(iter(entries)))
    if len(entries) > 1:
        raise ConfigError(f"several remotes ({', '.join(sorted(entries))}) and no default: "
                          "use -r NAME or `pivot config set core.remote NAME`", path="core.remote")
    legacy = ws.config.get("cache.remote")
    if isinstance(legacy, str) and legacy:
        return Remote("default", legacy, ws.state)
    return None


def resolve(ws: Workspace, name: str | None) -> Remote:
    remote = get_remote(ws, name) if name else default_remote(ws)
    if remote is None:
        raise ConfigError("no remote configured: `pivot remote add NAME URL --default`", path="core.remote")
    return remote
