"""What push and fetch will move, computed once: the transfer verbs carry it out and
`status --remote` counts it, so the two can never disagree (issue 12: "17 to push",
then 46 pushed)."""

from __future__ import annotations

from dataclasses import dataclass

from pivot.cache.layout import RUNS
from pivot.cache.run_cache import record_key
from pivot.digest import Digest
from pivot.fingerprint.trees import parse_manifest
from pivot.remote.select import Expanded, Selection, entries, expand, record_items
from pivot.remote.store import Remote
from pivot.workspace import Workspace


@dataclass
class PushPlan:
    ex: Expanded
    here: set[Digest]  # selected objects present locally
    todo: set[Digest]  # files the remote lacks
    tree_todo: dict[Digest, list[Digest]]  # manifests the remote lacks -> their files
    record_keys: set[str]  # local run records the remote lacks

    def trees_ready(self, failed: set[Digest]) -> set[Digest]:
        """Manifests whose files all reached (or already were on) the remote: manifest last."""
        absent = failed | (self.ex.files - self.here)
        return {t for t, files in self.tree_todo.items() if not absent & set(files)}

    def count(self) -> int:
        return len(self.todo) + len(self.trees_ready(set()))


def plan_push(ws: Workspace, sel: Selection, r: Remote, n: int, *, verify: bool = False) -> PushPlan:
    local_keys = set(ws.odb.iter_records(RUNS))
    keys = local_keys if sel.everything else {record_key(k) for k in sel.stage_keys} & local_keys
    optional = record_items(ws.odb, keys) if sel.everything else []
    ex = expand(sel.items, ws.odb, None, n, optional)
    here = ws.odb.exists_many(ex.files)
    todo = r.missing(here, jobs=n, use_index=not verify)
    tree_todo = r.missing(set(ex.trees) - ex.unreadable, jobs=n, use_index=not verify)
    return PushPlan(ex, here, todo, {t: entries(ws.odb, t) for t in tree_todo},
                    r.records_missing(keys, use_index=not verify))


@dataclass
class FetchPlan:
    ex: Expanded
    keys: set[str]  # run records wanted
    new_keys: set[str]  # of those, the ones not here yet
    todo: set[Digest]  # files not here

    def count(self, absent: set[Digest]) -> int:
        """Objects a fetch stores when ``absent`` (not on the remote) fail."""
        return len(self.todo - absent) + len(self.trees_ready(absent))

    def trees_ready(self, failed: set[Digest]) -> set[Digest]:
        """Fetched manifests whose files all arrived: only those are stored (manifest last)."""
        return {t for t, data in self.ex.trees.items()
                if data is not None and not failed & {e.digest for e in parse_manifest(data)}}


def plan_fetch(ws: Workspace, sel: Selection, r: Remote, n: int, *, all_history: bool) -> FetchPlan:
    """The selection's objects plus the run records of its stage keys (every record on the
    remote, with what it names, only with ``all_history``). Raises CorruptObjectError."""
    local_keys = set(ws.odb.iter_records(RUNS))
    wanted = {record_key(k) for k in sel.stage_keys}
    if not all_history and wanted <= local_keys:
        keys = wanted  # every record wanted is here already: no need to list the remote's
    else:
        remote_keys = r.record_keys()
        keys = remote_keys if all_history else wanted & remote_keys
    new_keys = keys - local_keys
    optional = record_items(ws.odb, keys & local_keys) + (record_items(r.odb, new_keys) if new_keys else [])
    ex = expand(sel.items, ws.odb, r, n, optional)
    return FetchPlan(ex, keys, new_keys, ex.files - ws.odb.exists_many(ex.files))
