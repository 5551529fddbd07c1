"""Load a project for planning: stages, graph, scope and each stage's inputs.

Every command (status, explain, dry run, verify, repro, cluster repro) goes
through here and then through the same planner (DESIGN rule 1).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pivot import paths
from pivot.errors import UserError
from pivot.graph.build import StageGraph, build_graph
from pivot.planner.decide import StageInputs
from pivot.planner.decision import Plan
from pivot.planner.loop import static_plan
from pivot.project.spec import StageSpec
from pivot.stage_inputs import stage_inputs
from pivot.workspace import Workspace


@dataclass
class Session:
    ws: Workspace
    graph: StageGraph
    cwd_rel: str = ""
    extra_specs: list[StageSpec] = field(default_factory=list)
    # Code manifests from the load cache (pivot.loadcache), by identity; others are computed.
    manifests: dict[str, dict[str, str]] = field(default_factory=dict)
    # Definition digests from the load cache, by identity: a stage without one is always
    # checked in full (the skip memo is keyed by it).
    definitions: dict[str, str] = field(default_factory=dict)

    @property
    def root(self) -> Path:
        return self.ws.root

    def close(self) -> None:
        self.ws.close()

    def scope(self, targets: Sequence[str] = (), *, all_pipelines: bool = False, upstream: bool = True) -> list[str]:
        """Targets plus (by default) everything they depend on, in topological order."""
        if all_pipelines:
            chosen = set(self.graph.stages)
        elif targets:
            chosen = set()
            for target in targets:
                chosen |= resolve_target(self.graph, target, self.cwd_rel)
        else:
            chosen = self._current_pipeline_stages()
        if upstream:
            chosen |= self.graph.ancestors(chosen)
        return self.graph.topo_order(chosen)

    def _current_pipeline_stages(self) -> set[str]:
        dirs = {s.pipeline_dir for s in self.graph.stages.values()}
        here = self.cwd_rel
        while True:
            if here in dirs:
                return {s.identity for s in self.graph.stages.values() if s.pipeline_dir == here}
            if not here:
                return set(self.graph.stages)
            here = here.rsplit("/", 1)[0] if "/" in here else ""

    def inputs(self, scope: Iterable[str], *, force: Iterable[str] = ()) -> dict[str, StageInputs]:
        forced = set(force)
        return {s: stage_inputs(self.graph.stages[s], forced=s in forced, code=self.manifests.get(s),
                                definition=self.definitions.get(s)) for s in scope}

    def static_plan(self, scope: Sequence[str], *, force: Iterable[str] = ()) -> Plan:
        return static_plan(self.graph, scope, self.inputs(scope, force=force), self.ws, self.ws.memo)


def resolve_target(graph: StageGraph, target: str, cwd_rel: str) -> set[str]:
    """A stage identity, a name in the current folder's pipeline, a unique short name,
    or a matrix base name (all its variants)."""
    if target in graph.stages:
        return {target}
    here = [s for s in graph.stages.values() if s.pipeline_dir == cwd_rel and s.name == target]
    if here:
        return {here[0].identity}
    by_name = {s.identity for s in graph.stages.values() if s.name == target}
    if len(by_name) == 1:
        return by_name
    if len(by_name) > 1:
        raise UserError(f"stage name {target!r} is ambiguous: {', '.join(sorted(by_name))}; use the full name", stage=target)
    variants = {s.identity for s in graph.stages.values() if s.name.split("@", 1)[0] == target}
    if variants:
        return variants
    by_output = {graph.exact_producer(paths.normalize(target, base=cwd_rel))} - {None}
    if by_output:
        return {str(s) for s in by_output}
    raise UserError(f"unknown stage {target!r}; `pivot list` shows the stages", stage=target)


def open_session(root: Path, cwd: Path | None = None, *, extra_specs: Sequence[StageSpec] = (),
                 cached: bool = False) -> Session:
    """``cached``: stages may come from the load cache, as data only (no functions, loaders or
    params objects): for the verbs that only plan and hand stages to workers (status, repro)."""
    manifests: dict[str, dict[str, str]] = {}
    definitions: dict[str, str] = {}
    if cached:
        from pivot import loadcache

        loaded = loadcache.load(root)
        specs = [*loaded.specs, *extra_specs]
        # A notebook stage is fingerprinted afresh, whatever the cache says of that name.
        own = {s.identity for s in extra_specs}
        manifests = {k: v for k, v in loaded.manifests.items() if k not in own}
        definitions = {k: v for k, v in loaded.definitions.items() if k not in own}
    else:
        from pivot.project.discovery import load_pipelines

        specs = [*load_pipelines(root), *extra_specs]
    graph = build_graph(specs)
    cwd_rel = ""
    if cwd is not None:
        try:
            cwd_rel = paths.relative_to_root(root, cwd)
        except UserError:
            cwd_rel = ""
    return Session(Workspace(root), graph, cwd_rel, list(extra_specs), manifests, definitions)
