"""What `gc` keeps: its scope (workspace, commits in git), the grace period, store times."""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from typing import Any

from pivot.errors import ConfigError
from pivot.remote.select import Item, Selection
from pivot.workspace import Workspace

DEFAULT_GRACE = 14 * 86400
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


@dataclass(frozen=True)
class Scope:
    """The workspace is always kept; commits add to it."""

    workspace: bool = False
    all_commits: bool = False
    revs: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.workspace or self.all_commits or self.revs)

    def describe(self) -> str:
        parts = ["workspace"] + (["all commits"] if self.all_commits else []) + [f"rev {r}" for r in self.revs]
        return ", ".join(parts)


def in_scope(ws: Workspace, sel: Selection, scope: Scope) -> tuple[list[Item], set[str]]:
    """Items and run-record keys to keep: the workspace's, plus the chosen commits' from git."""
    from pivot.cache.run_cache import record_key
    from pivot.remote import git_refs

    items, stage_keys = list(sel.items), set(sel.stage_keys)
    if scope.all_commits or scope.revs:
        commits = git_refs.all_revisions(ws.root) if scope.all_commits else []
        commits += git_refs.resolve_revisions(ws.root, scope.revs)
        refs = git_refs.committed_refs(ws.root, dict.fromkeys(commits))
        if refs.unreadable:
            raise ConfigError(f"gc cannot read {len(refs.unreadable)} committed lock/.pvt file(s) (first: "
                              f"{refs.unreadable[0]}), so it cannot know what they need; nothing was deleted",
                              path=refs.unreadable[0])
        items += [Item(p, d, is_dir) for p, d, is_dir in refs.items]
        stage_keys |= refs.stage_keys
    return items, {record_key(k) for k in stage_keys}


def grace_seconds(raw: Any) -> float:
    """``gc.grace``: seconds, or a number with a unit (30m, 12h, 14d, 2w); default 14 days."""
    if raw is None or raw == "":
        return DEFAULT_GRACE
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*", str(raw))
    if match is None:
        raise ConfigError(f"gc.grace {raw!r}: use seconds or a number with s, m, h, d or w (e.g. 14d)",
                          path="gc.grace")
    return float(match.group(1)) * _UNITS[match.group(2) or "s"]


def store_time(info: dict[str, Any]) -> float:
    """An object's modification time as the store lists it; unknown counts as now (kept)."""
    import time

    for key in ("mtime", "LastModified", "last_modified", "modified", "created"):
        value = info.get(key)
        if isinstance(value, datetime.datetime):
            return value.timestamp()
        if isinstance(value, int | float):
            return float(value)
        if isinstance(value, str):
            try:
                return datetime.datetime.fromisoformat(value).timestamp()
            except ValueError:
                continue
    return time.time()
