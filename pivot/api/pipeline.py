"""The pipeline verbs: status, repro, verify. Each asks the planner (DESIGN rule 1)."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from pivot.api.session import Targets, ignore_outputs, session, target_list, with_pipelines
from pivot.errors import UserError
from pivot.planner.decision import Action, Plan, ReasonKind
from pivot.planshot import Request
from pivot.project.spec import StageSpec
from pivot.results import RunReport
from pivot.session import Session
from pivot.status_report import StatusReport, TrackedStatus, VerifyReport, VerifyStage

if TYPE_CHECKING:
    from pivot.project.pipeline import Pipeline


def status(targets: Targets = None, *, all: bool = False, explain: bool = True, force: bool = False,
           downstream: bool = False, root: str | os.PathLike[str] | None = None,
           cwd: str | os.PathLike[str] | None = None, extra_specs: Sequence[StageSpec] = (),
           pipelines: Sequence[Pipeline] = ()) -> StatusReport:
    root, extra_specs = with_pipelines(root, cwd, extra_specs, pipelines)
    with session(root, cwd, extra_specs, cached=True) as s:
        # a --downstream scope is never remembered: its request would look like an upstream one
        request = None if force or downstream else Request(tuple(target_list(targets)), all, s.cwd_rel)
        shot = s.remembered(request)
        plan = shot.plan if shot is not None else _static(s, targets, all, True, force, request, downstream)
        tracked = tracked_status(s)
    return StatusReport(plan, tracked, explain=explain)


def tracked_status(s: Session) -> list[TrackedStatus]:
    from pivot.api.fresh import remote_hint
    from pivot.project import tracked

    result = []
    for item in tracked.find_all(s.root):
        current = s.ws.workspace_hash(item.path)
        if current is None:
            here = s.ws.object_available(item.digest, item.is_dir)
            fix = "in the cache: `pivot checkout` places it (`pivot repro` does too)" if here else remote_hint(s.ws)
            result.append(TrackedStatus(item.path, "missing", fix))
        elif current != str(item.digest):
            fix = (f"`pivot track {item.path}` records the new bytes; commit its .pvt and `pivot push` "
                   "so teammates get them")
            result.append(TrackedStatus(item.path, "modified", fix))
        else:
            result.append(TrackedStatus(item.path, "clean"))
    return result


def repro(targets: Targets = None, *, all: bool = False, force: bool = False, dry_run: bool = False,
          keep_going: bool = False, jobs: int | None = None, cluster: Any = None, workers: int | None = None,
          upstream: bool = True, downstream: bool = False, wait: bool = True,
          root: str | os.PathLike[str] | None = None,
          cwd: str | os.PathLike[str] | None = None, progress: Callable[[Any], None] | None = None,
          on_wait: Callable[[str], None] | None = None, extra_specs: Sequence[StageSpec] = (),
          pipelines: Sequence[Pipeline] = (), run_id: str | None = None, executor: Any = None) -> RunReport:
    """Bring the targets (and, by default, their upstream) up to date; ``downstream``: the
    targets and every stage that depends on them, upstream left as it is (``dvc repro --downstream``).

    ``pipelines``: Pipelines defined outside pipeline.py files (a notebook), run with the project's.
    ``run_id``: the id the run history records (default: a new one). ``executor``: reuse this
    executor and leave it open (watch mode keeps one cluster client across runs).
    """
    from pivot import history, leftovers
    from pivot.notebook import default_progress
    from pivot.project import gitignore
    from pivot.project.lock import project_lock
    from pivot.results import skipped_report

    root, extra_specs = with_pipelines(root, cwd, extra_specs, pipelines)
    if progress is None:
        progress = default_progress()  # inside a Jupyter kernel: one updating display, no ANSI
    with session(root, cwd, extra_specs, cached=True) as s:
        request = None if force or downstream else Request(tuple(target_list(targets)), all, s.cwd_rel, upstream)
        asked = target_list(targets) or (["--all"] if all else [])  # as the user said it, for the history
        local = executor is None and not dry_run and cluster_address(s, cluster)[0] in (None, "")
        shot = s.remembered(request) if local or dry_run else None
        if dry_run:
            return RunReport(plan=shot.plan if shot is not None
                             else _static(s, targets, all, upstream, force, request, downstream))
        if shot is not None:  # a no-op proved whole before: nothing to plan or run
            with project_lock(s.ws.layout.project_lock, wait=wait, on_wait=on_wait), \
                    history.recording(s.ws.state, history_keep(s), run_id=run_id, targets=asked) as rec:
                leftovers.sweep(s.root, shot.sweep)
                rec.executor = make_executor(s, None, jobs=jobs, workers=workers)
                try:
                    report = rec.report = skipped_report(shot.plan, progress)
                finally:
                    rec.executor.close()
                    if shot.ignore is not None:
                        gitignore.sync_wanted(s.root, shot.ignore, s.ws.state)
            return report
        from pivot.api.fresh import ensure_inputs
        from pivot.engine import execute

        scope = s.scope(target_list(targets), all_pipelines=all, upstream=upstream, downstream=downstream)
        forced = set(scope) if force and not target_list(targets) else _forced(s, targets, force)
        with project_lock(s.ws.layout.project_lock, wait=wait, on_wait=on_wait), \
                history.recording(s.ws.state, history_keep(s), run_id=run_id, targets=asked) as rec:
            leftovers.sweep(s.root, s.leftover_folders(scope))
            ensure_inputs(s, scope)  # a fresh clone: tracked inputs from the cache, or say how
            inputs = s.inputs(scope, force=forced)
            own = executor is None  # an executor passed in (watch mode) outlives this run
            rec.executor = make_executor(s, cluster, jobs=jobs, workers=workers) if own else executor
            try:
                report = rec.report = execute(s, scope, inputs, rec.executor, keep_going=keep_going, progress=progress)
                report.dashboard = getattr(rec.executor, "dashboard", None)
                report.cluster = getattr(rec.executor, "info", None) or None
            finally:
                if own:
                    rec.executor.close()
                ignore_outputs(s)
            s.remember(request, report.plan, scope)
        return report


def _static(s: Session, targets: Targets, all: bool, upstream: bool, force: bool, request: Request | None,
            downstream: bool = False) -> Plan:
    scope = s.scope(target_list(targets), all_pipelines=all, upstream=upstream, downstream=downstream)
    forced = set(scope) if force and not target_list(targets) else _forced(s, targets, force)
    return s.static_plan(scope, force=forced, request=request)


def history_keep(s: Session) -> int:
    from pivot.history import DEFAULT_KEEP

    raw = s.ws.config.get("history.keep", DEFAULT_KEEP)
    try:
        return int(raw)
    except (TypeError, ValueError) as exc:
        raise UserError(f".pivot/config.yaml: history.keep {raw!r}: use a whole number", path=".pivot/config.yaml") from exc


def _forced(s: Session, targets: Targets, force: bool) -> set[str]:
    if not force:
        return set()
    from pivot.session import resolve_target

    chosen: set[str] = set()
    for target in target_list(targets):
        chosen |= resolve_target(s.graph, target, s.cwd_rel)
    return chosen


def cluster_address(s: Session, cluster: Any) -> tuple[Any, str]:
    """The scheduler to use (None or "": the local pool) and where that choice came from."""
    address, source = cluster, "--cluster"
    if address is None:
        address, source = os.environ.get("PIVOT_CLUSTER"), "PIVOT_CLUSTER"
    if not address:
        address, source = s.ws.config.get("cluster.address"), "cluster.address in the config"
    return address, source


def make_executor(s: Session, cluster: Any, *, jobs: int | None, workers: int | None) -> Any:
    from pivot.executor.local import LocalExecutor

    address, source = cluster_address(s, cluster)
    if address is None or address == "":
        return LocalExecutor(jobs)
    try:
        from pivot.executor.dask import DaskExecutor  # imports distributed only when chosen
    except ImportError as exc:
        raise UserError(f"--cluster needs dask and distributed ({exc}): pip install 'pivot'") from exc

    return DaskExecutor.connect(address, workers=workers, project_root=s.root, cache_url=s.ws.cache_url,
                                source=source)


def verify(targets: Targets = None, *, all: bool = True, allow_missing: bool = False,
           root: str | os.PathLike[str] | None = None, cwd: str | os.PathLike[str] | None = None) -> VerifyReport:
    """CI check: every stage cached and every output available (locally, or on the remote)."""
    with session(root, cwd) as s:
        remote = _remote_store(s) if allow_missing else None
        scope = s.scope(target_list(targets), all_pipelines=all and not target_list(targets))
        plan = _ci_plan(s, scope)
        results = [_verify_stage(s, plan, stage, allow_missing, remote) for stage in scope]
        modified = [t.path for t in tracked_status(s) if t.status == "modified"]
    return VerifyReport(results, modified)


def _ci_plan(s: Session, scope: list[str]) -> Plan:
    """The planner's answer with `always_run` set aside: a stage that runs by design on every
    repro is not stale for CI when its recorded outputs are present (DVC's CI guide treats
    `always_changed` the same); its consumers are then judged by those outputs."""
    from dataclasses import replace

    from pivot.planner.loop import static_plan

    inputs = {k: replace(v, always_run=False, definition=None) for k, v in s.inputs(scope).items()}
    return static_plan(s.graph, scope, inputs, s.ws)


def _remote_store(s: Session) -> Any:
    from pivot.remote.config import default_remote

    remote = default_remote(s.ws)
    if remote is None:
        raise UserError("verify --allow-missing needs a remote: `pivot remote add NAME URL --default`")
    return remote


def _verify_stage(s: Session, plan: Plan, stage: str, allow_missing: bool, remote: Any) -> VerifyStage:
    decision = plan.decisions[stage]
    lock = s.ws.lock(stage)
    only_outputs = all(r.kind in (ReasonKind.OUTPUTS_MISSING, ReasonKind.OUTPUTS_MODIFIED) for r in decision.reasons)
    if lock is None or not (decision.action in (Action.SKIP, Action.CHECKOUT) or (decision.action == Action.RUN and only_outputs and lock.stage_key == decision.stage_key)):
        return VerifyStage(stage, False, f"stale: {decision.reason_text()}")
    missing = []
    for out in lock.outs:
        here = s.ws.object_available(out.digest, out.is_dir)
        if here and (decision.action == Action.SKIP or allow_missing):
            continue
        if allow_missing and remote is not None and remote.available(out.digest, out.is_dir):
            continue
        missing.append(out.path)
    if missing:
        where = "the cache or the remote" if allow_missing else "the cache"
        return VerifyStage(stage, False, f"outputs missing from {where}", tuple(missing))
    if decision.action != Action.SKIP and not allow_missing:
        return VerifyStage(stage, False, f"outputs missing from the workspace: {decision.reason_text()}")
    return VerifyStage(stage, True, "always runs; outputs present and cached" if s.graph.stages[stage].always_run
                       else "cached")
