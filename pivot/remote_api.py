"""push / fetch / pull / remote status / gc: what moves between the cache and a remote.

What is referenced: every output named by a lock file and every ``.pvt`` in the
workspace (or only the targets' ones), plus run-cache records. Trees move file
objects first and their manifest last, so a manifest present on either side
means its files are there too. The CLI and notebooks both call these.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pivot.api import Targets, target_list
from pivot.cache.layout import RUNS
from pivot.cache.odb import ObjectStore
from pivot.cache.run_cache import RunRecord, record_key
from pivot.digest import Digest
from pivot.errors import CacheError, CorruptObjectError
from pivot.fingerprint.trees import parse_manifest
from pivot.remote import (
    DEFAULT_JOBS,
    Failure,
    NoProgress,
    Progress,
    Remote,
    pool_map,
    resolve,
    retry,
)
from pivot.workspace import Workspace


@dataclass(frozen=True)
class Item:
    path: str
    digest: Digest
    is_dir: bool


@dataclass
class Selection:
    items: list[Item]
    stage_keys: set[str]
    everything: bool


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


@dataclass
class Expanded:
    """Every object behind a selection: file objects, tree manifests, and who uses each."""

    files: set[Digest] = field(default_factory=set)
    trees: dict[Digest, bytes | None] = field(default_factory=dict)  # manifest bytes when fetched
    paths: dict[Digest, str] = field(default_factory=dict)
    required: set[Digest] = field(default_factory=set)  # named by the selection, not only by run records
    unreadable: set[Digest] = field(default_factory=set)  # manifests we could not get


# -- selection -------------------------------------------------------------------------
def all_locks(ws: Workspace) -> list[Any]:
    from pivot import lockfile

    folder = ws.layout.state_dir / "stages"
    found = (lockfile.read(p) for p in sorted(folder.rglob("*.lock")))
    return [lock for lock in found if lock is not None]


@contextlib.contextmanager
def _open(targets: Targets, root: str | os.PathLike[str] | None,
          cwd: str | os.PathLike[str] | None) -> Iterator[tuple[Workspace, Selection]]:
    from pivot import api
    from pivot.project import tracked

    wanted = target_list(targets)
    if not wanted:  # everything: no need to import the pipelines
        ws = Workspace(Path(root).resolve() if root is not None else api.find_root(cwd))
        items = [Item(t.path, t.digest, t.is_dir) for t in tracked.find_all(ws.root)]
        locks = all_locks(ws)
        items += [Item(o.path, o.digest, o.is_dir) for lock in locks for o in lock.outs]
        try:
            yield ws, Selection(items, {lock.stage_key for lock in locks}, True)
        finally:
            ws.close()
        return
    with api.session(root, cwd) as s:
        yield s.ws, _select(s, wanted)


def _select(s: Any, wanted: list[str]) -> Selection:
    from pivot import paths
    from pivot.project import tracked
    from pivot.session import resolve_target

    by_path = {paths.strip_dir(t.path): Item(t.path, t.digest, t.is_dir) for t in tracked.find_all(s.root)}
    items: list[Item] = []
    keys: set[str] = set()
    for target in wanted:
        rel = paths.strip_dir(paths.normalize(target, base=s.cwd_rel))
        if rel in by_path:
            items.append(by_path[rel])
            continue
        for stage in sorted(resolve_target(s.graph, target, s.cwd_rel)):
            lock = s.ws.lock(stage)
            if lock is not None:
                keys.add(lock.stage_key)
                items += [Item(o.path, o.digest, o.is_dir) for o in lock.outs]
    return Selection(items, keys, False)


def _record_items(odb: ObjectStore, keys: set[str]) -> list[Item]:
    items: list[Item] = []
    for key in sorted(keys):
        raw = odb.get_record(key)
        with contextlib.suppress(ValueError):
            record = RunRecord.from_bytes(raw) if raw is not None else None
            items += [Item(o.path, o.digest, o.is_dir) for o in record.outs] if record else []
    return items


def _expand(items: list[Item], local: ObjectStore, remote: Remote | None, jobs: int,
            optional: Sequence[Item] = ()) -> Expanded:
    """Trees are read from the local cache, else (when given) fetched from the remote, verified."""
    out = Expanded()
    out.required = {i.digest for i in items}
    for item in [*items, *optional]:
        out.paths.setdefault(item.digest, item.path)
        if item.is_dir:
            out.trees.setdefault(item.digest, None)
        else:
            out.files.add(item.digest)

    def manifest(d: Digest) -> tuple[Digest, bytes | None, bool]:
        with contextlib.suppress(CacheError):
            return d, local.get_bytes(d), False
        if remote is None:
            return d, None, False
        try:
            return d, remote.get_manifest_bytes(d), True
        except CorruptObjectError:
            raise
        except (CacheError, FileNotFoundError):
            return d, None, False

    for d, data, fetched in pool_map(manifest, sorted(out.trees), jobs):
        try:
            entries = parse_manifest(data) if data is not None else None
        except ValueError:
            entries = None
        if entries is None:
            out.unreadable.add(d)
            continue
        out.trees[d] = data if fetched else None
        for e in entries:
            out.files.add(e.digest)
            if d in out.required:
                out.required.add(e.digest)
            out.paths.setdefault(e.digest, f"{out.paths[d]}{e.path}")
    return out


def _progress(enabled: bool | Progress, label: str) -> contextlib.AbstractContextManager[Progress]:
    if not isinstance(enabled, bool):
        return contextlib.nullcontext(enabled)
    if not enabled or not sys.stderr.isatty():
        return contextlib.nullcontext(NoProgress())
    from pivot.cli.remote_cmds import rich_progress

    return rich_progress(label)


def _describe(failures: list[Failure], ex: Expanded, report: TransferReport) -> None:
    for f in failures:
        where = ex.paths.get(f.digest, str(f.digest))
        if f.missing:
            report.missing.append(where)
        else:
            report.errors.append(f"{where}: {f.error}")


def _sizes(local: ObjectStore, ds: set[Digest]) -> int:
    total = 0
    for d in ds:
        path = local.local_path(d)
        with contextlib.suppress(OSError):
            total += path.stat().st_size if path is not None else 0
    return total


# -- push ------------------------------------------------------------------------------
def push(targets: Targets = None, *, remote: str | None = None, jobs: int | None = None, verify: bool = False,
         progress: bool | Progress = False, root: str | os.PathLike[str] | None = None,
         cwd: str | os.PathLike[str] | None = None) -> TransferReport:
    """Upload what the remote lacks. ``verify`` asks the remote about every object (no index)."""
    n = jobs or DEFAULT_JOBS
    with _open(targets, root, cwd) as (ws, sel):
        r = resolve(ws, remote)
        report = TransferReport(r.name, r.url)
        r.sync_index()
        local_keys = set(ws.odb.iter_records(RUNS))
        keys = local_keys if sel.everything else {record_key(k) for k in sel.stage_keys} & local_keys
        optional = _record_items(ws.odb, keys) if sel.everything else []
        ex = _expand(sel.items, ws.odb, None, n, optional)
        here = ws.odb.exists_many(ex.files)
        # What run records name is shared when present; only the selection's own objects must be.
        report.missing = sorted({ex.paths[d] for d in ((ex.files - here) | ex.unreadable) & ex.required})
        with _progress(progress, f"push to {r.name}") as bar:
            todo = r.missing(here, jobs=n, use_index=not verify)
            trees = set(ex.trees) - ex.unreadable
            tree_todo = r.missing(trees, jobs=n, use_index=not verify)
            bar.add_total(len(todo) + len(tree_todo), _sizes(ws.odb, todo | tree_todo))
            failed = r.upload(ws.odb, todo, jobs=n, progress=bar)
            bad = {f.digest for f in failed}
            # A tree whose files did not all arrive keeps its manifest back (manifest last).
            ok_trees = {t for t in tree_todo if not (bad | (ex.files - here)) & set(_entries(ws.odb, t))}
            failed += r.upload(ws.odb, ok_trees, jobs=n, progress=bar)
        _describe(failed, ex, report)
        report.transferred = len(todo) + len(ok_trees) - len(failed)
        report.nbytes = _sizes(ws.odb, (todo | ok_trees) - {f.digest for f in failed})
        todo_keys = sorted(keys - r.record_keys())
        report.records = sum(pool_map(lambda k: r.push_record(ws.odb, k), todo_keys, n))
    return report


def _entries(odb: ObjectStore, tree: Digest) -> list[Digest]:
    return [e.digest for e in odb.read_manifest(tree)]


# -- fetch / pull ----------------------------------------------------------------------
def fetch(targets: Targets = None, *, all: bool = False, remote: str | None = None, jobs: int | None = None,
          progress: bool | Progress = False, place_missing_inputs: bool = True,
          root: str | os.PathLike[str] | None = None, cwd: str | os.PathLike[str] | None = None) -> TransferReport:
    """Download what the selection needs, and run-cache records (all of them, with their
    objects, when ``all`` or no targets: that is what lets a fresh clone restore instead of run).

    With ``place_missing_inputs`` (what ``repro --pull`` needs) tracked data that is *absent*
    from the workspace is checked out too, so the planner can hash it; an existing file is
    never touched. Raises CacheError naming each corrupt object; objects missing on the
    remote are only reported (their stages will simply run)."""
    with _open(targets, root, cwd) as (ws, sel):
        report = _fetch(ws, sel, resolve(ws, remote), all or sel.everything, jobs or DEFAULT_JOBS, progress)
        if place_missing_inputs:
            report.checked_out = _place_missing_tracked(ws)
    _raise_errors(report)
    return report


def _place_missing_tracked(ws: Workspace) -> list[str]:
    """A fresh clone has .pvt files but not the data: put it where nothing is yet."""
    from pivot import api
    from pivot.project import tracked

    items = [(t.path, t.digest, t.is_dir) for t in tracked.find_all(ws.root)]
    return api.restore(ws, items, only_missing=True)


def pull(targets: Targets = None, *, remote: str | None = None, jobs: int | None = None,
         progress: bool | Progress = False, root: str | os.PathLike[str] | None = None,
         cwd: str | os.PathLike[str] | None = None) -> TransferReport:
    """fetch + checkout. Only verified objects reach the cache, so only they reach the workspace."""
    from pivot import api

    with _open(targets, root, cwd) as (ws, sel):
        project = ws.root
        report = _fetch(ws, sel, resolve(ws, remote), sel.everything, jobs or DEFAULT_JOBS, progress)
        tracked_paths = {i.path for i in sel.items} if not sel.everything else set()
    stages = [t for t in target_list(targets) if t.rstrip("/") not in {p.rstrip("/") for p in tracked_paths}]
    report.checked_out = api.checkout(stages or None, root=project, cwd=cwd)
    _raise_errors(report)
    return report


def _raise_errors(report: TransferReport) -> None:
    if report.errors:
        shown = "\n  ".join(report.errors[:20])
        more = f"\n  ... and {len(report.errors) - 20} more" if len(report.errors) > 20 else ""
        raise CacheError(f"{len(report.errors)} object(s) could not be fetched from {report.url} "
                         f"(nothing corrupt was used):\n  {shown}{more}")


def _fetch(ws: Workspace, sel: Selection, r: Remote, with_records: bool, n: int,
           progress: bool | Progress) -> TransferReport:
    report = TransferReport(r.name, r.url)
    remote_keys = r.record_keys()
    keys = remote_keys if with_records else {record_key(k) for k in sel.stage_keys} & remote_keys
    new_keys = sorted(keys - set(ws.odb.iter_records(RUNS)))
    report.records = sum(rec is not None for rec in pool_map(lambda k: r.fetch_record(ws.odb, k), new_keys, n))
    optional = _record_items(ws.odb, keys) if with_records else []
    try:
        ex = _expand(sel.items, ws.odb, r, n, optional)
    except CorruptObjectError as exc:
        report.errors.append(str(exc))
        return report
    todo = ex.files - ws.odb.exists_many(ex.files)
    with _progress(progress, f"fetch from {r.name}") as bar:
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
    report.nbytes = _sizes(ws.odb, todo - bad)
    return report


# -- remote status -----------------------------------------------------------------------
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
    with _open(targets, root, cwd) as (ws, sel):
        r = resolve(ws, remote)
        r.sync_index()
        ex = _expand(sel.items, ws.odb, r, n)
        wanted = ex.files | (set(ex.trees) - ex.unreadable)
        here = ws.odb.exists_many(wanted)
        absent = r.missing(wanted, jobs=n)
        gone = (wanted - here) & absent
        nowhere = sorted({ex.paths[d] for d in gone | ex.unreadable})
        return RemoteStatus(r.name, r.url, len(here & absent), len((wanted - here) - absent), nowhere)


# -- gc ------------------------------------------------------------------------------------
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
    with _open(None, root, cwd) as (ws, sel):
        r = resolve(ws, remote) if remote else None
        store = r.odb if r is not None else ws.odb
        # Manifests come from the collected store, else the local cache, so a tree is never half-kept.
        ex = _expand(sel.items, store, None, n)
        if ex.unreadable and r is not None:
            ex = _expand(sel.items, ws.odb, r, n)
        keep = ex.files | set(ex.trees)
        present = retry(lambda: list(store.iter_objects()))
        removed = sorted(d for d in present if d not in keep)
        if not dry_run and removed:
            if r is not None:
                r.new_epoch()  # before deleting: every clone's index of this remote is now stale
            pool_map(lambda d: retry(lambda: store.delete(d)), removed, n if r is not None else 1)
        return GcReport(r.url if r is not None else "local cache", removed, len(present) - len(removed), dry_run)
