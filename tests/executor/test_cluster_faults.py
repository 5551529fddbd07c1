"""A private `dask scheduler` + `dask worker` cluster (cluster/start.sh) that the test breaks:
a worker SIGKILLed mid-stage and replaced, the scheduler SIGKILLed mid-run (issue 13)."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.executor.helpers import add_pipeline, lock_exists, set_config
from tests.executor.streams import watch
from tests.fixtures.dask import CLUSTER, REPO
from tests.fixtures.project import PIVOT, run_cli

pytestmark = pytest.mark.cluster

NAP_S = 5.0

# Quick stages flow while `nap` runs, so results keep arriving around the kill.
SOURCE = '''
import os
import time
from typing import Annotated
from pivot import Pipeline, Dep, Out, loaders

PIDS = {pids!r}


def first() -> Annotated[str, Out("first.txt", loaders.Text())]:
    return "one\\n"


def nap(one: Annotated[str, Dep("first.txt", loaders.Text())]) -> Annotated[str, Out("nap.txt", loaders.Text())]:
    with open(PIDS, "a") as pids:  # who runs me: the test kills it
        pids.write(f"{{os.getpid()}}\\n")
    time.sleep({nap})
    return one + "rested\\n"


def quick(one: Annotated[str, Dep("first.txt", loaders.Text())]) -> Annotated[str, Out("quick.txt", loaders.Text())]:
    time.sleep(0.3)
    return one * 2


def last(rested: Annotated[str, Dep("nap.txt", loaders.Text())]) -> Annotated[str, Out("last.txt", loaders.Text())]:
    return rested.upper()


pipeline = Pipeline("slow")
pipeline.register(first)
pipeline.register(nap)
for i in range(4):
    pipeline.register(quick, name=f"quick@{{i}}", out_path_overrides={{"return": f"quick_{{i}}.txt"}})
pipeline.register(last)
'''


class Cluster:
    def __init__(self, run_dir: Path, port: int = 0) -> None:
        self.run_dir = run_dir
        self.port = port  # 0: any free one; fixed: a restart comes back at the same address
        self.address = ""

    def start(self) -> str:
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        started = subprocess.run([str(CLUSTER / "start.sh"), "--workers", "2", "--dir", str(self.run_dir),
                                  "--python", sys.executable, "--timeout", "60", "--port", str(self.port)],
                                 cwd=self.run_dir.parent, env=env, capture_output=True, text=True, timeout=90)
        assert started.returncode == 0, started.stderr
        self.address = started.stdout.strip().splitlines()[-1]
        return self.address

    def group(self, name: str) -> int:
        return int((self.run_dir / f"{name}.pid").read_text())

    def add_worker(self, name: str, local_dir: str) -> subprocess.Popen[bytes]:
        """What an operator (or Kubernetes) does when a worker dies: start another one in its place."""
        env = {**os.environ, "PYTHONPATH": str(REPO), "DASK_CONFIG": str(CLUSTER / "dask.yaml")}
        return subprocess.Popen([sys.executable, "-m", "dask", "worker", "--scheduler-file",
                                 str(self.run_dir / "scheduler.json"), "--host", "127.0.0.1", "--nthreads", "1",
                                 "--name", name, "--local-directory", str(self.run_dir / local_dir)],
                                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)

    def stop(self) -> None:
        subprocess.run([str(CLUSTER / "stop.sh"), "--dir", str(self.run_dir), "--grace", "3"],
                       capture_output=True, timeout=30, check=False)


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    made = Cluster(tmp_path / "cluster")
    made.run_dir.mkdir()
    try:
        yield made
    finally:
        made.stop()


def _project(tmp_path: Path, nap: float) -> tuple[Path, Path]:
    root = tmp_path / "proj"
    root.mkdir()
    run_cli(root, "init")
    pids = tmp_path / "pids.txt"
    pids.write_text("")
    add_pipeline(root, "slow", SOURCE.format(pids=str(pids), nap=nap))
    return root, pids


def _first_pid(pids: Path, proc: subprocess.Popen[str], timeout: float = 60) -> int:
    deadline = time.monotonic() + timeout
    while not pids.read_text().strip():
        assert proc.poll() is None and time.monotonic() < deadline, "the stage never started"
        time.sleep(0.02)
    return int(pids.read_text().split()[0])


def test_worker_killed_and_replaced_does_not_freeze_the_run(tmp_path: Path, cluster: Cluster) -> None:
    """Isolated mode (the Kubernetes case): the killed stage's scratch folder is swept by the replacement."""
    address = cluster.start()
    root, pids = _project(tmp_path, NAP_S)
    set_config(root, cluster={"mode": "isolated"})
    proc = subprocess.Popen([*PIVOT, "repro", "--cluster", address], cwd=root, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = watch(proc)
    replacement = None
    try:
        victim = _first_pid(pids, proc)
        group = os.getpgid(victim)
        name = next(n for n in ("worker-0", "worker-1") if cluster.group(n) == group)
        assert list(cluster.run_dir.glob(f"{name}/**/pivot-scratch/pivot-nap-*"))  # its private folder
        os.killpg(group, signal.SIGKILL)  # the whole worker: nanny and worker process
        killed = time.monotonic()
        replacement = cluster.add_worker("replacement", name)
        proc.wait(NAP_S + 60)
        finished = time.monotonic()
    finally:
        if proc.poll() is None:
            proc.kill()
        if replacement is not None:
            os.killpg(replacement.pid, signal.SIGKILL)
    text = out.text() + "\n" + err.text()
    assert proc.returncode == 0, text
    assert finished - killed < NAP_S + 30, text
    times = [*sorted(out.times() + err.times()), finished]  # from the first line: start-up is not a freeze
    silence = max(b - a for a, b in itertools.pairwise(times))
    print(f"\nworker killed: run finished {finished - killed:.1f}s later, longest silence {silence:.1f}s")
    assert silence < 15, f"{silence:.1f}s without output\n{text}"
    assert "worker lost: retrying slow:nap (attempt 2 of 3)" in err.text()
    assert (root / "slow" / "last.txt").read_text() == "ONE\nRESTED\n"
    assert len(pids.read_text().split()) == 2
    deadline = time.monotonic() + 10  # the workers' sweep threads remove folders after the results went back
    while list(cluster.run_dir.glob("**/pivot-scratch/pivot-*")) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not list(cluster.run_dir.glob("**/pivot-scratch/pivot-*")), "scratch left behind"
    run_cli(root, "verify")


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_scheduler_killed_is_one_message_and_exit_3(tmp_path: Path, cluster: Cluster, sig: signal.Signals) -> None:
    address = cluster.start()
    root, pids = _project(tmp_path, 60)
    proc = subprocess.Popen([*PIVOT, "repro", "--json", "--cluster", address], cwd=root, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        _first_pid(pids, proc)
        deadline = time.monotonic() + 30
        while not all(lock_exists(root, f"slow:quick@{i}") for i in range(4)):
            assert time.monotonic() < deadline and proc.poll() is None, "the quick stages never finished"
            time.sleep(0.05)
        os.killpg(cluster.group("scheduler"), sig)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 3, out + err
    lost = [line for line in err.splitlines() if "lost the Dask scheduler" in line]
    assert len(lost) == 1, err
    assert address in lost[0] and "5 stage(s) completed and were committed" in lost[0]
    assert "pivot repro" in lost[0] and "continue" in lost[0]
    assert "Traceback" not in err and "StageFailedError" not in err and "cancelled" not in err, err
    report = json.loads(out)
    statuses = {s["name"]: s["status"] for s in report["stages"]}
    assert statuses["slow:first"] == "ran" and statuses["slow:nap"] == "interrupted"
    assert statuses["slow:last"] == "not_started"
    assert report["failed"] == 0 and report["cluster_lost"]
    if sig != signal.SIGKILL:
        return  # the rest does not depend on how the scheduler went

    # A new cluster: the committed stages stay done, the rest runs, verify passes.
    cluster.stop()
    address = cluster.start()
    (root / "slow" / "pipeline.py").write_text((root / "slow" / "pipeline.py").read_text().replace(
        "time.sleep(60)", "time.sleep(0.1)"))
    again = run_cli(root, "repro", "--json", "--cluster", address)
    ran = {s["name"] for s in again.json()["stages"] if s["status"] == "ran"}
    assert ran == {"slow:nap", "slow:last"}
    run_cli(root, "verify")
