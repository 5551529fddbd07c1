"""Load a project for planning: stages, graph, scope and each stage's inputs.

Every command (status, explain, dry run, verify, repro, cluster repro) goes
through here and then through the same planner (DESIGN rule 1).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pivot import paths, planshot
from pivot.errors import UserError
from pivot.planner.decide import StageInputs
from pivot.planner.decision import Plan
from pivot.planshot import Request
from pivot.project.spec import StageSpec
from pivot.stage_inputs import stage_inputs
from pivot.workspace import Workspace

if TYPE_CHECKING:
    from pivot.graph.build import StageGraph


class Session:
    """An open project: its workspace and (loaded on first use) its stages and graph."""

    def __init__(self, ws: Workspace, load: Callable[[], Project], cwd_rel: str = "",
                 extra_specs: Sequence[StageSpec] = (), digest: Callable[[], str | None] | None = None) -> None:
        self.ws = ws
        self.cwd_rel = cwd_rel
        self.extra_specs = list(extra_specs)
        self._digest = digest or _no_digest
        self._load = load
        self._project: Project | None = None

    @property
    def load_digest(self) -> str | None:
        """Names the loaded project exactly, when the load cache serves it whole and no notebook
        stage is added: the key of a remembered whole plan (pivot.planshot)."""
        return None if self.extra_specs else self._digest()

    @property
    def graph(self) -> StageGraph:
        return self._loaded().graph

    @property
    def manifests(self) -> dict[str, dict[str, str]]:
        """Code manifests from the load cache, by identity; others are computed."""
        return self._loaded().manifests

    @property
    def definitions(self) -> dict[str, str]:
        """Definition digests from the load cache, by identity: a stage without one is always
        checked in full (the skip memo is keyed by it)."""
        return self._loaded().definitions

    def _loaded(self) -> Project:
        if self._project is None:
            self._project = self._load()
        return self._project

    @property
    def root(self) -> Path:
        return self.ws.root

    def close(self) -> None:
        self.ws.close()

    def scope(self, targets: Sequence[str] = (), *, all_pipelines: bool = False, upstream: bool = True,
              downstream: bool = False) -> list[str]:
        """Targets plus (by default) everything they depend on, in topological order; ``downstream``:
        the targets and everything that depends on them instead (``dvc repro --downstream``)."""
        if all_pipelines:
            chosen = set(self.graph.stages)
        elif targets:
            chosen = set()
            for target in targets:
                chosen |= resolve_target(self.graph, target, self.cwd_rel)
        else:
            chosen = self._current_pipeline_stages()
        if downstream:
            chosen |= self.graph.descendants(chosen)
        elif upstream:
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

    def static_plan(self, scope: Sequence[str], *, force: Iterable[str] = (), request: Request | None = None) -> Plan:
        """The plan of a status or dry run. ``request``: what chose ``scope`` (nothing forced)."""
        from pivot.planner.loop import PlanLoop

        loop = PlanLoop(self.graph, scope, self.inputs(scope, force=force), self.ws, static=True, memo=self.ws.memo)
        loop.advance()
        self.remember(request, loop.plan, scope)
        return loop.plan

    def remember(self, request: Request | None, plan: Plan, scope: Sequence[str]) -> None:
        """A plan that recalled every stage of its scope is remembered whole (pivot.planshot)."""
        if request is None or self.load_digest is None or not scope or len(plan.recalled) != len(scope):
            return
        entries = [e for d in plan if (e := self.ws.memo.recalled_entry(d.stage)) is not None]
        if len(entries) != len(plan):
            return
        from pivot.project import gitignore

        ignore = gitignore.wanted(self.graph.stages.values()) if gitignore.in_git(self.root) else None
        record = planshot.encode(self.load_digest, entries, sorted(self.leftover_folders(scope)), ignore)
        self.ws.memo.remember(request.key(self.load_digest), record)

    def remembered(self, request: Request | None) -> planshot.Shot | None:
        """The whole plan an earlier identical request recalled, if every file it compared is unchanged."""
        if request is None or self.load_digest is None:
            return None
        raw = self.ws.state.get(request.key(self.load_digest))
        return planshot.recall(raw, self.load_digest, str(self.root), str(self.ws.layout.state_dir))

    def leftover_folders(self, scope: Iterable[str]) -> set[str]:
        """Where a killed run may have left temp files: beside every output (a killed checkout may
        have been of any stage) and the inputs ``scope`` reads."""
        from pivot.leftovers import folders_of

        found = [o.path for spec in self.graph.stages.values() for o in spec.outs]
        found += [d.path for stage in scope for d in self.graph.stages[stage].deps]
        return folders_of(found)


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


@dataclass(frozen=True)
class Project:
    graph: StageGraph
    manifests: dict[str, dict[str, str]] = field(default_factory=dict)
    definitions: dict[str, str] = field(default_factory=dict)


def open_session(root: Path, cwd: Path | None = None, *, extra_specs: Sequence[StageSpec] = (),
                 cached: bool = False) -> Session:
    """``cached``: stages may come from the load cache, as data only (no functions, loaders or
    params objects): for the verbs that only plan and hand stages to workers (status, repro).
    The stages are loaded when first asked for: a remembered whole plan needs none."""
    digest: Callable[[], str | None] = _no_digest
    load: Callable[[], Project]
    if cached:
        from pivot import loadcache

        pending = loadcache.Pending(root)
        digest = functools.partial(getattr, pending, "digest")  # read when asked: a refused body names nothing
        load = functools.partial(_from_cache, pending, extra_specs)
    else:
        load = functools.partial(_from_pipelines, root, extra_specs)
    cwd_rel = ""
    if cwd is not None:
        try:
            cwd_rel = paths.relative_to_root(root, cwd)
        except UserError:
            cwd_rel = ""
    return Session(Workspace(root), load, cwd_rel, extra_specs, digest)


def _no_digest() -> str | None:
    return None


def _from_cache(pending: Any, extra_specs: Sequence[StageSpec]) -> Project:
    from pivot.graph.build import build_graph

    loaded = pending.get()
    # A notebook stage is fingerprinted afresh, whatever the cache says of that name.
    own = {s.identity for s in extra_specs}
    return Project(build_graph([*loaded.specs, *extra_specs]),
                   {k: v for k, v in loaded.manifests.items() if k not in own},
                   {k: v for k, v in loaded.definitions.items() if k not in own})


def _from_pipelines(root: Path, extra_specs: Sequence[StageSpec]) -> Project:
    from pivot.graph.build import build_graph
    from pivot.project.discovery import load_pipelines

    return Project(build_graph([*load_pipelines(root), *extra_specs]))
