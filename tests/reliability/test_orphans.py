"""Workers of a SIGKILLed planner exit by themselves within a few seconds, and take
their stage's command with them: no orphans (issue 11). Local process pool."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from tests.reliability.harness import PIVOT, case_env, run

PIPELINE = '''
import os, time
from pathlib import Path
from typing import Annotated
from pivot import Pipeline, Dep, Out, loaders


def slow(words: Annotated[str, Dep("words.txt", loaders.Text())]) -> Annotated[str, Out("slow.txt", loaders.Text())]:
    Path("python.pid").write_text(str(os.getpid()))
    time.sleep(120)
    return words


pipeline = Pipeline("slow")
pipeline.register(slow)
pipeline.register_cmd("sleepy", cmd="echo $PPID $$ > shell.pid; exec sleep 120", deps=["words.txt"], outs=["s.txt"])
'''


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"  # a zombie has exited; only its parent (init here) has yet to reap it


def _wait_for(paths: list[Path], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not all(p.exists() and p.read_text().strip() for p in paths):
        assert time.monotonic() < deadline, f"stages did not start: {[p for p in paths if not p.exists()]}"
        time.sleep(0.1)


def test_workers_of_a_killed_planner_exit(tmp_path: Path) -> None:
    root = tmp_path / "project"
    root.mkdir()
    env = case_env(tmp_path / "home")
    run(root, env, "init", check=True)
    (root / "words.txt").write_text("hi\n")
    (root / "pipeline.py").write_text(PIPELINE.lstrip())
    planner = subprocess.Popen([*PIVOT, "repro", "-j", "2"], cwd=root, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for([root / "python.pid", root / "shell.pid"], 60)
    finally:
        planner.send_signal(signal.SIGKILL)
        planner.wait()
    shell_worker, shell = (int(x) for x in (root / "shell.pid").read_text().split())
    pids = {"python stage's worker": int((root / "python.pid").read_text()), "shell stage's worker": shell_worker,
            "shell command": shell}
    deadline = time.monotonic() + 5
    while any(_alive(p) for p in pids.values()) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = {name: pid for name, pid in pids.items() if _alive(pid)}
    for pid in left.values():
        os.kill(pid, signal.SIGKILL)  # do not leave them behind when the test fails
    assert not left, f"still running 5 s after the planner was killed: {left}"
    # The killed run committed nothing.
    assert not (root / "slow.txt").exists() and not (root / "s.txt").exists()
