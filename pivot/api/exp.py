"""Experiments from Python, notebooks and the CLI: run, save, show, apply, remove, push, pull, queue."""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pivot.api.session import Targets, session, target_list
from pivot.errors import UserError
from pivot.exp import grid, records
from pivot.exp.run import ExpOutcome, Planned, plan_names, read_metrics, run_experiments
from pivot.exp.table import ExpRow, ExpTable

QUEUE = "exp-queue.json"


def exp_run(set_params: Sequence[str] = (), targets: Targets = None, *, name: str | None = None,
            queue: bool = False, run_all: bool = False, cluster: Any = None, workers: int | None = None,
            jobs: int | None = None, root: str | os.PathLike[str] | None = None,
            cwd: str | os.PathLike[str] | None = None) -> list[ExpOutcome]:
    """Run (or with ``queue`` only record) one experiment per combination of ``-S`` values.

    Every experiment runs in its own working copy; all of them are planned and run as one
    batch, so a stage whose stage key several experiments share runs once."""
    from pivot import history
    from pivot.api.pipeline import history_keep, make_executor

    with session(root, cwd) as s:
        queue_file = s.ws.layout.state_dir / QUEUE
        if run_all:
            planned = _read_queue(queue_file)
            if not planned:
                raise UserError("the experiment queue is empty; add some with `pivot exp run --queue -S ...`")
        else:
            planned = plan_names(s.root, grid.expand(list(set_params)), name)
        if queue:
            _write_queue(queue_file, [*_read_queue(queue_file), *planned])
            return []
        with history.recording(s.ws.state, history_keep(s), run_id=None,
                               targets=[f"exp:{p.name}" for p in planned]) as rec:
            rec.executor = make_executor(s, cluster, jobs=jobs, workers=workers)
            try:
                outcomes = run_experiments(s.root, s.ws.cache_url, planned, target_list(targets), rec.executor)
            finally:
                rec.executor.close()
            rec.report = _combined(outcomes)
        if run_all:
            queue_file.unlink(missing_ok=True)
        return outcomes


def _combined(outcomes: list[ExpOutcome]) -> Any:
    """One report for the run history: every experiment's stages, named ``EXP/stage``."""
    from pivot.results import RunReport

    combined = RunReport()
    for o in outcomes:
        for stage, outcome in o.report.outcomes.items():
            name = f"{o.record.name}/{stage}"
            combined.outcomes[name] = dataclasses.replace(outcome, stage=name)
    return combined


def exp_show(*, sort_by: str | None = None, only_changed: bool = False,
             root: str | os.PathLike[str] | None = None, cwd: str | os.PathLike[str] | None = None) -> ExpTable:
    """Every experiment (and the workspace baseline) with its params and metrics."""
    from pivot.exp.workcopy import base_commit

    with session(root, cwd) as s:
        found = records.load_all(s.ws.odb)
        keys = {k for r in found for k in r.params}
        baseline = ExpRow("workspace", _safe(lambda: base_commit(s.root)), "", "-",
                          {k: _current_param(s.root, k) for k in sorted(keys)}, read_metrics(s))
        rows = [baseline, *(ExpRow(r.name, r.base, r.created, r.status, r.params, r.metrics) for r in found)]
    return ExpTable.build(rows, sort_by=sort_by, only_changed=only_changed)


def exp_save(name: str | None = None, *, root: str | os.PathLike[str] | None = None,
             cwd: str | os.PathLike[str] | None = None) -> records.ExpRecord:
    """Record the workspace's up-to-date results as an experiment (``dvc exp save``): its lock
    files, metrics and the params that differ from HEAD's. Nothing runs; nothing is written
    outside the cache."""
    from pivot.exp.save import save_workspace

    with session(root, cwd) as s:
        return save_workspace(s, name)


def exp_apply(name: str, *, force: bool = False, root: str | os.PathLike[str] | None = None,
              cwd: str | os.PathLike[str] | None = None) -> list[str]:
    """Bring the experiment's params into the params files and its outputs into the
    workspace, so a following `pivot repro` runs nothing. Returns the stages placed.

    Everything is checked before anything is written: every lock's paths (a record may come
    from a remote: rule 13), and that no output to be replaced holds changes no cache has
    (UnsavedChangesError names them; ``force`` discards them), as `pivot checkout` does."""
    from pivot.api.data import restore, unsaved_changes
    from pivot.errors import UnsavedChangesError
    from pivot.lockfile import LockRecord
    from pivot.project.lock import project_lock

    with session(root, cwd) as s, project_lock(s.ws.layout.project_lock, wait=True):
        record = records.load(s.ws.odb, name)
        locks: list[LockRecord] = list(records.applicable(record).values())
        overrides = grid.recorded(record.params)
        items = [(o.path, o.digest, o.is_dir) for lock in locks for o in lock.outs]
        kept = set() if force else unsaved_changes(s.ws, items)
        if kept:
            raise UnsavedChangesError(f"applying {name} would replace your changes to {', '.join(sorted(kept)[:5])}: "
                                      "their bytes are in no cache (`pivot commit STAGE` records them; "
                                      "`pivot exp apply --force` discards them); nothing was written", path=name)
        grid.write_overrides(s.root, overrides, f"experiment {name}")
        for lock in locks:
            s.ws.write_lock(lock)
        restore(s.ws, items)
        return sorted(record.locks)


def exp_branch(name: str, branch: str, *, root: str | os.PathLike[str] | None = None,
               cwd: str | os.PathLike[str] | None = None) -> str:
    """A git branch holding the experiment's params and lock files, from the commit it ran
    from (pivot.exp.branch); returns the new commit. The workspace is not touched."""
    from pivot.exp.branch import make_branch

    with session(root, cwd) as s:
        record = records.load(s.ws.odb, name)
        return make_branch(s.root, record, records.applicable(record), grid.recorded(record.params), branch)


def exp_remove(names: Sequence[str], *, root: str | os.PathLike[str] | None = None,
               cwd: str | os.PathLike[str] | None = None) -> list[str]:
    with session(root, cwd) as s:
        missing = [n for n in names if records.ref(s.ws.odb, n) is None]
        if missing:
            raise UserError(f"no experiment named {missing[0]!r}; `pivot exp show` lists them", path=missing[0])
        return [n for n in names if records.remove(s.ws.odb, n)]


def exp_push(names: Sequence[str] = (), *, remote: str | None = None,
             root: str | os.PathLike[str] | None = None, cwd: str | os.PathLike[str] | None = None) -> dict[str, int]:
    from pivot.exp import share
    from pivot.remote.config import resolve

    with session(root, cwd) as s:
        r = resolve(s.ws, remote)
        return {n: share.push(s.ws, r, n) for n in (names or records.names(s.ws.odb))}


def exp_pull(names: Sequence[str] = (), *, remote: str | None = None,
             root: str | os.PathLike[str] | None = None, cwd: str | os.PathLike[str] | None = None) -> dict[str, int]:
    from pivot.exp import share
    from pivot.remote.config import resolve

    with session(root, cwd) as s:
        r = resolve(s.ws, remote)
        return {n: share.pull(s.ws, r, n) for n in (names or share.remote_names(r))}


def _current_param(root: Path, shown: str) -> Any:
    from pivot import yamlio

    override, _ = grid.parse_override(f"{shown}=0")
    node: Any = _safe(lambda: yamlio.read_mapping(root / override.file, override.file), {})
    for part in override.key.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node


def _safe(fn: Any, default: Any = "") -> Any:
    try:
        return fn()
    except Exception:  # the baseline row is informative; a missing file or no git leaves it blank
        return default


def _read_queue(path: Path) -> list[Planned]:
    if not path.exists():
        return []
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
        return [Planned(records.check_name(e["name"]), dict(grid.expand(e["set"])[0])) for e in entries]
    except (ValueError, KeyError, TypeError, IndexError) as exc:
        raise UserError(f"{path}: damaged experiment queue ({exc}); delete it to start over", path=str(path)) from exc


def _write_queue(path: Path, planned: list[Planned]) -> None:
    from pivot.lockfile import atomic_write_text

    entries = [{"name": p.name, "set": [f"{o.shown}={json.dumps(v) if not isinstance(v, str) else v}"
                                        for o, v in p.overrides.items()]} for p in planned]
    atomic_write_text(path, json.dumps(entries, indent=2) + "\n")
