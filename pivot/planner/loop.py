"""The planning loop: decisions unlock as upstream stages settle (early cutoff).

A stage is decided only once every in-scope stage producing one of its
dependencies has *settled* — skipped, or finished running, restoring or
checking out — so its decision uses the real output hashes, never a guess.
A restore settles exactly like a fresh run (DESIGN rule 5).

In the static view (status, dry run) nothing executes: a stage that will run
settles with unknown outputs, and a consumer whose key may still match its
lock is marked ``upstream_stale``; one whose key certainly changed is marked
``will_run``. Execution treats every other stage exactly as shown.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from pivot.graph.build import StageGraph
from pivot.planner.decide import Facts, StageInputs, decide, definition_changes
from pivot.planner.decision import Action, Change, Decision, Plan, Reason, ReasonKind, skip_decision

_UNKNOWN = object()


class Remembered(Protocol):
    """A skip proved by an earlier plan (pivot.skipmemo.Recalled)."""

    @property
    def stage_key(self) -> str: ...
    @property
    def deps(self) -> Mapping[str, str]: ...
    @property
    def outs(self) -> Mapping[str, str]: ...

    def file_digest(self, path: str) -> str | None: ...


class Memo(Protocol):
    """Earlier proven skips: recalled when the definition and lock file are unchanged."""

    def recall(self, stage: str, definition: str) -> Remembered | None: ...
    def learn(self, stage: str, definition: str, decision: Decision) -> None: ...


@dataclass(frozen=True)
class _Settled:
    outs: Mapping[str, str] | None  # None: not known until the stage actually runs
    in_workspace: bool
    failed: bool = False
    blocked: bool = False  # did not run for a missing input (failed is set too: nothing downstream runs)


class PlanLoop:
    def __init__(
        self,
        graph: StageGraph,
        scope: Iterable[str],
        inputs: Mapping[str, StageInputs],
        facts: Facts,
        *,
        static: bool = False,
        memo: Memo | None = None,
    ) -> None:
        self._graph = graph
        self._memo = memo
        self._scope = set(scope)
        self._inputs = inputs
        self._facts = facts
        self._static = static
        self._order = graph.topo_order(self._scope)
        self._rank = {s: i for i, s in enumerate(self._order)}
        self._waiting_on = {s: len(graph.upstream[s] & self._scope) for s in self._scope}
        self._ready = [(self._rank[s], s) for s, n in self._waiting_on.items() if n == 0]
        heapq.heapify(self._ready)
        self._settled: dict[str, _Settled] = {}
        self.plan = Plan()
        self.skipped: list[Decision] = []  # skips since the caller last drained this list

    @property
    def order(self) -> list[str]:
        """The scope in topological order (computed once: the engine asks per event)."""
        return self._order

    def advance(self) -> list[Decision]:
        """Decide every stage that can be decided now.

        Returns the decisions the engine must carry out (run, restore,
        checkout) or report (blocked). Skips settle immediately. In the static
        view every decision settles immediately and one call decides all.
        """
        actionable: list[Decision] = []
        while self._ready:
            _, stage = heapq.heappop(self._ready)
            decision = self._decide(stage)
            self.plan.add(decision)
            if decision.action == Action.SKIP:
                self._settle(stage, _Settled(decision.outs, in_workspace=True))
                self.skipped.append(decision)
                continue
            if decision.action == Action.BLOCKED:
                self._settle(stage, _Settled(None, in_workspace=True, failed=True, blocked=True))
            elif self._static:
                self._settle_static(decision)
            actionable.append(decision)
        return actionable

    def finished(self, stage: str, outs: Mapping[str, str]) -> None:
        """The engine ran, restored or checked out ``stage`` and committed its outputs."""
        self._settle(stage, _Settled(dict(outs), in_workspace=True))

    def failed(self, stage: str) -> None:
        self._settle(stage, _Settled(None, in_workspace=True, failed=True))

    def _settle_static(self, decision: Decision) -> None:
        if decision.action in (Action.RESTORE, Action.CHECKOUT):
            self._settle(decision.stage, _Settled(decision.outs, in_workspace=False))
        else:  # run or upstream_stale: outputs unknown until it really runs
            self._settle(decision.stage, _Settled(None, in_workspace=False))

    def _settle(self, stage: str, settled: _Settled) -> None:
        self._settled[stage] = settled
        for child in self._graph.downstream.get(stage, ()):
            if child in self._scope:
                self._waiting_on[child] -= 1
                if self._waiting_on[child] == 0:
                    heapq.heappush(self._ready, (self._rank[child], child))

    def _decide(self, stage: str) -> Decision:
        inputs = self._inputs[stage]
        failed_up = sorted(u for u in self._graph.upstream[stage] & self._scope if self._settled[u].failed)
        if failed_up:
            return _blocked_by(stage, failed_up, {u for u in failed_up if self._settled[u].blocked})
        memo, definition = self._memo, inputs.definition
        if memo is None or definition is None or inputs.forced or inputs.always_run:
            return self._decide_in_full(inputs)
        recalled = self._recall(inputs, memo.recall(stage, definition))
        if recalled is not None:
            self.plan.recalled.add(stage)
            return recalled
        decision = self._decide_in_full(inputs)
        if decision.action == Action.SKIP:
            memo.learn(stage, definition, decision)
        return decision

    def _recall(self, inputs: StageInputs, memo: Remembered | None) -> Decision | None:
        """The skip an earlier plan proved, when everything it compared is unchanged: the same
        definition (so the same key for the same dependency hashes), the same lock file, the
        dependencies settling with the same hashes and the outputs' files untouched."""
        if memo is None:
            return None
        spec = self._graph.stages[inputs.stage]
        if {d.path for d in spec.deps} != set(memo.deps):
            return None
        for dep in spec.deps:
            if self._dep_hash(inputs.stage, dep.path, memo.file_digest) != memo.deps[dep.path]:
                return None
        if any(memo.file_digest(path) != digest for path, digest in memo.outs.items()):
            return None
        return skip_decision(inputs.stage, memo.stage_key, memo.deps, memo.outs)

    def _decide_in_full(self, inputs: StageInputs) -> Decision:
        stage = inputs.stage
        spec = self._graph.stages[stage]
        deps: dict[str, str | None] = {}
        missing: list[Change] = []
        for dep in spec.deps:
            value = self._dep_hash(stage, dep.path)
            if value is None:
                missing.append(Change(dep.path, None, None))
            deps[dep.path] = None if value is _UNKNOWN else value  # type: ignore[assignment]
        if missing:
            return Decision(stage, Action.BLOCKED, (Reason(ReasonKind.DEP_MISSING, tuple(missing)),))
        unknown = [p for p, h in deps.items() if h is None]
        if not unknown:
            return decide(inputs, {p: h for p, h in deps.items() if h is not None}, self._facts)
        return self._decide_unknown(inputs, deps, unknown)

    def _decide_unknown(self, inputs: StageInputs, deps: dict[str, str | None], unknown: Sequence[str]) -> Decision:
        """Static view only: some dependencies come from stages that will run."""
        upstream = Reason(ReasonKind.UPSTREAM_WILL_RUN, tuple(Change(p, None, None) for p in unknown))
        if inputs.forced:
            return Decision(inputs.stage, Action.RUN, (Reason(ReasonKind.FORCED),), will_run=True)
        if inputs.always_run:
            return Decision(inputs.stage, Action.RUN, (Reason(ReasonKind.ALWAYS_RUN),), will_run=True)
        own = definition_changes(inputs, deps, self._facts.lock(inputs.stage))
        if own:  # the key differs whatever upstream produces: it runs (or restores)
            return Decision(inputs.stage, Action.RUN, (*own, upstream), will_run=True)
        return Decision(inputs.stage, Action.UPSTREAM_STALE, (upstream,))

    def _dep_hash(self, stage: str, path: str, read: Callable[[str], str | None] | None = None) -> object:
        """The dependency's hash, None when missing, _UNKNOWN when not yet knowable.
        ``read``: how a file in the workspace is hashed (default: the facts')."""
        producers = self._graph.producers(path) & self._scope
        producers.discard(stage)
        if any(self._settled[p].outs is None for p in producers):
            return _UNKNOWN
        exact = self._graph.exact_producer(path)
        if exact is not None and exact in producers:
            outs = self._settled[exact].outs
            assert outs is not None
            # "data/prepared" may name the folder output "data/prepared/" (DVC writes no "/")
            return outs.get(path, outs.get(path.rstrip("/") if path.endswith("/") else path + "/"))
        if any(not self._settled[p].in_workspace for p in producers):
            return _UNKNOWN
        return (read or self._facts.workspace_hash)(path)


def _blocked_by(stage: str, upstream: Sequence[str], blocked: set[str]) -> Decision:
    """Blocked behind failed upstream stages, or behind stages that were themselves blocked."""
    reasons = []
    for kind, names in ((ReasonKind.UPSTREAM_FAILED, [u for u in upstream if u not in blocked]),
                        (ReasonKind.UPSTREAM_BLOCKED, [u for u in upstream if u in blocked])):
        if names:
            reasons.append(Reason(kind, tuple(Change(u, None, None) for u in names)))
    return Decision(stage, Action.BLOCKED, tuple(reasons))


def static_plan(
    graph: StageGraph, scope: Sequence[str], inputs: Mapping[str, StageInputs], facts: Facts,
    memo: Memo | None = None,
) -> Plan:
    loop = PlanLoop(graph, scope, inputs, facts, static=True, memo=memo)
    loop.advance()
    return loop.plan
