"""The Python API: what the CLI and notebooks call. Each returns a typed report."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pivot import paths
from pivot.digest import Digest
from pivot.errors import UserError
from pivot.planner.decision import Action, Plan, ReasonKind
from pivot.project.spec import StageSpec
from pivot.results import RunReport
from pivot.session import Session, open_session
from pivot.status_report import StatusReport, TrackedStatus, VerifyReport, VerifyStage
from pivot.workspace import Workspace

if TYPE_CHECKING:
    from pivot.project.pipeline import Pipeline

Targets = Sequence[str] | str | None


def target_list(targets: Targets) -> list[str]:
    if targets is None:
        return []
    return [targets] if isinstance(targets, str) else list(targets)


def find_root(path: str | os.PathLike[str] | None = None) -> Path:
    from pivot.project.root import find_root as _find

    return _find(Path(path) if path is not None else Path.cwd())


@contextlib.contextmanager
def session(root: str | os.PathLike[str] | None = None, cwd: str | os.PathLike[str] | None = None,
            extra_specs: Sequence[StageSpec] = ()) -> Iterator[Session]:
    here = Path(cwd) if cwd is not None else Path.cwd()
    project = Path(root).resolve() if root is not None else find_root(here)
    opened = open_session(project, here.resolve(), extra_specs=extra_specs)
    try:
        yield opened
    finally:  # flush learned hashes and parsed locks to the state DB, whatever happened
        opened.close()


def _with_pipelines(root: str | os.PathLike[str] | None, cwd: str | os.PathLike[str] | None,
                    extra_specs: Sequence[StageSpec], pipelines: Sequence[Pipeline]
                    ) -> tuple[str | os.PathLike[str] | None, Sequence[StageSpec]]:
    """Resolve notebook-defined Pipelines against the project root, as extra stages."""
    if not pipelines:
        return root, extra_specs
    project = Path(root).resolve() if root is not None else find_root(Path(cwd) if cwd is not None else None)
    return project, [*extra_specs, *(spec for p in pipelines for spec in p.resolve(project))]


def status(targets: Targets = None, *, all: bool = False, explain: bool = True, force: bool = False,
           root: str | os.PathLike[str] | None = None, cwd: str | os.PathLike[str] | None = None,
           extra_specs: Sequence[StageSpec] = (), pipelines: Sequence[Pipeline] = ()) -> StatusReport:
    root, extra_specs = _with_pipelines(root, cwd, extra_specs, pipelines)
    with session(root, cwd, extra_specs) as s:
        scope = s.scope(target_list(targets), all_pipelines=all)
        forced = set(scope) if force and not target_list(targets) else _forced(s, targets, force)
        plan = s.static_plan(scope, force=forced)
        tracked = tracked_status(s)
    return StatusReport(plan, tracked, explain=explain)


def tracked_status(s: Session) -> list[TrackedStatus]:
    from pivot.project import tracked

    result = []
    for item in tracked.find_all(s.root):
        current = s.ws.workspace_hash(item.path)
        state = "missing" if current is None else ("clean" if current == str(item.digest) else "modified")
        result.append(TrackedStatus(item.path, state))
    return result


def repro(targets: Targets = None, *, all: bool = False, force: bool = False, dry_run: bool = False,
          keep_going: bool = False, jobs: int | None = None, cluster: Any = None, workers: int | None = None,
          upstream: bool = True, wait: bool = True, root: str | os.PathLike[str] | None = None,
          cwd: str | os.PathLike[str] | None = None, progress: Callable[[Any], None] | None = None,
          on_wait: Callable[[str], None] | None = None, extra_specs: Sequence[StageSpec] = (),
          pipelines: Sequence[Pipeline] = ()) -> RunReport:
    """Bring the targets (and, by default, their upstream) up to date.

    ``pipelines``: Pipelines defined outside pipeline.py files (a notebook), run with the project's.
    """
    from pivot.engine import execute
    from pivot.notebook import default_progress
    from pivot.project.lock import project_lock

    root, extra_specs = _with_pipelines(root, cwd, extra_specs, pipelines)
    if progress is None:
        progress = default_progress()  # inside a Jupyter kernel: one updating display, no ANSI
    with session(root, cwd, extra_specs) as s:
        scope = s.scope(target_list(targets), all_pipelines=all, upstream=upstream)
        forced = set(scope) if force and not target_list(targets) else _forced(s, targets, force)
        if dry_run:
            report = RunReport(plan=s.static_plan(scope, force=forced))
            return report
        with project_lock(s.ws.layout.project_lock, wait=wait, on_wait=on_wait):
            _sweep_leftovers(s, scope)
            inputs = s.inputs(scope, force=forced)
            executor = make_executor(s, cluster, jobs=jobs, workers=workers)
            try:
                report = execute(s, scope, inputs, executor, keep_going=keep_going, progress=progress)
                report.dashboard = getattr(executor, "dashboard", None)
                report.cluster = getattr(executor, "info", None) or None
            finally:
                executor.close()
        return report


def _sweep_leftovers(s: Session, scope: Sequence[str]) -> None:
    """Temp files of a killed earlier run, beside the outputs and inputs this run may write or read."""
    from pivot import leftovers

    specs = [s.graph.stages[stage] for stage in scope]
    paths = [o.path for spec in specs for o in spec.outs] + [d.path for spec in specs for d in spec.deps]
    leftovers.sweep(s.root, leftovers.folders_of(paths))


def _forced(s: Session, targets: Targets, force: bool) -> set[str]:
    if not force:
        return set()
    from pivot.session import resolve_target

    chosen: set[str] = set()
    for target in target_list(targets):
        chosen |= resolve_target(s.graph, target, s.cwd_rel)
    return chosen


def make_executor(s: Session, cluster: Any, *, jobs: int | None, workers: int | None) -> Any:
    from pivot.executor.local import LocalExecutor

    address = cluster if cluster is not None else (os.environ.get("PIVOT_CLUSTER") or s.ws.config.get("cluster.address"))
    if address is None or address == "":
        return LocalExecutor(jobs)
    from pivot.executor.dask import DaskExecutor  # imports distributed only when chosen

    return DaskExecutor.connect(address, workers=workers, project_root=s.root, cache_url=s.ws.cache_url)


def verify(targets: Targets = None, *, all: bool = True, allow_missing: bool = False,
           root: str | os.PathLike[str] | None = None, cwd: str | os.PathLike[str] | None = None) -> VerifyReport:
    """CI check: every stage cached and every output available (locally, or on the remote)."""
    with session(root, cwd) as s:
        remote = _remote_store(s) if allow_missing else None
        scope = s.scope(target_list(targets), all_pipelines=all and not target_list(targets))
        plan = s.static_plan(scope)
        results = [_verify_stage(s, plan, stage, allow_missing, remote) for stage in scope]
    return VerifyReport(results)


def _remote_store(s: Session) -> Any:
    from pivot.remote import default_remote

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
    return VerifyStage(stage, True, "cached")


def list_stages(root: str | os.PathLike[str] | None = None, cwd: str | os.PathLike[str] | None = None) -> list[StageSpec]:
    with session(root, cwd) as s:
        return [s.graph.stages[i] for i in s.graph.topo_order()]


def init(path: str | os.PathLike[str] | None = None) -> Path:
    from pivot.project.root import init as _init

    return _init(Path(path) if path is not None else Path.cwd())


def track(targets: Sequence[str], *, force: bool = False, root: str | os.PathLike[str] | None = None,
          cwd: str | os.PathLike[str] | None = None) -> list[str]:
    """Store files or folders in the cache and write their .pvt files."""
    from pivot.cache.checkout import store_output
    from pivot.project import tracked

    written = []
    with session(root, cwd) as s:
        base = s.cwd_rel
        for target in targets:
            rel = paths.normalize(target, base=base)
            absolute = s.root / rel
            if absolute.is_dir() and not rel.endswith("/"):
                rel += "/"
            producer = s.graph.producers(rel)
            if producer:
                raise UserError(f"{rel} is an output of stage {sorted(producer)[0]!r}; outputs are tracked by their stage", path=rel)
            art = s.ws.hasher.hash(rel)
            if art is None:
                raise UserError(f"{target}: no such file or folder", path=target)
            pvt = tracked.pvt_file(s.root, rel)
            if pvt.exists() and not force:
                existing = tracked.read(s.root, pvt)
                if existing.digest == art.digest:
                    continue
                raise UserError(f"{pvt.name} already tracks an older version of {rel}; use --force to update it", path=rel)
            store_output(s.ws.odb, s.root, rel, art)
            tracked.write(s.root, tracked.Tracked(rel, art.digest, art.size))
            tracked.add_to_gitignore(s.root, rel)
            written.append(rel)
    return written


def checkout(targets: Targets = None, *, root: str | os.PathLike[str] | None = None,
             cwd: str | os.PathLike[str] | None = None) -> list[str]:
    """Restore tracked files and stage outputs from the cache into the workspace."""
    from pivot.project import tracked

    with session(root, cwd) as s:
        wanted = target_list(targets)
        items = [(t.path, t.digest, t.is_dir) for t in tracked.find_all(s.root)]
        scope = s.scope(wanted, all_pipelines=not wanted, upstream=False) if wanted else list(s.graph.stages)
        for stage in scope:
            lock = s.ws.lock(stage)
            if lock is not None:
                items.extend((o.path, o.digest, o.is_dir) for o in lock.outs)
        return restore(s.ws, items)


def restore(ws: Workspace, items: Iterable[tuple[str, Digest, bool]], *, only_missing: bool = False) -> list[str]:
    """Check cached objects out at their root-relative paths, skipping what is already
    there (``only_missing``: anything at all at that path) or not in the cache."""
    from pivot.cache.checkout import checkout as place

    restored = []
    for rel, digest, is_dir in items:
        dest = ws.root / paths.strip_dir(rel)
        present = os.path.lexists(dest) if only_missing else ws.workspace_hash(rel) == str(digest)
        if present or not ws.object_available(digest, is_dir):
            continue
        place(ws.odb, digest, is_dir, dest, modes=ws.link_modes)
        restored.append(rel)
    return restored


def commit(targets: Targets = None, *, root: str | os.PathLike[str] | None = None,
           cwd: str | os.PathLike[str] | None = None) -> list[str]:
    """Record the current workspace outputs as the stages' results without running them."""
    from pivot.commit import record_workspace

    done = []
    with session(root, cwd) as s:
        scope = s.scope(target_list(targets), all_pipelines=not target_list(targets), upstream=False)
        inputs = s.inputs(scope)
        for stage in scope:
            if record_workspace(s, stage, inputs[stage]):
                done.append(stage)
    return done


def load(stage_or_path: str, *, root: str | os.PathLike[str] | None = None,
         cwd: str | os.PathLike[str] | None = None, pipelines: Sequence[Pipeline] = ()) -> Any:
    """An output read through its loader: by stage (one output) or by output path."""
    root, extra = _with_pipelines(root, cwd, (), pipelines)
    with session(root, cwd, extra) as s:
        out = _find_out(s, stage_or_path)
        path = s.root / paths.strip_dir(out.path)
    if not path.exists():
        raise UserError(f"{out.path} does not exist yet; run `pivot repro` first", path=out.path)
    if out.loader is None:  # shell stage outputs have no loader: hand over the path
        return path
    return out.loader.load(path)


def _find_out(s: Session, stage_or_path: str) -> Any:
    from pivot.session import resolve_target

    with contextlib.suppress(UserError):  # not a valid path: it can still be a stage name
        rel = paths.strip_dir(paths.normalize(stage_or_path, base=s.cwd_rel))
        for spec in s.graph.stages.values():
            for out in spec.outs:
                if paths.strip_dir(out.path) == rel:
                    return out
    stages = resolve_target(s.graph, stage_or_path, s.cwd_rel)
    outs = [o for stage in sorted(stages) for o in s.graph.stages[stage].outs]
    if len(outs) != 1:
        names = ", ".join(o.path for o in outs) or "none"
        raise UserError(f"{stage_or_path!r} has {len(outs)} outputs ({names}); load one by path", stage=stage_or_path)
    return outs[0]


class Project:
    """A project bound to its root, for notebooks: ``pivot.Project(path).repro()``.

    ``path`` may be the root or any folder inside it (default: the working folder).
    """

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.root = find_root(path)

    @classmethod
    def init(cls, path: str | os.PathLike[str]) -> Project:
        """Create the project (``pivot init``) and open it."""
        return cls(init(path))

    def __repr__(self) -> str:
        return f"Project({str(self.root)!r})"

    def status(self, targets: Targets = None, **options: Any) -> StatusReport:
        return status(targets, root=self.root, cwd=self.root, **options)

    def repro(self, targets: Targets = None, **options: Any) -> RunReport:
        return repro(targets, root=self.root, cwd=self.root, **options)

    def verify(self, targets: Targets = None, **options: Any) -> VerifyReport:
        return verify(targets, root=self.root, cwd=self.root, **options)

    def load(self, stage_or_path: str, *, pipelines: Sequence[Pipeline] = ()) -> Any:
        return load(stage_or_path, root=self.root, cwd=self.root, pipelines=pipelines)

    def list_stages(self) -> list[StageSpec]:
        return list_stages(root=self.root, cwd=self.root)
