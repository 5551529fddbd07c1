"""The transfer verbs: push, fetch and pull.

Which objects: pivot.remote.select. How they move: pivot.remote.store. Only
hash-verified objects enter the local cache, so only they reach the workspace.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pivot.errors import CacheError, CorruptObjectError
from pivot.pool import pool_map
from pivot.remote.config import resolve_or_cache
from pivot.remote.plan import plan_fetch, plan_push
from pivot.remote.progress import NoProgress, Progress
from pivot.remote.retry import Failure
from pivot.remote.select import Expanded, Selection, open_selection, sizes
from pivot.remote.store import DEFAULT_JOBS, Remote
from pivot.workspace import Workspace

if TYPE_CHECKING:  # the session machinery is imported only by the verbs that need it
    from pivot.api.session import Targets


@dataclass
class TransferReport:
    remote: str
    url: str
    transferred: int = 0
    nbytes: int = 0
    records: int = 0
    missing: list[str] = field(default_factory=list)  # paths whose objects are nowhere to be had
    errors: list[str] = field(default_factory=list)  # corrupt objects, transfer errors
    checked_out: list[str] = field(default_factory=list)
    modified: list[str] = field(default_factory=list)  # tracked files whose bytes differ from their .pvt

    def to_json(self) -> dict[str, Any]:
        return {"remote": self.remote, "url": self.url, "transferred": self.transferred, "bytes": self.nbytes,
                "records": self.records, "missing": self.missing, "errors": self.errors,
                "checked_out": self.checked_out, "modified": self.modified, "ok": not self.errors}


def _describe(failures: list[Failure], ex: Expanded, report: TransferReport) -> None:
    for f in failures:
        where = ex.paths.get(f.digest, str(f.digest))
        if f.missing:
            report.missing.append(where)
        else:
            report.errors.append(f"{where}: {f.error}")


# -- push ------------------------------------------------------------------------------
def push(targets: Targets = None, *, remote: str | None = None, jobs: int | None = None, verify: bool = False,
         progress: Progress | None = None, root: str | os.PathLike[str] | None = None,
         cwd: str | os.PathLike[str] | None = None) -> TransferReport:
    """Upload what the remote lacks. ``verify`` asks the remote about every object (no index)."""
    n = jobs or DEFAULT_JOBS
    with open_selection(targets, root, cwd) as (ws, sel):
        r = resolve_or_cache(ws, remote)
        report = TransferReport(r.name, r.url) if r is not None else TransferReport("cache", ws.cache_url)
        # Edited without `pivot track`: the .pvt names the old bytes, so the new ones are never pushed.
        report.modified = modified_tracked(ws, {i.path for i in sel.items})
        if r is None:  # the cache is the remote: nothing to upload
            return report
        r.sync_index(create_epoch=True)
        plan = plan_push(ws, sel, r, n, verify=verify)
        ex, here = plan.ex, plan.here
        # What run records name is shared when present; only the selection's own objects must be.
        report.missing = sorted({ex.paths[d] for d in ((ex.files - here) | ex.unreadable) & ex.required})
        bar = progress or NoProgress()
        bar.add_total(len(plan.todo) + len(plan.tree_todo), sizes(ws.odb, plan.todo | set(plan.tree_todo)))
        failed = r.upload(ws.odb, plan.todo, jobs=n, progress=bar, pack=True)
        ok_trees = plan.trees_ready({f.digest for f in failed})
        failed += r.upload(ws.odb, ok_trees, jobs=n, progress=bar)
        _describe(failed, ex, report)
        report.transferred = len(plan.todo) + len(ok_trees) - len(failed)
        report.nbytes = sizes(ws.odb, (plan.todo | ok_trees) - {f.digest for f in failed})
        keys = sorted(plan.record_keys)
        pushed = pool_map(lambda k: r.push_record(ws.odb, k), keys, n)
        r.remember_records(k for k, ok in zip(keys, pushed, strict=True) if ok)  # from this thread only
        report.records = sum(pushed)
    return report


def modified_tracked(ws: Workspace, selected: set[str]) -> list[str]:
    from pivot.project import tracked

    found: list[str] = []
    for item in tracked.find_all(ws.root):
        current = ws.workspace_hash(item.path) if item.path in selected else None
        if current is not None and current != str(item.digest):
            found.append(item.path)
    return found


# -- fetch / pull ----------------------------------------------------------------------
def fetch(targets: Targets = None, *, all: bool = False, remote: str | None = None, jobs: int | None = None,
          progress: Progress | None = None, place_missing_inputs: bool = True,
          root: str | os.PathLike[str] | None = None, cwd: str | os.PathLike[str] | None = None) -> TransferReport:
    """Download what the selection needs plus the run records of its stage keys; ``all``: every
    record on the remote with what it names (what `repro --pull` uses, so a clone whose inputs
    changed can restore instead of run).

    With ``place_missing_inputs`` (what ``repro --pull`` needs) tracked data that is *absent*
    from the workspace is checked out too, so the planner can hash it; an existing file is
    never touched. Raises CacheError naming each corrupt object; objects missing on the
    remote are only reported (their stages will simply run)."""
    from pivot.api.fresh import place_missing_tracked

    with open_selection(targets, root, cwd) as (ws, sel):
        r = resolve_or_cache(ws, remote)
        report = (_fetch(ws, sel, r, all, jobs or DEFAULT_JOBS, progress) if r is not None
                  else TransferReport("cache", ws.cache_url))
        if place_missing_inputs:
            report.checked_out = place_missing_tracked(ws)
    _raise_errors(report)
    return report


def pull(targets: Targets = None, *, all_history: bool = False, remote: str | None = None, jobs: int | None = None,
         progress: Progress | None = None, force: bool = False, root: str | os.PathLike[str] | None = None,
         cwd: str | os.PathLike[str] | None = None) -> TransferReport:
    """fetch + checkout. Only verified objects reach the cache, so only they reach the workspace."""
    from pivot.api.data import checkout
    from pivot.api.session import target_list

    with open_selection(targets, root, cwd) as (ws, sel):
        project = ws.root
        r = resolve_or_cache(ws, remote)  # None: the cache is the remote, only the checkout is left
        report = (_fetch(ws, sel, r, all_history, jobs or DEFAULT_JOBS, progress) if r is not None
                  else TransferReport("cache", ws.cache_url))
    # only what was asked for is checked out: a changed file elsewhere does not stop this pull
    report.checked_out = checkout(target_list(targets) or None, force=force, root=project, cwd=cwd)
    _raise_errors(report)
    return report


def _raise_errors(report: TransferReport) -> None:
    if report.errors:
        shown = "\n  ".join(report.errors[:20])
        more = f"\n  ... and {len(report.errors) - 20} more" if len(report.errors) > 20 else ""
        raise CacheError(f"{len(report.errors)} object(s) could not be fetched from {report.url} "
                         f"(nothing corrupt was used):\n  {shown}{more}")


def _fetch(ws: Workspace, sel: Selection, r: Remote, all_history: bool, n: int,
           progress: Progress | None) -> TransferReport:
    report = TransferReport(r.name, r.url)
    try:
        plan = plan_fetch(ws, sel, r, n, all_history=all_history)
    except CorruptObjectError as exc:
        report.errors.append(str(exc))
        return report
    fetched = pool_map(lambda k: r.fetch_record(ws.odb, k), sorted(plan.new_keys), n)
    report.records = sum(rec is not None for rec in fetched)
    ex, todo = plan.ex, plan.todo
    bar = progress or NoProgress()
    bar.add_total(len(todo), 0)
    failed = r.download(ws.odb, todo, ws.layout.tmp_dir, jobs=n, progress=bar)
    bad = {f.digest for f in failed}
    stored = plan.trees_ready(bad)
    for tree in stored:  # last: the tree is complete locally from now on
        ws.odb.put_bytes(ex.trees[tree] or b"")
    # Objects only named by run records are a bonus: their absence just means "run it".
    _describe([f for f in failed if not f.missing or f.digest in ex.required], ex, report)
    report.missing += sorted(ex.paths[d] for d in ex.unreadable & ex.required)
    report.transferred = len(todo) - len(failed) + len(stored)
    report.nbytes = sizes(ws.odb, todo - bad)
    return report
