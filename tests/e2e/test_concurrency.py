"""Two repro processes on one project; a killed planner; --no-wait (DESIGN rule 10)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from tests.fixtures.project import PIVOT, outputs_snapshot, run_cli, write

SLOW = '''
import time
from typing import Annotated
from pivot import Pipeline, Dep, Out, loaders


def slow(x: Annotated[str, Dep("../data/raw.txt", loaders.Text())]) -> Annotated[str, Out("slow.txt", loaders.Text())]:
    time.sleep(4)
    return x.upper()


pipeline = Pipeline("slow")
pipeline.register(slow)
'''


def _start_repro(root: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([*PIVOT, "repro", "--all", "--json", *args], cwd=root, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _wait_for_lock_holder(root: Path) -> None:
    lock = root / ".pivot" / "repro.lock"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if lock.exists() and lock.read_text().strip():
            return
        time.sleep(0.05)
    raise AssertionError("first repro never took the project lock")


def test_second_repro_no_wait_exits_2_naming_pid(project: Path) -> None:
    write(project / "slow" / "pipeline.py", SLOW)
    first = _start_repro(project)
    try:
        _wait_for_lock_holder(project)
        second = run_cli(project, "repro", "--all", "--no-wait", check=False)
        assert second.code == 2
        assert f"pid {first.pid}" in second.err and len(second.err.strip().splitlines()) == 1
    finally:
        first.wait(timeout=120)
    assert first.returncode == 0


def test_two_concurrent_repros_never_corrupt(project: Path, tmp_path: Path) -> None:
    write(project / "slow" / "pipeline.py", SLOW)
    first = _start_repro(project)
    _wait_for_lock_holder(project)
    second = _start_repro(project)  # waits for the first, then finds nothing to do
    first.communicate(timeout=120)
    out2, err2 = second.communicate(timeout=120)
    assert first.returncode == 0 and second.returncode == 0, err2
    import json

    assert json.loads(out2)["ran"] == 0
    assert run_cli(project, "repro", "--all", "--json").json()["ran"] == 0


def test_killed_planner_is_completed_by_next_repro(project: Path) -> None:
    write(project / "slow" / "pipeline.py", SLOW)
    proc = _start_repro(project, "-j", "2")
    _wait_for_lock_holder(project)
    time.sleep(2.0)  # some stages committed, the slow one running
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    # The pool's workers die with their parent's pipe; nothing half-committed remains.
    report = run_cli(project, "repro", "--all", "--json", timeout=120).json()
    assert {s["status"] for s in report["stages"]} <= {"ran", "skipped", "restored", "checked_out"}
    assert run_cli(project, "repro", "--all", "--json").json()["ran"] == 0
    assert (project / "slow" / "slow.txt").read_text() == (project / "data" / "raw.txt").read_text().upper()
    assert "prep/clean.txt" in outputs_snapshot(project)
