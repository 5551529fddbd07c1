"""A bounded window of tasks on the scheduler (issue 13, scale): never exceeded, observed by the
scheduler itself; the outputs are the local executor's; nothing per stage is kept afterwards."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

import pytest
from distributed.diagnostics.plugin import SchedulerPlugin

from pivot import api
from pivot.engine import execute
from pivot.executor.dask import DaskExecutor
from pivot.results import Outcome
from tests.benchmarks import generator
from tests.executor.helpers import set_config
from tests.fixtures.project import outputs_snapshot, run_cli

pytestmark = pytest.mark.cluster

ACTIVE = ("waiting", "queued", "processing", "no-worker")  # on the scheduler, not settled


class OutOnScheduler(SchedulerPlugin):
    """A scheduler plugin (in the scheduler's own process): the most Pivot tasks active at once."""

    name = "pivot-window-probe"

    def __init__(self) -> None:
        super().__init__()
        self.active: set[str] = set()
        self.peak = 0
        self.seen: set[str] = set()

    def transition(self, key: Any, start: str, finish: str, *args: Any, **kwargs: Any) -> None:
        if not str(key).startswith("pivot-"):
            return
        self.seen.add(str(key))
        if finish in ACTIVE:
            self.active.add(str(key))
        else:
            self.active.discard(str(key))
        self.peak = max(self.peak, len(self.active))


@pytest.fixture
def probe(dask_client: Any) -> Any:
    scheduler = dask_client.cluster.scheduler  # the LocalCluster's scheduler lives in this process
    plugin = OutOnScheduler()
    scheduler.add_plugin(plugin, name=plugin.name)
    try:
        yield plugin
    finally:
        scheduler.remove_plugin(name=plugin.name)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, bytes]]:
    """60 stages in 10 sub-pipelines (fan-out, chains, variants, fan-in), and the local executor's outputs."""
    base = tmp_path_factory.mktemp("window")
    template = base / "template"
    generator.write_pivot(template, generator.plan(60))
    run_cli(template, "init")
    run_cli(template, "track", generator.TRACKED_INPUT)
    local = base / "local"
    shutil.copytree(template, local, symlinks=True)
    run_cli(local, "repro", "--all")
    return template, outputs_snapshot(local)


def test_cli_window_from_config_is_never_exceeded(tmp_path: Path, dask_client: Any, probe: Any,
                                                  generated: tuple[Path, dict[str, bytes]]) -> None:
    template, expected = generated
    root = tmp_path / "proj"
    shutil.copytree(template, root, symlinks=True)
    set_config(root, cluster={"window": 3})

    result = run_cli(root, "repro", "--all", "--json", "--cluster", dask_client.scheduler.address)

    report = json.loads(result.out)
    assert report["cluster"]["window"] == 3
    assert report["ran"] == 60
    assert outputs_snapshot(root) == expected
    assert len(probe.seen) == 60
    assert 2 <= probe.peak <= 3  # the window was used, and never exceeded


def test_executor_keeps_nothing_per_stage(tmp_path: Path, dask_client: Any, probe: Any,
                                          generated: tuple[Path, dict[str, bytes]]) -> None:
    template, expected = generated
    root = tmp_path / "proj"
    shutil.copytree(template, root, symlinks=True)
    set_config(root, cluster={"window": 2})
    with api.session(root, cwd=root) as s:
        scope = s.scope([], all_pipelines=True)
        executor = DaskExecutor.connect(dask_client, project_root=s.root, cache_url=s.ws.cache_url)
        earlier = set(dask_client.futures)  # the session's client: other tests' futures are not this run's
        try:
            report = execute(s, scope, s.inputs(scope), executor)
            assert report.ok and report.count(Outcome.RAN) == 60
            assert executor.window == 2 and executor.peak_out == 2
            # A pushed result can reach the planner just before the scheduler reports its task
            # finished; that last slot is freed then. After that nothing per stage is kept.
            def held() -> list[str]:  # released futures leave the client asynchronously
                return [str(k) for k in set(dask_client.futures) - earlier if str(k).startswith("pivot-")]

            deadline = time.monotonic() + 10
            while (executor._live or held()) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert not executor._live and not executor._waiting and not executor._by_key
            assert not held()  # results released
        finally:
            executor.close()
    assert outputs_snapshot(root) == expected
    assert probe.peak <= 2


def test_default_window_is_twice_the_threads(tmp_path: Path, dask_client: Any,
                                             generated: tuple[Path, dict[str, bytes]]) -> None:
    root = tmp_path / "proj"
    shutil.copytree(generated[0], root, symlinks=True)
    with api.session(root, cwd=root) as s:
        executor = DaskExecutor.connect(dask_client, project_root=s.root, cache_url=s.ws.cache_url)
        try:
            executor.open()
            assert executor.window == 4  # 2 workers x 1 thread
        finally:
            executor.close()


@pytest.mark.parametrize("value", [0, -1, "many", 2.5])
def test_bad_window_is_one_line(tmp_path: Path, value: object,
                                generated: tuple[Path, dict[str, bytes]]) -> None:
    root = tmp_path / "proj"
    shutil.copytree(generated[0], root, symlinks=True)
    set_config(root, cluster={"window": value})
    result = run_cli(root, "repro", "--all", "--cluster", "local", check=False)
    assert result.code == 2
    assert "cluster.window" in result.err and "Traceback" not in result.err
    assert len(result.err.strip().splitlines()) == 1
