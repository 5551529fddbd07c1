"""Status and verify reports: the static plan rendered for people and for CI."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pivot.planner.decision import Action, Decision, Plan, ReasonKind, stage_status


@dataclass(frozen=True)
class TrackedStatus:
    path: str
    status: str  # clean | modified | missing
    fix: str = ""  # the command that helps, for anything not clean


def _changes(decision: Decision, kind: ReasonKind, names: tuple[str, str, str]) -> list[dict[str, Any]]:
    key, old, new = names
    return [{key: c.key, old: c.old, new: c.new} for c in decision.changes(kind)]


@dataclass
class StatusReport:
    plan: Plan
    tracked: list[TrackedStatus] = field(default_factory=list)
    explain: bool = False

    @property
    def stale(self) -> list[Decision]:
        return [d for d in self.plan if d.action != Action.SKIP]

    def suggestions(self) -> list[str]:
        tips = [f"{t.path} {t.status}: {t.fix}" for t in self.tracked if t.status != "clean" and t.fix]
        if self.stale:
            after = " (after the fixes above)" if any(t.status == "missing" for t in self.tracked) else ""
            tips.append(f"run `pivot repro` to bring stale stages up to date{after}")
        return tips

    def __repr__(self) -> str:
        from pivot.report.html import status_text

        return status_text(self)

    def _repr_html_(self) -> str:
        from pivot.report.html import status_html

        return status_html(self)

    def to_json(self) -> dict[str, Any]:
        stages = []
        for d in self.plan:
            entry: dict[str, Any] = {
                "name": d.stage,
                "status": stage_status(d),
                "decision": str(d.action),
                "reason": d.reason_text(),
                "upstream_stale": d.upstream_stale,
            }
            if self.explain:
                entry["will_run"] = d.will_run
                entry["code_changes"] = _changes(d, ReasonKind.CODE_CHANGED, ("key", "old_hash", "new_hash"))
                entry["param_changes"] = _changes(d, ReasonKind.PARAMS_CHANGED, ("key", "old_value", "new_value"))
                entry["dep_changes"] = _changes(d, ReasonKind.DEPS_CHANGED, ("path", "old_hash", "new_hash"))
            stages.append(entry)
        return {
            "stages": stages,
            "tracked_files": [{"path": t.path, "status": t.status} for t in self.tracked],
            "suggestions": self.suggestions(),
        }


@dataclass(frozen=True)
class VerifyStage:
    name: str
    passed: bool
    reason: str
    missing_files: tuple[str, ...] = ()


@dataclass
class VerifyReport:
    stages: list[VerifyStage]
    tracked_modified: list[str] = field(default_factory=list)  # bytes differ from the .pvt

    @property
    def passed(self) -> bool:
        return all(s.passed for s in self.stages) and not self.tracked_modified

    def to_json(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "tracked_modified": self.tracked_modified,
            "stages": [
                {"name": s.name, "status": "passed" if s.passed else "failed", "reason": s.reason,
                 "missing_files": list(s.missing_files)}
                for s in self.stages
            ],
        }
