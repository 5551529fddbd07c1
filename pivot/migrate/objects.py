"""DVC's cache objects into Pivot's cache, re-hashed with Pivot's digest.

DVC 3 keeps objects at ``<cache>/files/md5/ab/cdef...``, DVC 2 at ``<cache>/ab/cdef...``;
a folder is a ``.dir`` object: a JSON list of ``{"md5", "relpath"}``. Every object is
checked against its md5 before Pivot stores it (DESIGN rule 13): DVC 3 hashes the plain
bytes; DVC 2 hashed text files with CRLF turned into LF, so both are accepted for it.
"""

from __future__ import annotations

import configparser
import hashlib
import json
import posixpath
from pathlib import Path

from pivot import paths
from pivot.cache.odb import ObjectStore
from pivot.digest import Digest
from pivot.errors import UserError
from pivot.fingerprint.trees import (
    ArtifactHash,
    TreeEntry,
    file_executable,
    hash_file,
    manifest_bytes,
    tree_hash,
)

CHUNK = 1 << 20


class ObjectMissing(UserError):
    """An object a .dvc file or dvc.lock names is not in DVC's cache, or does not match its md5."""


def dvc_cache_dir(root: Path) -> Path:
    """``.dvc/cache``, or the ``cache.dir`` set in .dvc/config (relative to .dvc/)."""
    parser = configparser.ConfigParser()
    parser.read([root / ".dvc" / "config", root / ".dvc" / "config.local"])
    configured = parser.get("cache", "dir", fallback="")
    return (root / ".dvc" / configured).resolve() if configured else root / ".dvc" / "cache"


def md5_file(path: Path, *, legacy: bool = False) -> str:
    """DVC's md5 of a file; ``legacy``: DVC 2's (CRLF as LF for files that look like text)."""
    data = path.read_bytes() if legacy else b""
    if legacy and _looks_text(data[:8000]):
        return hashlib.md5(data.replace(b"\r\n", b"\n")).hexdigest()
    if legacy:
        return hashlib.md5(data).hexdigest()
    digest = hashlib.md5()
    with open(path, "rb") as handle:
        while block := handle.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def _looks_text(head: bytes) -> bool:
    # DVC 2's test: no NUL byte and few non-text bytes in the first block.
    if b"\x00" in head:
        return False
    if not head:
        return True
    text = bytes(range(32, 127)) + b"\n\r\t\f\b"
    nontext = head.translate(None, text)
    return len(nontext) / len(head) <= 0.30


def md5_matches(path: Path, md5: str, legacy: bool) -> bool:
    return md5_file(path) == md5 or (legacy and md5_file(path, legacy=True) == md5)


def dir_md5(entries: list[tuple[str, str]]) -> str:
    """DVC's folder hash: md5 of its ``.dir`` manifest (``json.dumps``, keys sorted)."""
    rows = [{"md5": md5, "relpath": rel} for rel, md5 in sorted(entries)]
    return hashlib.md5(json.dumps(rows, sort_keys=True).encode()).hexdigest() + ".dir"


def workspace_md5(path: Path, legacy: bool) -> str | None:
    """DVC's hash of what is at ``path`` now (file or folder), or None when missing."""
    if path.is_file():
        return md5_file(path, legacy=legacy)
    if not path.is_dir():
        return None
    entries = [(p.relative_to(path).as_posix(), md5_file(p, legacy=legacy))
               for p in sorted(path.rglob("*")) if p.is_file()]
    return dir_md5(entries)


class DvcCache:
    def __init__(self, root: Path) -> None:
        self.dir = dvc_cache_dir(root)

    def object_path(self, md5: str) -> Path | None:
        head, rest = md5[:2], md5[2:]
        for candidate in (self.dir / "files" / "md5" / head / rest, self.dir / head / rest):
            if candidate.is_file():
                return candidate
        return None

    def pivot_digest(self, md5: str, legacy: bool) -> str | None:
        """Pivot's digest of the content DVC recorded as ``md5``, from DVC's cache (None: not there)."""
        src = self.object_path(md5)
        if src is None:
            return None
        if not md5.endswith(".dir"):
            return str(hash_file(src)) if md5_matches(src, md5, legacy) else None
        if hashlib.md5(src.read_bytes()).hexdigest() + ".dir" != md5:
            return None
        entries = []
        for row in json.loads(src.read_bytes()):
            obj = self.object_path(str(row["md5"]))
            if obj is None or not md5_matches(obj, str(row["md5"]), legacy):
                return None
            entries.append(TreeEntry(paths.normalize(str(row["relpath"])), hash_file(obj), obj.stat().st_size, False))
        return str(tree_hash(entries).digest)

    def import_file(self, odb: ObjectStore, md5: str, legacy: bool) -> tuple[Digest, int]:
        src = self.object_path(md5)
        if src is None or not md5_matches(src, md5, legacy):
            raise ObjectMissing(f"object {md5} is missing from DVC's cache {self.dir} or damaged", path=str(self.dir))
        return odb.put_file(src), src.stat().st_size

    def import_dir(self, odb: ObjectStore, md5: str, legacy: bool, workspace: Path) -> ArtifactHash:
        """Every file of a ``.dir`` object, then Pivot's manifest for them; the executable bit is
        taken from the workspace copy when there is one (DVC's manifest does not record it)."""
        src = self.object_path(md5)
        if src is None or hashlib.md5(src.read_bytes()).hexdigest() + ".dir" != md5:
            raise ObjectMissing(f"folder object {md5} is missing from DVC's cache {self.dir} or damaged",
                                path=str(self.dir))
        entries = []
        for row in json.loads(src.read_bytes()):
            rel = paths.normalize(str(row["relpath"]))  # refuses absolute paths and ".." (rule 13)
            digest, size = self.import_file(odb, str(row["md5"]), legacy)
            local = workspace / rel
            entries.append(TreeEntry(rel, digest, size, local.is_file() and file_executable(local)))
        art = tree_hash(entries)
        odb.put_bytes(manifest_bytes(art.entries))
        return art


def checked_path(folder: str, written: str) -> str:
    """A path from a DVC file, root-relative; one leaving the project is refused."""
    return paths.normalize(posixpath.join(folder, written) if folder else written)
