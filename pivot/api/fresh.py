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


def scope_tracked(s: Session, scope: Iterable[str]) -> list[Tracked]:
    """The tracked files the chosen stages read: a .pvt beside a dependency or one of its
    folders. A few stat calls per dependency, not a walk of the project (repro pays this)."""
    from pivot.project import tracked

    found: dict[str, Tracked] = {}
    seen: set[str] = set()  # a folder shared by many deps is checked once (5,000 stages: 3x fewer stats)
    for dep in {d.path for stage in scope for d in s.graph.stages[stage].deps}:
        parts = paths.strip_dir(dep).split("/")
        for n in range(len(parts), 0, -1):
            prefix = "/".join(parts[:n])
            if prefix in seen:
                break  # and so were all its parents, checked right after it
            seen.add(prefix)
            pvt = tracked.pvt_file(s.root, prefix)
            if str(pvt) not in found and pvt.is_file():
                found[str(pvt)] = tracked.read(s.root, pvt)
    return list(found.values())


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
    from pivot.api.data import restore

    absent = [Absent(t, s.ws.object_available(t.digest, t.is_dir)) for t in scope_tracked(s, scope)
              if not os.path.lexists(s.root / paths.strip_dir(t.path))]
    placed = restore(s.ws, [(a.item.path, a.item.digest, a.item.is_dir) for a in absent if a.in_cache],
                     only_missing=True)
    still = [a for a in absent if not a.in_cache]
    if still:
        names = ", ".join(a.item.path for a in still)
        raise MissingInputsError(f"tracked input missing from the workspace and the cache: {names}; "
                                 f"{remote_hint(s.ws)}", path=still[0].item.path)
    return placed
