"""`pivot gc`: delete cache objects that no commit in the chosen scope needs (DESIGN rule 14).

An object goes only when (1) nothing in scope references it — the workspace's lock
files and .pvt files, plus with ``--all-commits`` / ``--rev`` those committed in git,
plus the run records of those stage keys and what they name — and (2) the store says
it is older than the grace period (``gc.grace``, default 14 days), so a teammate's push
in flight, or another project's objects on a shared remote, survive. A run record goes
with the objects it names.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pivot.cache.layout import RUNS, parse_object_key
from pivot.cache.odb import ObjectStore
from pivot.digest import Digest
from pivot.errors import UserError
from pivot.exp import records as experiments
from pivot.pool import pool_map
from pivot.remote.config import resolve
from pivot.remote.gc_scope import Scope, grace_seconds, in_scope, store_time
from pivot.remote.retry import retry
from pivot.remote.select import Item, expand, open_selection, record_items
from pivot.remote.store import DEFAULT_JOBS, Remote

__all__ = ["GcReport", "Scope", "gc"]
_MAX_MANIFEST = 64 << 20  # a young object larger than this is data, not a tree manifest: not read


@dataclass
class GcReport:
    where: str
    scope: str
    removed: list[Digest]
    kept: int
    dry_run: bool
    nbytes: int = 0  # of the removed objects
    young: int = 0  # unreferenced, but within the grace period
    records_removed: list[str] = field(default_factory=list)
    sizes: dict[Digest, int] = field(default_factory=dict)
    packs_removed: list[str] = field(default_factory=list)  # remote packs none of whose objects is kept

    def to_json(self) -> dict[str, Any]:
        return {"where": self.where, "scope": self.scope, "dry_run": self.dry_run,
                "removed": [{"digest": str(d), "size": self.sizes.get(d, 0)} for d in self.removed],
                "bytes": self.nbytes, "kept": self.kept, "kept_young": self.young,
                "records_removed": self.records_removed, "packs_removed": self.packs_removed}


def gc(*, scope: Scope, remote: str | None = None, dry_run: bool = False, grace: float | None = None,
       confirm: Callable[[GcReport], bool] | None = None, jobs: int | None = None,
       root: str | os.PathLike[str] | None = None, cwd: str | os.PathLike[str] | None = None) -> GcReport:
    """Collect the local cache (or the named remote). ``confirm`` sees the plan before anything
    is deleted and may refuse (the CLI asks on a terminal); ``grace`` overrides ``gc.grace``."""
    if scope.empty:
        raise UserError("gc needs a scope: --workspace (this checkout's locks and .pvt files), "
                        "--all-commits (every commit of every branch and tag) or --rev REV; "
                        "objects used only by other commits would be deleted otherwise")
    n = jobs or DEFAULT_JOBS
    with open_selection(None, root, cwd) as (ws, sel):
        r = resolve(ws, remote) if remote else None
        store = r.odb if r is not None else ws.odb
        items, keys = in_scope(ws, sel, scope)
        exp_records, exp_outputs = experiments.referenced(store)  # kept experiments keep their objects
        items = [*items, *(Item(p, d, is_dir) for p, d, is_dir in exp_outputs)]
        records = record_items(store, keys) + (record_items(ws.odb, keys) if r is not None else [])
        ex = expand(items, store, None, n, records)  # manifests from the collected store first
        if ex.unreadable and r is not None:
            ex = expand(items, ws.odb, r, n, records)
        keep = ex.files | set(ex.trees) | exp_records
        cutoff = time.time() - (grace if grace is not None else grace_seconds(ws.config.get("gc.grace")))
        listing = retry(lambda: _objects(store))
        young = {d for d, info in listing.items() if d not in keep and store_time(info) > cutoff}
        small = {d for d in young if int(listing[d].get("size") or 0) <= _MAX_MANIFEST}
        keep |= young | _tree_files(store, small)
        loose = sorted(d for d in listing if d not in keep)
        packed = _packs(r, keep, cutoff) if r is not None else _PackVerdict()
        removed = sorted(set(loose) | set(packed.sizes))
        report = GcReport(r.url if r is not None else "local cache", scope.describe(), removed,
                          len(set(listing) | packed.held) - len(removed), dry_run,
                          young=len(young | packed.young))
        report.sizes = {d: int(listing[d].get("size") or 0) for d in loose} | packed.sizes
        report.nbytes = sum(report.sizes.values())
        report.packs_removed = packed.dead
        report.records_removed = _dead_records(store, set(removed), keys, cutoff)
        if dry_run or not (removed or report.records_removed) or (confirm is not None and not confirm(report)):
            report.dry_run = dry_run or bool(removed or report.records_removed)
            return report
        if r is not None:
            r.new_epoch()  # before deleting: every clone's index of this remote is now stale
        pool_map(lambda d: retry(lambda: store.delete(d)), loose, n if r is not None else 1)
        if r is not None:
            pool_map(lambda name: retry(lambda: r.packs.delete(name)), packed.dead, n)
        pool_map(lambda k: retry(lambda: store.delete_record(k)), report.records_removed, n if r is not None else 1)
        return report


@dataclass
class _PackVerdict:
    held: set[Digest] = field(default_factory=set)  # every object in a readable pack
    young: set[Digest] = field(default_factory=set)  # unreferenced, in packs within the grace period
    dead: list[str] = field(default_factory=list)  # packs to delete
    sizes: dict[Digest, int] = field(default_factory=dict)  # the objects going with them


def _packs(r: Remote, keep: set[Digest], cutoff: float) -> _PackVerdict:
    """A pack goes whole, when none of its objects is kept and it is past the grace period;
    one kept object keeps its pack (packs are never rewritten). Unreadable packs are not ours."""
    verdict = _PackVerdict()
    indexes = retry(lambda: r.packs.listing(fresh=True))
    if not indexes:
        return verdict
    times = r.packs.listed_info  # from the same listing: packs/ is listed once
    for name, idx in sorted(indexes.items()):
        verdict.held |= set(idx.entries)
        if not keep.isdisjoint(idx.entries):
            continue
        if name not in times or store_time(times[name]) > cutoff:
            verdict.young |= set(idx.entries)
            continue
        verdict.dead.append(name)
        verdict.sizes.update((d, e.size) for d, e in idx.entries.items())
    return verdict


def _objects(store: ObjectStore) -> dict[Digest, dict[str, Any]]:
    found = {}
    for key, info in store.stat_keys("files").items():
        try:
            found[parse_object_key(key)] = info
        except ValueError:
            continue  # temp files and strangers are not objects, and not ours to delete
    return found


def _tree_files(store: ObjectStore, young: set[Digest]) -> set[Digest]:
    """A young manifest keeps the (maybe old) files it lists, or the tree it names would break."""
    from pivot.fingerprint.trees import parse_manifest

    def files(d: Digest) -> set[Digest]:
        try:
            return {e.digest for e in parse_manifest(store.get_bytes(d))}
        except Exception:  # not a manifest (most objects are plain files), or unreadable
            return set()

    result: set[Digest] = set()
    for found in pool_map(files, sorted(young), DEFAULT_JOBS):
        result |= found
    return result


def _dead_records(store: ObjectStore, removed: set[Digest], kept_keys: set[str], cutoff: float) -> list[str]:
    """Run records out of scope that name a removed object: they could only ever miss."""
    from pivot.cache.run_cache import RunRecord

    dead = []
    for key, info in sorted(store.stat_keys(RUNS).items()):
        if key in kept_keys or store_time(info) > cutoff:
            continue
        raw = store.get_record(key)
        try:
            record = RunRecord.from_bytes(raw) if raw is not None else None
        except ValueError:
            continue
        if record is not None and any(o.digest in removed for o in record.outs):
            dead.append(key)
    return dead
