"""Where things live inside a cache (DESIGN rule 7).

Objects: ``files/<algo>/<2 hex>/<rest of hex>``; run-cache records:
``runs/<2 hex>/<rest of hex>``. Keys are relative to the cache root and always
use "/", whatever the backend.
"""

from __future__ import annotations

import re

from pivot.digest import Digest

FILES = "files"
RUNS = "runs"
_HEX = re.compile(r"[0-9a-f]{3,}")
_ALGO = re.compile(r"[a-z0-9_]+")


def object_key(d: Digest) -> str:
    _check(d.hex)
    if not _ALGO.fullmatch(d.algo):
        raise ValueError(f"bad digest algorithm {d.algo!r}")
    return f"{FILES}/{d.algo}/{d.hex[:2]}/{d.hex[2:]}"


def object_prefix(algo: str, head: str) -> str:
    """The folder holding every object of ``algo`` whose hex starts with ``head``."""
    return f"{FILES}/{algo}/{head}"


def parse_object_key(key: str) -> Digest:
    parts = key.strip("/").split("/")
    if len(parts) != 4 or parts[0] != FILES or not _ALGO.fullmatch(parts[1]):
        raise ValueError(f"not an object key: {key!r}")
    hexpart = parts[2] + parts[3]
    if len(parts[2]) != 2:
        raise ValueError(f"not an object key: {key!r}")
    _check(hexpart)
    return Digest(parts[1], hexpart)


def run_key(stage_key_hex: str) -> str:
    _check(stage_key_hex)
    return f"{RUNS}/{stage_key_hex[:2]}/{stage_key_hex[2:]}"


def parse_run_key(key: str) -> str:
    parts = key.strip("/").split("/")
    if len(parts) != 3 or parts[0] != RUNS or len(parts[1]) != 2:
        raise ValueError(f"not a run key: {key!r}")
    _check(parts[1] + parts[2])
    return parts[1] + parts[2]


def _check(hexpart: str) -> None:
    if not _HEX.fullmatch(hexpart):
        raise ValueError(f"not a lowercase hex digest: {hexpart!r}")
