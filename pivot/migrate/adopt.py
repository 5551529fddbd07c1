"""Adopting DVC's results: a stage whose dvc.lock entry matches the workspace gets a Pivot lock.

The check is DVC's own, on current bytes: the same command, every dependency and output
with the md5 dvc.lock records, every param with the value it records. The Pivot lock is
then written by Pivot's own commit code (``record_workspace``, as `pivot commit` does), so
its stage key is the one the planner computes and the first `pivot repro` runs nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pivot import paths
from pivot.migrate import objects
from pivot.migrate import resolve as tpl
from pivot.migrate.dvcfiles import DvcStage
from pivot.outrecord import OutRecord
from pivot.safepath import safe_path


@dataclass
class Verdict:
    """Whether a stage is adopted. ``consumed``: dependencies whose workspace bytes differ from
    what dvc.lock records (root-relative Pivot path -> Pivot digest of the recorded version, taken
    from DVC's cache): the lock records those, so the stage runs exactly when DVC would run it."""

    reason: str | None = None
    consumed: dict[str, str] = field(default_factory=dict)
    produced: dict[str, tuple[str, bool]] = field(default_factory=dict)  # output path -> (md5, legacy)


def check(root: Path, stage: DvcStage, lock: Mapping[str, Any] | None, cache: objects.DvcCache) -> Verdict:
    """Adopt when dvc.lock matches the workspace (dependencies may differ if DVC's cache holds
    the version it ran with: the first repro then decides, as DVC's next repro would)."""
    if not lock:
        return Verdict("not in dvc.lock (DVC never ran it)")
    if lock.get("cmd") != stage.cmd:
        return Verdict("its command differs from the one dvc.lock records")
    here = root / stage.folder
    entries = {str(e.get("path")): e for key in ("deps", "outs") for e in lock.get(key) or [] if isinstance(e, Mapping)}
    verdict = Verdict()
    for written, is_dep in [(d, True) for d in stage.deps] + [(o.path, False) for o in stage.outs]:
        what = "dependency" if is_dep else "output"
        entry = entries.get(written)
        if entry is None or not entry.get("md5"):
            return Verdict(f"dvc.lock has no hash for {what} {written}")
        md5, legacy = str(entry["md5"]), entry.get("hash") != "md5"
        path = here / stage.stage_path(written)
        current = objects.workspace_md5(path, legacy=legacy)
        if current == md5 or _legacy_dir_match(path, entry):
            continue
        # DVC would restore a changed output from its cache, and run a stage whose input changed
        # only if it still differs when the stage's turn comes: record what DVC recorded.
        rel = paths.normalize(stage.stage_path(written), base=stage.folder) + ("/" if md5.endswith(".dir") else "")
        recorded = cache.pivot_digest(md5, legacy)
        if recorded is None:
            state = "is missing from the workspace" if current is None else "changed since DVC ran it"
            return Verdict(f"{what} {written} {state} (and DVC's cache lacks the recorded version)")
        if is_dep:
            verdict.consumed[rel] = recorded
        else:
            verdict.produced[rel] = (md5, legacy)
    verdict.reason = _params_mismatch(here, stage, lock.get("params") or {})
    return verdict


def _legacy_dir_match(path: Path, entry: Mapping[str, Any]) -> bool:
    # A DVC 2 folder hash may mix normalised and plain file md5s; only the plain form is retried.
    return entry.get("hash") != "md5" and path.is_dir() and objects.workspace_md5(path, legacy=False) == entry["md5"]


def _params_mismatch(here: Path, stage: DvcStage, recorded: Mapping[str, Any]) -> str | None:
    for file, keys in stage.params:
        path = here / stage.stage_path(file)
        try:
            values = tpl.read_values(path, file)
        except tpl.TemplateError as exc:
            return str(exc)
        locked = recorded.get(file)
        if not isinstance(locked, Mapping):
            return f"dvc.lock records no params from {file}"
        if keys is None:
            if dict(locked) != values:
                return f"params in {file} changed since DVC ran it"
            continue
        for key in keys:
            if key not in locked or _lookup(values, key) != locked[key]:
                return f"param {key} ({file}) changed since DVC ran it"
    return None


def _lookup(values: Mapping[str, Any], key: str) -> Any:
    node: Any = values
    for part in key.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return _MISSING
        node = node[part]
    return node


_MISSING = object()


def adopt(root: Path, verdicts: Mapping[str, Verdict]) -> list[str]:
    """Record the workspace outputs of these stages as Pivot results; returns those written."""
    from pivot import api
    from pivot.commit import record_workspace

    written = []
    cache = objects.DvcCache(root)
    with api.session(root) as s:
        inputs = s.inputs(list(verdicts))
        for identity, verdict in verdicts.items():
            produced = {path: _import_out(cache, s.ws.odb, root, path, md5, legacy)
                        for path, (md5, legacy) in verdict.produced.items()}
            if record_workspace(s, identity, inputs[identity], verdict.consumed, produced):
                written.append(identity)
            if inputs[identity].uses_run_cache:
                _offer_to_run_cache(s.ws, identity)
    return written


def _import_out(cache: objects.DvcCache, odb: Any, root: Path, path: str, md5: str, legacy: bool) -> OutRecord:
    if md5.endswith(".dir"):
        art = cache.import_dir(odb, md5, legacy, root / path)
        return OutRecord(safe_path(path, source="dvc.lock"), art.digest, art.size, True)
    digest, size = cache.import_file(odb, md5, legacy)
    return OutRecord(safe_path(path, source="dvc.lock"), digest, size, False)


def _offer_to_run_cache(ws: Any, identity: str) -> None:
    """An adopted result is a real run of its command (DVC ran it on exactly these inputs), so
    it also goes to the run cache, as DVC's run cache has it: reverting an edit later restores
    it instead of running again, in both tools."""
    from pivot.cache.run_cache import RunRecord

    lock = ws.lock(identity)
    if lock is not None:
        ws.run_cache.put(RunRecord(lock.stage_key, lock.outs))
