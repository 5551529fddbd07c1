"""Ship the project's code to Dask workers that cannot see the project folder.

The planner zips the project's sources and small config files; a worker plugin
carries the zip to every worker (also to workers that join later), unpacks it
into a folder named after its digest and tells the worker module to load
stages of that project from there. Version skew is still caught by the
worker's code fingerprint check (worker.check_code).
"""

from __future__ import annotations

import io
import os
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from distributed.diagnostics.plugin import WorkerPlugin

from pivot.digest import hash_bytes, hash_json
from pivot.executor import worker as pivot_worker

CODE_SUFFIXES = frozenset({".py", ".yaml", ".yml", ".json"})
MAX_FILE_SIZE = 1 << 20  # larger files are data, not code
SKIP_DIRS = frozenset({".pivot", ".git", ".venv", "__pycache__", "node_modules", "site-packages", ".mypy_cache",
                       ".pytest_cache", ".ruff_cache", ".ipynb_checkpoints"})


class CodePlugin(WorkerPlugin):
    """Unpacks one project's code on each worker and points the worker at it."""

    def __init__(self, project_root: str, payload: bytes) -> None:
        self.project_root = project_root
        self.payload = payload
        self.digest = hash_bytes(payload).hex[:16]
        # One plugin per project root: registering new code replaces the old copy.
        self.name = f"pivot-code-{hash_json(project_root).hex[:12]}"

    def setup(self, worker: Any) -> None:
        base = Path(getattr(worker, "local_directory", None) or tempfile.gettempdir())
        pivot_worker.CODE_ROOTS[self.project_root] = str(unpack(self.payload, base / "pivot-code" / self.digest))

    def teardown(self, worker: Any) -> None:
        pivot_worker.CODE_ROOTS.pop(self.project_root, None)


def unpack(payload: bytes, target: Path) -> Path:
    """Extract once per digest; a temp folder renamed into place, so a half-written copy is never used."""
    if target.is_dir():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".unpack-", dir=target.parent))
    with zipfile.ZipFile(io.BytesIO(payload)) as archive:
        archive.extractall(scratch)
    try:
        os.rename(scratch, target)
    except OSError:  # another worker process on this host got there first
        shutil.rmtree(scratch, ignore_errors=True)
    return target


def pack_project(root: Path) -> bytes:
    """A deterministic zip of the project's code and config: same files, same bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for rel in sorted(code_files(root)):
            info = zipfile.ZipInfo(rel, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, (root / rel).read_bytes())
    return buffer.getvalue()


def code_files(root: Path) -> Iterator[str]:
    """Root-relative paths of sources and small config files; never state, venvs or stage outputs."""
    outputs = _output_paths(root)
    for folder, dirs, files in os.walk(root):
        here = Path(folder)
        rel_dir = here.relative_to(root).as_posix()
        dirs[:] = [d for d in dirs if d not in SKIP_DIRS and not (here / d / "pyvenv.cfg").exists()]
        for name in files:
            rel = name if rel_dir == "." else f"{rel_dir}/{name}"
            if Path(name).suffix not in CODE_SUFFIXES or _is_output(rel, outputs):
                continue
            path = here / name
            if path.is_file() and path.stat().st_size <= MAX_FILE_SIZE:
                yield rel


def _output_paths(root: Path) -> set[str]:
    """Outputs recorded in the project's lock files (data, even when it looks like code: metrics.json)."""
    from pivot import lockfile

    found: set[str] = set()
    for lock in (root / ".pivot" / "stages").rglob("*.lock"):
        record = lockfile.read(lock)
        if record is not None:
            found.update(out.path for out in record.outs)
    return found


def _is_output(rel: str, outputs: set[str]) -> bool:
    return rel in outputs or any(out.endswith("/") and rel.startswith(out) for out in outputs)
