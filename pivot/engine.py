"""The shell around the planning loop: carry out decisions, commit results,
feed real output hashes back (early cutoff), report progress.

The loop decides; the engine only does what the decision says. Workers run
stages; only this process commits (DESIGN rules 1 and 6).
"""

from __future__ import annotations

import heapq
import itertools
import logging
import time
import uuid
from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field, replace

from pivot import commit
from pivot.errors import ClusterLostError, CorruptObjectError, PivotError
from pivot.executor.base import Executor
from pivot.executor.task import StageResult, StageTask, TaskDep, TaskOut
from pivot.fingerprint.stage_key import manifest_hash
from pivot.hints import blocked_reason
from pivot.planner.decide import StageInputs
from pivot.planner.decision import Action, Decision
from pivot.planner.loop import PlanLoop
from pivot.project.spec import OutKind, StageSpec
from pivot.results import Event, Outcome, ProgressFn, RunReport, StageOutcome
from pivot.safepath import UnsafePathError
from pivot.session import Session

log = logging.getLogger(__name__)


@dataclass
class _Run:
    session: Session
    loop: PlanLoop
    inputs: dict[str, StageInputs]
    executor: Executor
    keep_going: bool
    progress: ProgressFn
    run_token: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    report: RunReport = field(default_factory=RunReport)
    queue: list[tuple[int, int, Decision]] = field(default_factory=list)  # heap: longest path first
    running: dict[Future[StageResult], tuple[Decision, float]] = field(default_factory=dict)
    busy_mutex: set[str] = field(default_factory=set)
    halted: bool = False
    priority: dict[str, int] = field(default_factory=dict)
    order: Iterator[int] = field(default_factory=itertools.count)  # ties: first decided, first sent


def execute(session: Session, scope: Sequence[str], inputs: dict[str, StageInputs], executor: Executor,
            *, keep_going: bool = False, progress: ProgressFn | None = None) -> RunReport:
    run = start_run(session, scope, inputs, executor, keep_going=keep_going, progress=progress)
    try:
        _drive(run)
    except BaseException:
        executor.cancel_all()
        raise
    return finish_report(run)


def start_run(session: Session, scope: Sequence[str], inputs: dict[str, StageInputs], executor: Executor,
              *, keep_going: bool = False, progress: ProgressFn | None = None) -> _Run:
    """A run ready to drive: its planning loop, priorities (longest path first) and report."""
    loop = PlanLoop(session.graph, scope, inputs, session.ws, memo=session.ws.memo)
    run = _Run(session, loop, inputs, executor, keep_going, progress or (lambda _e: None))
    run.priority = _remaining_path_lengths(session, scope)
    run.report.plan = loop.plan
    return run


def finish_report(run: _Run) -> RunReport:
    """The report in plan order; a stage never decided or never started says why."""
    why = "not started: the cluster was lost" if run.report.cluster_lost else "not started: an earlier stage failed"
    for stage in run.loop.order:
        if stage not in run.report.outcomes:
            run.report.outcomes[stage] = StageOutcome(stage, Outcome.NOT_STARTED, why)
    run.report.outcomes = {s: run.report.outcomes[s] for s in run.loop.order}
    if run.report.cluster_lost:
        run.report.cluster_lost = _lost_message(run.report)
    return run.report


def _lost_message(report: RunReport) -> str:
    kept = sum(report.count(o) for o in (Outcome.RAN, Outcome.RESTORED, Outcome.CHECKED_OUT))
    return (f"{report.cluster_lost}: {kept} stage(s) completed and were committed before that (kept), "
            f"{report.count(Outcome.INTERRUPTED)} interrupted, {report.count(Outcome.NOT_STARTED)} not started; "
            "nothing of the unfinished stages was recorded. Run `pivot repro` again (with a running scheduler) "
            "to continue from there")


def _drive(run: _Run) -> None:
    while advance(run):
        done = run.executor.wait_any(list(run.running))
        _relay_notes(run)  # a stage's last lines come before its result
        for future in done:
            settle(run, future)


def advance(run: _Run) -> bool:
    """Carry out what can be decided and submit what is ready; False once nothing is left."""
    while True:
        _take_decisions(run)
        _submit_ready(run)
        if run.running:
            _relay_notes(run)  # e.g. the cluster's description, before any stage finishes
            return True
        if not _take_decisions(run):
            _relay_notes(run)
            return False


def settle(run: _Run, future: Future[StageResult]) -> None:
    """A submitted stage finished (or was lost): commit it and feed the loop."""
    decision, started = run.running.pop(future)
    _finish(run, decision, future, started)


def _relay_notes(run: _Run) -> None:
    for note in run.executor.notes():
        running = tuple(d.stage for d, _ in itertools.islice(run.running.values(), 8))
        run.progress(Event(note.kind, note.stage, None, len(run.report.outcomes), len(run.loop.order), running,
                           note.stream, note.line, note.message))


def _take_decisions(run: _Run) -> bool:
    """Carry out decisions until the loop has nothing new; True if anything changed."""
    changed = False
    while True:
        new = [] if run.halted else run.loop.advance()
        skipped, run.loop.skipped = run.loop.skipped, []
        for decision in skipped:
            _record(run, StageOutcome(decision.stage, Outcome.SKIPPED, decision.reason_text()))
        if not new:
            return changed
        changed = True
        for decision in new:
            _carry_out(run, decision)


def _carry_out(run: _Run, decision: Decision) -> None:
    spec = run.session.graph.stages[decision.stage]
    ws = run.session.ws
    if decision.action == Action.BLOCKED:
        _record(run, StageOutcome(decision.stage, Outcome.BLOCKED, blocked_reason(ws, decision)))
    elif decision.action in (Action.RESTORE, Action.CHECKOUT):
        # A corrupt cache object (set aside, not fetchable again) or a run record naming
        # outputs the stage does not declare is never used: the stage runs instead.
        fallback: tuple[type[Exception], ...] = (
            (CorruptObjectError, UnsafePathError) if decision.action == Action.RESTORE else (CorruptObjectError,))
        try:
            if decision.action == Action.RESTORE:
                outs = commit.commit_restore(ws, spec, run.inputs[decision.stage], decision)
            else:
                outs = commit.commit_checkout(ws, spec, decision)
        except fallback as exc:
            message = f"{decision.stage}: {exc}; running the stage instead"
            log.warning("%s", message)
            run.progress(Event("notice", decision.stage, None, len(run.report.outcomes), len(run.loop.order),
                               message=message))
            decision = replace(decision, action=Action.RUN, will_run=True)
        else:
            kind = Outcome.RESTORED if decision.action == Action.RESTORE else Outcome.CHECKED_OUT
            _record(run, StageOutcome(decision.stage, kind, decision.reason_text()))
            run.loop.finished(decision.stage, outs)
            return
    if decision.action == Action.RUN:
        heapq.heappush(run.queue, (-run.priority.get(decision.stage, 0), next(run.order), decision))


def _submit_ready(run: _Run) -> None:
    if run.halted:
        return
    blocked_by_mutex: list[tuple[int, int, Decision]] = []
    capacity = run.executor.capacity
    while run.queue and (capacity is None or len(run.running) < capacity):
        entry = heapq.heappop(run.queue)
        decision = entry[2]
        spec = run.session.graph.stages[decision.stage]
        if set(spec.mutex) & run.busy_mutex:
            blocked_by_mutex.append(entry)
            continue
        run.busy_mutex |= set(spec.mutex)
        task = build_task(run.session, spec, run.inputs[decision.stage], decision, run.run_token, run.executor.isolated)
        if run.executor.isolated:
            task = _ship(run.session, spec, task)
            _upload_deps(run.session, task)
        future = run.executor.submit(task, priority=run.priority.get(decision.stage, 0))
        run.running[future] = (decision, time.perf_counter())
        _emit(run, "start", decision.stage, None)
    for entry in blocked_by_mutex:
        heapq.heappush(run.queue, entry)


def _finish(run: _Run, decision: Decision, future: Future[StageResult], started: float) -> None:
    spec = run.session.graph.stages[decision.stage]
    run.busy_mutex -= set(spec.mutex)
    try:
        result = future.result()
    except ClusterLostError as exc:  # not the stage's fault: interrupted, and nothing new starts
        run.report.cluster_lost = str(exc)
        run.halted = True
        _record(run, StageOutcome(decision.stage, Outcome.INTERRUPTED, "interrupted: the cluster was lost",
                                  time.perf_counter() - started))
        return
    except BaseException as exc:  # the executor lost the task (worker died, cancelled)
        result = StageResult(decision.stage, False, error=f"{type(exc).__name__}: {exc}")
    duration = time.perf_counter() - started
    if result.ok:
        try:
            # Outputs written into another workspace (or a worker's scratch) come from the cache.
            outs = commit.commit_run(run.session.ws, spec, run.inputs[decision.stage], decision, result,
                                     isolated=run.executor.isolated or not result.in_workspace)
        except (PivotError, OSError) as exc:  # the cache or the lock could not be written
            commit.discard_outputs(run.session.ws, spec)  # README: a failed stage leaves no outputs
            result = StageResult(decision.stage, False, (), result.stdout, result.stderr,
                                 error=f"stage {decision.stage!r}: recording its result failed: {exc}")
        else:
            _record(run, StageOutcome(decision.stage, Outcome.RAN, decision.reason_text(), duration,
                                      result.stdout, result.stderr))
            run.loop.finished(decision.stage, outs)
            return
    _record(run, StageOutcome(decision.stage, Outcome.FAILED, result.error or "failed", duration,
                              result.stdout, result.stderr, result.error))
    run.loop.failed(decision.stage)
    if not run.keep_going:
        run.halted = True  # start nothing new; running stages finish


def _record(run: _Run, outcome: StageOutcome) -> None:
    run.report.outcomes[outcome.stage] = outcome
    _emit(run, "finish", outcome.stage, outcome)


def _emit(run: _Run, kind: str, stage: str, outcome: StageOutcome | None) -> None:
    # A handful of names is all a display shows; listing thousands per event is quadratic.
    running = tuple(d.stage for d, _ in itertools.islice(run.running.values(), 8))
    run.progress(Event(kind, stage, outcome, len(run.report.outcomes), len(run.loop.order), running))


def build_task(session: Session, spec: StageSpec, inputs: StageInputs, decision: Decision,
               run_token: str, isolated: bool) -> StageTask:
    assert decision.stage_key is not None
    lock = session.ws.lock(spec.identity)
    previous: dict[str, str] = {o.path: str(o.digest) for o in lock.outs} if lock is not None else {}
    payload = None
    if spec.func is not None and getattr(spec.func, "__module__", "") == "__main__":
        import cloudpickle  # notebook-defined stage: ship it by value

        payload = cloudpickle.dumps(spec)
    return StageTask(
        stage=spec.identity,
        stage_name=spec.name,
        pipeline_file=spec.pipeline_file,
        pipeline_dir=spec.pipeline_dir,
        stage_key=decision.stage_key,
        code_digest=manifest_hash(inputs.code),
        run_token=run_token,
        # A path without "/" may name a folder (shell stages, DVC's rule): the workspace says which.
        deps=tuple(TaskDep(p, h, p.endswith("/") or (session.root / p).is_dir())
                   for p, h in decision.dep_hashes.items()),
        outs=tuple(
            TaskOut(o.path, o.written, str(o.kind), o.key,
                    previous.get(o.path) if o.kind == OutKind.INCREMENTAL else None)
            for o in spec.outs
        ),
        params=dict(inputs.params),
        cache_url=session.ws.cache_url,
        project_root=str(session.root),
        isolated=isolated,
        func_payload=payload,
        cmd=spec.cmd,
        resources=dict(spec.resources),
    )


def _ship(session: Session, spec: StageSpec, task: StageTask) -> StageTask:
    """Isolated mode: small dependencies (and a shell stage's params files) go with the task."""
    from pivot.executor import ship

    extra = {p: h for p in ship.params_files(spec) if (h := session.ws.workspace_hash(p)) is not None}
    return replace(task, deps=ship.with_bytes(session.root, task.deps, extra))


def _upload_deps(session: Session, task: StageTask) -> None:
    """Isolated workers see only the cache: make sure every dependency is in it."""
    from pivot.cache.checkout import store_output
    from pivot.digest import Digest

    ws = session.ws
    for dep in task.deps:
        if dep.data is not None:
            continue  # travels with the task
        if ws.object_available(Digest.parse(dep.digest), dep.is_dir):
            continue
        art = ws.hasher.hash(dep.path)
        if art is None or str(art.digest) != dep.digest:
            continue  # changed since planning: the worker's hash check will report it
        store_output(ws.odb, ws.root, dep.path, art)


def _remaining_path_lengths(session: Session, scope: Sequence[str]) -> dict[str, int]:
    """Longest chain of in-scope stages from each stage to a sink: run those first."""
    chosen = set(scope)
    lengths: dict[str, int] = {}
    for stage in reversed(session.graph.topo_order(chosen)):
        below = [lengths[c] for c in session.graph.downstream.get(stage, ()) if c in chosen]
        lengths[stage] = 1 + max(below, default=0)
    return lengths
