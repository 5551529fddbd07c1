"""What an isolated worker receives with its task instead of fetching it from the cache.

A small dependency's bytes travel in the task: the planner reads them from the workspace
and sends them only when they still hash to the digest it planned with; the worker checks
them again before placing them (DESIGN rule 13). A shell stage that reads a params file
(``../params.yaml:key``) gets that file too: outside the project it exists nowhere else.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

from pivot.digest import Digest, hash_bytes
from pivot.executor.task import TaskDep
from pivot.project.spec import StageSpec

INLINE_MAX = 64 * 1024  # per file; larger ones go through the cache
TASK_MAX = 1 << 20  # per task: the scheduler holds every pending task in memory


def params_files(spec: StageSpec) -> list[str]:
    """Root-relative params files a shell stage's command reads (its ``param_keys``)."""
    from pivot.paths import normalize
    from pivot.project.params import PARAMS_FILE

    files: list[str] = []
    for key in spec.param_keys if spec.cmd is not None else ():
        file, sep, _ = key.rpartition(":")
        own = f"{spec.pipeline_dir}/{PARAMS_FILE}" if spec.pipeline_dir else PARAMS_FILE
        rel = normalize(file, base=spec.pipeline_dir) if sep and file.endswith((".yaml", ".yml")) else own
        if rel not in files:
            files.append(rel)
    return files


def with_bytes(root: Path, deps: Iterable[TaskDep], extra: dict[str, str]) -> tuple[TaskDep, ...]:
    """``deps`` plus ``extra`` (path -> digest), small files carrying their checked bytes."""
    known = {d.path for d in deps}
    wanted = [*deps, *(TaskDep(p, h) for p, h in extra.items() if p not in known)]
    budget = TASK_MAX
    out = []
    for dep in wanted:
        data = None if dep.is_dir else _read_small(root / dep.path, min(INLINE_MAX, budget))
        if data is not None and hash_bytes(data) == Digest.parse(dep.digest):
            budget -= len(data)
            dep = replace(dep, data=data)
        out.append(dep)
    return tuple(out)


def _read_small(path: Path, limit: int) -> bytes | None:
    try:
        with open(path, "rb") as f:
            data = f.read(limit + 1)
    except OSError:
        return None
    return data if len(data) <= limit else None
