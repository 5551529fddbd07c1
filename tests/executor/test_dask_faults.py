"""Dask runs that go wrong: a worker killed mid-stage, version skew, missing resources."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from pivot import api
from pivot.engine import execute
from pivot.executor.dask import DaskExecutor
from pivot.executor.plugin import CodePlugin, code_files, pack_project
from pivot.executor.task import StageTask
from pivot.results import Outcome
from tests.executor.helpers import add_pipeline, lock_exists, set_config
from tests.fixtures.dask import ProcCluster
from tests.fixtures.project import PIVOT, default_sigint, run_cli

pytestmark = pytest.mark.cluster

NAP = '''
import os
import time
import uuid
from typing import Annotated
from pivot import Pipeline, Out, loaders


def nap() -> Annotated[str, Out("nap.txt", loaders.Text())]:
    with open(os.environ["PIVOT_TEST_PIDS"], "a") as pids:  # who runs me: the test kills it
        pids.write(f"{os.getpid()}\\n")
    time.sleep(float(os.environ.get("PIVOT_TEST_NAP", "0")))
    return "rested\\n"


pipeline = Pipeline("slow")
pipeline.register(nap)
'''


def _repro_killing_first_runner(root: Path, pids: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], list[int]]:
    """Run `pivot repro --cluster local`, SIGKILL the worker running `nap` as soon as it starts."""
    pids.write_text("")
    env = {**os.environ, "PIVOT_TEST_PIDS": str(pids), "PIVOT_TEST_NAP": "1.5"}
    proc = subprocess.Popen(preexec_fn=default_sigint, args=[*PIVOT, "repro", "--cluster", "local", "--workers", "2", *args], cwd=root, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not pids.read_text().strip():
        assert proc.poll() is None and time.monotonic() < deadline, "the stage never started"
        time.sleep(0.02)
    os.kill(int(pids.read_text().split()[0]), signal.SIGKILL)
    out, err = proc.communicate(timeout=90)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err), [int(p) for p in pids.read_text().split()]


def test_killed_worker_is_retried_then_fails_cleanly(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    root.mkdir()
    run_cli(root, "init")
    add_pipeline(root, "slow", NAP)
    pids = tmp_path / "pids.txt"

    # Retries exhausted: a clean failure, nothing recorded, exit 1.
    set_config(root, cluster={"retries": 0})
    failed, runners = _repro_killing_first_runner(root, pids)
    assert failed.returncode == 1, failed.stderr
    assert len(runners) == 1
    assert "worker running it died" in " ".join((failed.stdout + failed.stderr).split())
    assert not lock_exists(root, "slow:nap")
    assert not (root / "slow" / "nap.txt").exists()

    # The next repro runs it.
    again = run_cli(root, "repro", "--json", "--cluster", "local", "--workers", "1",
                    env={"PIVOT_TEST_PIDS": str(pids)})
    assert [s["status"] for s in again.json()["stages"]] == ["ran"]
    assert lock_exists(root, "slow:nap")

    # With retries: the stage moves to another worker and the run completes.
    set_config(root, cluster={"retries": None})
    done, runners = _repro_killing_first_runner(root, pids, "--force")
    assert done.returncode == 0, done.stdout + done.stderr
    assert len(runners) == 2 and runners[0] != runners[1]
    assert (root / "slow" / "nap.txt").read_text() == "rested\n"
    assert lock_exists(root, "slow:nap")


def test_worker_with_other_code_is_refused(project: Path, tmp_path: Path, dask_client: Any) -> None:
    """Workers holding an older copy of the project refuse to run the changed stages."""
    root = project
    stale = tmp_path / "stale"
    for rel in code_files(root):
        (stale / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(root / rel, stale / rel)
    model = stale / "model" / "pipeline.py"
    model.write_text(model.read_text().replace("len(words) * params.weight", "len(words) * params.weight + 1"))

    with api.session(root, cwd=root) as s:
        scope = s.scope([], all_pipelines=True)
        inputs = s.inputs(scope)
        executor = DaskExecutor.connect(dask_client, project_root=s.root, cache_url=s.ws.cache_url, mode="isolated")
        executor.open()  # ships the current code; then a stale copy replaces it on every worker
        dask_client.register_plugin(CodePlugin(str(s.root), pack_project(stale)))
        try:
            report = execute(s, scope, inputs, executor, keep_going=True)
        finally:
            executor.close()

    failed = {o.stage: o for o in report.failed}
    assert set(failed) == {"model:train@small", "model:train@large"}
    assert "version skew" in (failed["model:train@small"].error or "")
    assert report.outcomes["prep:clean"].status == Outcome.RAN
    assert not lock_exists(root, "model:train@small")


HARDWARE = '''
from typing import Annotated
from pivot import Pipeline, Out, loaders


def render() -> Annotated[str, Out("render.txt", loaders.Text())]:
    return "drawn\\n"


def fold() -> Annotated[str, Out("fold.txt", loaders.Text())]:
    return "folded\\n"


pipeline = Pipeline("hw")
pipeline.register(render, resources={"GPU": 1})
pipeline.register(fold, resources={"TPU": 1})
'''


def test_stage_resources_nobody_offers_fail_fast(tmp_path: Path, dask_client: Any) -> None:
    root = tmp_path / "proj"
    root.mkdir()
    run_cli(root, "init")
    add_pipeline(root, "hw", HARDWARE)

    started = time.monotonic()
    report = api.repro(root=root, cwd=root, cluster=dask_client, keep_going=True)
    assert time.monotonic() - started < 15

    assert report.outcomes["hw:render"].status == Outcome.RAN  # every worker offers GPU=1
    fold = report.outcomes["hw:fold"]
    assert fold.status == Outcome.FAILED
    assert "needs resources TPU=1" in (fold.error or "") and "no worker" in (fold.error or "")
    assert not lock_exists(root, "hw:fold")


def test_interrupted_repro_leaves_no_work_on_the_cluster(tmp_path: Path, dask_procs: ProcCluster) -> None:
    """Ctrl-C: the planner cancels what it submitted; the scheduler holds none of it afterwards."""
    root = tmp_path / "proj"
    root.mkdir()
    run_cli(root, "init")
    pids = tmp_path / "pids.txt"
    pids.write_text("")
    # These workers were started before the test: settings go in the source, not the environment.
    add_pipeline(root, "slow", NAP.replace('os.environ["PIVOT_TEST_PIDS"]', repr(str(pids)))
                                  .replace('os.environ.get("PIVOT_TEST_NAP", "0")', '"30"'))
    proc = subprocess.Popen(preexec_fn=default_sigint, args=[*PIVOT, "repro", "--cluster", dask_procs.address], cwd=root,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    client = dask_procs.client()
    try:
        deadline = time.monotonic() + 30
        while not pids.read_text().strip():
            assert proc.poll() is None and time.monotonic() < deadline, "the stage never started"
            time.sleep(0.02)
        busy = [worker for worker, keys in client.processing().items() if keys]
        assert len(busy) == 1
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=30)
        assert proc.returncode != 0
        deadline = time.monotonic() + 10
        while any(client.processing().values()):
            assert time.monotonic() < deadline, f"still on the cluster: {client.processing()}"
            time.sleep(0.05)
        # Dask cannot interrupt a running thread: free the worker for the next tests.
        os.kill(int(pids.read_text().split()[0]), signal.SIGKILL)
        deadline = time.monotonic() + 30
        while busy[0] in (workers := client.nthreads()) or len(workers) < 2:
            assert time.monotonic() < deadline, "the killed worker was not replaced"
            time.sleep(0.1)
    finally:
        client.close()
        if proc.poll() is None:
            proc.kill()
    assert not lock_exists(root, "slow:nap")


def test_isolated_worker_without_the_code_says_so(dask_client: Any) -> None:
    executor = DaskExecutor(dask_client, isolated=True)  # no plugin registered for this project
    task = StageTask(stage="p:s", stage_name="s", pipeline_file="p/pipeline.py", pipeline_dir="p",
                     stage_key="0" * 32, code_digest="0" * 32, run_token=uuid.uuid4().hex[:12], deps=(), outs=(),
                     project_root="/nowhere/project", isolated=True)
    result = executor.submit(task).result(timeout=30)
    assert not result.ok
    assert "no copy of p/pipeline.py" in (result.error or "")
