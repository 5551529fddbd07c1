"""Isolated cluster workers with the cache on S3 (moto's server): workers started in an
unrelated folder read dependencies from S3 and write outputs there; the planner checks
out what the workspace needs. Same outputs as a local run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures.project import make_project, outputs_snapshot, run_cli

REPO = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.s3, pytest.mark.cluster]


def test_repro_cluster_isolated_with_cache_on_s3(s3_bucket: str, tmp_path: Path) -> None:
    reference = make_project(tmp_path / "reference")
    run_cli(reference, "repro", "--all")

    run_dir, elsewhere = tmp_path / "run", tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(REPO)}  # AWS_* from the s3 fixture reach the workers
    started = subprocess.run(
        [str(REPO / "cluster" / "start.sh"), "--workers", "2", "--dir", str(run_dir), "--python", sys.executable],
        cwd=elsewhere, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert started.returncode == 0, started.stderr
    address = started.stdout.strip().splitlines()[-1]
    try:
        root = make_project(tmp_path / "proj")
        cache = f"{s3_bucket}/cache"
        run_cli(root, "config", "set", "cache.dir", cache)
        report = run_cli(root, "repro", "--all", "--json", "--cluster", address).json()
        assert report["ran"] == 8 and report["failed"] == 0, report
        assert outputs_snapshot(root) == outputs_snapshot(reference)
        import s3fs

        objects = s3fs.S3FileSystem().find(cache.removeprefix("s3://") + "/files")
        assert len(objects) >= 8
        again = run_cli(root, "repro", "--all", "--json", "--cluster", address).json()
        assert again["ran"] == 0
    finally:
        subprocess.run([str(REPO / "cluster" / "stop.sh"), "--dir", str(run_dir), "--grace", "5"],
                       capture_output=True, timeout=60, check=False)
