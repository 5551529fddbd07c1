"""Decisions and the reasons behind them: the planner's only output."""

from __future__ import annotations

import enum
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any


class Action(enum.StrEnum):
    RUN = "run"
    SKIP = "skip"
    RESTORE = "restore"  # run-cache hit: outputs come from the cache
    CHECKOUT = "checkout"  # up to date; outputs missing/modified in the workspace but cached
    BLOCKED = "blocked"  # cannot run: a dependency is missing or an upstream stage failed
    UPSTREAM_STALE = "upstream_stale"  # static view only: depends on what an upstream run produces


class ReasonKind(enum.StrEnum):
    NEVER_RAN = "never_ran"
    CODE_CHANGED = "code_changed"
    PARAMS_CHANGED = "params_changed"
    DEPS_CHANGED = "deps_changed"
    OUT_DECLS_CHANGED = "out_decls_changed"
    KEY_CHANGED = "key_changed"
    OUTPUTS_MISSING = "outputs_missing"
    OUTPUTS_MODIFIED = "outputs_modified"
    UPSTREAM_WILL_RUN = "upstream_will_run"
    FORCED = "forced"
    ALWAYS_RUN = "always_run"
    DEP_MISSING = "dep_missing"
    UPSTREAM_FAILED = "upstream_failed"
    UPSTREAM_BLOCKED = "upstream_blocked"  # an upstream stage could not run (missing input), none failed
    RUN_CACHE_HIT = "run_cache_hit"
    UP_TO_DATE = "up_to_date"


@dataclass(frozen=True)
class Change:
    key: str
    old: Any
    new: Any


@dataclass(frozen=True)
class Reason:
    kind: ReasonKind
    changes: tuple[Change, ...] = ()

    def describe(self) -> str:
        text = _TEXT[self.kind]
        if not self.changes:
            return text
        if self.kind in _KEYS_ONLY:
            parts = [c.key for c in self.changes[:5]]
        elif self.kind == ReasonKind.CODE_CHANGED:
            parts = [_code_change(c) for c in self.changes[:5]]
        else:
            parts = [f"{c.key}: {_short(c.old)} -> {_short(c.new)}" for c in self.changes[:5]]
        more = f" (+{len(self.changes) - 5} more)" if len(self.changes) > 5 else ""
        return f"{text} ({'; '.join(parts)}{more})"


_TEXT = {
    ReasonKind.NEVER_RAN: "never ran",
    ReasonKind.CODE_CHANGED: "code changed",
    ReasonKind.PARAMS_CHANGED: "params changed",
    ReasonKind.DEPS_CHANGED: "dependencies changed",
    ReasonKind.OUT_DECLS_CHANGED: "output declarations changed",
    ReasonKind.KEY_CHANGED: "stage definition changed",
    ReasonKind.OUTPUTS_MISSING: "outputs missing",
    ReasonKind.OUTPUTS_MODIFIED: "outputs modified",
    ReasonKind.UPSTREAM_WILL_RUN: "upstream will run",
    ReasonKind.FORCED: "forced",
    ReasonKind.ALWAYS_RUN: "always-run stage",
    ReasonKind.DEP_MISSING: "dependency missing",
    ReasonKind.UPSTREAM_FAILED: "upstream failed",
    ReasonKind.UPSTREAM_BLOCKED: "upstream blocked",
    ReasonKind.RUN_CACHE_HIT: "run cache hit",
    ReasonKind.UP_TO_DATE: "up to date",
}


_KEYS_ONLY = {ReasonKind.UPSTREAM_WILL_RUN, ReasonKind.DEP_MISSING, ReasonKind.UPSTREAM_FAILED,
              ReasonKind.UPSTREAM_BLOCKED}


_HASH = re.compile(r"(xxh\w+:)?[0-9a-f]{16,}")
_CODE_KINDS = {"self": "the stage's own code", "cmd": "the command", "params_class": "its params class"}


def _code_change(change: Change) -> str:
    """One code component in words: which function or class (the hashes are in `--json`'s
    code_changes); a version (``dist:pandas``, ``stdlib:python``) with its old and new value."""
    name = _CODE_KINDS.get(change.key)
    if name is None:
        kind, _, qualified = change.key.partition(":")
        qualified = qualified.removeprefix("pivot_pipelines.").removeprefix("_root.")
        name = change.key if kind in ("dist", "stdlib") or not qualified else f"{kind} {qualified}"
    values = [v for v in (change.old, change.new) if v is not None]
    if values and not all(_HASH.fullmatch(str(v)) for v in values):
        return f"{name}: {_short(change.old)} -> {_short(change.new)}"
    if change.old is None or change.new is None:
        return f"{name} {'added' if change.old is None else 'removed'}"
    return name


def _short(value: Any) -> str:
    if value is None:
        return "none"
    text = str(value)
    if ":" in text and len(text) > 30 and text.split(":", 1)[0].startswith("xxh"):
        return text.split(":", 1)[1][:12]
    return text if len(text) <= 40 else text[:37] + "..."


@dataclass(frozen=True)
class Decision:
    """What happens to one stage, and why.

    ``will_run`` is true only when the stage certainly runs or is restored;
    ``dep_hashes`` are the hashes it was planned with (recorded in its lock).
    ``outs`` are the output hashes it settles with when known in advance
    (skip and checkout: the lock's; restore: the run record's).
    """

    stage: str
    action: Action
    reasons: tuple[Reason, ...]
    stage_key: str | None = None
    dep_hashes: Mapping[str, str] = field(default_factory=dict)
    outs: Mapping[str, str] = field(default_factory=dict)
    will_run: bool = False

    @property
    def upstream_stale(self) -> bool:
        return self.action == Action.UPSTREAM_STALE

    def reason_text(self) -> str:
        return "; ".join(r.describe() for r in self.reasons) or "up to date"

    def changes(self, kind: ReasonKind) -> tuple[Change, ...]:
        return tuple(c for r in self.reasons if r.kind == kind for c in r.changes)


def stage_status(decision: Decision) -> str:
    """The word status reports use: a skipped stage is cached, anything else is stale."""
    return "cached" if decision.action == Action.SKIP else "stale"


@dataclass
class Plan:
    """Decisions in the order they were made (a topological order)."""

    decisions: dict[str, Decision] = field(default_factory=dict)
    recalled: set[str] = field(default_factory=set)  # skips taken from the memo, not proved again

    def add(self, decision: Decision) -> None:
        self.decisions[decision.stage] = decision

    def __iter__(self) -> Iterator[Decision]:
        return iter(self.decisions.values())

    def __len__(self) -> int:
        return len(self.decisions)

    def get(self, stage: str) -> Decision | None:
        return self.decisions.get(stage)

    def summary(self) -> str:
        """One line, e.g. "Plan: 3 stages (1 run, 2 skip)". Tables and HTML live in pivot.report."""
        counts: dict[str, int] = {}
        for d in self:
            counts[str(d.action)] = counts.get(str(d.action), 0) + 1
        described = ", ".join(f"{n} {a}" for a, n in counts.items()) or "nothing to do"
        return f"Plan: {len(self)} stages ({described})"

    def __repr__(self) -> str:
        # The planner imports nothing above it; notebooks get the table through the
        # IPython formatters pivot.notebook registers (pivot.report.html.plan_html).
        return self.summary()


def skip_decision(stage: str, stage_key: str, deps: Mapping[str, str], outs: Mapping[str, str]) -> Decision:
    """The skip a memo proves: the one the full check gave when the memo was written."""
    return Decision(stage, Action.SKIP, (Reason(ReasonKind.UP_TO_DATE),), stage_key=stage_key,
                    dep_hashes=dict(deps), outs=dict(outs))
