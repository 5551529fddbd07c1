"""`pivot history` / `pivot show`: run records in the state DB, including a SIGKILLed run."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from pivot.errors import UserError
from pivot.history import History, RunEntry
from pivot.state import MemoryState
from tests.fixtures.project import PIVOT, run_cli, write

SLOW = """
    from pivot import Pipeline
    pipeline = Pipeline("p")
    pipeline.register_cmd("first", cmd=["echo one > one.txt"], outs=["one.txt"])
    pipeline.register_cmd("slow", cmd=["touch started; if [ -f slow ]; then sleep 60; fi; cat one.txt > two.txt"],
                          deps=["one.txt"], outs=["two.txt"])
"""


def _project(tmp_path: Path) -> Path:
    root = tmp_path / "p"
    root.mkdir()
    run_cli(root, "init")
    write(root / "pipeline.py", SLOW)
    return root


def test_history_after_several_runs_and_a_sigkilled_one(tmp_path: Path) -> None:
    root = _project(tmp_path)
    run_cli(root, "repro")
    run_cli(root, "repro")  # nothing to do: still recorded
    (root / "slow").touch()
    proc = subprocess.Popen([*PIVOT, "repro", "slow", "--force"], cwd=root, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    (root / "started").unlink(missing_ok=True)
    deadline = time.monotonic() + 60
    while not (root / "started").exists():
        assert time.monotonic() < deadline and proc.poll() is None, "the slow stage never started"
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    (root / "slow").unlink()

    killed = run_cli(root, "history", "--json").json()["runs"][0]
    assert killed["status"] == "started"  # nobody has looked yet
    run_cli(root, "repro")  # the next start marks it
    runs = run_cli(root, "history", "--json").json()["runs"]
    assert [r["status"] for r in runs] == ["finished", "interrupted", "finished", "finished"]
    assert runs[1]["id"] == killed["id"] and runs[1]["exit_code"] is None
    first = runs[-1]
    assert {s["stage"]: s["status"] for s in first["stages"]} == {"first": "ran", "slow": "ran"}
    assert all(s["reason"] for s in first["stages"]) and first["exit_code"] == 0
    assert runs[-2]["stages"] and {s["status"] for s in runs[-2]["stages"]} == {"skipped"}
    assert runs[1]["targets"] == ["slow"] and first["executor"] == "local"
    for key in ("user", "host", "started_at", "duration_ms", "command"):
        assert first[key] is not None

    assert len(run_cli(root, "history", "-n", "2", "--json").json()["runs"]) == 2
    table = run_cli(root, "history").out
    assert killed["id"] in table and "interrupted" in table
    shown = run_cli(root, "show", first["id"][:-2]).out  # a unique prefix is enough
    assert "first" in shown and "slow" in shown and "ran" in shown
    assert run_cli(root, "show", first["id"], "--json").json()["stages"] == first["stages"]


def test_failed_run_and_unknown_id(tmp_path: Path) -> None:
    root = _project(tmp_path)
    write(root / "pipeline.py", SLOW.replace("echo one > one.txt", "exit 4"))
    assert run_cli(root, "repro", check=False).code == 1
    run = run_cli(root, "history", "--json").json()["runs"][0]
    assert run["exit_code"] == 1 and {s["stage"]: s["status"] for s in run["stages"]}["first"] == "failed"
    bad = run_cli(root, "show", "nope", check=False)
    assert bad.code == 2 and "nope" in bad.err and "Traceback" not in bad.err


def test_history_is_capped_by_history_keep(tmp_path: Path) -> None:
    root = _project(tmp_path)
    run_cli(root, "config", "set", "history.keep", "1")
    for _ in range(2):
        run_cli(root, "repro")
    assert len(run_cli(root, "history", "-n", "0", "--json").json()["runs"]) == 1


def test_the_ring_keeps_the_newest_runs() -> None:
    state = MemoryState()
    history = History(state, keep=3)
    for i in range(5):
        history.add(RunEntry(f"r{i}", float(i), "u", "h", "pivot repro", (), "local"))
    assert [e.id for e in History(state).latest(0)] == ["r4", "r3", "r2"]  # keep is remembered
    assert len([k for k in state._data if k.startswith("hist:slot:")]) == 3  # no key outlives the cap
    assert [e.id for e in history.latest(2)] == ["r4", "r3"]
    with pytest.raises(UserError):
        history.find("r1")
    assert History(state).find("r3").seq == 3

    bigger = History(state, keep=10)  # a slot written under another keep is never misread
    bigger.add(RunEntry("r5", 5.0, "u", "h", "pivot repro", (), "local"))
    assert History(state).latest(1)[0].id == "r5"
    assert all(e.seq == int(e.id[1:]) for e in History(state).latest(0))
