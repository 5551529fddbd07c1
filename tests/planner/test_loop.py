"""The planning loop driven as a table: no processes, no disk."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from pivot.digest import Digest
from pivot.fingerprint.stage_key import stage_key
from pivot.graph.build import build_graph
from pivot.lockfile import LockRecord
from pivot.outrecord import OutRecord
from pivot.planner.decide import StageInputs
from pivot.planner.decision import Action, ReasonKind
from pivot.planner.loop import PlanLoop, static_plan
from pivot.project.spec import DepSpec, OutSpec, StageSpec


def _spec(name: str, deps: list[str], outs: list[str]) -> StageSpec:
    return StageSpec(
        identity=name, name=name, pipeline="p", pipeline_dir="", pipeline_file="pipeline.py",
        deps=tuple(DepSpec(d, d) for d in deps), outs=tuple(OutSpec(o, o) for o in outs),
    )


# a -> b -> c, and d independent of them, reading the source file src.txt
SPECS = [
    _spec("a", ["src.txt"], ["a.out"]),
    _spec("b", ["a.out"], ["b.out"]),
    _spec("c", ["b.out"], ["c.out"]),
    _spec("d", ["src.txt"], ["d.out"]),
]
GRAPH = build_graph(SPECS)


def _inputs(code: str = "v1") -> dict[str, StageInputs]:
    return {
        s.identity: StageInputs(s.identity, {"self": code}, {}, tuple(o.declaration() for o in s.outs))
        for s in SPECS
    }


def _h(text: str) -> str:
    return str(Digest("xxh3_128", text))


@dataclass
class TableFacts:
    files: dict[str, str]
    locks: dict[str, LockRecord] = field(default_factory=dict)
    runs: dict[str, dict[str, str]] = field(default_factory=dict)
    cached: set[str] = field(default_factory=set)

    def lock(self, stage: str) -> LockRecord | None:
        return self.locks.get(stage)

    def workspace_hash(self, path: str) -> str | None:
        return self.files.get(path)

    def run_record(self, key: str) -> Mapping[str, str] | None:
        return self.runs.get(key)

    def lock_outputs_cached(self, lock: LockRecord) -> bool:
        return all(str(o.digest) in self.cached for o in lock.outs)


def _complete(facts: TableFacts, inputs: dict[str, StageInputs]) -> None:
    """Record every stage as having run with the current files (a finished repro)."""
    for name in GRAPH.topo_order():
        spec = GRAPH.stages[name]
        deps = {d.path: facts.files[d.path] for d in spec.deps}
        inp = inputs[name]
        key = stage_key(name, inp.code, inp.params, deps, inp.out_decls)
        outs = tuple(OutRecord(o.path, Digest.parse(facts.files[o.path]), 1) for o in spec.outs)
        facts.locks[name] = LockRecord(name, key, inp.code, {}, deps, outs, tuple(inp.out_decls))


def _state(src: str = "s1") -> TableFacts:
    facts = TableFacts({"src.txt": _h(src), "a.out": _h("a1"), "b.out": _h("b1"), "c.out": _h("c1"), "d.out": _h("d1")})
    _complete(facts, _inputs())
    return facts


def _actions(plan_decisions: Mapping[str, object]) -> dict[str, str]:
    return {k: str(v.action) for k, v in plan_decisions.items()}


def test_everything_current_skips() -> None:
    plan = static_plan(GRAPH, list(GRAPH.stages), _inputs(), _state())
    assert _actions(plan.decisions) == {"a": "skip", "b": "skip", "c": "skip", "d": "skip"}


def test_static_view_marks_consumers_upstream_stale() -> None:
    facts = _state()
    facts.files["src.txt"] = _h("s2")
    plan = static_plan(GRAPH, list(GRAPH.stages), _inputs(), facts)
    assert _actions(plan.decisions) == {"a": "run", "b": "upstream_stale", "c": "upstream_stale", "d": "run"}
    a = plan.decisions["a"]
    assert a.will_run and a.changes(ReasonKind.DEPS_CHANGED)[0].key == "src.txt"
    assert not plan.decisions["b"].will_run


def test_code_change_downstream_of_running_stage_is_certain() -> None:
    facts = _state()
    facts.files["src.txt"] = _h("s2")
    inputs = _inputs()
    inputs["c"] = StageInputs("c", {"self": "v2"}, {}, inputs["c"].out_decls)
    plan = static_plan(GRAPH, list(GRAPH.stages), inputs, facts)
    assert plan.decisions["c"].will_run and plan.decisions["c"].action == Action.RUN


def test_early_cutoff_identical_output_leaves_consumers_skipped() -> None:
    facts = _state()
    facts.files["src.txt"] = _h("s2")
    loop = PlanLoop(GRAPH, list(GRAPH.stages), _inputs(), facts)
    first = {d.stage: d.action for d in loop.advance()}
    assert first == {"a": Action.RUN, "d": Action.RUN}
    loop.finished("a", {"a.out": _h("a1")})  # same bytes as before
    assert loop.advance() == []
    assert loop.plan.decisions["b"].action == Action.SKIP
    assert loop.plan.decisions["c"].action == Action.SKIP


def test_changed_output_propagates() -> None:
    facts = _state()
    facts.files["src.txt"] = _h("s2")
    loop = PlanLoop(GRAPH, list(GRAPH.stages), _inputs(), facts)
    loop.advance()
    facts.files["a.out"] = _h("a2")
    loop.finished("a", {"a.out": _h("a2")})
    (b,) = loop.advance()
    assert b.stage == "b" and b.action == Action.RUN
    assert b.changes(ReasonKind.DEPS_CHANGED)[0].new == _h("a2")


def test_restore_counts_as_a_fresh_run_downstream() -> None:
    """The reference stale-skip bug: a run-cache restore must propagate change."""
    facts = _state()
    facts.files["src.txt"] = _h("s0")  # reverted to a value computed earlier
    inputs = _inputs()
    key = stage_key("a", inputs["a"].code, {}, {"src.txt": _h("s0")}, inputs["a"].out_decls)
    facts.runs[key] = {"a.out": _h("a0")}
    static = static_plan(GRAPH, list(GRAPH.stages), inputs, facts)
    assert static.decisions["a"].action == Action.RESTORE
    assert static.decisions["b"].action == Action.RUN  # known from the run record
    assert static.decisions["b"].will_run
    assert static.decisions["c"].action == Action.UPSTREAM_STALE


def test_failed_upstream_blocks_descendants_only() -> None:
    facts = _state()
    facts.files["src.txt"] = _h("s2")
    loop = PlanLoop(GRAPH, list(GRAPH.stages), _inputs(), facts)
    loop.advance()
    loop.failed("a")
    blocked = loop.advance()
    assert [d.stage for d in blocked] == ["b", "c"]
    assert {d.action for d in blocked} == {Action.BLOCKED}
    loop.finished("d", {"d.out": _h("d2")})
    assert loop.advance() == []


def test_missing_source_dependency_blocks() -> None:
    facts = _state()
    del facts.files["src.txt"]
    plan = static_plan(GRAPH, list(GRAPH.stages), _inputs(), facts)
    assert plan.decisions["a"].action == Action.BLOCKED
    assert plan.decisions["a"].reasons[0].kind == ReasonKind.DEP_MISSING


def test_missing_output_in_cache_is_checkout_else_run() -> None:
    facts = _state()
    del facts.files["c.out"]
    plan = static_plan(GRAPH, list(GRAPH.stages), _inputs(), facts)
    assert plan.decisions["c"].action == Action.RUN
    facts.cached.add(_h("c1"))
    plan = static_plan(GRAPH, list(GRAPH.stages), _inputs(), facts)
    assert plan.decisions["c"].action == Action.CHECKOUT


def test_forced_runs_and_consumers_wait() -> None:
    inputs = _inputs()
    inputs["a"] = StageInputs("a", inputs["a"].code, {}, inputs["a"].out_decls, forced=True)
    plan = static_plan(GRAPH, list(GRAPH.stages), inputs, _state())
    assert plan.decisions["a"].action == Action.RUN
    assert plan.decisions["b"].action == Action.UPSTREAM_STALE


def test_code_change_reasons_name_the_component_not_its_hash() -> None:
    """`status --explain` says which function or class changed; hashes stay in --json's code_changes."""
    from pivot.planner.decision import Change, Reason, ReasonKind

    h1, h2 = "0c041da86ed7ccd914a238fb0bda78fc", "7d833086334fc392604532d83afb7ef9"
    reason = Reason(ReasonKind.CODE_CHANGED, (
        Change("self", h1, h2),
        Change("class:pivot_pipelines._root.ShoutParams", h1, h2),
        Change("func:pivot_pipelines.prep.helpers.normalise", None, h2),
        Change("dist:pandas", "2.1.0", "2.2.3"),
    ))
    assert reason.describe() == ("code changed (the stage's own code; class ShoutParams; "
                                 "func prep.helpers.normalise added; dist:pandas: 2.1.0 -> 2.2.3)")
    assert Reason(ReasonKind.PARAMS_CHANGED, (Change("lr", 0.1, 0.2),)).describe() == "params changed (lr: 0.1 -> 0.2)"
