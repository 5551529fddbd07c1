"""A fresh `git clone` does the job (issue 12): tracked inputs come from the cache, or the
command that fetches them is named; blocked stages never exit 0."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.project import HELPERS, MODEL, PREP, REPORT, outputs_snapshot, run_cli, write
from tests.fresh import gitrepo

RAW = "Alpha  Beta\nGamma delta\n\nEpsilon ZETA\neta theta\niota kappa\n"


def make_git_project(root: Path, cache_dir: str | None = None) -> Path:
    """The sample project in a git repository, its cache at ``cache_dir`` (set before tracking)."""
    root.mkdir(parents=True)
    gitrepo.init(root)
    run_cli(root, "init")
    if cache_dir is not None:
        run_cli(root, "config", "set", "cache.dir", cache_dir)
    write(root / "data" / "raw.txt", RAW)
    write(root / "prep" / "pipeline.py", PREP)
    write(root / "prep" / "helpers.py", HELPERS)
    write(root / "model" / "pipeline.py", MODEL)
    write(root / "report" / "pipeline.py", REPORT)
    run_cli(root, "track", "data/raw.txt")
    run_cli(root, "repro", "--all")
    gitrepo.commit_sources(root, "pipeline, tracked data and its results")
    return root


def job(project: Path, config_yaml: str, cluster: str) -> tuple[Any, Any]:
    """k8s/base/job.yaml: the checkout init container, then `pivot repro --all --cluster
    "$PIVOT_CLUSTER" && pivot verify` in the clone."""
    (project / ".pivot").mkdir(exist_ok=True)
    (project / ".pivot" / "config.yaml").write_text(config_yaml)
    env = {"PIVOT_CLUSTER": cluster}
    repro = run_cli(project, "repro", "--all", "--cluster", cluster, env=env, check=False)
    verify = run_cli(project, "verify", env=env, check=False) if repro.code == 0 else None
    return repro, verify


@pytest.mark.s3
@pytest.mark.cluster
def test_k8s_job_in_fresh_clone_with_cache_on_s3(s3_bucket: str, dask_client: Any, tmp_path: Path) -> None:
    cache = f"{s3_bucket}/pivot-cache"
    origin = make_git_project(tmp_path / "origin", cache)
    (tmp_path / "work").mkdir()
    project = gitrepo.clone(origin, tmp_path / "work" / "project")
    assert not (project / "data" / "raw.txt").exists()
    address = dask_client.scheduler.address
    config = f"cache:\n  dir: {cache}\ncluster:\n  address: {address}\n"
    repro, verify = job(project, config, address)
    assert repro.code == 0, repro.err
    assert verify is not None and verify.code == 0, verify.out + verify.err
    assert (project / "data" / "raw.txt").read_text() == RAW
    produced = {k: v for k, v in outputs_snapshot(project).items() if not k.startswith(".git")}
    expected = {k: v for k, v in outputs_snapshot(origin).items() if not k.startswith(".git")}
    assert produced == expected


def test_input_only_on_remote_names_pull_and_fails(tmp_path: Path) -> None:
    origin = make_git_project(tmp_path / "origin")
    remote = f"file://{tmp_path / 'remote'}"
    run_cli(origin, "remote", "add", "origin", remote, "--default")
    run_cli(origin, "push")
    gitrepo.commit_sources(origin, "remote")
    clone = gitrepo.clone(origin, tmp_path / "clone")

    status = run_cli(clone, "status", "--json").json()
    assert {"path": "data/raw.txt", "status": "missing"} in status["tracked_files"]
    assert any("pivot pull" in tip for tip in status["suggestions"]), status["suggestions"]

    blocked = run_cli(clone, "repro", check=False)
    assert blocked.code == 1, blocked.out + blocked.err
    assert "data/raw.txt" in blocked.err and "pivot pull" in blocked.err

    pulled = run_cli(clone, "repro", "--pull", "--json").json()
    assert pulled["ran"] == 0 and pulled["failed"] == 0
    run_cli(clone, "verify")


def test_input_nowhere_fails_and_says_so(tmp_path: Path) -> None:
    origin = make_git_project(tmp_path / "origin")
    clone = gitrepo.clone(origin, tmp_path / "clone")
    blocked = run_cli(clone, "repro", check=False)
    assert blocked.code == 1, blocked.out + blocked.err
    assert "data/raw.txt" in blocked.err and "remote" in blocked.err


def test_input_in_local_cache_is_placed_by_repro(tmp_path: Path) -> None:
    """A second checkout sharing the cache folder (cache.dir on a path) needs no pull."""
    cache = tmp_path / "shared-cache"
    origin = make_git_project(tmp_path / "origin", str(cache))
    clone = gitrepo.clone(origin, tmp_path / "clone")
    status = run_cli(clone, "status", "--json").json()
    assert any("pivot checkout" in tip or "pivot repro" in tip for tip in status["suggestions"])
    report = run_cli(clone, "repro", "--json").json()
    assert report["ran"] == 0 and report["failed"] == 0
    assert (clone / "data" / "raw.txt").read_text() == RAW
    run_cli(clone, "verify")


@pytest.mark.s3
def test_pull_and_repro_pull_when_cache_is_a_url(s3_bucket: str, tmp_path: Path) -> None:
    cache = f"{s3_bucket}/pivot-cache"
    origin = make_git_project(tmp_path / "origin", cache)
    clone = gitrepo.clone(origin, tmp_path / "clone")
    report = run_cli(clone, "repro", "--pull", "--json").json()
    assert report["ran"] == 0 and report["failed"] == 0
    shutil.rmtree(clone / "prep" / "shards")
    (clone / "data" / "raw.txt").unlink()
    run_cli(clone, "pull")
    assert (clone / "data" / "raw.txt").read_text() == RAW
    assert (clone / "prep" / "shards").is_dir()
    run_cli(clone, "verify")
