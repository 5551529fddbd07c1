"""Ctrl-C during a run (SIGINT to the process group, as a terminal sends it): exit 130,
one line, no traceback, no outputs of the interrupted stage, and the next run completes."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from tests.fixtures.project import default_sigint
from tests.reliability.harness import PIVOT, case_env, run

PIPELINE = '''
import os, time
from pathlib import Path
from typing import Annotated
from pivot import Pipeline, Dep, Out, loaders


def slow(words: Annotated[str, Dep("words.txt", loaders.Text())]) -> Annotated[str, Out("slow.txt", loaders.Text())]:
    Path("started").write_text("yes")
    Path("slow.txt").write_text("half")
    time.sleep(float(os.environ.get("SLOW_SECONDS", "0")))
    return words


pipeline = Pipeline("slow")
pipeline.register(slow)
'''


def test_sigint_leaves_nothing_half_done(tmp_path: Path) -> None:
    root = tmp_path / "project"
    root.mkdir()
    env = case_env(tmp_path / "home")
    run(root, env, "init", check=True)
    (root / "words.txt").write_text("hi\n")
    (root / "pipeline.py").write_text(PIPELINE.lstrip())
    planner = subprocess.Popen(preexec_fn=default_sigint, args=[*PIVOT, "repro"], cwd=root, env={**env, "SLOW_SECONDS": "120"},
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.monotonic() + 60
    while not (root / "started").exists():
        assert time.monotonic() < deadline and planner.poll() is None, "the stage did not start"
        time.sleep(0.1)
    os.killpg(planner.pid, signal.SIGINT)
    try:
        out, err = planner.communicate(timeout=20)
    finally:
        if planner.poll() is None:
            os.killpg(planner.pid, signal.SIGKILL)
    assert planner.returncode == 130, out + err
    assert "Traceback" not in out + err and "interrupted" in err, out + err
    assert not (root / "slow.txt").exists(), "an interrupted stage left its output"
    assert run(root, env, "repro").code == 0
    assert (root / "slow.txt").read_text() == "hi\n"
