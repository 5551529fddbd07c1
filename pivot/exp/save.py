"""`exp save`: the workspace's results recorded as an experiment (as `dvc exp save`).

Every stage must be up to date, so the record's lock files and metrics are exactly what the
workspace holds. Its params are the keys of the project's params files that differ from the
base commit's, written as `-S` would name them, so `exp apply` writes them back.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pivot.errors import UserError
from pivot.exp import grid, records, workcopy
from pivot.exp.grid import Override
from pivot.exp.run import flatten, read_metrics
from pivot.planner.decision import Action
from pivot.project.params import PARAMS_FILE
from pivot.session import Session


def save_workspace(s: Session, name: str | None) -> records.ExpRecord:
    stale = [d.stage for d in s.static_plan(s.scope(all_pipelines=True)) if d.action != Action.SKIP]
    if stale:
        raise UserError(f"{len(stale)} stage(s) not up to date (first: {stale[0]}): `pivot repro --all`, "
                        "then `pivot exp save` records the results")
    base = workcopy.base_commit(s.root)
    overrides = changed_params(s, base)
    locks = {stage: lock.to_dict() for stage in sorted(s.graph.stages) if (lock := s.ws.lock(stage)) is not None}
    record = records.ExpRecord(
        name=records.check_name(name) if name is not None else grid.default_name(base, overrides),
        base=base, created=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), status="success",
        params=grid.shown(overrides), metrics=read_metrics(s), locks=locks)
    records.save(s.ws.odb, record)
    return record


def changed_params(s: Session, base: str) -> dict[Override, Any]:
    """Keys of the root's and each pipeline folder's params file whose value differs from ``base``'s."""
    import yaml

    found: dict[Override, Any] = {}
    folders = sorted({spec.pipeline_dir for spec in s.graph.stages.values()} | {""})
    for folder in folders:
        rel = f"{folder}/{PARAMS_FILE}" if folder else PARAMS_FILE
        path = s.root / rel
        if not path.is_file():
            continue
        try:
            now = flatten(yaml.safe_load(path.read_text(encoding="utf-8")) or {})
            before = flatten(yaml.safe_load(_committed(s, base, rel)) or {})
        except yaml.YAMLError as exc:
            raise UserError(f"{rel}: not valid YAML ({exc})", path=rel) from exc
        for key, value in sorted(now.items()):
            if key not in before or before[key] != value:
                found[Override(rel, key, f"{folder}:{key}" if folder else key)] = value
    return found


def _committed(s: Session, base: str, rel: str) -> str:
    """The file at ``base`` ("" when it did not exist there)."""
    from pivot.git import GitError, open_repo

    try:
        data = open_repo(s.root).read(base, rel)
    except GitError:
        return ""
    return "" if data is None else data.decode("utf-8", errors="replace")
