"""Regression: a long-lived worker that imported a helper module before the user edited
it must reload, not refuse the stage as version skew (found by the fuzzer)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pivot import api

pytestmark = pytest.mark.cluster


def test_helper_edit_between_runs_on_one_client(project: Path, tmp_path: Path, dask_client: Any) -> None:
    root = project
    first = api.repro(all=True, cluster=dask_client, root=root, cwd=root)
    assert not first.failed
    helpers = root / "prep" / "helpers.py"  # imported by prep/pipeline.py; pipeline.py untouched
    helpers.write_text(helpers.read_text().replace('" ".join(line.split())', '"_".join(line.split())'))
    second = api.repro(all=True, cluster=dask_client, root=root, cwd=root)
    assert not second.failed, [o.error for o in second.failed]
    assert second.outcomes["prep:clean"].status == "ran"
    assert "_" in (root / "prep" / "clean.txt").read_text()
