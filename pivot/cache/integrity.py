"""Bytes are checked against their digest on the way into and out of a store."""

from __future__ import annotations

from typing import IO, Protocol

from pivot.digest import ALGO, Digest, new_hasher
from pivot.errors import CacheError, CorruptObjectError
from pivot.fingerprint.trees import CHUNK


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


def copy_hashing(src: Readable, out: IO[bytes]) -> Digest:
    """Copy ``src`` to ``out`` and return the digest of what was copied (one pass)."""
    hasher = new_hasher()
    while chunk := src.read(CHUNK):
        hasher.update(chunk)
        out.write(chunk)
    return Digest(ALGO, hasher.hexdigest())


def expect_unchanged(d: Digest | None, actual: Digest, what: str) -> None:
    """A source file hashed before caching must still have that hash when copied."""
    if d is not None and actual != d:
        raise CacheError(
            f"{what} changed while it was being cached (expected {d}, got {actual})", path=what
        )


def verify(d: Digest, actual: Digest, key: str) -> None:
    """An object read from a store must hash to its name."""
    if actual != d:
        raise CorruptObjectError(f"object {key} is corrupt: its bytes hash to {actual}", path=key)
