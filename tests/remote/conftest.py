"""A pipeline project built once per session, copied per test; remotes on file:// and S3."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.fixtures.project import make_project, run_cli

FRESH = {"use_listings_cache": False}  # what Remote uses: no stale listings between steps
SOURCES = (".py", ".pvt", ".gitignore", ".lock", ".yaml")


@pytest.fixture(scope="session")
def origin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample project after one full `repro` (outputs, cache, locks and run records)."""
    root = make_project(tmp_path_factory.mktemp("origin") / "proj")
    run_cli(root, "repro")
    return root


def working_copy(src: Path, dest: Path) -> Path:
    """Everything, cache and state included: another checkout of the same machine."""
    shutil.copytree(src, dest, symlinks=True, ignore=shutil.ignore_patterns("__pycache__"))
    return dest


def clone(src: Path, dest: Path) -> Path:
    """What `git clone` gives: sources, .pvt and lock files and config; no data, no cache."""
    for path in sorted(src.rglob("*")):
        rel = path.relative_to(src)
        first = rel.parts[0]
        if not path.is_file() or "__pycache__" in rel.parts or not path.name.endswith(SOURCES):
            continue
        if first == ".pivot" and rel.parts[1] not in ("stages", "config.yaml", ".gitignore"):
            continue
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    return dest


@pytest.fixture(params=["file", pytest.param("s3", marks=pytest.mark.s3)])
def remote_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "s3":
        return str(request.getfixturevalue("s3_bucket")) + "/pivot-cache"
    return f"file://{tmp_path / 'remote'}"


def add_remote(root: Path, url: str, name: str = "origin") -> None:
    run_cli(root, "remote", "add", name, url, "--default")
