"""The content-addressed object store, on any fsspec URL (DESIGN rule 7).

Local stores write to ``<root>/tmp`` and ``rename`` into place, read-only (0444). Remote stores
rely on one PUT being atomic (S3, GCS, Azure, memory) and fall back to a temp name + move
elsewhere. Everything read from a non-local store is hash-verified before it is returned.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, BinaryIO

from pivot.cache import fastio
from pivot.cache.fs_open import lazy_s3_base, local_path, open_store_fs
from pivot.cache.integrity import Readable, copy_hashing, expect_unchanged, verify
from pivot.cache.later import Later
from pivot.cache.layout import FILES, object_key, object_prefix, parse_object_key
from pivot.cache.records import RecordsMixin
from pivot.cache.s3put import LightPut
from pivot.digest import Digest, hash_bytes
from pivot.errors import CacheError
from pivot.fingerprint.trees import ArtifactHash, TreeEntry, hash_file, manifest_bytes
from pivot.fingerprint.trees import parse_manifest as _parse_manifest
from pivot.leftovers import temp_beside
from pivot.pool import pool_map

READ_ONLY = 0o444
QUARANTINE = "quarantine"  # beside files/ and runs/: objects that failed verification
_FEW = 8  # up to this many digests, one existence check each beats listing
_MANY_PREFIXES = 128  # beyond this many "xx/" folders, one recursive listing is cheaper
_THREADS = 16
# Up to this size a remote upload is one PUT with no existence check first: re-sending a few
# identical bytes costs less than the HEAD that would find them (a PUT is atomic, DESIGN rule 7).
SMALL_PUT = 1 << 20


class ObjectStore(RecordsMixin):
    def __init__(self, url: str, *, storage_options: Mapping[str, Any] | None = None) -> None:
        self.url = url
        self.storage_options = dict(storage_options or {})
        self._fs: Any = None
        # Remote objects known present (stored or seen here); only gc removes one: see forget_present()
        self._present: set[Digest] = set()
        self.later = Later(url)  # writes no one in this run waits for (see cache/later.py)
        self._light: LightPut | None = None  # small PUTs without s3fs (cache/s3put.py)
        local = local_path(url)
        if local is not None:
            # A plain folder needs no fsspec (its import costs more than a whole no-op status)
            self.is_local, self._base, self._atomic_put = True, str(local), False
            return
        if (base := lazy_s3_base(url, self.storage_options)) is not None:  # s3fs opened on first use
            self.is_local, self._base, self._atomic_put, self._light = False, base, True, LightPut(base)
            return
        self._open_fs()

    def _open_fs(self) -> None:
        self._fs, self._base, self.is_local, self._atomic_put = open_store_fs(self.url, self.storage_options)

    @property
    def fs(self) -> Any:
        if self._fs is None and not self.is_local:
            self._open_fs()
        if self._fs is None:
            from fsspec.implementations.local import LocalFileSystem

            self._fs = LocalFileSystem()
        return self._fs

    def __repr__(self) -> str:
        return f"ObjectStore({self.url!r})"

    # -- paths -------------------------------------------------------------
    def _local(self, key: str) -> Path:
        return Path(f"{self._base}/{key}")  # one parse: asked several times per stage

    def _remote(self, key: str) -> str:
        return f"{self._base}/{key}"

    def local_path(self, d: Digest) -> Path | None:
        """The object's file when the store is on local disk (whether or not it exists)."""
        return self._local(object_key(d)) if self.is_local else None

    # -- existence ---------------------------------------------------------
    def exists(self, d: Digest) -> bool:
        if self.is_local:
            return os.path.exists(f"{self._base}/{object_key(d)}")
        if d not in self._present and fastio.head(self.fs, self._remote(object_key(d))):
            self._present.add(d)
        return d in self._present

    def forget_present(self) -> None:
        self._present.clear()

    def exists_many(self, ds: Iterable[Digest]) -> set[Digest]:
        wanted = set(ds)
        if self.is_local or len(wanted) <= _FEW:
            found = pool_map(self.exists, sorted(wanted), 1 if self.is_local else _THREADS)
            return {d for d, ok in zip(sorted(wanted), found, strict=True) if ok}
        heads = {(d.algo, d.hex[:2]) for d in wanted}
        if len(heads) > _MANY_PREFIXES:
            folders = [f"{FILES}/{algo}" for algo in {a for a, _ in heads}]
        else:
            folders = [object_prefix(algo, head) for algo, head in sorted(heads)]
        present: set[Digest] = set()
        for listing in pool_map(self._list, folders, _THREADS):
            present.update(listing)
        self._present.update(wanted & present)
        return wanted & present

    def keys_in_one_page(self, prefix: str) -> set[str] | None:
        """Store-relative keys under ``prefix`` when one LIST request returns them all, else None."""
        if self._light is not None and (light := self._light.list_page(prefix))[0]:  # no s3fs import
            return light[1]
        found = None if self.is_local else fastio.list_page(self.fs, self._remote(prefix))
        return None if found is None else {k for k in map(self._key_of, found) if k}

    def _list(self, folder: str) -> set[Digest]:
        path = self._remote(folder)
        self.fs.invalidate_cache()  # all levels: a stale sub-listing could hide a new object
        try:
            names = self.fs.find(path)
        except FileNotFoundError:
            return set()
        return set(self._parse_all(names))

    def _parse_all(self, paths: Iterable[str]) -> Iterator[Digest]:
        for p in paths:
            key = self._key_of(p)
            try:
                yield parse_object_key(key or "")
            except ValueError:
                continue  # temp files and strangers are not objects

    def _key_of(self, path: str) -> str | None:
        """The store-relative key of a path as the filesystem lists it."""
        base, p = self._base.strip("/"), path.strip("/")
        if not base:
            return p
        return p[len(base) + 1 :] if p.startswith(base + "/") else None

    # -- writes --------------------------------------------------------------
    def put_file(self, src: Path, d: Digest | None = None) -> Digest:
        if d is not None and (d in self._present or (self.is_local and self.exists(d))):
            return d
        if self.is_local:
            with open(src, "rb", buffering=0) as f:
                return self.put_fileobj(f, d)
        if os.path.getsize(src) <= SMALL_PUT:  # one read, one PUT (no existence check first)
            data = src.read_bytes()
            expect_unchanged(d, hash_bytes(data), str(src))
            return self.put_bytes(data)
        if d is not None and self.exists(d):
            return d
        actual = hash_file(src)
        expect_unchanged(d, actual, str(src))
        if d is None and self.exists(actual):
            return actual
        self._upload(str(src), object_key(actual))
        self._present.add(actual)
        return actual

    def put_fileobj(self, f: Readable, d: Digest | None = None) -> Digest:
        """Stream ``f`` into the store, hashing on the way; nothing is visible on failure."""
        if not self.is_local:
            with tempfile.NamedTemporaryFile(prefix="pivot-put-") as spool:
                actual = copy_hashing(f, spool)
                spool.flush()
                expect_unchanged(d, actual, "stream")
                if not self.exists(actual):
                    self._upload(spool.name, object_key(actual))
                    self._present.add(actual)
                return actual
        tmp = self._local_tmp()
        try:
            with self._open_tmp(tmp) as out:
                actual = copy_hashing(f, out)
            expect_unchanged(d, actual, "stream")
            self._commit_local(tmp, object_key(actual))
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return actual

    def put_bytes(self, data: bytes) -> Digest:
        d = hash_bytes(data)
        if self.is_local:
            return d if self.exists(d) else self.put_fileobj(io.BytesIO(data), d)
        # Remote: one PUT of identical bytes is cheaper than HEAD + LIST to find it there.
        if d not in self._present:
            self._write_remote(object_key(d), data)
            self._present.add(d)
        return d

    def _local_tmp(self) -> Path:
        return Path(f"{self._base}/tmp/{uuid.uuid4().hex}")

    def _open_tmp(self, tmp: Path) -> BinaryIO:
        try:
            return open(tmp, "wb")
        except FileNotFoundError:  # no tmp folder yet: made here, not stat'ed before every write
            tmp.parent.mkdir(parents=True, exist_ok=True)
            return open(tmp, "wb")

    def _commit_local(self, tmp: Path, key: str) -> None:
        final = self._local(key)
        os.chmod(tmp, READ_ONLY)  # never visible writable, not even for an instant
        try:
            os.replace(tmp, final)  # an identical object already there is simply replaced
        except FileNotFoundError:  # the first object under this "xx/" folder (or it was removed)
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, final)

    def _upload(self, local: str, key: str) -> None:
        target = self._remote(key)
        if self._atomic_put:
            self.fs.put_file(local, target)
            return
        tmp = self._remote(f"tmp/{uuid.uuid4().hex}")
        self.fs.put_file(local, tmp)
        self.fs.mv(tmp, target)

    def _write_remote(self, key: str, data: bytes) -> None:
        if self._light is not None and self._light.put(key, data):
            return
        if self._atomic_put:
            self.fs.pipe_file(self._remote(key), data)
            return
        tmp = self._remote(f"tmp/{uuid.uuid4().hex}")
        self.fs.pipe_file(tmp, data)
        self.fs.mv(tmp, self._remote(key))

    # -- reads -------------------------------------------------------------
    def get_bytes(self, d: Digest) -> bytes:
        key = object_key(d)
        try:
            if self.is_local:
                data = self._local(key).read_bytes()
            else:
                data = fastio.cat(self.fs, self._remote(key))
        except FileNotFoundError as exc:
            raise CacheError(f"object {d} is missing from {self.url}", path=key) from exc
        # Small objects (manifests, records' targets) are cheap to verify even locally.
        verify(d, hash_bytes(data), key)
        return data

    def quarantine(self, d: Digest) -> str:
        """Move a local object that failed verification aside (kept for inspection,
        never used again); returns where it went. Remote objects are left alone."""
        if not self.is_local:
            return f"{self.url} (remote; left in place)"
        folder = Path(self._base) / QUARANTINE
        folder.mkdir(parents=True, exist_ok=True)
        aside = folder / f"{d.algo}-{d.hex}.{time.time_ns()}"
        with contextlib.suppress(FileNotFoundError):  # another process moved it first
            os.replace(self._local(object_key(d)), aside)
        return str(aside)

    def get_file(self, d: Digest, dest: Path) -> None:
        key = object_key(d)
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = temp_beside(dest)
        try:
            if self.is_local:
                with open(self._local(key), "rb") as src, open(tmp, "wb") as out:
                    verify(d, copy_hashing(src, out), key)
            else:  # one GET, then the bytes on disk are what is verified
                fastio.download(self.fs, self._remote(key), str(tmp))
                verify(d, hash_file(tmp), key)
                self._present.add(d)
            os.replace(tmp, dest)
        except FileNotFoundError as exc:
            if self.exists(d):
                raise
            raise CacheError(f"object {d} is missing from {self.url}", path=key) from exc
        finally:
            tmp.unlink(missing_ok=True)

    # -- trees -------------------------------------------------------------
    def put_tree(self, root: Path, art: ArtifactHash) -> None:
        data = manifest_bytes(art.entries)
        if hash_bytes(data) != art.digest:
            raise CacheError(f"manifest of {root} does not hash to {art.digest}", path=str(root))
        have = self.exists_many(e.digest for e in art.entries)
        todo = {e.digest: e for e in art.entries if e.digest not in have}
        workers = 1 if self.is_local else _THREADS
        pool_map(lambda e: self.put_file(root / e.path, e.digest), list(todo.values()), workers)
        self.put_bytes(data)  # last: a manifest present means its files were stored first

    def read_manifest(self, d: Digest) -> tuple[TreeEntry, ...]:
        try:
            return _parse_manifest(self.get_bytes(d), source=f"{self.url}/{object_key(d)}")
        except ValueError as exc:
            raise CacheError(
                f"object {d} is not a tree manifest: {exc}", path=object_key(d)
            ) from exc

    def tree_complete(self, d: Digest) -> bool:
        try:
            entries = self.read_manifest(d)
        except CacheError:
            return False
        wanted = {e.digest for e in entries}
        return self.exists_many(wanted) == wanted

    # -- listing and deletion ----------------------------------------------
    def iter_objects(self) -> Iterator[Digest]:
        yield from self._parse_all(self._find(FILES))

    def stat_keys(self, prefix: str) -> dict[str, dict[str, Any]]:
        """Key -> listing entry (``size``, ``mtime`` or the store's time key) under ``prefix`` (for gc)."""
        if not self.is_local:
            self.fs.invalidate_cache()
            with contextlib.suppress(FileNotFoundError):
                return {self._key_of(p) or p: i for p, i in self.fs.find(self._remote(prefix), detail=True).items()}
            return {}
        stats = {p: os.stat(p) for p in self._find(prefix)}
        return {self._key_of(p) or p: {"mtime": st.st_mtime, "size": st.st_size} for p, st in stats.items()}

    def delete(self, d: Digest) -> None:
        self._present.discard(d)
        self._delete_key(object_key(d))

    def _delete_key(self, key: str) -> None:
        if self.is_local:
            self._local(key).unlink(missing_ok=True)
            return
        with contextlib.suppress(FileNotFoundError):
            self.fs.rm_file(self._remote(key))

    def _find(self, prefix: str) -> Iterator[str]:
        """Full paths (in the store's own form) of every file under ``prefix``."""
        if self.is_local:
            for dirpath, _, files in os.walk(self._local(prefix)):
                yield from (f"{dirpath}/{name}" for name in files)
            return
        path = self._remote(prefix)
        self.fs.invalidate_cache()
        try:
            yield from self.fs.find(path)
        except FileNotFoundError:
            return

    # -- small records (run cache) -----------------------------------------
