"""A fresh `git clone` does the job (issue 12): tracked inputs come from the cache, or the
command that fetches them is named; blocked stages never exit 0."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.project import outputs_snapshot, run_cli
from tests.fresh import gitrepo
from tests.fresh.project import RAW, make_git_project


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

    # The cache is the remote: `pull` and `repro --pull` work (they said "no remote configured").
    shutil.rmtree(project / "stats" / "shards")
    (project / "data" / "raw.txt").unlink()
    run_cli(project, "pull")
    assert (project / "data" / "raw.txt").read_text() == RAW and (project / "stats" / "shards").is_dir()
    run_cli(project, "verify")
    other = gitrepo.clone(origin, tmp_path / "work" / "other")
    report = run_cli(other, "repro", "--pull", "--json").json()
    assert report["ran"] == 0 and report["failed"] == 0
    run_cli(other, "verify")


def test_input_only_on_remote_names_pull_and_fails(origin: Path, tmp_path: Path) -> None:
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


def test_input_nowhere_fails_and_says_so(origin: Path, tmp_path: Path) -> None:
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
