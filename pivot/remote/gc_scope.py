"""What `gc` keeps: its scope (workspace, commits in git), the grace period, store times."""

from __future__ import annotations

import datetime
import posixpath
import re
from dataclasses import dataclass
from typing import Any

from pivot.errors import ConfigError, UserError
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

    items, stage_keys = list(sel.items), set(sel.stage_keys)
    if scope.all_commits or scope.revs:
        committed, committed_keys, unreadable = _committed(ws, scope)
        if unreadable:
            raise ConfigError(f"gc cannot read {len(unreadable)} committed lock/.pvt file(s) (first: "
                              f"{unreadable[0]}), so it cannot know what they need; nothing was deleted",
                              path=unreadable[0])
        items += committed
        stage_keys |= committed_keys
    return items, {record_key(k) for k in stage_keys}


def _committed(ws: Workspace, scope: Scope) -> tuple[list[Item], set[str], list[str]]:
    """What the chosen commits' lock and .pvt files name, their stage keys, and unreadable "REV:path"s.

    An unreadable file is not skipped: gc cannot know what it needs, so the caller refuses.
    """
    from pivot import git, lockfile
    from pivot.project import tracked

    try:
        repo = git.open_repo(ws.root)
    except git.GitError as exc:
        raise ConfigError(f"{exc}; gc --workspace works without git", path=str(ws.root)) from exc
    commits = repo.every_revision() if scope.all_commits else []
    commits += [repo.resolve(rev) for rev in scope.revs]
    items: list[Item] = []
    stage_keys: set[str] = set()
    unreadable: list[str] = []
    for commit, rel, data in repo.state_files_across(dict.fromkeys(commits)):
        text, name = data.decode("utf-8", errors="replace"), f"{commit[:12]}:{rel}"
        try:
            if rel.endswith(tracked.SUFFIX):
                one = tracked.parse(text, posixpath.dirname(rel), name)
                items.append(Item(one.path, one.digest, one.is_dir))
                continue
            lock = lockfile.parse(text, name)
        except UserError:
            lock = None
        if lock is None:
            unreadable.append(name)
            continue
        stage_keys.add(lock.stage_key)
        items += [Item(o.path, o.digest, o.is_dir) for o in lock.outs]
    return items, stage_keys, unreadable


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
