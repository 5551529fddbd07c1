"""`pivot verify --cache`: every object the workspace references, re-hashed.

Placement already verifies what it copies or links (DESIGN rule 13); this
finds damage *before* it is needed (an object an up-to-date workspace never
re-reads, one `push` would refuse to spread). A bad object is moved to the
cache's quarantine folder, so the next `pull` fetches it again or the next
`repro` recomputes it; nothing is deleted.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from pivot.api.session import session
from pivot.digest import Digest
from pivot.errors import CacheError
from pivot.workspace import Workspace


@dataclass
class CacheCheck:
    checked: int = 0
    bad: list[dict[str, str]] = field(default_factory=list)  # path, object, moved_to
    missing: list[str] = field(default_factory=list)  # referenced but not in the local cache

    @property
    def passed(self) -> bool:
        return not self.bad

    def to_json(self) -> dict[str, Any]:
        return {"checked": self.checked, "bad": self.bad, "missing": self.missing, "passed": self.passed}


def verify_cache(*, root: str | os.PathLike[str] | None = None,
                 cwd: str | os.PathLike[str] | None = None) -> CacheCheck:
    """Re-hash every local object a lock file or a .pvt names (files inside folders too)."""
    from pivot.project import tracked

    report = CacheCheck()
    with session(root, cwd) as s:
        items: dict[tuple[Digest, bool], str] = {(t.digest, t.is_dir): t.path for t in tracked.find_all(s.root)}
        for stage in s.graph.stages:
            lock = s.ws.lock(stage)
            for o in lock.outs if lock is not None else ():
                items.setdefault((o.digest, o.is_dir), o.path)
        files: dict[Digest, str] = {}
        for (digest, is_dir), path in sorted(items.items(), key=lambda kv: kv[1]):
            if is_dir:
                files.update(_tree_files(s.ws, digest, path, report))
            else:
                files.setdefault(digest, path)
        for digest, path in sorted(files.items(), key=lambda kv: kv[1]):
            _check(s.ws, digest, path, report)
    return report


def _tree_files(ws: Workspace, digest: Digest, path: str, report: CacheCheck) -> dict[Digest, str]:
    from pivot.cache.layout import object_key

    if not ws.odb.exists(digest):
        report.missing.append(path)
        return {}
    report.checked += 1
    try:
        entries = ws.odb.read_manifest(digest)
    except CacheError as exc:
        report.bad.append({"path": path, "object": object_key(digest), "moved_to": ws.odb.quarantine(digest),
                           "error": str(exc)})
        return {}
    return {e.digest: f"{path.rstrip('/')}/{e.path}" for e in entries}


def _check(ws: Workspace, digest: Digest, path: str, report: CacheCheck) -> None:
    from pivot.cache.layout import object_key
    from pivot.fingerprint.trees import hash_file

    local = ws.odb.local_path(digest)
    if local is None or not local.exists():
        report.missing.append(path)
        return
    report.checked += 1
    actual = hash_file(local)
    if actual != digest:
        report.bad.append({"path": path, "object": object_key(digest), "moved_to": ws.odb.quarantine(digest),
                           "error": f"its bytes hash to {actual}"})
