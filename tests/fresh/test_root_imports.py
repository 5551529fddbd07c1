"""A sub-pipeline importing a package at the project root (issue 12): `from src.train import
train` in models/pipeline.py passed `list` and `status` but failed in workers with
ModuleNotFoundError. The import path a stage sees in a worker is the planner's, on every executor."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.dask import ProcCluster
from tests.fixtures.project import run_cli, write

TRAIN = '''
from typing import Annotated
from pivot import Dep, Out, loaders


def train(data: Annotated[str, Dep("../data.txt", loaders.Text())]) -> Annotated[str, Out("model.txt", loaders.Text())]:
    from src.lazy import shout  # imported when the stage runs, in the worker

    return shout(data)
'''

LAZY = '''
def shout(text: str) -> str:
    return text.upper()
'''

PIPELINE = '''
from pivot import Pipeline
from src.train import train

pipeline = Pipeline("models")
pipeline.register(train)
'''


def _project(root: Path) -> Path:
    root.mkdir(parents=True)
    run_cli(root, "init")
    write(root / "data.txt", "hello\n")
    write(root / "src" / "__init__.py", "")
    write(root / "src" / "train.py", TRAIN)
    write(root / "src" / "lazy.py", LAZY)
    write(root / "models" / "pipeline.py", PIPELINE)
    return root


def _check(root: Path, *args: str, cwd: Path | None = None) -> None:
    result = run_cli(root, "repro", "--all", "--json", *args, cwd=cwd, check=False)
    assert result.code == 0, result.out + result.err
    assert result.json()["failed"] == 0 and result.json()["ran"] == 1, result.out
    assert (root / "models" / "model.txt").read_text() == "HELLO\n"


def test_local_pool_from_the_root_and_from_the_sub_pipeline(tmp_path: Path) -> None:
    root = _project(tmp_path / "proj")
    _check(root, cwd=root / "models")
    (root / "models" / "model.txt").unlink()
    _check(root, "--force")  # from the root too


@pytest.mark.cluster
def test_dask_shared_workers(tmp_path: Path, dask_client: Any) -> None:
    root = _project(tmp_path / "proj")
    run_cli(root, "config", "set", "cluster.mode", "shared")
    _check(root, "--cluster", dask_client.scheduler.address, cwd=root / "models")


@pytest.mark.cluster
def test_dask_isolated_workers(tmp_path: Path, dask_procs: ProcCluster) -> None:
    root = _project(tmp_path / "proj")
    run_cli(root, "config", "set", "cluster.mode", "isolated")
    run_cli(root, "config", "set", "cache.dir", str(tmp_path / "shared-cache"))
    _check(root, "--cluster", dask_procs.address, cwd=root / "models")
