"""cluster.reconnect_timeout: the scheduler and its workers are restarted at the same address
mid-run (what Kubernetes does), and the run waits for them and continues (issue 13)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pivot.errors import ConfigError
from pivot.executor import dask_reconnect
from pivot.project.config import Config
from tests.executor.helpers import lock_exists
from tests.executor.streams import watch
from tests.executor.test_cluster_faults import Cluster, _first_pid, _project
from tests.fixtures.project import PIVOT, run_cli

NAP_S = 3.0
LOST = "lost the Dask scheduler at"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def fixed_cluster(tmp_path: Path) -> Iterator[Cluster]:
    made = Cluster(tmp_path / "cluster", port=_free_port())
    made.run_dir.mkdir()
    try:
        yield made
    finally:
        made.stop()


def _wait_for_quick_stages(root: Path, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 30
    while not all(lock_exists(root, f"slow:quick@{i}") for i in range(4)):
        assert time.monotonic() < deadline and proc.poll() is None, "the quick stages never finished"
        time.sleep(0.05)


@pytest.mark.cluster
def test_scheduler_restarted_at_same_address_run_continues(tmp_path: Path, fixed_cluster: Cluster) -> None:
    address = fixed_cluster.start()
    root, pids = _project(tmp_path, NAP_S)
    run_cli(root, "config", "set", "cluster.reconnect_timeout", "60")
    run_cli(root, "config", "set", "cluster.mode", "isolated")  # the Kubernetes case: the code is shipped again
    proc = subprocess.Popen([*PIVOT, "repro", "--json", "--cluster", address], cwd=root, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        _first_pid(pids, proc)
        _wait_for_quick_stages(root, proc)
        os.killpg(fixed_cluster.group("scheduler"), signal.SIGKILL)  # nap is running
        killed = time.monotonic()
        fixed_cluster.stop()  # its workers go (they would close themselves without a scheduler)
        assert fixed_cluster.start() == address  # the operator restarts it all at the same address
        restarted = time.monotonic()
        out, err = proc.communicate(timeout=60)
        print(f"\nscheduler restarted {restarted - killed:.1f}s after the kill; "
              f"the run finished {time.monotonic() - restarted:.1f}s later\n{err}")
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, out + err
    lost = [line for line in err.splitlines() if LOST in line]
    assert len(lost) == 1 and address in lost[0] and "waiting up to 60 s" in lost[0], err
    back = [line for line in err.splitlines() if "is back: resubmitting" in line]
    assert back == [f"pivot: the Dask scheduler at {address} is back: resubmitting 1 stage(s)"], err
    assert "Traceback" not in err and "cancelled" not in err and "error" not in err.lower(), err
    report = json.loads(out)
    assert {s["name"]: s["status"] for s in report["stages"]} == dict.fromkeys(
        ["slow:first", "slow:nap", *(f"slow:quick@{i}" for i in range(4)), "slow:last"], "ran")
    assert not report["cluster_lost"] and report["failed"] == 0
    assert (root / "slow" / "last.txt").read_text() == "ONE\nRESTED\n"
    assert len(pids.read_text().split()) == 2  # nap ran again on the new cluster, the rest did not
    run_cli(root, "verify")


@pytest.mark.cluster
def test_scheduler_that_stays_away_is_lost_after_the_wait(tmp_path: Path, fixed_cluster: Cluster) -> None:
    address = fixed_cluster.start()
    root, pids = _project(tmp_path, 60)
    run_cli(root, "config", "set", "cluster.reconnect_timeout", "2")
    proc = subprocess.Popen([*PIVOT, "repro", "--json", "--cluster", address], cwd=root, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        _first_pid(pids, proc)
        _wait_for_quick_stages(root, proc)
        os.killpg(fixed_cluster.group("scheduler"), signal.SIGKILL)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 3, out + err
    lost = [line for line in err.splitlines() if LOST in line]
    assert len(lost) == 2, err  # the notice, then the error
    assert "waiting up to 2 s" in lost[0]
    assert "did not come back within 2 s" in lost[1] and "5 stage(s) completed and were committed" in lost[1]
    assert "Traceback" not in err and "StageFailedError" not in err, err
    statuses = {s["name"]: s["status"] for s in json.loads(out)["stages"]}
    assert statuses["slow:nap"] == "interrupted" and statuses["slow:last"] == "not_started"


@pytest.mark.cluster
def test_ctrl_c_while_waiting_stops_at_once(tmp_path: Path, fixed_cluster: Cluster) -> None:
    """Ctrl-C during the wait: exit 130 within seconds, not at the end of the wait."""
    address = fixed_cluster.start()
    root, pids = _project(tmp_path, 60)
    run_cli(root, "config", "set", "cluster.reconnect_timeout", "60")
    proc = subprocess.Popen([*PIVOT, "repro", "--cluster", address], cwd=root, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = watch(proc)
    try:
        _first_pid(pids, proc)
        os.killpg(fixed_cluster.group("scheduler"), signal.SIGKILL)
        assert err.wait_for("waiting up to 60 s", 30), err.text()
        time.sleep(1)  # well into the wait: the old client closed, new ones tried and refused
        proc.send_signal(signal.SIGINT)
        interrupted = time.monotonic()
        proc.wait(30)
        stopped = time.monotonic() - interrupted
    finally:
        if proc.poll() is None:
            proc.kill()
    text = out.text() + "\n" + err.text()
    print(f"\nCtrl-C while waiting for the scheduler: stopped in {stopped:.1f}s")
    assert proc.returncode == 130, text
    assert stopped < 5, f"{stopped:.1f}s to stop\n{text}"
    assert "Traceback" not in text and "is back" not in text, text


def test_reconnect_timeout_setting() -> None:
    assert dask_reconnect.setting(Config({})) == 0
    assert dask_reconnect.setting(Config({"cluster": {"reconnect_timeout": 90}})) == 90
    assert dask_reconnect.setting(Config({"cluster": {"reconnect_timeout": "2.5"}})) == 2.5
    for bad in ("soon", -1, None, [1], True, float("nan"), float("inf")):
        with pytest.raises(ConfigError, match=r"cluster\.reconnect_timeout"):
            dask_reconnect.setting(Config({"cluster": {"reconnect_timeout": bad}}))


def test_bad_reconnect_timeout_is_one_line_exit_2(tmp_path: Path) -> None:
    root, _ = _project(tmp_path, 0)
    run_cli(root, "config", "set", "--", "cluster.reconnect_timeout", "-5")
    result = run_cli(root, "repro", "--cluster", "tcp://127.0.0.1:9", check=False)
    assert result.code == 2, result.err
    assert result.err.strip().splitlines() == [
        "error: cluster.reconnect_timeout -5: expected a number of seconds >= 0 (0: do not wait for a lost scheduler)"]
