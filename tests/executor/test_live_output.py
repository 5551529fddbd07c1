"""Stage output reaches the user while the stage runs: local pool and Dask workers (issues 12 and 13)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.executor.helpers import add_pipeline, lock_exists, set_config
from tests.executor.streams import watch
from tests.fixtures.dask import ProcCluster
from tests.fixtures.project import PIVOT, run_cli

# The stage prints, then waits for the test to create GO: whatever the test saw
# before creating it was shown while the stage was still running.
TALK = '''
import os
import sys
import time
from typing import Annotated
from pivot import Pipeline, Out, loaders

GO = {go!r}


def talk() -> Annotated[str, Out("talk.txt", loaders.Text())]:
    print("talk: hello from the stage")
    print("talk: a warning", file=sys.stderr)
    deadline = time.time() + 60
    while not os.path.exists(GO) and time.time() < deadline:
        time.sleep(0.05)
    print("talk: bye")
    return "said\\n"


pipeline = Pipeline("chat")
pipeline.register(talk)
'''

FAIL = '''
from typing import Annotated
from pivot import Pipeline, Out, loaders


def boom() -> Annotated[str, Out("boom.txt", loaders.Text())]:
    print("boom: about to fail")
    raise ValueError("the model diverged")


pipeline = Pipeline("bad")
pipeline.register(boom)
'''


def _project(tmp_path: Path, go: Path) -> Path:
    root = tmp_path / "proj"
    root.mkdir()
    run_cli(root, "init")
    add_pipeline(root, "chat", TALK.format(go=str(go)))
    return root


def _live_run(root: Path, go: Path, *args: str) -> tuple[str, str]:
    """Run repro; the stage's first line must show before the stage may finish."""
    proc = subprocess.Popen([*PIVOT, "repro", *args], cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    out, err = watch(proc)
    try:
        seen = out.wait_for("talk: hello from the stage", 60)
        still_running = proc.poll() is None and not lock_exists(root, "chat:talk")
        assert seen, f"no live output\nstdout:\n{out.text()}\nstderr:\n{err.text()}"
        assert still_running
        assert err.wait_for("talk: a warning", 10), err.text()
    finally:
        go.write_text("")
        proc.wait(60)
    assert proc.returncode == 0, out.text() + err.text()
    return out.text(), err.text()


def test_local_stage_output_is_live(tmp_path: Path) -> None:
    go = tmp_path / "go"
    root = _project(tmp_path, go)
    out, _ = _live_run(root, go)
    assert "talk: bye" in out
    assert "chat:talk | " not in out  # one stage at a time: no prefix

    # --quiet hides it; --json keeps stdout the report and carries the output.
    quiet = run_cli(root, "repro", "--force", "-q")
    assert "talk:" not in quiet.out + quiet.err
    report = run_cli(root, "repro", "--force", "--json")
    entry = report.json()["stages"][0]
    assert entry["stdout"] == "talk: hello from the stage\ntalk: bye\n"
    assert entry["stderr"] == "talk: a warning\n"


def test_lines_are_prefixed_when_stages_overlap(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    root.mkdir()
    run_cli(root, "init")
    source = TALK.format(go="/nonexistent-never").replace("deadline = time.time() + 60", "deadline = time.time() + 1")
    add_pipeline(root, "chat", source.replace('pipeline.register(talk)',
                                              'pipeline.register(talk)\npipeline.register(talk, name="echo", '
                                              'out_path_overrides={"return": "echo.txt"})'))
    result = run_cli(root, "repro", "-j", "2")
    assert "chat:talk | talk: hello from the stage" in result.out
    assert "chat:echo | talk: hello from the stage" in result.out


def test_failed_stage_json_carries_its_output(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    root.mkdir()
    run_cli(root, "init")
    add_pipeline(root, "bad", FAIL)
    result = run_cli(root, "repro", "--json", check=False)
    assert result.code == 1
    entry = json.loads(result.out)["stages"][0]
    assert entry["status"] == "failed"
    assert entry["stdout"] == "boom: about to fail\n"
    assert "ValueError: the model diverged" in entry["error"]
    assert json.loads(result.out)["cluster"] is None


@pytest.mark.cluster
def test_dask_worker_output_is_live_and_cluster_is_described_first(tmp_path: Path, dask_procs: ProcCluster) -> None:
    """Separate scheduler and worker processes: the cluster line comes first, worker lines while the stage runs."""
    go = tmp_path / "go"
    root = _project(tmp_path, go)
    out, err = _live_run(root, go, "--cluster", dask_procs.address)
    assert "talk: bye" in out
    notice = next(line for line in err.splitlines() if "dask cluster" in line)
    assert dask_procs.address in notice and "2 worker(s), 2 thread(s), shared cache" in notice
    assert "dashboard: http://" in notice


@pytest.mark.cluster
def test_isolated_failure_names_user_files_and_keeps_output(tmp_path: Path, dask_procs: ProcCluster) -> None:
    root = tmp_path / "proj"
    root.mkdir()
    run_cli(root, "init")
    add_pipeline(root, "bad", FAIL)
    set_config(root, cluster={"mode": "isolated"})
    result = run_cli(root, "repro", "--json", "--cluster", dask_procs.address, check=False)
    assert result.code == 1, result.err
    data = json.loads(result.out)
    entry = data["stages"][0]
    assert entry["stdout"] == "boom: about to fail\n"
    assert f'File "{root.resolve() / "bad" / "pipeline.py"}", line 7, in boom' in entry["error"]
    assert "pivot-code" not in entry["error"] and "pivot/executor" not in entry["error"]
    assert data["cluster"]["cache"] == "isolated" and data["cluster"]["workers"] == 2
    assert data["cluster"]["dashboard"].startswith("http://")

