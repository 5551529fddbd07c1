"""Notebook-defined stages on isolated Dask workers with the cache on S3 (issue 13).

A real kernel runs the project's stages and its own notebook-defined ones (shipped to
the workers by value: they exist in no file) with `cluster="local"` (a LocalCluster of
worker processes) in isolated mode, the cache on moto's S3 server. A second kernel, in
another folder with the same project and the same cache, restores every stage from the
run cache: nothing runs, and its outputs are byte-identical.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.fixtures.project import make_project, outputs_snapshot, run_cli
from tests.notebooks.kernel import Kernel
from tests.notebooks.test_kernel_reruns import ALL, ORIGINAL, SETUP

pytestmark = [pytest.mark.s3, pytest.mark.cluster]
RUN = """
report = pivot.repro(all=True, pipelines=[build()], cluster="local", workers=2)
assert report.ok, report
print(json.dumps({"outcomes": {n: str(o.status) for n, o in report.outcomes.items()}, "cluster": report.cluster}))
"""


def _folder(root: Path, cache: str) -> Path:
    make_project(root)
    run_cli(root, "config", "set", "cache.dir", cache)
    run_cli(root, "config", "set", "cluster.mode", "isolated")
    return root


def _run(folder: Path) -> dict[str, object]:
    kernel = Kernel(folder)
    try:
        kernel.run(SETUP + ORIGINAL)
        result: dict[str, object] = kernel.run(RUN, timeout=400).last_json()
        return result
    finally:
        kernel.close()


def test_notebook_stages_on_isolated_workers_restore_in_another_kernel(tmp_path: Path, s3_bucket: str) -> None:
    cache = f"{s3_bucket}/cache"
    first = _run(_folder(tmp_path / "first", cache))
    assert first["outcomes"] == dict.fromkeys(ALL, "ran"), first
    cluster = first["cluster"]
    assert isinstance(cluster, dict) and cluster["cache"] == "isolated" and cluster["cache_url"] == cache, cluster

    second = _run(_folder(tmp_path / "second", cache))
    assert second["outcomes"] == dict.fromkeys(ALL, "restored"), json.dumps(second)
    assert outputs_snapshot(tmp_path / "second") == outputs_snapshot(tmp_path / "first")
    run_cli(tmp_path / "second", "verify")
