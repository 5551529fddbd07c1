"""cluster/start.sh, status.sh and stop.sh against real processes on 127.0.0.1."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
CLUSTER = REPO / "cluster"
PYTHON = sys.executable

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(60)]


def run(script: str, *args: str, timeout: float = 45) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CLUSTER / script), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def is_alive(pid: int) -> bool:
    """True for a live process; a zombie (exited, not yet reaped) counts as gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def wait_gone(pids: set[int], seconds: float = 5) -> set[int]:
    deadline = time.monotonic() + seconds
    while (alive := {p for p in pids if is_alive(p)}) and time.monotonic() < deadline:
        time.sleep(0.05)
    return alive


def pid_files(run_dir: Path) -> dict[str, int]:
    return {f.stem: int(f.read_text()) for f in sorted(run_dir.glob("*.pid"))}


def kill_leftovers(pids: set[int]) -> None:
    """Last resort if stop.sh failed: never leave processes behind a test."""
    for pid in pids:
        if is_alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, 9)


def connect(address: str) -> Any:
    from distributed import Client

    return Client(address, timeout=10)  # type: ignore[no-untyped-call]


@dataclass
class Cluster:
    address: str
    run_dir: Path
    pids: dict[str, int]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    run_dir = tmp_path_factory.mktemp("cluster") / "run"
    started = run(
        "start.sh",
        "--workers",
        "2",
        "--resources",
        "GPU=1",
        "--dir",
        str(run_dir),
        "--python",
        PYTHON,
        "--timeout",
        "30",
    )
    pids = pid_files(run_dir) if run_dir.exists() else {}
    try:
        assert started.returncode == 0, started.stderr
        yield Cluster(started.stdout.strip(), run_dir, pids)
    finally:
        run("stop.sh", "--dir", str(run_dir))
        kill_leftovers(set(pids.values()))


def test_start_prints_only_the_address(cluster: Cluster) -> None:
    assert cluster.address.startswith("tcp://127.0.0.1:")
    assert (cluster.run_dir / "address").read_text().strip() == cluster.address
    assert set(cluster.pids) == {"scheduler", "worker-0", "worker-1"}
    assert all(is_alive(pid) for pid in cluster.pids.values())


def test_workers_are_single_threaded_and_advertise_resources(cluster: Cluster) -> None:
    with connect(cluster.address) as client:
        nthreads = client.nthreads()
        info = client.scheduler_info(n_workers=-1)["workers"]
    assert sorted(nthreads.values()) == [1, 1]
    assert [w["resources"] for w in info.values()] == [{"GPU": 1.0}, {"GPU": 1.0}]


def test_dask_yaml_is_loaded_everywhere(cluster: Cluster) -> None:
    def allowed_failures() -> object:
        import dask

        return dask.config.get("distributed.scheduler.allowed-failures")

    with connect(cluster.address) as client:
        on_scheduler = client.run_on_scheduler(allowed_failures)
        on_workers = client.run(allowed_failures)
    assert on_scheduler == 0  # Pivot retries a lost worker's stage itself, with a notice
    assert set(on_workers.values()) == {0}


def test_two_gpu_tasks_run_at_once_on_both_workers(cluster: Cluster) -> None:
    def meet(name: str, me: int) -> tuple[str, int]:
        """Signal arrival, then wait for the other task. Both calls can only
        return if they run at the same time, which with one thread per worker
        means in two different worker processes. (Nested so that cloudpickle
        ships it by value: workers cannot import this test module.)"""
        from distributed import Event, get_worker

        Event(f"{name}-{me}").set()  # type: ignore[no-untyped-call]
        if not Event(f"{name}-{1 - me}").wait(timeout=15):  # type: ignore[no-untyped-call]
            raise TimeoutError("the other task never started: only one worker ran")
        return get_worker().address, os.getpid()

    with connect(cluster.address) as client:
        futures = [
            client.submit(meet, "rendezvous", i, resources={"GPU": 1}, pure=False) for i in (0, 1)
        ]
        results = client.gather(futures, errors="raise")
        worker_pids = set(client.run(os.getpid).values())
    addresses = {address for address, _ in results}
    assert len(addresses) == 2
    assert {pid for _, pid in results} == worker_pids


def test_status_reports_running(cluster: Cluster) -> None:
    status = run("status.sh", "--dir", str(cluster.run_dir))
    assert status.returncode == 0, status.stdout + status.stderr
    assert f"address: {cluster.address}" in status.stdout
    assert status.stdout.count(": running") == 3


def test_second_start_in_same_dir_refuses(cluster: Cluster) -> None:
    again = run("start.sh", "--dir", str(cluster.run_dir), "--python", PYTHON)
    assert again.returncode != 0
    assert "already running" in again.stderr
    assert pid_files(cluster.run_dir) == cluster.pids


def test_stop_kills_every_process_and_is_idempotent(tmp_path: Path) -> None:
    """Its own cluster, so the module fixture's teardown stays independent."""
    run_dir = tmp_path / "run"
    started = run("start.sh", "--workers", "1", "--dir", str(run_dir), "--python", PYTHON)
    leaders = set(pid_files(run_dir).values())
    try:
        assert started.returncode == 0, started.stderr
        with connect(started.stdout.strip()) as client:
            # The nanny's child: the process that actually runs stages.
            children = set(client.run(os.getpid).values())
        assert children and not children & leaders

        stopped = run("stop.sh", "--dir", str(run_dir))
        assert stopped.returncode == 0, stopped.stderr
        assert wait_gone(leaders | children) == set()
        assert pid_files(run_dir) == {}
        assert not (run_dir / "scheduler.json").exists()
        assert run("stop.sh", "--dir", str(run_dir)).returncode == 0
        assert run("status.sh", "--dir", str(run_dir)).returncode == 3
    finally:
        run("stop.sh", "--dir", str(run_dir))
        kill_leftovers(leaders)


def test_failed_start_cleans_up(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    bad = run(
        "start.sh",
        "--workers",
        "1",
        "--resources",
        "GPU",
        "--dir",
        str(run_dir),
        "--python",
        PYTHON,
        "--timeout",
        "20",
    )
    try:
        assert bad.returncode == 1
        assert "did not start" in bad.stderr
        assert pid_files(run_dir) == {}
    finally:
        run("stop.sh", "--dir", str(run_dir))


def test_bad_options_are_rejected() -> None:
    for args in (["--workers", "0"], ["--workers"], ["--bogus"]):
        result = run("start.sh", *args)
        assert result.returncode == 2, args
        assert "cluster:" in result.stderr
