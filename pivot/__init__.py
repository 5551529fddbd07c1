"""Pivot: typed Python data pipelines that run only what changed.

The public names are imported on first use, so ``import pivot`` (and so
``pivot --help``) stays fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from pivot import loaders
    from pivot.api import Project, load, repro, status, verify
    from pivot.api.exp import exp_apply, exp_branch, exp_run, exp_save, exp_show
    from pivot.api.remote import fetch, pull, push
    from pivot.project.outputs import Dep, DirectoryOut, IncrementalOut, Metric, Out, Plot
    from pivot.project.params import StageParams
    from pivot.project.pipeline import Pipeline
    from pivot.show.api import (
        exp_diff,
        metrics,
        metrics_diff,
        params,
        params_diff,
        plots,
        plots_diff,
    )

_LAZY = {
    "Pipeline": "pivot.project.pipeline",
    "Dep": "pivot.project.outputs",
    "Out": "pivot.project.outputs",
    "DirectoryOut": "pivot.project.outputs",
    "IncrementalOut": "pivot.project.outputs",
    "Metric": "pivot.project.outputs",
    "StageParams": "pivot.project.params",
    "repro": "pivot.api",
    "status": "pivot.api",
    "verify": "pivot.api",
    "load": "pivot.api",
    "Project": "pivot.api",
    "push": "pivot.api.remote",
    "fetch": "pivot.api.remote",
    "pull": "pivot.api.remote",
    "exp_run": "pivot.api.exp",
    "exp_show": "pivot.api.exp",
    "exp_apply": "pivot.api.exp",
    "exp_save": "pivot.api.exp",
    "exp_branch": "pivot.api.exp",
    "exp_diff": "pivot.show.api",
    "Plot": "pivot.project.outputs",
    "metrics": "pivot.show.api",
    "metrics_diff": "pivot.show.api",
    "params": "pivot.show.api",
    "params_diff": "pivot.show.api",
    "plots": "pivot.show.api",
    "plots_diff": "pivot.show.api",
}

__all__ = [
    "Dep",
    "DirectoryOut",
    "IncrementalOut",
    "Metric",
    "Out",
    "Pipeline",
    "Plot",
    "Project",
    "StageParams",
    "__version__",
    "exp_apply",
    "exp_branch",
    "exp_diff",
    "exp_run",
    "exp_save",
    "exp_show",
    "fetch",
    "load",
    "loaders",
    "metrics",
    "metrics_diff",
    "params",
    "params_diff",
    "plots",
    "plots_diff",
    "pull",
    "push",
    "repro",
    "status",
    "verify",
]


def __getattr__(name: str) -> Any:
    if name == "loaders":
        return importlib.import_module("pivot.loaders")
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value  # later lookups skip __getattr__
        return value
    raise AttributeError(f"module 'pivot' has no attribute {name!r}")
