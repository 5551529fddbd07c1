"""`pivot status --remote`: counts to push and to pull, both correct (file:// remote)."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.fixtures.project import run_cli


def test_counts_to_push_and_pull(project: Path, tmp_path: Path) -> None:
    root = project
    run_cli(root, "repro", "--all")
    remote = tmp_path / "remote"
    run_cli(root, "remote", "add", "origin", remote.as_uri(), "--default")
    before = run_cli(root, "status", "--remote", "--json").json()
    assert before["to_push"] > 0 and before["to_pull"] == 0
    run_cli(root, "push")
    after = run_cli(root, "status", "--remote", "--json").json()
    assert after["to_push"] == 0 and after["to_pull"] == 0
    shutil.rmtree(root / ".pivot" / "cache")
    empty = run_cli(root, "status", "--remote", "--json").json()
    assert empty["to_pull"] == before["to_push"] and empty["to_push"] == 0
    assert "to pull" in run_cli(root, "status", "--remote").out
