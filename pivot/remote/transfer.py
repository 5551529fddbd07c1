"""The transfer verbs: push, fetch and pull.

Which objects: pivot.remote.select. How they move: pivot.remote.store. Only
hash-verified objects enter the local cache, so only they reach the workspace.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from pivot.api.data import checkout, restore
from pivot.api.session import Targets, target_list
from pivot.cache.layout import RUNS
from pivot.cache.run_cache import record_key
from pivot.errors import CacheError, CorruptObjectError
from pivot.fingerprint.trees import parse_manifest
from pivot.pool import pool_map
from pivot.remote.config import resolve
from pivot.remote.progress import NoProgress, Progress
from pivot.remote.retry import Failure
from pivot.remote.select import (
    Expanded,
    Selection,
    entries,
    expand,
    open_selection,
    record_items,
    sizes,
)
from pivot.remote.store import DEFAULT_JOBS, Remote
from pivot.workspace import Workspace


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

    def to_json(self) -> dict[str, Any]:
        return {"remote": self.remote, "url": self.url, "transferred": self.transferred, "bytes": self.nbytes,
                "records": self.records, "missing": self.missing, "errors": self.errors,
                "checked_out": self.checked_out, "ok": not self.errors}


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
        r = resolve(ws, remote)
        report = TransferReport(r.name, r.url)
        r.sync_index()
        local_keys = set(ws.odb.iter_records(RUNS))
        keys = local_keys if sel.everything else {record_key(k) for k in sel.stage_keys} & local_keys
        optional = record_items(ws.odb, keys) if sel.everything else []
        ex = expand(sel.items, ws.odb, None, n, optional)
        here = ws.odb.exists_many(ex.files)
        # What run records name is shared when present; only the selection's own objects must be.
        report.missing = sorted({ex.paths[d] for d in ((ex.files - here) | ex.unreadable) & ex.required})
        bar = progress or NoProgress()
        todo = r.missing(here, jobs=n, use_index=not verify)
        trees = set(ex.trees) - ex.unreadable
        tree_todo = r.missing(trees, jobs=n, use_index=not verify)
        bar.add_total(len(todo) + len(tree_todo), sizes(ws.odb, todo | tree_todo))
        failed = r.upload(ws.odb, todo, jobs=n, progress=bar)
        bad = {f.digest for f in failed}
        # A tree whose files did not all arrive keeps its manifest back (manifest last).
        ok_trees = {t for t in tree_todo if not (bad | (ex.files - here)) & set(entries(ws.odb, t))}
        failed += r.upload(ws.odb, ok_trees, jobs=n, progress=bar)
        _describe(failed, ex, report)
        report.transferred = len(todo) + len(ok_trees) - len(failed)
        report.nbytes = sizes(ws.odb, (todo | ok_trees) - {f.digest for f in failed})
        todo_keys = sorted(keys - r.record_keys())
        report.records = sum(pool_map(lambda k: r.push_record(ws.odb, k), todo_keys, n))
    return report


# -- fetch / pull ----------------------------------------------------------------------
def fetch(targets: Targets = None, *, all: bool = False, remote: str | None = None, jobs: int | None = None,
          progress: Progress | None = None, place_missing_inputs: bool = True,
          root: str | os.PathLike[str] | None = None, cwd: str | os.PathLike[str] | None = None) -> TransferReport:
    """Download what the selection needs, and run-cache records (all of them, with their
    objects, when ``all`` or no targets: that is what lets a fresh clone restore instead of run).

    With ``place_missing_inputs`` (what ``repro --pull`` needs) tracked data that is *absent*
    from the workspace is checked out too, so the planner can hash it; an existing file is
    never touched. Raises CacheError naming each corrupt object; objects missing on the
    remote are only reported (their stages will simply run)."""
    with open_selection(targets, root, cwd) as (ws, sel):
        report = _fetch(ws, sel, resolve(ws, remote), all or sel.everything, jobs or DEFAULT_JOBS, progress)
        if place_missing_inputs:
            report.checked_out = _place_missing_tracked(ws)
    _raise_errors(report)
    return report


def _place_missing_tracked(ws: Workspace) -> list[str]:
    """A fresh clone has .pvt files but not the data: put it where nothing is yet."""
    from pivot.project import tracked

    items = [(t.path, t.digest, t.is_dir) for t in tracked.find_all(ws.root)]
    return restore(ws, items, only_missing=True)


def pull(targets: Targets = None, *, remote: str | None = None, jobs: int | None = None,
         progress: Progress | None = None, root: str | os.PathLike[str] | None = None,
         cwd: str | os.PathLike[str] | None = None) -> TransferReport:
    """fetch + checkout. Only verified objects reach the cache, so only they reach the workspace."""
    with open_selection(targets, root, cwd) as (ws, sel):
        project = ws.root
        report = _fetch(ws, sel, resolve(ws, remote), sel.everything, jobs or DEFAULT_JOBS, progress)
        tracked_paths = {i.path for i in sel.items} if not sel.everything else set()
    stages = [t for t in target_list(targets) if t.rstrip("/") not in {p.rstrip("/") for p in tracked_paths}]
    report.checked_out = checkout(stages or None, root=project, cwd=cwd)
    _raise_errors(report)
    return report


def _raise_errors(report: TransferReport) -> None:
    if report.errors:
        shown = "\n  ".join(report.errors[:20])
        more = f"\n  ... and {len(report.errors) - 20} more" if len(report.errors) > 20 else ""
        raise CacheError(f"{len(report.errors)} object(s) could not be fetched from {report.url} "
                         f"(nothing corrupt was used):\n  {shown}{more}")


def _fetch(ws: Workspace, sel: Selection, r: Remote, with_records: bool, n: int,
           progress: Progress | None) -> TransferReport:
    report = TransferReport(r.name, r.url)
    remote_keys = r.record_keys()
    keys = remote_keys if with_records else {record_key(k) for k in sel.stage_keys} & remote_keys
    new_keys = sorted(keys - set(ws.odb.iter_records(RUNS)))
    report.records = sum(rec is not None for rec in pool_map(lambda k: r.fetch_record(ws.odb, k), new_keys, n))
    optional = record_items(ws.odb, keys) if with_records else []
    try:
        ex = expand(sel.items, ws.odb, r, n, optional)
    except CorruptObjectError as exc:
        report.errors.append(str(exc))
        return report
    todo = ex.files - ws.odb.exists_many(ex.files)
    bar = progress or NoProgress()
    bar.add_total(len(todo), 0)
    failed = r.download(ws.odb, todo, ws.layout.tmp_dir, jobs=n, progress=bar)
    bad = {f.digest for f in failed}
    for tree, data in list(ex.trees.items()):
        if data is not None and bad & {e.digest for e in parse_manifest(data)}:
            ex.trees[tree] = None  # incomplete: keep the manifest out so the tree reads as absent
        elif data is not None:
            ws.odb.put_bytes(data)  # last: the tree is complete locally from now on
    # Objects only named by run records are a bonus: their absence just means "run it".
    _describe([f for f in failed if not f.missing or f.digest in ex.required], ex, report)
    report.missing += sorted(ex.paths[d] for d in ex.unreadable & ex.required)
    stored = [d for d in ex.trees.values() if d is not None]
    report.transferred = len(todo) - len(failed) + len(stored)
    report.nbytes = sizes(ws.odb, todo - bad)
    return report


