"""Bytes of a recorded output: the local cache first, then the default remote, always verified.

What a past revision's lock records is only a digest; the bytes live in the
content-addressed cache. Everything returned or written here has been hashed
and compared with that digest (DESIGN rules 7 and 13); a remote object lands
in the local cache through the remote's own verified download first.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath
from typing import Any

from pivot.digest import Digest, hash_bytes
from pivot.errors import CacheError, CorruptObjectError, UserError
from pivot.leftovers import temp_beside
from pivot.workspace import Workspace


class Objects:
    """Read objects by digest for one workspace; the remote is opened only when needed."""

    def __init__(self, ws: Workspace, progress: Any = None) -> None:
        self.ws = ws
        self.progress = progress  # a pivot.remote.Progress for downloads, or None
        self._remote: Any = None
        self.from_remote = 0  # objects that had to come from the remote

    def _ensure_local(self, d: Digest) -> None:
        self.prefetch([d])

    def prefetch(self, ds: list[Digest]) -> None:
        """Download the objects missing locally in one parallel, verified transfer from the default remote."""
        missing = sorted(set(ds) - self.ws.odb.exists_many(ds))
        if not missing:
            return
        from pivot.remote.config import default_remote

        if self._remote is None:
            self._remote = default_remote(self.ws)
        if self._remote is None:
            raise CacheError(f"object {missing[0]} is not in the local cache and no remote is configured",
                             path=str(missing[0]))
        if self.progress is not None:
            self.progress.add_total(len(missing), 0)
        failures = self._remote.download(self.ws.odb, missing, self.ws.layout.tmp_dir, progress=self.progress)
        if failures:
            raise CacheError(f"object {failures[0].digest} is in neither the local cache nor remote "
                             f"{self._remote.name!r}: {failures[0].error}", path=str(failures[0].digest))
        self.from_remote += len(missing)

    def get_bytes(self, d: Digest) -> bytes:
        """The object's bytes; a local object that fails its hash is re-fetched from the remote once."""
        self._ensure_local(d)
        try:
            return self.ws.odb.get_bytes(d)  # get_bytes hashes what it read
        except CorruptObjectError as exc:
            # A bad copy is never used; it goes, so the remote's verified copy can take its place.
            self.ws.odb.delete(d)
            try:
                self._ensure_local(d)
            except CacheError as again:
                raise CacheError(f"{exc}; removed it, and cannot fetch it again: {again}", path=str(d)) from again
            return self.ws.odb.get_bytes(d)

    def write_file(self, d: Digest, dest: Path) -> None:
        """Write the object to ``dest`` through a temp name, after checking its hash."""
        data = self.get_bytes(d)
        atomic_write(dest, data)

    def write_tree(self, d: Digest, dest: Path) -> int:
        """Materialise a directory output from its manifest; returns the number of files."""
        from pivot.fingerprint.trees import parse_manifest

        try:
            entries = parse_manifest(self.get_bytes(d))
        except ValueError as exc:
            raise CacheError(f"object {d} is not a directory manifest: {exc}", path=str(d)) from exc
        for entry in entries:
            parts = PurePosixPath(entry.path).parts
            if not parts or PurePosixPath(entry.path).is_absolute() or ".." in parts:
                raise CacheError(f"manifest entry {entry.path!r} escapes its directory", path=entry.path)
        self.prefetch([e.digest for e in entries])
        for entry in entries:
            self.write_file(entry.digest, dest / entry.path)
            if entry.executable:
                os.chmod(dest / entry.path, 0o755)
        return len(entries)


def atomic_write(dest: Path, data: bytes) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_beside(dest)
    try:
        tmp.write_bytes(data)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def verified(data: bytes, d: Digest, what: str) -> bytes:
    if hash_bytes(data) != d:
        raise UserError(f"{what}: content does not match its recorded hash {d}", path=what)
    return data


__all__ = ["Objects", "atomic_write", "verified"]
