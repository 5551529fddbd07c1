"""The bytes of a pack: many small cache objects in one remote object.

    PIVOTPACK1 <index length: 16 digits>\\n<index: JSON [[digest, size], ...]><bytes of each object>

A pack is written whole by one PUT and never changed; its name is the hash of its bytes.
Nothing in a pack read back is trusted (DESIGN rule 13): :func:`parse_head` checks that the
header is ours, every digest parses, every size is a non-negative integer and the sizes add
up to the pack's length, so every offset stays inside the pack. The objects themselves are
hashed by whoever takes them out, before they enter a cache.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

from pivot.digest import Digest, hash_bytes

FOLDER = "packs"
MAGIC = b"PIVOTPACK1 "
_LEN_DIGITS = 16
HEADER = len(MAGIC) + _LEN_DIGITS + 1
_NAME = re.compile(r"[0-9a-f]{32}")
MAX_INDEX = 64 << 20  # an index claiming more than this is not one of ours


class PackError(ValueError):
    """A pack whose header or index is not what Pivot writes."""


@dataclass(frozen=True)
class Entry:
    offset: int  # from the start of the pack
    size: int


@dataclass(frozen=True)
class PackIndex:
    name: str
    length: int  # of the whole pack
    entries: dict[Digest, Entry]

    def to_json(self) -> bytes:
        return json.dumps([self.length, [[str(d), e.offset, e.size] for d, e in self.entries.items()]],
                          separators=(",", ":")).encode()

    @classmethod
    def from_json(cls, name: str, raw: bytes) -> PackIndex:
        """What :meth:`to_json` wrote into this machine's state DB (ours, but still checked)."""
        length, rows = json.loads(raw)
        entries = {Digest.parse(d): Entry(int(off), int(size)) for d, off, size in rows}
        if any(e.offset < HEADER or e.size < 0 or e.offset + e.size > int(length) for e in entries.values()):
            raise PackError(f"pack {name}: a remembered entry lies outside the pack")
        return cls(name, int(length), entries)


def key(name: str) -> str:
    return f"{FOLDER}/{name}.pack"


def name_of(key_: str) -> str | None:
    """The pack name in a listed key, or None for anything else found there."""
    folder, _, base = key_.strip("/").rpartition("/")
    stem, dot, ext = base.partition(".")
    if folder.rsplit("/", 1)[-1] != FOLDER or not dot or ext != "pack" or not _NAME.fullmatch(stem):
        return None
    return stem


def build(objects: Sequence[tuple[Digest, bytes]]) -> tuple[str, bytes]:
    """The pack's name and bytes. The caller has verified each object against its digest."""
    index = json.dumps([[str(d), len(data)] for d, data in objects], separators=(",", ":")).encode()
    head = MAGIC + f"{len(index):0{_LEN_DIGITS}d}\n".encode() + index
    data = b"".join([head, *(data for _, data in objects)])
    return hash_bytes(data).hex, data


def head_size(start: bytes) -> int:
    """How many leading bytes hold the header and index (from the first ``HEADER`` bytes)."""
    if len(start) < HEADER or not start.startswith(MAGIC) or start[HEADER - 1:HEADER] != b"\n":
        raise PackError("not a Pivot pack (bad header)")
    digits = start[len(MAGIC):HEADER - 1]
    if not digits.isdigit():
        raise PackError("not a Pivot pack (bad index length)")
    n = int(digits)
    if n > MAX_INDEX:
        raise PackError(f"index length {n} is larger than any pack Pivot writes")
    return HEADER + n


def parse_head(name: str, head: bytes, length: int) -> PackIndex:
    """The index of a pack of ``length`` bytes whose first bytes are ``head``."""
    end = head_size(head)
    if len(head) < end:
        raise PackError("the pack ends inside its index")
    try:
        rows = json.loads(head[HEADER:end])
    except ValueError as exc:
        raise PackError(f"unreadable index ({exc})") from None
    if not isinstance(rows, list):
        raise PackError("the index is not a list")
    entries: dict[Digest, Entry] = {}
    offset = end
    for row in rows:
        if not (isinstance(row, list) and len(row) == 2 and isinstance(row[0], str)
                and type(row[1]) is int and row[1] >= 0):
            raise PackError(f"bad index entry {str(row)[:80]!r}")
        try:
            d = Digest.parse(row[0])
        except ValueError as exc:
            raise PackError(str(exc)) from None
        entries.setdefault(d, Entry(offset, row[1]))
        offset += row[1]
    if offset != length:
        raise PackError(f"the index accounts for {offset} bytes, the pack has {length}")
    return PackIndex(name, length, entries)
