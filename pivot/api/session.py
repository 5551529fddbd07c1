"""What every API verb shares: target lists, the project root, an open session."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pivot.digest import Digest
from pivot.project.spec import StageSpec
from pivot.session import Session, open_session
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
            extra_specs: Sequence[StageSpec] = (), *, cached: bool = False) -> Iterator[Session]:
    from pivot.notebook import register_formatters

    register_formatters()  # a Plan shown in a notebook renders as a table
    here = Path(cwd) if cwd is not None else Path.cwd()
    project = Path(root).resolve() if root is not None else find_root(here)
    opened = open_session(project, here.resolve(), extra_specs=extra_specs, cached=cached)
    opened.ws.refetch = _refetch_from_remote(opened.ws)  # a corrupt local object comes back from the remote
    try:
        yield opened
    finally:  # flush learned hashes and parsed locks to the state DB, whatever happened
        opened.close()


def _refetch_from_remote(ws: Workspace) -> Callable[[Digest, bool], bool]:
    def refetch(d: Digest, is_dir: bool) -> bool:
        from pivot.remote.refetch import refetcher  # only when an object was found corrupt

        return refetcher(ws)(d, is_dir)

    return refetch


def with_pipelines(root: str | os.PathLike[str] | None, cwd: str | os.PathLike[str] | None,
                    extra_specs: Sequence[StageSpec], pipelines: Sequence[Pipeline]
                    ) -> tuple[str | os.PathLike[str] | None, Sequence[StageSpec]]:
    """Resolve notebook-defined Pipelines against the project root, as extra stages."""
    if not pipelines:
        return root, extra_specs
    project = Path(root).resolve() if root is not None else find_root(Path(cwd) if cwd is not None else None)
    return project, [*extra_specs, *(spec for p in pipelines for spec in p.resolve(project))]



def list_stages(root: str | os.PathLike[str] | None = None, cwd: str | os.PathLike[str] | None = None) -> list[StageSpec]:
    with session(root, cwd) as s:
        return [s.graph.stages[i] for i in s.graph.topo_order()]


def init(path: str | os.PathLike[str] | None = None) -> Path:
    from pivot.project.root import init as _init

    return _init(Path(path) if path is not None else Path.cwd())


def ignore_outputs(s: Session) -> None:
    """In a git repository, every declared output is in a .gitignore beside it (as `dvc` does)."""
    from pivot.project.gitignore import sync

    sync(s.root, s.graph.stages.values(), s.ws.state)
