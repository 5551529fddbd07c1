"""Batched transfers on an async filesystem (s3fs, gcsfs, adlfs): one client, many requests
in flight on fsspec's event loop, instead of a thread per request each waiting on that loop.

Each object is one coroutine; the caller gets a ``concurrent.futures.Future`` per object, so
results are collected (progress, the index in the state DB) on the caller's own thread.
The integrity rules are the same as the threaded path in pivot.remote.store: a pushed
object's bytes are hashed before they leave, a pulled object is hashed before it is moved
into the local cache (read-only, by one ``rename``), so nothing unverified is ever visible.
"""

from __future__ import annotations

import asyncio
import concurrent.futures as cf
import os
import random
import uuid
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from pivot.cache.layout import FILES, object_key, parse_object_key
from pivot.cache.odb import ObjectStore
from pivot.digest import Digest, hash_bytes
from pivot.errors import CorruptObjectError
from pivot.remote.retry import is_transient

T = TypeVar("T")
INLINE = 64 << 20  # up to this size an object is read once, hashed and sent from memory
BIG = 8 << 20  # objects above this size also take a slot of the smaller "big" semaphore
_READ_IN_THREAD = 1 << 20  # reads and hashes above this size leave the event loop
WHOLE_TREE = 128  # beyond this many wanted "xx/" folders (of 256), one listing of them all
FEW = 8  # up to this many digests, the store's own checks (one HEAD each) are cheaper


def async_fs(odb: ObjectStore) -> Any | None:
    """The store's filesystem when it is an fsspec AsyncFileSystem with an atomic PUT."""
    if odb.is_local or not getattr(odb, "_atomic_put", False):
        return None
    from fsspec.asyn import AsyncFileSystem

    fs = odb.fs
    return fs if isinstance(fs, AsyncFileSystem) and getattr(fs, "loop", None) is not None else None


def where(odb: ObjectStore, d: Digest) -> str:
    """The object's path in the store's filesystem (what the store's own reads and writes use)."""
    return odb._remote(object_key(d))


def list_present(fs: Any, odb: ObjectStore, wanted: set[Digest], jobs: int) -> set[Digest]:
    """Which of ``wanted`` an S3 store holds, by listing: each wanted ``xx/`` folder under a
    server-side prefix (concurrently; an empty one costs one LIST, not LIST + HEAD), or the
    whole ``files/<algo>/`` tree when most folders are wanted anyway."""
    from fsspec.asyn import sync

    heads: dict[str, set[str]] = {}
    for d in wanted:
        heads.setdefault(d.algo, set()).add(d.hex[:2])
    listings = [(odb._remote(f"{FILES}/{algo}"), "" if len(hs) > WHOLE_TREE else f"{h}/")
                for algo, hs in heads.items() for h in (sorted(hs) if len(hs) <= WHOLE_TREE else [""])]

    async def all_listings() -> list[list[str]]:
        sem = asyncio.Semaphore(max(1, jobs))

        async def one(root: str, prefix: str) -> list[str]:
            async with sem:
                try:
                    return list(await aretry(lambda: fs._find(root, prefix=prefix)))
                except FileNotFoundError:
                    return []

        return list(await asyncio.gather(*(one(r, p) for r, p in listings)))

    present: set[Digest] = set()
    for names in sync(fs.loop, all_listings):
        for name in names:
            try:  # ".../files/<algo>/<xx>/<rest>": anything else there is not an object
                present.add(parse_object_key("/".join([FILES, *name.rsplit("/", 3)[-3:]])))
            except ValueError:
                continue
    return wanted & present


def pool_options(url: str, options: Mapping[str, Any], jobs: int) -> dict[str, Any]:
    """S3 clients keep 10 connections by default: as many as requests in flight, unless set."""
    out = dict(options)
    if url.split("://", 1)[0] in {"s3", "s3a"}:
        config = dict(out.get("config_kwargs") or {})
        config.setdefault("max_pool_connections", jobs)
        out["config_kwargs"] = config
    return out


class Batch:
    """Schedules coroutines on ``loop`` with at most ``jobs`` in flight (``big_jobs`` large ones)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, jobs: int, big_jobs: int) -> None:
        self.loop = loop

        async def make() -> tuple[asyncio.Semaphore, asyncio.Semaphore]:
            return asyncio.Semaphore(max(1, jobs)), asyncio.Semaphore(max(1, big_jobs))

        self._sem, self._big = asyncio.run_coroutine_threadsafe(make(), loop).result()

    def submit(self, fn: Callable[[], Awaitable[T]], size: int = 0) -> cf.Future[T]:
        async def guarded() -> T:
            async with self._sem:
                if size <= BIG:
                    return await aretry(fn)
                async with self._big:
                    return await aretry(fn)

        return asyncio.run_coroutine_threadsafe(guarded(), self.loop)


async def aretry(fn: Callable[[], Awaitable[T]], *, attempts: int = 4, base_delay: float = 0.2) -> T:
    """pivot.remote.retry.retry for coroutines: transient errors back off and try again."""
    for attempt in range(1, attempts + 1):
        try:
            return await fn()
        except Exception as exc:
            if attempt == attempts or not is_transient(exc):
                raise
            await asyncio.sleep(base_delay * 2 ** (attempt - 1) * (0.5 + random.random()))
    raise AssertionError("unreachable")  # pragma: no cover


async def _off_loop(fn: Callable[[], T], size: int) -> T:
    return await asyncio.to_thread(fn) if size > _READ_IN_THREAD else fn()


async def put_object(fs: Any, target: str, path: Path, d: Digest) -> int:
    """One local cache object to ``target``: hashed first, never spreading damaged bytes."""
    from pivot.fingerprint.trees import hash_file

    size = path.stat().st_size
    if size <= INLINE:  # the very bytes that were hashed are the ones sent
        data = await _off_loop(path.read_bytes, size)
        if await _off_loop(lambda: hash_bytes(data), size) != d:
            raise CorruptObjectError(f"local object {object_key(d)} is corrupt", path=object_key(d))
        await fs._pipe_file(target, data)  # one PUT, or a multipart upload: visible only when complete
        return size
    if await asyncio.to_thread(hash_file, path) != d:
        raise CorruptObjectError(f"local object {object_key(d)} is corrupt", path=object_key(d))
    await fs._put_file(str(path), target)
    return size


async def get_object(fs: Any, source: str, local: ObjectStore, d: Digest, tmp_dir: Path, url: str) -> int:
    """One remote object into the local cache: downloaded aside, verified, then renamed in."""
    from pivot.fingerprint.trees import hash_file

    tmp = tmp_dir / f"fetch-{uuid.uuid4().hex}"
    try:
        await fs._get_file(source, str(tmp))
        size = tmp.stat().st_size
        if await _off_loop(lambda: hash_file(tmp), size) != d:
            raise CorruptObjectError(f"object {object_key(d)} on {url} is corrupt", path=object_key(d))
        if local.is_local:
            await _off_loop(lambda: commit_local(local, tmp, d), size)
        else:  # a cache on a URL (refetch on a cluster): its own calls must not run on this loop
            await asyncio.get_running_loop().run_in_executor(_store_pool(), local.put_file, tmp, d)
        return size
    finally:
        tmp.unlink(missing_ok=True)


_STORE_POOL: list[cf.ThreadPoolExecutor] = []


def _store_pool() -> cf.ThreadPoolExecutor:
    """Threads for a store's own blocking calls. Not the loop's default executor: those calls wait
    on this loop, which itself needs that executor (DNS lookups); sharing it deadlocked."""
    if not _STORE_POOL:
        _STORE_POOL.append(cf.ThreadPoolExecutor(8, thread_name_prefix="pivot-store"))
    return _STORE_POOL[0]


def commit_local(local: ObjectStore, tmp: Path, d: Digest) -> None:
    """Verified bytes into the local cache as the store itself commits them: read-only, one
    rename (no second copy). Another filesystem, or a cache on a URL: the store copies them."""
    final = local.local_path(d)
    if final is None:
        local.put_file(tmp, d)
        return
    os.chmod(tmp, 0o444)
    try:
        try:
            os.replace(tmp, final)
        except FileNotFoundError:  # the first object under this "xx/" folder
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, final)
    except OSError:  # EXDEV: the tmp folder is on another filesystem than the cache
        os.chmod(tmp, 0o644)
        local.put_file(tmp, d)
