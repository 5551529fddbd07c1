"""The local process pool: a worker process that dies, a bounded window of sent stages, shell output on pipes."""

from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest

from pivot.executor.local import LocalExecutor
from tests.executor.helpers import add_pipeline, lock_exists
from tests.fixtures.project import run_cli

# `kill -9 $PPID` from the stage's shell kills the worker process running it.
KILLER = '''
from pivot import Pipeline

pipeline = Pipeline("k")
pipeline.register_cmd("dies", cmd=["echo dying && kill -9 $PPID"], outs=["dies.txt"])
pipeline.register_cmd("fine", cmd=["echo fine > fine.txt"], outs=["fine.txt"])
pipeline.register_cmd("after", cmd=["cat fine.txt > after.txt"], deps=["fine.txt"], outs=["after.txt"])
'''

# One stage fails at once; ten independent slow ones wait behind it (-j 1).
HALT = '''
from pivot import Pipeline

pipeline = Pipeline("h")
pipeline.register_cmd("bad", cmd=["echo broken >&2; exit 3"], outs=["bad.txt"], deps=["go.txt"])
for i in range(10):
    pipeline.register_cmd(f"slow{i}", cmd=[f"sleep 0.2 && echo {i} > slow{i}.txt"], outs=[f"slow{i}.txt"])
'''


def _project(tmp_path: Path, folder: str, source: str) -> Path:
    root = tmp_path / "proj"
    root.mkdir()
    run_cli(root, "init")
    add_pipeline(root, folder, source)
    return root


def test_a_killed_worker_process_fails_its_stage_only_and_is_replaced(tmp_path: Path) -> None:
    root = _project(tmp_path, "k", KILLER)
    result = run_cli(root, "repro", "-j", "2", "--keep-going", "--json", check=False)
    assert result.code == 1, result.out + result.err
    stages = {s["name"]: s for s in result.json()["stages"]}
    assert stages["k:dies"]["status"] == "failed"
    assert "worker process" in stages["k:dies"]["error"] and "exited" in stages["k:dies"]["error"]
    # The other stages ran, the later one on whichever process was left or took the dead one's place.
    assert stages["k:fine"]["status"] == "ran" and stages["k:after"]["status"] == "ran"
    assert not lock_exists(root, "k:dies") and not (root / "k" / "dies.txt").exists()
    again = run_cli(root, "status", "--json", check=False)
    assert {s["name"] for s in again.json()["stages"] if s["status"] == "stale"} == {"k:dies"}


def test_a_failure_starts_nothing_new(tmp_path: Path) -> None:
    """Only a window of stages is ever sent to the pool: after a failure the rest are not started."""
    root = _project(tmp_path, "h", HALT)
    (root / "h" / "go.txt").write_text("x\n")
    result = run_cli(root, "repro", "-j", "1", "--json", check=False)
    assert result.code == 1
    status = {s["name"]: s["status"] for s in result.json()["stages"]}
    assert status["h:bad"] == "failed"
    # At most the window (2 per process) was already sent when it failed; none of the rest started.
    assert sum(1 for s in status.values() if s == "not_started") >= 8, status


def test_shell_stage_output_is_captured_on_pipes(tmp_path: Path) -> None:
    """Both streams, in order, and a command's background child holding the pipe does not stall the stage."""
    root = _project(tmp_path, "s", '''
from pivot import Pipeline

pipeline = Pipeline("s")
pipeline.register_cmd("talk", cmd=["echo one; echo two >&2; (sleep 5 &) ; echo three > t.txt"], outs=["t.txt"])
''')
    result = run_cli(root, "repro", "--json", timeout=60)
    entry = result.json()["stages"][0]
    assert entry["status"] == "ran"
    assert entry["stdout"] == "one\n" and entry["stderr"] == "two\n"


def test_an_error_outside_any_stage_reaches_the_planner_and_the_process_serves_on() -> None:
    """Not a stage failure (those are results) but an exception in the worker's own code: it is raised
    from the stage's future as the worker raised it, and the process takes the next task."""
    executor = LocalExecutor(1)
    try:
        bogus = cast(Any, SimpleNamespace(stage="x"))  # no fields a task has: run_task raises AttributeError
        first, second, third = executor.submit(bogus), executor.submit(bogus), executor.submit(bogus)
        executor.cancel_all()  # only the third was still waiting in the planner: the first two were sent
        assert third.cancelled()
        for future in (first, second):
            deadline = time.monotonic() + 60
            while not future.done() and time.monotonic() < deadline:
                executor.wait_any([future], timeout=5)
            with pytest.raises(AttributeError):
                future.result()
    finally:
        executor.close()
