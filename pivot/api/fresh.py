"""What a fresh clone lacks: tracked inputs that git does not carry.

A `.pvt` says which bytes a tracked input is; when the file is absent from the
workspace, `repro` places it from the cache (local, or `cache.dir` on any URL)
before planning. When the cache does not have it either, the stages that read it
cannot run: `repro` stops before planning and names the command that helps
(`pivot pull`), instead of reporting blocked stages and exiting 0.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pivot import paths
from pivot.errors import PivotError

if TYPE_CHECKING:
    from pivot.project.tracked import Tracked
    from pivot.session import Session
    from pivot.workspace import Workspace


class MissingInputsError(PivotError):
    """Tracked inputs of the chosen stages are in neither the workspace nor the cache (exit 1:
    the stages are blocked, not the command line wrong)."""


@dataclass(frozen=True)
class Absent:
    item: Tracked
    in_cache: bool


def absent_tracked(ws: Workspace) -> list[Absent]:
    """Tracked paths with nothing at all in the workspace, and whether the cache holds them."""
    from pivot.project import tracked

    found = []
    for item in tracked.find_all(ws.root):
        if not os.path.lexists(ws.root / paths.strip_dir(item.path)):
            found.append(Absent(item, ws.object_available(item.digest, item.is_dir)))
    return found


def place_missing_tracked(ws: Workspace) -> list[str]:
    """A fresh clone has .pvt files but not the data: put it where nothing is yet."""
    from pivot.api.data import restore

    items = [(a.item.path, a.item.digest, a.item.is_dir) for a in absent_tracked(ws) if a.in_cache]
    return restore(ws, items, only_missing=True)


def _overlaps(a: str, b: str) -> bool:
    a, b = paths.strip_dir(a), paths.strip_dir(b)
    return a == b or a.startswith(b + "/") or b.startswith(a + "/")


def needed_by(s: Session, scope: Iterable[str], absent: list[Absent]) -> list[Absent]:
    deps = [d.path for stage in scope for d in s.graph.stages[stage].deps]
    return [a for a in absent if any(_overlaps(a.item.path, dep) for dep in deps)]


def remote_hint(ws: Workspace) -> str:
    """The command that would bring absent tracked data, for messages and `status`."""
    from pivot.errors import ConfigError
    from pivot.remote.config import default_remote

    try:
        remote = default_remote(ws)
    except ConfigError:  # several remotes, no default: still a remote to pull from
        return "run `pivot pull -r NAME` (or `pivot repro --pull`)"
    if remote is not None:
        return f"run `pivot pull` (or `pivot repro --pull`) to fetch it from remote {remote.name!r}"
    return (f"it is not in the cache ({ws.cache_url}) and no remote is configured: add the remote it "
            "was pushed to (`pivot remote add NAME URL --default`), then `pivot pull`")


def ensure_inputs(s: Session, scope: Iterable[str]) -> list[str]:
    """Place absent tracked inputs from the cache; raise when a chosen stage's input is nowhere here."""
    placed = place_missing_tracked(s.ws)
    still = needed_by(s, list(scope), [a for a in absent_tracked(s.ws) if not a.in_cache])
    if still:
        names = ", ".join(a.item.path for a in still)
        raise MissingInputsError(f"tracked input missing from the workspace and the cache: {names}; "
                                 f"{remote_hint(s.ws)}", path=still[0].item.path)
    return placed
