"""`pivot status --remote`: how many objects push and pull would move."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from pivot.api.session import Targets
from pivot.remote.config import resolve
from pivot.remote.select import expand, open_selection
from pivot.remote.store import DEFAULT_JOBS


@dataclass
class RemoteStatus:
    remote: str
    url: str
    to_push: int
    to_pull: int
    missing_everywhere: list[str]

    def to_json(self) -> dict[str, Any]:
        return {"remote": self.remote, "url": self.url, "to_push": self.to_push, "to_pull": self.to_pull,
                "missing": self.missing_everywhere}


def status_remote(targets: Targets = None, *, remote: str | None = None, jobs: int | None = None,
                  root: str | os.PathLike[str] | None = None,
                  cwd: str | os.PathLike[str] | None = None) -> RemoteStatus:
    """Counts of objects (files and manifests) that ``push`` and ``pull`` would move."""
    n = jobs or DEFAULT_JOBS
    with open_selection(targets, root, cwd) as (ws, sel):
        r = resolve(ws, remote)
        r.sync_index()
        ex = expand(sel.items, ws.odb, r, n)
        wanted = ex.files | (set(ex.trees) - ex.unreadable)
        here = ws.odb.exists_many(wanted)
        absent = r.missing(wanted, jobs=n)
        gone = (wanted - here) & absent
        nowhere = sorted({ex.paths[d] for d in gone | ex.unreadable})
        return RemoteStatus(r.name, r.url, len(here & absent), len((wanted - here) - absent), nowhere)


