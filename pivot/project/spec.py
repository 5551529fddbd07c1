"""What a registered stage is, after registration has resolved everything.

These are the value types every later step (graph, fingerprint, planner,
executor) consumes. All paths are project-root-relative POSIX; a directory
artifact's path ends in "/".
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any


class OutKind(enum.StrEnum):
    FILE = "out"
    DIRECTORY = "dir"
    INCREMENTAL = "incremental"
    METRIC = "metric"
    PLOT = "plot"


@dataclass(frozen=True)
class DepSpec:
    """One dependency of a stage.

    ``path``: root-relative; ``arg``: the function parameter it is injected as
    (None for shell stages); ``written``: the path as the user wrote it,
    relative to the pipeline folder (what the stage sees, since it runs there).
    """

    path: str
    written: str
    arg: str | None = None
    loader: Any = None  # a pivot.loaders.Loader; Any to keep this module import-light


@dataclass(frozen=True)
class OutSpec:
    """One output. ``key`` is the TypedDict key (None: the single return value)."""

    path: str
    written: str
    kind: OutKind = OutKind.FILE
    key: str | None = None
    loader: Any = None
    cache: bool = True  # False: a metric or plot meant to be committed to git (read from git at revisions)
    props: Mapping[str, Any] = field(default_factory=dict)  # plots: x, y, template, title (display only)

    @property
    def is_dir(self) -> bool:
        return self.path.endswith("/")

    def declaration(self) -> dict[str, str]:
        """What of this output is part of the stage key (not the loader object itself).

        ``cache`` appears only when False, so stage keys recorded before it existed
        stay valid. Plot ``props`` (axes, template) only change how a chart is drawn,
        never the bytes, so they are left out: editing a chart's axis re-runs nothing.
        """
        decl = {"path": self.path, "kind": str(self.kind), "key": self.key or ""}
        if not self.cache:
            decl["cache"] = "false"
        return decl


@dataclass(frozen=True)
class StageSpec:
    """A stage after registration: identity, where it lives, what it reads and writes."""

    identity: str  # "train" in the root pipeline, "models:train" in models/
    name: str  # the name given at registration ("train", "train@small")
    pipeline: str  # the Pipeline's name
    pipeline_dir: str  # root-relative folder of the pipeline.py ("" for the root)
    pipeline_file: str  # root-relative path of the pipeline.py that registered it
    deps: tuple[DepSpec, ...]
    outs: tuple[OutSpec, ...]
    func: Callable[..., Any] | None = None
    cmd: tuple[str, ...] | None = None
    params: Any = None  # a StageParams instance (pydantic) or None
    params_arg: str | None = None  # function parameter the params are injected as
    param_keys: tuple[str, ...] = ()  # shell stages: params.yaml keys they read
    param_values: Mapping[str, Any] = field(default_factory=dict)  # resolved, JSON-able
    always_run: bool = False
    resources: Mapping[str, float] = field(default_factory=dict)
    mutex: tuple[str, ...] = ()

    @property
    def is_shell(self) -> bool:
        return self.cmd is not None

    @property
    def short_name(self) -> str:
        return self.identity.rsplit(":", 1)[-1]
