"""The worker side: StageTask in, StageResult out. Same function for the local
process pool and for Dask workers. It decides nothing and writes no state:
it materialises inputs, runs the stage, hashes and stores the outputs.
"""

from __future__ import annotations

import os
import shutil
import socket
import stat
import subprocess
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

from pivot.errors import CodeMismatchError, PivotError, StageFailedError
from pivot.executor.capture import capture_output
from pivot.executor.task import StageResult, StageTask
from pivot.outrecord import OutRecord
from pivot.project.spec import StageSpec

_STORES: dict[str, Any] = {}

# Isolated workers: the planner's project root -> the folder holding the copy of
# the project code shipped to this worker (set by pivot.executor.plugin).
CODE_ROOTS: dict[str, str] = {}


def run_task(task: StageTask) -> StageResult:
    """Run one stage; never raises for a stage failure (it is reported in the result)."""
    started = time.perf_counter()
    scratch: Path | None = None
    try:
        # A shell stage is fully described by its task (the commands are part of its
        # code digest): loading the pipeline file would only cost start-up time.
        spec = None if task.cmd is not None else load_spec(task)
        if spec is not None and task.func_payload is None:  # by value = the planner's own code
            spec = _current_code(spec, task)
        odb = open_store(task.cache_url)
        if task.isolated:
            scratch = Path(tempfile.mkdtemp(prefix=f"pivot-{task.stage_name}-"))
            workspace = scratch
            _materialize_deps(task, odb, workspace)
        else:
            workspace = Path(task.project_root)
        _prepare_outputs(task, odb, workspace)
        cwd = workspace / task.pipeline_dir
        cwd.mkdir(parents=True, exist_ok=True)
        with capture_output() as captured:
            failure = _execute(spec, task, cwd)
        if failure is not None:
            _remove_outputs(task, workspace)
            return StageResult(task.stage, False, (), captured.stdout, captured.stderr,
                               time.perf_counter() - started, failure, _worker_name())
        outs = _store_outputs(task, odb, workspace)
        return StageResult(task.stage, True, outs, captured.stdout, captured.stderr,
                           time.perf_counter() - started, None, _worker_name())
    except PivotError as exc:
        return StageResult(task.stage, False, (), "", "", time.perf_counter() - started, str(exc), _worker_name())
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)


def load_spec(task: StageTask, *, fresh: bool = False) -> StageSpec:
    if task.func_payload is not None:
        import cloudpickle

        spec = cloudpickle.loads(task.func_payload)
        assert isinstance(spec, StageSpec)
        return spec
    from pivot.project.discovery import load_stage_function

    root = CODE_ROOTS.get(task.project_root, task.project_root) if task.isolated else task.project_root
    if task.isolated and not (Path(root) / task.pipeline_file).is_file():
        raise CodeMismatchError(
            f"stage {task.stage!r}: this worker has no copy of {task.pipeline_file} (project {task.project_root}); "
            "isolated workers get the project code from the worker plugin Pivot registers when a run starts "
            "(pivot.executor.plugin.CodePlugin)", stage=task.stage)
    return load_stage_function(Path(root), task.pipeline_file, task.stage_name, fresh=fresh)


def _current_code(spec: StageSpec, task: StageTask) -> StageSpec:
    """A long-lived worker (Dask, a notebook kernel) may hold modules imported before
    the user edited a helper: reload once before calling it version skew."""
    try:
        check_code(spec, task)
        return spec
    except CodeMismatchError:
        spec = load_spec(task, fresh=True)
        check_code(spec, task)
        return spec


def check_code(spec: StageSpec, task: StageTask) -> None:
    from pivot.fingerprint.stage import stage_code_digest

    mine = stage_code_digest(spec)
    if mine != task.code_digest:
        raise CodeMismatchError(
            f"stage {task.stage!r}: this worker's code ({mine[:12]}) differs from the planner's "
            f"({task.code_digest[:12]}); update the worker's copy of the project (version skew)",
            stage=task.stage,
        )


def open_store(url: str) -> Any:
    store = _STORES.get(url)
    if store is None:
        from pivot.cache.odb import ObjectStore

        store = _STORES[url] = ObjectStore(url)
    return store


def _materialize_deps(task: StageTask, odb: Any, workspace: Path) -> None:
    from pivot.cache.checkout import LinkMode, checkout
    from pivot.digest import Digest

    modes = (LinkMode.HARDLINK, LinkMode.COPY) if odb.is_local else (LinkMode.COPY,)
    for dep in task.deps:
        checkout(odb, Digest.parse(dep.digest), dep.is_dir, workspace / dep.path.rstrip("/"), modes=modes)


def _prepare_outputs(task: StageTask, odb: Any, workspace: Path) -> None:
    """Remove declared outputs before the run; restore incremental ones as writable copies."""
    from pivot.cache.checkout import checkout
    from pivot.digest import Digest

    for out in task.outs:
        target = workspace / out.path.rstrip("/")
        _remove(target)
        if out.kind == "incremental" and out.previous is not None:
            checkout(odb, Digest.parse(out.previous), out.path.endswith("/"), target, writable=True)
        target.parent.mkdir(parents=True, exist_ok=True)


def _execute(spec: StageSpec | None, task: StageTask, cwd: Path) -> str | None:
    """Run the function or commands in ``cwd``; the failure text, or None on success."""
    previous = os.getcwd()
    os.chdir(cwd)
    try:
        if task.cmd is not None:
            return _run_commands(task.cmd, cwd)
        assert spec is not None
        _call_function(spec, task)
        return None
    except Exception as exc:  # the stage's own error, reported to the user as is
        return "".join(traceback.format_exception(exc)).rstrip()
    finally:
        os.chdir(previous)


def _run_commands(commands: tuple[str, ...], cwd: Path) -> str | None:
    # Each command runs in its own shell in the pipeline folder: a `cd` never leaks.
    for command in commands:
        code = subprocess.call(command, shell=True, cwd=cwd)
        if code != 0:
            return f"command failed with exit code {code}: {command}"
    return None


def _call_function(spec: StageSpec, task: StageTask) -> None:
    assert spec.func is not None
    kwargs: dict[str, Any] = {}
    for dep in spec.deps:
        if dep.arg is not None:
            kwargs[dep.arg] = dep.loader.load(Path(dep.written)) if dep.loader is not None else Path(dep.written)
    if spec.params_arg is not None and spec.params is not None:
        kwargs[spec.params_arg] = type(spec.params).model_validate(dict(task.params))
    result = spec.func(**kwargs)
    for out in spec.outs:
        if out.loader is None:
            continue
        if out.key is None:
            value = result
        else:
            if not isinstance(result, dict) or out.key not in result:
                raise StageFailedError(f"stage {task.stage!r} did not return output {out.key!r}", stage=task.stage)
            value = result[out.key]
        out.loader.save(value, Path(out.written))


def _store_outputs(task: StageTask, odb: Any, workspace: Path) -> tuple[OutRecord, ...]:
    from pivot.fingerprint.trees import hash_file, hash_tree

    results = []
    for out in task.outs:
        target = workspace / out.path.rstrip("/")
        is_dir = out.path.endswith("/")
        if not target.exists():
            raise StageFailedError(f"stage {task.stage!r} did not produce {out.path!r}", stage=task.stage)
        if is_dir:
            art = hash_tree(target)
            odb.put_tree(target, art)
            results.append(OutRecord(out.path, art.digest, art.size, True))
        else:
            digest = hash_file(target)
            odb.put_file(target, digest)
            results.append(OutRecord(out.path, digest, target.stat().st_size, False))
    return tuple(results)


def _remove_outputs(task: StageTask, workspace: Path) -> None:
    for out in task.outs:
        _remove(workspace / out.path.rstrip("/"))


def _remove(target: Path) -> None:
    try:
        mode = os.lstat(target).st_mode  # one call: a fresh run's outputs do not exist yet
    except (FileNotFoundError, NotADirectoryError):
        return
    if stat.S_ISDIR(mode):
        shutil.rmtree(target, onerror=_force_remove)
    else:
        target.unlink()


def _force_remove(func: Any, path: str, _exc: Any) -> None:
    os.chmod(path, 0o700)  # read-only files or folders checked out from the cache
    func(path)


def _worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"
