"""The markers a user puts in type hints: ``Annotated[T, Dep(...)]`` and ``Annotated[T, Out(...)]``.

Paths are written relative to the folder of the pipeline.py that registers
the stage; registration turns them into root-relative paths (``spec.DepSpec``,
``spec.OutSpec``). These markers are plain frozen values and check nothing on
construction: every check happens at registration, where the error can name
the pipeline file and the stage.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from pivot import loaders
from pivot.project.spec import OutKind


@dataclass(frozen=True)
class Dep:
    """A file (or, with a trailing "/", a directory) the stage reads, injected through ``loader``."""

    path: str
    loader: loaders.Loader[Any] = field(default_factory=loaders.PathOnly)


@dataclass(frozen=True)
class Out:
    """A file the stage produces, cached and restored by content hash."""

    kind: ClassVar[OutKind] = OutKind.FILE

    path: str
    loader: loaders.Loader[Any] = field(default_factory=loaders.PathOnly)


@dataclass(frozen=True)
class DirectoryOut(Out):
    """A directory the stage produces as a whole; its path must end in "/"."""

    kind: ClassVar[OutKind] = OutKind.DIRECTORY


@dataclass(frozen=True)
class IncrementalOut(Out):
    """An output the stage updates in place.

    Before the stage runs, its previous version is restored as a writable copy
    (never a link into the cache), so it is also an implicit input: the
    fingerprint and the planner read it from ``OutKind.INCREMENTAL``; it is
    not repeated as a DepSpec (that would make the stage depend on itself).
    """

    kind: ClassVar[OutKind] = OutKind.INCREMENTAL


@dataclass(frozen=True)
class Metric(Out):
    """A small JSON, YAML or CSV/TSV file of numbers, shown and compared by ``pivot metrics``.

    The loader follows the suffix (``loaders.BySuffix``). ``cache=False`` says the
    file is committed to git: past revisions read it from git, not from the cache.
    """

    kind: ClassVar[OutKind] = OutKind.METRIC

    loader: loaders.Loader[Any] = field(default_factory=loaders.BySuffix)
    cache: bool = True


TEMPLATES = ("linear", "scatter", "smooth", "confusion")


@dataclass(frozen=True)
class Plot(Out):
    """Chart data (JSON list of records, CSV, TSV) or an image (PNG, SVG, JPEG), shown by ``pivot plots``.

    ``x``/``y`` name the columns (default: the first two), ``template`` is one of
    ``TEMPLATES``. They only change how the chart is drawn, so they are not part of
    the stage key; the path, the loader and ``cache`` are.
    """

    kind: ClassVar[OutKind] = OutKind.PLOT

    loader: loaders.Loader[Any] = field(default_factory=loaders.BySuffix)
    cache: bool = True
    x: str | None = None
    y: str | None = None
    template: str = "linear"
    title: str | None = None

    def props(self) -> dict[str, str]:
        found = {"x": self.x, "y": self.y, "template": self.template, "title": self.title}
        return {k: v for k, v in found.items() if v is not None}


__all__ = ["TEMPLATES", "Dep", "DirectoryOut", "IncrementalOut", "Metric", "Out", "Plot"]
