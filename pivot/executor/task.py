"""The wire types between the planner process and any worker: small and picklable.

A worker receives a StageTask, never a StageSpec: everything it needs to run
the stage is here (DESIGN rule 6), and it returns a StageResult.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pivot.outrecord import OutRecord


@dataclass(frozen=True)
class TaskDep:
    path: str  # root-relative
    digest: str  # the hash the planner decided with
    is_dir: bool = False
    # Isolated mode: a small file's bytes ride in the task (read and checked against
    # ``digest`` by the planner, checked again by the worker): no cache round trip.
    data: bytes | None = None


@dataclass(frozen=True)
class TaskOut:
    path: str
    written: str
    kind: str
    key: str | None = None
    previous: str | None = None  # incremental outputs: digest to restore as a writable copy


@dataclass(frozen=True)
class StageTask:
    stage: str  # identity
    stage_name: str  # name within its pipeline
    pipeline_file: str
    pipeline_dir: str
    stage_key: str
    code_digest: str
    run_token: str  # unique per repro invocation (DESIGN rule 12)
    deps: tuple[TaskDep, ...]
    outs: tuple[TaskOut, ...]
    params: Mapping[str, Any] = field(default_factory=dict)
    cache_url: str = ""
    project_root: str = ""  # where the worker finds the project code (and, shared mode, the workspace)
    isolated: bool = False  # run in a private scratch folder, deps from the cache
    func_payload: bytes | None = None  # notebook-defined functions, shipped by value
    cmd: tuple[str, ...] | None = None
    resources: Mapping[str, float] = field(default_factory=dict)  # e.g. {"GPU": 1}: Dask worker resources

    @property
    def task_key(self) -> str:
        """Dask key: stage key plus run token, never the stage name alone."""
        return f"pivot-{self.stage_key[:16]}-{self.run_token}"


@dataclass(frozen=True)
class StageResult:
    stage: str
    ok: bool
    outs: tuple[OutRecord, ...] = ()
    stdout: str = ""
    stderr: str = ""
    duration_s: float = 0.0
    error: str | None = None
    worker: str | None = None
    in_workspace: bool = True  # False: outputs are only in the cache (work shared with another run)
    # Isolated mode: small file outputs' bytes (path -> bytes), stored in the cache by the worker
    # and placed by the planner after checking them against their digest (no download).
    inline: Mapping[str, bytes] = field(default_factory=dict)
