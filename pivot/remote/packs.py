"""Packs on a remote: a push of many small objects sends a few packs instead of one PUT each,
and a pull takes them back out with one GET per pack (a ranged GET per object when only a
few of a pack's objects are wanted).

An object store charges and waits per request: ~10 ms each on moto here, tens of ms on a
real S3 region. A thousand 1 KiB outputs cost a thousand requests loose, one packed.
Only objects up to ``PACKABLE`` bytes are packed, only by ``push`` (tree manifests never:
they stay loose, so trees and gc's young-manifest rule read them as before), and only when
at least ``MIN_OBJECTS`` go at once, so a pack always saves many requests and a remote
does not fill with tiny packs whose indexes cost more reads than they save.

Which packs a remote holds is one listing of ``packs/``; each pack's index is read once (its
head) and kept in the state DB under the remote's index prefix, so a remote gc's new epoch
drops it with the rest of the index (pivot.remote.store). Every object taken out of a pack
is hashed before it enters the local cache; a pack whose head is not ours is ignored with a
warning naming it.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pivot.cache.layout import object_key
from pivot.cache.odb import ObjectStore
from pivot.digest import Digest, hash_bytes
from pivot.errors import CorruptObjectError
from pivot.pool import pool_map
from pivot.remote.pack_format import (
    FOLDER,
    Entry,
    PackError,
    PackIndex,
    build,
    head_size,
    key,
    name_of,
    parse_head,
)
from pivot.remote.retry import Failure, failure, retry

if TYPE_CHECKING:
    from pivot.state import StateBase

log = logging.getLogger(__name__)
PACKABLE = 1 << 20  # objects up to this size go into packs
MIN_OBJECTS = 64  # fewer small objects than this in one push go loose
TARGET = 32 << 20  # a pack is closed at this many bytes (several go up at once)
WHOLE = 4  # a whole pack is read when a quarter of its bytes are wanted; else one range per object
_FIRST_READ = 1 << 20  # a pack's first read: its header and (nearly always) its whole index
_THREADS = 16


@dataclass
class Moved:
    """What a pack operation took care of: the digests that went through, and those that failed."""

    done: dict[Digest, int] = field(default_factory=dict)  # digest -> bytes
    failures: list[Failure] = field(default_factory=list)


class Packs:
    def __init__(self, odb: Callable[[], ObjectStore], state: StateBase, prefix: str, url: str) -> None:
        self._odb = odb  # opened on first use, like the Remote's own store
        self._state = state
        self._prefix = prefix
        self._url = url
        self._listed: dict[str, PackIndex] | None = None
        self.listed_info: dict[str, dict[str, Any]] = {}  # the last listing's entry per pack name
        self._where: dict[Digest, tuple[str, Entry]] = {}

    # -- what the remote holds ------------------------------------------------------
    def listing(self, *, fresh: bool = False) -> dict[str, PackIndex]:
        """Every readable pack on the remote by name: listed once per instance (again if ``fresh``)."""
        if self._listed is not None and not fresh:
            return self._listed
        odb = self._odb()
        self.listed_info = {name: info for k, info in retry(lambda: odb.stat_keys(FOLDER)).items()
                            if (name := name_of(k)) is not None}  # sizes here; times for gc
        sizes = {name: int(info.get("size") or 0) for name, info in self.listed_info.items()}
        indexes: dict[str, PackIndex] = {}
        for name, size in sizes.items():
            raw = self._state.get(self._state_key(name))
            try:
                if raw is not None and (idx := PackIndex.from_json(name, raw)).length == size:
                    indexes[name] = idx
            except (ValueError, TypeError):
                pass  # re-read below
        unread = sorted(set(sizes) - set(indexes))
        read = pool_map(lambda name: self._read_index(odb, name, sizes[name]), unread, _THREADS)
        new = {idx.name: idx for idx in read if idx is not None}
        self._state.put_many({self._state_key(n): idx.to_json() for n, idx in new.items()})
        indexes.update(new)
        self._listed = indexes
        self._where = {d: (idx.name, e) for idx in indexes.values() for d, e in idx.entries.items()}
        return indexes

    def holding(self, ds: Iterable[Digest], *, fresh: bool = False) -> set[Digest]:
        """Which of ``ds`` are in a pack on the remote."""
        self.listing(fresh=fresh)
        return {d for d in ds if d in self._where}

    def _state_key(self, name: str) -> str:
        return f"{self._prefix}@pack:{name}"  # "@" never starts a digest: no clash with the index

    def _read_index(self, odb: ObjectStore, name: str, size: int) -> PackIndex | None:
        path = odb._remote(key(name))
        try:
            head = retry(lambda: odb.fs.cat_file(path, start=0, end=min(size, _FIRST_READ)))
            need = head_size(head)
            if len(head) < need <= size:
                head = retry(lambda: odb.fs.cat_file(path, start=0, end=need))
            return parse_head(name, head, size)
        except PackError as exc:
            log.warning("ignoring %s on %s: %s", key(name), self._url, exc)
        except FileNotFoundError:
            pass  # removed since the listing
        return None

    # -- push -------------------------------------------------------------------------
    def send(self, local: ObjectStore, ds: Iterable[Digest], jobs: int) -> Moved:
        """Packs the small objects among ``ds`` when there are enough of them; the rest are the
        caller's to send loose. Each object is hashed before it goes (never spread damage)."""
        sizes = {}
        for d in ds:
            path = local.local_path(d)
            try:
                size = path.stat().st_size if path is not None else PACKABLE + 1
            except OSError:
                continue  # reported by the loose transfer
            if size <= PACKABLE:
                sizes[d] = size
        moved = Moved()
        if len(sizes) < MIN_OBJECTS:
            return moved
        groups: list[list[Digest]] = [[]]
        total = 0
        for d in sorted(sizes):
            if groups[-1] and total + sizes[d] > TARGET:
                groups.append([])
                total = 0
            groups[-1].append(d)
            total += sizes[d]
        sent = pool_map(lambda group: self._send_one(local, group), groups, min(jobs, 8))
        written = {}
        for index, part in sent:
            moved.done.update(part.done)
            moved.failures += part.failures
            if index is not None:
                written[self._state_key(index.name)] = index.to_json()
        self._state.put_many(written)  # from the caller's thread: the state DB's only writer
        self._listed = None
        return moved

    def _send_one(self, local: ObjectStore, group: list[Digest]) -> tuple[PackIndex | None, Moved]:
        moved = Moved()
        objects = []
        for d in group:
            try:
                data = local.get_bytes(d)  # verified against d on the way out of the cache
                objects.append((d, data))
            except Exception as exc:  # a damaged or vanished local object fails alone
                moved.failures.append(failure(d, exc, self._url))
        if not objects:
            return None, moved
        name, blob = build(objects)
        odb = self._odb()
        try:
            retry(lambda: odb.fs.pipe_file(odb._remote(key(name)), blob))  # one atomic PUT
        except Exception as exc:
            moved.failures += [failure(d, exc, self._url) for d, _ in objects]
            return None, moved
        moved.done.update((d, len(data)) for d, data in objects)
        return parse_head(name, blob, len(blob)), moved

    # -- pull -------------------------------------------------------------------------
    def take(self, local: ObjectStore, ds: Iterable[Digest], jobs: int) -> Moved:
        """Fetches the objects among ``ds`` that are in packs into the local cache, verified."""
        self.listing()
        by_pack: dict[str, list[tuple[Digest, Entry]]] = {}
        for d in sorted(set(ds)):
            if d in self._where:
                name, entry = self._where[d]
                by_pack.setdefault(name, []).append((d, entry))
        moved = Moved()
        for part in pool_map(lambda item: self._take_one(local, *item), sorted(by_pack.items()), min(jobs, 8)):
            moved.done.update(part.done)
            moved.failures += part.failures
        return moved

    def _take_one(self, local: ObjectStore, name: str, wanted: list[tuple[Digest, Entry]]) -> Moved:
        odb, moved = self._odb(), Moved()
        path = odb._remote(key(name))
        assert self._listed is not None
        length = self._listed[name].length
        try:
            if sum(e.size for _, e in wanted) * WHOLE >= length:
                blob = retry(lambda: odb.fs.cat_file(path))
                pieces = [blob[e.offset:e.offset + e.size] for _, e in wanted]
            else:
                pieces = pool_map(lambda e: retry(lambda: odb.fs.cat_file(path, start=e.offset, end=e.offset + e.size)),
                                  [e for _, e in wanted], 4)
        except Exception as exc:
            moved.failures += [failure(d, exc, self._url) for d, _ in wanted]
            return moved
        for (d, _), data in zip(wanted, pieces, strict=True):
            try:
                if hash_bytes(data) != d:
                    raise CorruptObjectError(f"object {object_key(d)} in {key(name)} on {self._url} is corrupt",
                                             path=key(name))
                local.put_fileobj(io.BytesIO(data), d)  # hashed again on the way in: read-only, one rename
                moved.done[d] = len(data)
            except Exception as exc:
                moved.failures.append(failure(d, exc, self._url))
        return moved

    # -- gc -----------------------------------------------------------------------------
    def delete(self, name: str) -> None:
        odb = self._odb()
        odb._delete_key(key(name))
