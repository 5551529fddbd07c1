"""`pivot repro` on real Dask clusters gives the local executor's results and plan."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.executor.helpers import AFTER_EDIT, ALL_STAGES, add_pipeline, edit_raw, ran, set_config
from tests.fixtures.dask import ProcCluster
from tests.fixtures.project import make_project, outputs_snapshot, run_cli

pytestmark = pytest.mark.cluster


@dataclass(frozen=True)
class Reference:
    fresh: dict[str, bytes]
    edited: dict[str, bytes]


@pytest.fixture(scope="session")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Reference:
    """What the local process pool produces: fresh, and after editing raw.txt."""
    root = make_project(tmp_path_factory.mktemp("reference") / "proj")
    run_cli(root, "repro")
    fresh = outputs_snapshot(root)
    edit_raw(root)
    run_cli(root, "repro")
    return Reference(fresh, outputs_snapshot(root))


@pytest.mark.parametrize("where", ["local-executor", "cluster-local", "scheduler-and-workers"])
def test_repro_matches_local_executor(project: Path, where: str, tmp_path: Path, reference: Reference,
                                      request: pytest.FixtureRequest) -> None:
    if where == "local-executor":
        args: list[str] = []
    elif where == "cluster-local":
        args = ["--cluster", "local", "--workers", "2"]
    else:
        args = ["--cluster", request.getfixturevalue("dask_procs").address]
    root = project

    assert ran(run_cli(root, "repro", "--json", *args)) == ALL_STAGES
    assert outputs_snapshot(root) == reference.fresh
    assert ran(run_cli(root, "repro", "--json", *args)) == set()

    edit_raw(root)
    assert ran(run_cli(root, "repro", "--json", *args)) == AFTER_EDIT
    assert outputs_snapshot(root) == reference.edited


def test_cluster_run_prints_the_dashboard_first(project: Path, tmp_path: Path) -> None:
    """The cluster line (with the dashboard) comes before any stage's result (issue 13)."""
    root = project
    result = run_cli(root, "repro", "--cluster", "local", "--workers", "1")
    lines = result.err.splitlines()
    assert "dashboard: http://" in lines[0] and "1 worker(s), 1 thread(s), shared cache" in lines[0]
    assert "ran" in lines[1]


PROBE = '''
import os
import sys
from typing import Annotated
from pivot import Pipeline, Out, loaders


def probe() -> Annotated[dict, Out("where.json", loaders.JSON())]:
    return {"code": sys._getframe().f_code.co_filename, "cwd": os.getcwd()}


pipeline = Pipeline("probe")
pipeline.register(probe)
'''


def test_isolated_workers_run_shipped_code_from_the_cache(project: Path, tmp_path: Path, reference: Reference,
                                                          dask_procs: ProcCluster) -> None:
    """Cache outside the project -> isolated mode: code from the worker plugin, deps from the cache."""
    root = project
    add_pipeline(root, "probe", PROBE)
    set_config(root, cache={"dir": str(tmp_path / "shared-cache")})
    address = dask_procs.address
    project_cache = sorted((root / ".pivot" / "cache").rglob("*"))  # raw.txt, stored by `track`

    assert ran(run_cli(root, "repro", "--json", "--cluster", address)) == ALL_STAGES | {"probe:probe"}

    where = json.loads((root / "probe" / "where.json").read_text())
    assert not Path(where["code"]).is_relative_to(root)  # the shipped copy, not the project
    assert "pivot-code" in Path(where["code"]).parts
    assert not Path(where["cwd"]).is_relative_to(root)  # a scratch folder
    scratch = Path(where["cwd"]).parent
    assert scratch.name.startswith("pivot-probe-")
    deadline = time.monotonic() + 10  # removed by the worker's sweep thread, after the result went back
    while scratch.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not scratch.exists(), "scratch folder left behind"
    assert any((tmp_path / "shared-cache").iterdir())
    assert sorted((root / ".pivot" / "cache").rglob("*")) == project_cache  # nothing written there
    produced = {k: v for k, v in outputs_snapshot(root).items() if not k.startswith("probe/")}
    assert produced == reference.fresh
    assert ran(run_cli(root, "repro", "--json", "--cluster", address)) == set()
