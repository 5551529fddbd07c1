"""What a run produced, per stage: the typed objects the CLI, JSON and notebooks render."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pivot.planner.decision import Plan


class Outcome(enum.StrEnum):
    RAN = "ran"
    SKIPPED = "skipped"
    RESTORED = "restored"
    CHECKED_OUT = "checked_out"
    FAILED = "failed"
    BLOCKED = "blocked"
    NOT_STARTED = "not_started"
    INTERRUPTED = "interrupted"  # was running when the cluster was lost; nothing recorded


@dataclass
class StageOutcome:
    stage: str
    status: Outcome
    reason: str = ""
    duration_s: float = 0.0
    stdout: str = ""
    stderr: str = ""
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"name": self.stage, "status": str(self.status), "reason": self.reason,
                                "duration_s": round(self.duration_s, 4)}
        if self.status in (Outcome.RAN, Outcome.FAILED):  # what the stage printed, failed or not
            data.update(stdout=self.stdout, stderr=self.stderr)
        if self.error is not None:
            data["error"] = self.error
        return data


@dataclass
class RunReport:
    outcomes: dict[str, StageOutcome] = field(default_factory=dict)
    plan: Plan = field(default_factory=Plan)
    dashboard: str | None = None
    cluster: dict[str, Any] | None = None  # address, workers, threads, cache mode, dashboard
    cluster_lost: str | None = None  # the scheduler went away mid-run: what the user is told

    def count(self, status: Outcome) -> int:
        return sum(1 for o in self.outcomes.values() if o.status == status)

    @property
    def failed(self) -> list[StageOutcome]:
        return [o for o in self.outcomes.values() if o.status == Outcome.FAILED]

    @property
    def ok(self) -> bool:
        return not self.failed and self.count(Outcome.BLOCKED) == 0 and self.cluster_lost is None

    def __repr__(self) -> str:
        from pivot.report.html import run_text

        return run_text(self)

    def _repr_html_(self) -> str:
        from pivot.report.html import run_html

        return run_html(self)

    def to_json(self) -> dict[str, Any]:
        return {
            "stages": [o.to_json() for o in self.outcomes.values()],
            "ran": self.count(Outcome.RAN),
            "skipped": self.count(Outcome.SKIPPED),
            "restored": self.count(Outcome.RESTORED),
            "checked_out": self.count(Outcome.CHECKED_OUT),
            "failed": self.count(Outcome.FAILED),
            "interrupted": self.count(Outcome.INTERRUPTED),
            "not_started": self.count(Outcome.NOT_STARTED),
            "cluster": self.cluster,
            "cluster_lost": self.cluster_lost,
        }


@dataclass(frozen=True)
class Event:
    """Progress: a stage started, settled, printed a line, or the run has news.

    ``done``/``total`` count settled stages. Kinds: "plan", "start", "finish",
    "output" (one line a running stage wrote: ``stream`` is "stdout" or
    "stderr", ``line`` the text without its newline) and "notice" (a message
    for the user that is not a stage result, e.g. a worker lost and the stage
    retried, or the cluster's dashboard address: ``message``).
    """

    kind: str  # "plan" | "start" | "finish" | "output" | "notice"
    stage: str
    outcome: StageOutcome | None
    done: int
    total: int
    running: tuple[str, ...] = ()
    stream: str = ""
    line: str = ""
    message: str = ""


ProgressFn = Callable[[Event], None]


def skipped_report(plan: Plan, progress: ProgressFn | None = None) -> RunReport:
    """The report of a run whose whole plan was remembered as skips (pivot.planshot): what
    ``execute`` reports when every stage is skipped, without a planning loop."""
    report = RunReport(plan=plan)
    for decision in plan:
        outcome = StageOutcome(decision.stage, Outcome.SKIPPED, decision.reason_text())
        report.outcomes[decision.stage] = outcome
        if progress is not None:
            progress(Event("finish", decision.stage, outcome, len(report.outcomes), len(plan), ()))
    return report
