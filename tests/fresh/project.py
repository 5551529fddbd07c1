"""A small git project for the team-workflow tests: one tracked input, a Python stage and a
shell stage with a folder output in a sub-pipeline. Built once per session and copied."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.fixtures.project import run_cli, write
from tests.fresh import gitrepo

RAW = "alpha beta\ngamma delta\nepsilon\n"

STATS = '''
from typing import Annotated
from pivot import Pipeline, Dep, Out, loaders


def count(raw: Annotated[str, Dep("../data/raw.txt", loaders.Text())]) -> Annotated[str, Out("count.txt", loaders.Text())]:
    return f"{len(raw.split())}\\n"


pipeline = Pipeline("stats")
pipeline.register(count)
pipeline.register_cmd("shards", cmd=["mkdir -p shards", "cd shards && split -l 1 ../../data/raw.txt part_"],
                      deps=["../data/raw.txt"], outs=["shards/"])
'''


def make_git_project(root: Path, cache_dir: str | None = None) -> Path:
    """The project in a git repository, run once and committed; its cache at ``cache_dir``
    (set before tracking, so the tracked input is stored there too)."""
    root.mkdir(parents=True)
    gitrepo.init(root)
    run_cli(root, "init")
    if cache_dir is not None:
        run_cli(root, "config", "set", "cache.dir", cache_dir)
    write(root / "data" / "raw.txt", RAW)
    write(root / "stats" / "pipeline.py", STATS)
    run_cli(root, "track", "data/raw.txt")
    run_cli(root, "repro", "--all")
    gitrepo.commit_sources(root, "pipeline, tracked data and its results")
    return root


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_git_project(tmp_path_factory.mktemp("fresh-origin") / "proj")


@pytest.fixture
def origin(built: Path, tmp_path: Path) -> Path:
    """A private copy (git history, cache and state included) of the built project."""
    dest = tmp_path / "origin"
    shutil.copytree(built, dest, symlinks=True, ignore=shutil.ignore_patterns("__pycache__"))
    return dest
