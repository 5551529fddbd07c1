"""Run every experiment's plan together, as one batch: a stage key seen in several
experiments is submitted once and its result committed in each (DESIGN rule 8:
equal stage keys mean equal outputs, so sharing is exactly as safe as the run cache).

Each experiment keeps its own planning loop, workspace and lock files; they share
one executor. Completions are dispatched to every experiment waiting on them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from concurrent.futures import Future

from pivot import engine
from pivot.executor.base import Executor, Note
from pivot.executor.task import StageResult, StageTask
from pivot.planner.decide import StageInputs
from pivot.results import Outcome, ProgressFn, RunReport, StageOutcome
from pivot.session import Session


class SharedWork:
    """Submissions by stage key: the first experiment to ask runs it, the rest follow."""

    def __init__(self, inner: Executor, private: set[str]) -> None:
        self.inner = inner
        self.private = private  # always-run and incremental stages: never shared, as never replayed
        self.by_key: dict[str, Future[StageResult]] = {}
        self.leader: dict[str, int] = {}  # stage key -> index of the experiment that ran it

    def view(self, index: int) -> _ExperimentView:
        return _ExperimentView(self, index)


class _ExperimentView(Executor):
    """What one experiment's engine sees: the shared executor, deduplicated by stage key."""

    def __init__(self, shared: SharedWork, index: int) -> None:
        super().__init__()
        self.shared, self.index = shared, index
        self.name = shared.inner.name
        self.isolated = shared.inner.isolated

    def submit(self, task: StageTask, *, priority: int = 0) -> Future[StageResult]:
        shared = self.shared
        if task.stage in shared.private:
            return shared.inner.submit(task, priority=priority)
        first = shared.by_key.get(task.stage_key)
        if first is None or (first.done() and _failed(first)):
            first = shared.inner.submit(task, priority=priority)
            shared.by_key[task.stage_key] = first
            shared.leader[task.stage_key] = self.index
            return first
        return _follow(first)

    def wait_any(self, futures: Iterable[Future[StageResult]], timeout: float | None = None) -> set[Future[StageResult]]:
        return {f for f in futures if f.done()}

    def notes(self) -> list[Note]:
        # The shared executor's news (stage output, cluster notices), drained by whichever
        # experiment's engine asks first: draining also re-arms its wake-up bell.
        return self.shared.inner.notes()

    def close(self) -> None:
        pass


def _failed(future: Future[StageResult]) -> bool:
    return future.exception() is not None or not future.result().ok


def _follow(first: Future[StageResult]) -> Future[StageResult]:
    """The leader's result, marked as living in the cache only (this workspace checks it out)."""
    follower: Future[StageResult] = Future()

    def copy(done: Future[StageResult]) -> None:
        exc = done.exception()
        if exc is not None:
            follower.set_exception(exc)
        else:
            follower.set_result(dataclasses.replace(done.result(), in_workspace=False))

    first.add_done_callback(copy)
    return follower


def run_together(sessions: Sequence[Session], scopes: Sequence[list[str]], inputs: Sequence[dict[str, StageInputs]],
                 executor: Executor, progress: ProgressFn | None = None) -> list[RunReport]:
    private = {stage for ins in inputs for stage, i in ins.items() if not i.uses_run_cache}
    shared = SharedWork(executor, private)
    runs = [engine.start_run(s, scope, ins, shared.view(i), keep_going=True, progress=progress)
            for i, (s, scope, ins) in enumerate(zip(sessions, scopes, inputs, strict=True))]
    try:
        _drive_all(runs, executor)
    except BaseException:
        executor.cancel_all()
        raise
    reports = [engine.finish_report(run) for run in runs]
    _credit_leaders(runs, reports, shared)
    return reports


def _drive_all(runs: list[engine._Run], executor: Executor) -> None:
    active = list(runs)
    while active:
        active = [run for run in active if engine.advance(run)]
        waiting = {f: run for run in active for f in run.running}
        if not waiting:
            continue
        # Followers complete by callback when their leader does: wait on the real futures.
        real = {_leader_of(f, run) for f, run in waiting.items()}
        executor.wait_any(real)
        for future, run in waiting.items():
            if future.done():
                engine.settle(run, future)


def _leader_of(future: Future[StageResult], run: engine._Run) -> Future[StageResult]:
    decision, _ = run.running[future]
    view = run.executor
    assert isinstance(view, _ExperimentView) and decision.stage_key is not None
    return view.shared.by_key.get(decision.stage_key, future)


def _credit_leaders(runs: list[engine._Run], reports: list[RunReport], shared: SharedWork) -> None:
    """A stage that ran for another experiment counts as restored here, naming who ran it."""
    for index, (run, report) in enumerate(zip(runs, reports, strict=True)):
        for stage, outcome in report.outcomes.items():
            decision = run.loop.plan.get(stage)
            key = decision.stage_key if decision is not None else None
            if outcome.status == Outcome.RAN and key is not None and shared.leader.get(key, index) != index:
                report.outcomes[stage] = StageOutcome(stage, Outcome.RESTORED, f"shared: computed once, by experiment "
                                                      f"{shared.leader[key] + 1}", outcome.duration_s)
