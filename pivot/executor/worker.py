"""The worker side: StageTask in, StageResult out. Same function for the local
process pool and for Dask workers. It decides nothing and writes no state:
it materialises inputs, runs the stage, hashes and stores the outputs.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import stat
import subprocess
import tempfile
import time
import traceback
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from pivot.errors import CodeMismatchError, CorruptObjectError, PivotError, StageFailedError
from pivot.executor import sweep
from pivot.executor.capture import Captured, PipedRun, capture_output
from pivot.executor.live import scratch_base, sink_for
from pivot.executor.task import StageResult, StageTask
from pivot.outrecord import OutRecord
from pivot.project.spec import StageSpec
from pivot.safepath import SafePath

log = logging.getLogger(__name__)

_STORES: dict[str, Any] = {}
INLINE_MAX = 64 * 1024  # isolated mode: file outputs up to this size go back in the result too

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
        odb.forget_present()  # a worker lives across runs; gc may have run in between
        if task.isolated:
            scratch = Path(tempfile.mkdtemp(prefix=f"pivot-{task.stage_name}-", dir=scratch_base()))
            workspace = scratch
            _materialize_deps(task, odb, workspace)
        else:
            workspace = Path(task.project_root)
        _prepare_outputs(task, odb, workspace)
        cwd = workspace / task.pipeline_dir
        cwd.mkdir(parents=True, exist_ok=True)
        try:
            failure, captured = _execute_captured(spec, task, cwd)
        except BaseException:  # interrupted (Ctrl-C): leave no outputs either
            _remove_outputs(task, workspace)
            raise
        if failure is None:
            try:
                outs, inline = _store_outputs(task, odb, workspace)
            except (PivotError, OSError) as exc:  # a wrong kind of output, a read-only or full cache
                failure = str(exc) if isinstance(exc, PivotError) else f"stage {task.stage!r}: {exc}"
        if failure is not None:
            _remove_outputs(task, workspace)  # a failed stage leaves no outputs, whatever failed
            return StageResult(task.stage, False, (), captured.stdout, captured.stderr,
                               time.perf_counter() - started, failure, _worker_name())
        return StageResult(task.stage, True, outs, captured.stdout, captured.stderr,
                           time.perf_counter() - started, None, _worker_name(), inline=inline)
    except PivotError as exc:
        return StageResult(task.stage, False, (), "", "", time.perf_counter() - started, str(exc), _worker_name())
    finally:
        if scratch is not None:  # private to this stage: its removal need not delay the result
            sweep.remove_later(scratch)


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
    from pivot.cache.checkout import LinkMode, checkout, place_bytes
    from pivot.digest import Digest

    modes = (LinkMode.HARDLINK, LinkMode.COPY) if odb.is_local else (LinkMode.COPY,)
    for dep in task.deps:  # verified on the way: a corrupt object fails the task by name
        if dep.data is not None:  # sent with the task: checked against its digest, no download
            place_bytes(Digest.parse(dep.digest), dep.data, workspace / dep.path, root=workspace, label=dep.path)
            continue
        checkout(odb, Digest.parse(dep.digest), dep.is_dir, workspace / dep.path.rstrip("/"), root=workspace,
                 modes=modes)


def _prepare_outputs(task: StageTask, odb: Any, workspace: Path) -> None:
    """Remove declared outputs before the run; restore incremental ones as writable copies."""
    from pivot.cache.checkout import checkout
    from pivot.digest import Digest

    for out in task.outs:
        target = workspace / out.path.rstrip("/")
        _remove(target)
        if out.kind == "incremental" and out.previous is not None:
            try:
                checkout(odb, Digest.parse(out.previous), out.path.endswith("/"), target, root=workspace,
                         writable=True)
            except CorruptObjectError as exc:  # set aside: the stage starts over, from nothing
                log.warning("stage %s: previous %s not restored: %s", task.stage, out.path, exc)
        target.parent.mkdir(parents=True, exist_ok=True)


def _execute_captured(spec: StageSpec | None, task: StageTask, cwd: Path) -> tuple[str | None, Captured]:
    """Run the stage with its output captured: the failure text (None on success) and the output."""
    sink = sink_for(task.stage, task.run_token)
    if task.cmd is not None:
        piped = PipedRun(sink)
        try:
            failure = _run_commands(task.cmd, cwd, piped)
        except OSError as exc:  # no shell, or its folder vanished: the stage fails, by name
            failure = _user_traceback(exc)
        return failure, piped.captured()
    with capture_output(sink) as captured:
        failure = _execute(spec, task, cwd)
    return failure, captured


def _execute(spec: StageSpec | None, task: StageTask, cwd: Path) -> str | None:
    """Run the stage function in ``cwd``; the failure text, or None on success."""
    previous = os.getcwd()
    os.chdir(cwd)
    try:
        assert spec is not None
        from pivot.project.discovery import import_path

        root = Path(CODE_ROOTS.get(task.project_root, task.project_root) if task.isolated else task.project_root)
        with import_path(root, root / task.pipeline_dir):  # the planner's import path, for lazy imports
            _call_function(spec, task)
        return None
    except PivotError as exc:  # Pivot's own complaint about the stage (a missing output key)
        return str(exc)
    except Exception as exc:  # the stage's own error, reported to the user as is
        return _user_paths(_user_traceback(exc), task)
    finally:
        os.chdir(previous)


def _user_paths(text: str, task: StageTask) -> str:
    """An isolated worker runs an unpacked copy of the code: name the user's files instead."""
    copy = CODE_ROOTS.get(task.project_root) if task.isolated else None
    if not copy:
        return text
    return text.replace(str(Path(copy)) + os.sep, str(Path(task.project_root)) + os.sep)


def _user_traceback(exc: Exception) -> str:
    """The traceback from the user's code on (Pivot's own frames say nothing to them),
    or one line when the error never reached user code (a loader failing on a file)."""
    ours = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename.startswith(ours):
        tb = tb.tb_next
    if tb is None:
        return f"{type(exc).__name__}: {exc}"
    return "".join(traceback.format_exception(type(exc), exc, tb)).rstrip()


def _run_commands(commands: tuple[str, ...], cwd: Path, piped: PipedRun) -> str | None:
    # Each command runs in its own shell in the pipeline folder: a `cd` never leaks.
    # Python children flush per line, so their output is seen while they run.
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    for command in commands:
        code = piped.run(command, str(cwd), env, _CHILDREN)
        if code != 0:
            return f"command failed with exit code {code}: {command}"
    return None


_CHILDREN: set[subprocess.Popen[bytes]] = set()


def watch_parent(parent: int, interval: float = 0.5) -> None:
    """Pool initializer: when the planner dies without cleaning up (SIGKILL), this
    worker stops its stage's command and exits, instead of running on as an orphan."""
    import threading

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(interval)
        for proc in list(_CHILDREN):
            proc.kill()
        os._exit(70)

    threading.Thread(target=watch, name="pivot-watch-planner", daemon=True).start()


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


def _store_outputs(task: StageTask, odb: Any, workspace: Path) -> tuple[tuple[OutRecord, ...], dict[str, bytes]]:
    """Outputs into the cache. Isolated on a remote cache, small files are sent back instead:
    the planner checks and places them (no download) and stores them off its commit path."""
    from pivot.digest import hash_bytes
    from pivot.fingerprint.trees import hash_file, hash_tree

    results = []
    inline: dict[str, bytes] = {}
    send = task.isolated and not odb.is_local
    for out in task.outs:  # declared paths; the planner checks them again on commit
        target = workspace / out.path.rstrip("/")
        if not target.exists():
            raise StageFailedError(f"stage {task.stage!r} did not produce {out.path!r}", stage=task.stage)
        is_dir = _output_is_dir(task, out.path, target)
        if is_dir:
            art = hash_tree(target)
            _put(task, out.path, partial(odb.put_tree, target, art))
            results.append(OutRecord(SafePath(out.path), art.digest, art.size, True))
        elif send and target.stat().st_size <= INLINE_MAX:
            data = target.read_bytes()  # read once, hashed, sent back: the planner stores it
            digest = hash_bytes(data)
            inline[out.path] = data
            results.append(OutRecord(SafePath(out.path), digest, len(data), False))
        else:
            digest = hash_file(target)
            _put(task, out.path, partial(odb.put_file, target, digest))
            results.append(OutRecord(SafePath(out.path), digest, target.stat().st_size, False))
    return tuple(results), inline


def _put(task: StageTask, rel: str, put: Callable[[], object]) -> None:
    try:
        put()
    except OSError as exc:
        raise StageFailedError(f"stage {task.stage!r}: storing {rel!r} in the cache failed: "
                               f"{exc.strerror or exc} ({getattr(exc, 'filename', None) or task.cache_url})",
                               stage=task.stage) from exc


def _output_is_dir(task: StageTask, declared: str, target: Path) -> bool:
    """A trailing "/" declares a folder. A shell stage's path without one may be either (DVC's
    rule: what is on disk decides); a Python stage's is a file."""
    found = target.is_dir()
    if declared.endswith("/") and not found:
        raise StageFailedError(f"stage {task.stage!r}: output {declared!r} is declared a folder (trailing "
                               "'/') but the stage wrote a file; drop the '/'", stage=task.stage)
    if found and not declared.endswith("/") and task.cmd is None:
        raise StageFailedError(f"stage {task.stage!r}: output {declared!r} is declared a file but the stage "
                               f"wrote a folder; declare it as DirectoryOut({declared + '/'!r})", stage=task.stage)
    return found


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
