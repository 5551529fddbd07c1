"""`pivot gc`: delete cache objects that nothing in scope references."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from pivot.digest import Digest
from pivot.pool import pool_map
from pivot.remote.config import resolve
from pivot.remote.retry import retry
from pivot.remote.select import expand, open_selection
from pivot.remote.store import DEFAULT_JOBS


@dataclass
class GcReport:
    where: str
    removed: list[Digest]
    kept: int
    dry_run: bool

    def to_json(self) -> dict[str, Any]:
        return {"where": self.where, "removed": [str(d) for d in self.removed], "kept": self.kept,
                "dry_run": self.dry_run}


def gc(*, remote: str | None = None, dry_run: bool = False, jobs: int | None = None,
       root: str | os.PathLike[str] | None = None, cwd: str | os.PathLike[str] | None = None) -> GcReport:
    """Delete objects of the local cache (or of the named remote) that no lock file or .pvt in
    this workspace references; a referenced tree keeps its manifest and every file in it.
    Run-cache records are all kept (they are tiny); a record whose objects were removed simply
    stops matching until its stage runs again. On a shared remote, gc only knows this
    workspace's references: objects pushed from other branches or clones are removed too."""
    n = jobs or DEFAULT_JOBS
    with open_selection(None, root, cwd) as (ws, sel):
        r = resolve(ws, remote) if remote else None
        store = r.odb if r is not None else ws.odb
        # Manifests come from the collected store, else the local cache, so a tree is never half-kept.
        ex = expand(sel.items, store, None, n)
        if ex.unreadable and r is not None:
            ex = expand(sel.items, ws.odb, r, n)
        keep = ex.files | set(ex.trees)
        present = retry(lambda: list(store.iter_objects()))
        removed = sorted(d for d in present if d not in keep)
        if not dry_run and removed:
            if r is not None:
                r.new_epoch()  # before deleting: every clone's index of this remote is now stale
            pool_map(lambda d: retry(lambda: store.delete(d)), removed, n if r is not None else 1)
        return GcReport(r.url if r is not None else "local cache", removed, len(present) - len(removed), dry_run)
