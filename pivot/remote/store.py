"""A remote cache: the project's object store layout on another fsspec URL.

Moves single objects and run records between the local cache and the remote;
``pivot.remote.transfer`` decides which. Everything downloaded is hash-verified
before it enters the local cache (DESIGN rule 7). Objects are named by their
content and each lands with one atomic PUT (or temp + move), so a transfer
killed half-way leaves both sides consistent and the next one finishes it.

The index of objects known to be on the remote (state keys
``remote:<name>:<digest>``) is a pure speed-up for ``push``: entries are only
written after the remote confirmed an object, ``push --verify`` ignores it,
and it is dropped whenever the remote's gc epoch or URL changes.
"""

from __future__ import annotations

import functools
import logging
import uuid
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pivot.cache.fs_open import lazy_s3_base
from pivot.cache.layout import RUNS, object_key
from pivot.cache.odb import ObjectStore
from pivot.cache.run_cache import RunRecord
from pivot.digest import Digest, hash_bytes
from pivot.errors import CorruptObjectError
from pivot.remote.batch import (
    FEW,
    Batch,
    async_fs,
    get_object,
    list_present,
    pool_options,
    put_object,
    where,
)
from pivot.remote.packs import Moved, Packs
from pivot.remote.progress import NoProgress, Progress
from pivot.remote.retry import Failure, KillSwitch, failure, retry
from pivot.safepath import UnsafePathError

if TYPE_CHECKING:
    from pivot.state import StateBase

log = logging.getLogger(__name__)
INDEX_PREFIX = "remote:"
EPOCH_RECORD = "meta/gc-epoch"  # rewritten by every remote gc: other clones' indexes go stale
SMALL = 8 << 20  # objects up to this size are read, verified and sent in one PUT
DEFAULT_JOBS = 32  # requests in flight (async stores) or threads (the others)
MAX_JOBS = 128  # connections an S3 client may keep open


class Remote:
    def __init__(self, name: str, url: str, state: StateBase, *,
                 storage_options: Mapping[str, Any] | None = None, pack: bool = True) -> None:
        self.name = name
        self.pack = pack  # `pack: false` in the remote's entry: every object stays loose
        self.url = url
        self.state = state
        # Listings are re-read before every use anyway; a cached one could hide an object
        # another process (or this one) wrote since, so remotes keep none.
        self._options = pool_options(url, {"use_listings_cache": False, **(storage_options or {})}, MAX_JOBS)
        self._plain = lazy_s3_base(url, storage_options or {}) is not None  # see sync_index
        self._prefix = f"{INDEX_PREFIX}{name}:"
        self.packs = Packs(lambda: self.odb, state, self._prefix, url)

    @functools.cached_property
    def odb(self) -> ObjectStore:
        """Opened on first use: that imports the filesystem (s3fs: ~0.4 s), which a pull whose
        objects are all here already never needs."""
        return ObjectStore(self.url, storage_options=self._options)

    def __repr__(self) -> str:
        return f"Remote({self.name!r}, {self.url!r})"

    # -- index (speed-up only) ------------------------------------------------
    def sync_index(self, *, create_epoch: bool = False) -> None:
        """Drop the index when the remote was garbage-collected or the name now means another URL.

        ``create_epoch`` (push: it may write) gives a remote that never saw a gc an epoch, so
        later pushes can confirm it through pivot.remote.s3_epoch without importing s3fs.
        The index restarts under the new epoch: nothing learnt before the write is kept."""
        meta = f"{INDEX_PREFIX}{self.name}"  # no trailing ":" so the prefix delete spares it
        stored, prefix = self.state.get(meta), self.url.encode() + b"\n"
        if stored is not None and len(stored) > len(prefix) and stored.startswith(prefix) and self._plain:
            from pivot.remote.s3_epoch import read_record

            if read_record(self.url, EPOCH_RECORD) == stored[len(prefix):]:
                return  # the same random epoch the index was built under: no gc since
        epoch = retry(lambda: self.odb.get_record(EPOCH_RECORD)) or b""
        if not epoch and create_epoch:
            epoch = self.new_epoch()
        if stored != prefix + epoch:
            self.forget_all()
            self.state.put_many({meta: prefix + epoch})

    def forget_all(self) -> None:
        self.state.delete_prefix(self._prefix)

    def known(self, d: Digest) -> bool:
        return self.state.get(self._prefix + str(d)) is not None

    def remember(self, ds: Iterable[Digest]) -> None:
        self.state.put_many({self._prefix + str(d): b"1" for d in ds})

    # -- existence ------------------------------------------------------------
    def missing(self, ds: Iterable[Digest], *, jobs: int = DEFAULT_JOBS, use_index: bool = True) -> set[Digest]:
        """The digests the remote does not hold, checked in listing batches, concurrently."""
        todo = {d for d in ds if not (use_index and self.known(d))}
        if not todo:
            return set()
        # One call for the whole set: each "xx/" folder wanted is listed (concurrently), or the
        # whole tree when most folders are wanted anyway (a few pages of 1,000 keys).
        fs = async_fs(self.odb)
        if fs is not None and "s3" in fs.protocol and len(todo) > FEW:
            present = list_present(fs, self.odb, todo, jobs)
        else:
            present = retry(lambda: self.odb.exists_many(todo))
        if todo - present:  # not loose: maybe in a pack (one listing of packs/ per Remote)
            present |= self.packs.holding(todo - present, fresh=not use_index)
        self.remember(present)
        return todo - present

    def available(self, d: Digest, is_dir: bool) -> bool:
        """Asks the remote itself (no index): what CI's ``verify --allow-missing`` relies on."""
        if not is_dir:
            return not self.missing({d}, use_index=False)
        if retry(lambda: self.odb.tree_complete(d)):
            return True
        from pivot.fingerprint.trees import parse_manifest

        try:  # the manifest is always loose; its files may be packed
            files = {e.digest for e in parse_manifest(self.get_manifest_bytes(d))}
        except Exception:
            return False
        return not self.missing(files, use_index=False)

    # -- objects ----------------------------------------------------------------
    def upload(self, local: ObjectStore, ds: Iterable[Digest], *, jobs: int = DEFAULT_JOBS,
               progress: Progress | None = None, pack: bool = False) -> list[Failure]:
        """``pack``: small plain files may go in packs (pivot.remote.packs); never tree manifests."""
        ds = set(ds)
        if not ds:  # nothing to move: do not open the remote for it
            return []
        kill = KillSwitch()
        fs = async_fs(self.odb)
        packed = self.packs.send(local, ds, jobs) if pack and self.pack and fs is not None and local.is_local else Moved()
        if packed.done or packed.failures:
            self._settle(packed, progress, pushed=True)
            ds -= set(packed.done) | {f.digest for f in packed.failures}
            if not ds:
                return packed.failures
        if fs is not None and local.is_local:
            batch = Batch(fs.loop, jobs, max(2, jobs // 8))

            def submit(d: Digest) -> Future[int]:
                path = local.local_path(d)
                assert path is not None
                target = where(self.odb, d)
                return batch.submit(lambda: put_object(fs, target, path, d), _size(path))

            return packed.failures + self._collect(submit, ds, progress, kill)

        def one(d: Digest) -> int:
            size = retry(lambda: self._put_one(local, d))
            kill.tick()
            return size

        return packed.failures + self._run(one, ds, jobs, progress)

    def _settle(self, moved: Moved, progress: Progress | None, *, pushed: bool) -> None:
        """Progress for what a pack operation moved, on this thread. A push's failures are final
        and its successes go into the index; a pull's failures are tried again loose (counted then)."""
        bar = progress or NoProgress()
        for size in moved.done.values():
            bar.advance(size)
        if pushed:
            for _ in moved.failures:
                bar.advance(0)
            self.remember(moved.done)

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
        ds = set(ds)
        if not ds:  # a pull of what is already here never opens the remote
            return []
        tmp_dir.mkdir(parents=True, exist_ok=True)
        packed = self.packs.take(local, ds, jobs)
        self._settle(packed, progress, pushed=False)
        ds -= set(packed.done)
        # An object a pack failed to give (damaged, or the pack gone) may still be there loose:
        # its pack failure is reported only if the loose copy fails too.
        from_pack = {f.digest: f for f in packed.failures}
        fs = async_fs(self.odb)
        if fs is not None:
            batch = Batch(fs.loop, jobs, max(2, jobs // 8))

            def submit(d: Digest) -> Future[int]:
                source = where(self.odb, d)
                return batch.submit(lambda: get_object(fs, source, local, d, tmp_dir, self.url))

            loose = self._collect(submit, ds, progress) if ds else []
        else:
            loose = self._run(lambda d: retry(lambda: self._get_one(local, d, tmp_dir)), ds, jobs, progress)
        return [from_pack.get(f.digest, f) for f in loose]

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
        items = sorted(set(ds))
        if not items:
            return []
        with ThreadPoolExecutor(max(1, min(jobs, len(items)))) as pool:
            return self._collect(lambda d: pool.submit(fn, d), items, progress)

    def _collect(self, submit: Callable[[Digest], Future[int]], ds: Iterable[Digest],
                 progress: Progress | None, kill: KillSwitch | None = None) -> list[Failure]:
        """Submit every digest, then take results on this thread as they complete: progress,
        failures, and the index (the state DB is written from this thread only)."""
        bar = progress or NoProgress()
        failures: list[Failure] = []
        done: list[Digest] = []
        futures = {submit(d): d for d in sorted(set(ds))}
        for fut in as_completed(futures):
            d = futures[fut]
            try:
                bar.advance(fut.result())
                done.append(d)
                if kill is not None:
                    kill.tick()
            except Exception as exc:  # reported per object, the others carry on
                failures.append(failure(d, exc, self.url))
                bar.advance(0)
            if len(done) >= 64:
                self.remember(done)
                done.clear()
        self.remember(done)
        return failures

    # -- run records --------------------------------------------------------------
    def record_keys(self) -> set[str]:
        return set(retry(lambda: list(self.odb.iter_records(RUNS))))

    def records_missing(self, keys: set[str], *, use_index: bool = True) -> set[str]:
        """The run records the remote lacks. Records pushed or seen before are in the index
        (dropped with it on gc), so a push with nothing new skips listing the remote's."""
        todo = {k for k in keys if not (use_index and self.known_record(k))}
        if not todo:
            return set()
        present = self.record_keys() & todo
        self.remember_records(present)
        return todo - present

    def known_record(self, key: str) -> bool:
        return self.state.get(self._prefix + key) is not None

    def remember_records(self, keys: Iterable[str]) -> None:
        self.state.put_many({self._prefix + k: b"1" for k in keys})

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
            record = RunRecord.from_bytes(data, source=f"{self.url}/{key}")
        except ValueError:
            return None
        except UnsafePathError as exc:  # a hostile or broken record is reported, never applied
            log.warning("ignoring run record: %s", exc)
            return None
        if record_key(record.stage_key) != key:
            return None
        local.put_record(key, data)
        return record

    def new_epoch(self) -> bytes:
        epoch = uuid.uuid4().hex.encode()
        retry(lambda: self.odb.put_record(EPOCH_RECORD, epoch))
        self.forget_all()
        return epoch




def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0  # reported by the transfer itself
