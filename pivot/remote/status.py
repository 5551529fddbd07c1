"""`pivot status --remote`: how many objects push and pull would move.

The counts come from the very plans push and fetch carry out (pivot.remote.plan), so
`status --remote` says exactly what the next `push` / `pull` transfers.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pivot.remote.config import resolve
from pivot.remote.plan import plan_fetch, plan_push
from pivot.remote.select import open_selection
from pivot.remote.store import DEFAULT_JOBS

if TYPE_CHECKING:
    from pivot.api.session import Targets


@dataclass
class RemoteStatus:
    remote: str
    url: str
    to_push: int
    to_pull: int
    missing_everywhere: list[str]
    records_to_push: int = 0
    records_to_pull: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"remote": self.remote, "url": self.url, "to_push": self.to_push, "to_pull": self.to_pull,
                "records_to_push": self.records_to_push, "records_to_pull": self.records_to_pull,
                "missing": self.missing_everywhere}


def status_remote(targets: Targets = None, *, remote: str | None = None, jobs: int | None = None,
                  root: str | os.PathLike[str] | None = None,
                  cwd: str | os.PathLike[str] | None = None) -> RemoteStatus:
    """Counts of objects (files and manifests) and run records that ``push`` and ``pull`` would move."""
    n = jobs or DEFAULT_JOBS
    with open_selection(targets, root, cwd) as (ws, sel):
        r = resolve(ws, remote)
        r.sync_index()
        push = plan_push(ws, sel, r, n)
        fetch = plan_fetch(ws, sel, r, n, all_history=False)
        absent = r.missing(fetch.todo, jobs=n)
        gone = (fetch.todo & absent & fetch.ex.required) | (fetch.ex.unreadable & fetch.ex.required)
        nowhere = sorted({fetch.ex.paths[d] for d in gone})
        return RemoteStatus(r.name, r.url, push.count(), fetch.count(absent), nowhere,
                            len(push.record_keys), len(fetch.new_keys))
