"""`exp run`: working copies for every experiment, one batch for all of them,
then a record per experiment with its params, metrics and lock files."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pivot.exp import grid, records, workcopy
from pivot.exp.driver import run_together
from pivot.exp.grid import Override
from pivot.project.spec import OutKind
from pivot.results import Outcome, RunReport
from pivot.session import Session, open_session


@dataclass(frozen=True)
class Planned:
    name: str
    overrides: Mapping[Override, Any]


@dataclass
class ExpOutcome:
    record: records.ExpRecord
    report: RunReport


def plan_names(root: Path, overrides: list[dict[Override, Any]], name: str | None) -> list[Planned]:
    base = workcopy.base_commit(root)
    if name is not None and len(overrides) > 1:
        return [Planned(records.check_name(f"{name}-{i}"), o) for i, o in enumerate(overrides, 1)]
    if name is not None:
        return [Planned(records.check_name(name), overrides[0])]
    return [Planned(grid.default_name(base, o), o) for o in overrides]


def run_experiments(root: Path, cache_url: str, planned: Sequence[Planned], targets: Sequence[str],
                    executor: Any) -> list[ExpOutcome]:
    """Run every planned experiment in one batch; the user's workspace is never written."""
    base = workcopy.base_commit(root)
    parent = workcopy.scratch_parent(root)
    copies = [workcopy.make_copy(root, cache_url, p.overrides, parent) for p in planned]
    sessions: list[Session] = []
    try:
        for copy in copies:
            sessions.append(open_session(copy, copy))
        scopes, inputs = [], []
        for s in sessions:
            _place_tracked(s)
            scope = s.scope(list(targets), all_pipelines=not targets)
            scopes.append(scope)
            inputs.append(s.inputs(scope))
        reports = run_together(sessions, scopes, inputs, executor)
        created = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        outcomes = []
        for p, s, report in zip(planned, sessions, reports, strict=True):
            record = _record(p, s, report, base, created)
            records.save(s.ws.odb, record)
            outcomes.append(ExpOutcome(record, report))
        return outcomes
    finally:
        for s in sessions:
            s.close()
        for copy in copies:
            shutil.rmtree(copy, ignore_errors=True)


def _place_tracked(s: Session) -> None:
    """The copy has the .pvt files, not the data: check it out of the shared cache."""
    from pivot.api.data import restore
    from pivot.project import tracked

    restore(s.ws, [(t.path, t.digest, t.is_dir) for t in tracked.find_all(s.root)], only_missing=True)


def _record(p: Planned, s: Session, report: RunReport, base: str, created: str) -> records.ExpRecord:
    ok = report.ok and not any(o.status == Outcome.BLOCKED for o in report.outcomes.values())
    locks = {}
    for stage in report.outcomes:
        lock = s.ws.lock(stage)
        if lock is not None:
            locks[stage] = lock.to_dict()
    return records.ExpRecord(
        name=p.name, base=base, created=created, status="success" if ok else "failed",
        params=grid.shown(p.overrides), metrics=read_metrics(s),
        locks=locks,
        ran=[st for st, o in report.outcomes.items() if o.status == Outcome.RAN],
        restored=[st for st, o in report.outcomes.items() if o.status == Outcome.RESTORED],
    )


def read_metrics(s: Session) -> dict[str, Any]:
    """Every metric output's values, flattened: ``"path:key.sub"`` -> number or text."""
    found: dict[str, Any] = {}
    for spec in s.graph.stages.values():
        for out in spec.outs:
            if out.kind != OutKind.METRIC:
                continue
            path = s.root / out.path
            try:
                data = _parse(path)
            except (OSError, ValueError):
                continue
            for key, value in flatten(data).items():
                found[f"{out.path}:{key}"] = value
    return dict(sorted(found.items()))


def _parse(path: Path) -> Any:
    text = path.read_text(encoding="utf-8")
    if path.suffix in (".yaml", ".yml"):
        import yaml

        return yaml.safe_load(text)
    return json.loads(text)


def flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(data, Mapping):
        out: dict[str, Any] = {}
        for k, v in data.items():
            out.update(flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    return {prefix or "value": data}
