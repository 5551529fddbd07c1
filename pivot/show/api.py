"""Python API of metrics, params, plots, diff and get: what the CLI and notebooks call.

A revision argument is any git revision (``HEAD~1``, a tag, a sha) or an
experiment's name (``exp:NAME``, or NAME when no git revision has it); ``None``
means the workspace. Each function opens the project once, builds one view per
point and hands them to the pure modules beside this one.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pivot.session import Session
from pivot.show import diff as _diff
from pivot.show import metrics as _metrics
from pivot.show import params as _params
from pivot.show import plots as _plots
from pivot.show.objects import Objects
from pivot.show.plots_html import PlotsResult
from pivot.show.views import WORKSPACE, View, WorkspaceView, current_props, open_point

PathLike = str | os.PathLike[str]


@dataclass
class _Opened:
    s: Session
    objects: Objects

    def view(self, rev: str | None) -> View:
        if rev is None or rev == WORKSPACE:
            return WorkspaceView(self.s)
        return open_point(self.s.root, self.s.ws.odb, self.objects, rev, current_props(self.s))


@contextlib.contextmanager
def _open(root: PathLike | None) -> Iterator[_Opened]:
    from pivot.api import session

    with session(root) as s:
        yield _Opened(s, Objects(s.ws))


def _list(targets: Sequence[str] | str | None) -> list[str]:
    return [] if targets is None else [targets] if isinstance(targets, str) else list(targets)


def metrics(targets: Sequence[str] | str | None = None, *, rev: str | None = None, precision: int | None = 5,
            root: PathLike | None = None) -> _metrics.MetricsShow:
    """Every metric of the targets (stages or paths; default all) in the workspace or at ``rev``."""
    with _open(root) as o:
        view = o.view(rev)
        return _metrics.MetricsShow(_metrics.collect(view, _list(targets)), precision, view.label)


def metrics_diff(a_rev: str | None = "HEAD", b_rev: str | None = None, *, targets: Sequence[str] | str | None = None,
                 all: bool = False, precision: int | None = 5, root: PathLike | None = None) -> _metrics.DiffResult:
    """Metrics that changed from ``a_rev`` to ``b_rev`` (default: HEAD to the workspace)."""
    with _open(root) as o:
        return _metrics_diff(o.view(a_rev), o.view(b_rev), _list(targets), all, precision)


def _metrics_diff(a: View, b: View, wanted: list[str], all_: bool, precision: int | None) -> _metrics.DiffResult:
    old = {r.path: v or {} for r, v in _metrics.collect(a, wanted)}
    new = {r.path: v or {} for r, v in _metrics.collect(b, wanted)}
    return _metrics.DiffResult(_metrics.diff(old, new, all_=all_), "path", a.label, b.label, precision)


def params(stages: Sequence[str] | str | None = None, *, rev: str | None = None,
           root: PathLike | None = None) -> _params.ParamsShow:
    """Effective params per stage now (defaults merged with params.yaml), or as recorded at ``rev``."""
    with _open(root) as o:
        view = o.view(rev)
        return _params.ParamsShow(_params.collect(view, _list(stages)), view.label)


def params_diff(a_rev: str | None = "HEAD", b_rev: str | None = None, *, stages: Sequence[str] | str | None = None,
                all: bool = False, root: PathLike | None = None) -> _metrics.DiffResult:
    """Params that changed; at a revision, the params its results were made with (its lock files)."""
    with _open(root) as o:
        return _params_diff(o.view(a_rev), o.view(b_rev), _list(stages), all, 5)


def _params_diff(a: View, b: View, wanted: list[str], all_: bool, precision: int | None) -> _metrics.DiffResult:
    changes = _metrics.diff(_params.collect(a, wanted), _params.collect(b, wanted), all_=all_)
    return _metrics.DiffResult(changes, "stage", a.label, b.label, precision)


def exp_diff(a: str | None = "HEAD", b: str | None = None, *, all: bool = False, precision: int | None = 5,
             root: PathLike | None = None) -> _metrics.ParamsAndMetricsDiff:
    """`pivot exp diff`: the params and the metrics that changed from ``a`` to ``b`` (each an
    experiment's name, a git revision or None for the workspace; default HEAD to the workspace)."""
    with _open(root) as o:
        va, vb = o.view(a), o.view(b)
        return _metrics.ParamsAndMetricsDiff(_params_diff(va, vb, [], all, precision),
                                             _metrics_diff(va, vb, [], all, precision))


def plots(targets: Sequence[str] | str | None = None, *, revs: Sequence[str] = (),
          root: PathLike | None = None) -> PlotsResult:
    """Charts of the plot outputs: the workspace alone, or each of ``revs`` overlaid.

    ``revs`` as ``pivot plots diff``: none -> the workspace; one -> that revision
    and the workspace; several -> exactly those ("workspace" names the workspace).
    """
    points: list[str | None] = [None] if not revs else [revs[0], None] if len(revs) == 1 else list(revs)
    with _open(root) as o:
        views = [o.view(p) for p in points]
        return PlotsResult(_plots.collect(views, _list(targets)), [v.label for v in views])


def plots_diff(revs: Sequence[str] = (), *, targets: Sequence[str] | str | None = None,
               root: PathLike | None = None) -> PlotsResult:
    """``pivot plots diff``: no revision means HEAD against the workspace."""
    return plots(targets, revs=list(revs) or ["HEAD"], root=root)


def diff(a_rev: str | None = "HEAD", b_rev: str | None = None, *, root: PathLike | None = None) -> _diff.OutputsDiff:
    """Outputs and tracked files added, deleted or modified (by hash) from ``a_rev`` to ``b_rev``."""
    with _open(root) as o:
        a, b = o.view(a_rev), o.view(b_rev)
        return _diff.OutputsDiff(_diff.entries(a), _diff.entries(b), a.label, b.label)


def get(path: str, *, rev: str, out: PathLike | None = None, force: bool = False,
        root: PathLike | None = None, progress: Any = None) -> Path:
    """Write ``path`` (an output, tracked data or any git file) as it was at ``rev``; verified bytes only."""
    from pivot.api import find_root
    from pivot.show.get import materialise
    from pivot.workspace import Workspace

    project = Path(root).resolve() if root is not None else find_root()
    with Workspace(project) as ws:  # no pipeline is loaded: a broken pipeline.py does not block a get
        return materialise(project, Objects(ws, progress), path, rev, Path(out) if out is not None else None, force=force)


__all__ = ["diff", "get", "metrics", "metrics_diff", "params", "params_diff", "plots", "plots_diff"]
