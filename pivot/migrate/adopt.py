"""Adopting DVC's results: a stage whose dvc.lock entry matches the workspace gets a Pivot lock.

The check is DVC's own, on current bytes: the same command, every dependency and output
with the md5 dvc.lock records, every param with the value it records. The Pivot lock is
then written by Pivot's own commit code (``record_workspace``, as `pivot commit` does), so
its stage key is the one the planner computes and the first `pivot repro` runs nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pivot.migrate import objects
from pivot.migrate import resolve as tpl
from pivot.migrate.dvcfiles import DvcStage


def mismatch(root: Path, stage: DvcStage, lock: Mapping[str, Any] | None) -> str | None:
    """Why ``stage`` cannot be adopted, or None when dvc.lock matches the workspace."""
    if not lock:
        return "not in dvc.lock (DVC never ran it)"
    if lock.get("cmd") != stage.cmd:
        return "its command differs from the one dvc.lock records"
    here = root / stage.folder
    entries = {str(e.get("path")): e for key in ("deps", "outs") for e in lock.get(key) or [] if isinstance(e, Mapping)}
    paths = [(d, "dependency") for d in stage.deps] + [(o.path, "output") for o in stage.outs]
    for written, what in paths:
        entry = entries.get(written)
        if entry is None or not entry.get("md5"):
            return f"dvc.lock has no hash for {what} {written}"
        current = objects.workspace_md5(here / stage.stage_path(written), legacy=entry.get("hash") != "md5")
        if current is None:
            return f"{what} {written} is missing from the workspace"
        if current != entry["md5"] and not _legacy_dir_match(here / stage.stage_path(written), entry):
            return f"{what} {written} changed since DVC ran it"
    return _params_mismatch(here, stage, lock.get("params") or {})


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


def adopt(root: Path, identities: Sequence[str]) -> list[str]:
    """Record the workspace outputs of these stages as Pivot results; returns those written."""
    from pivot import api
    from pivot.commit import record_workspace

    written = []
    with api.session(root) as s:
        inputs = s.inputs(list(identities))
        for identity in identities:
            if record_workspace(s, identity, inputs[identity]):
                written.append(identity)
    return written
