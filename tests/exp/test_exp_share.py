"""Experiments travel through a remote (the moto S3 server): a teammate's clone pulls
an experiment and applies it without running anything. The notebook API returns a
table with HTML and pandas forms."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.exp.test_exp import make_repo
from tests.fixtures.project import run_cli


@pytest.mark.s3
def test_push_clone_pull_apply(tmp_path: Path, s3_bucket: str) -> None:
    a = make_repo(tmp_path / "a")
    run_cli(a, "remote", "add", "origin", f"{s3_bucket}/cache", "--default")
    subprocess.run(["git", "commit", "-qam", "remote"], cwd=a, check=True)
    run_cli(a, "exp", "run", "-S", "train.depth=7", "-n", "deep")
    assert "pushed deep" in run_cli(a, "exp", "push", "deep").out

    b = tmp_path / "b"
    subprocess.run(["git", "clone", "-q", str(a), str(b)], check=True)
    assert "pulled deep" in run_cli(b, "exp", "pull").out
    shown = run_cli(b, "exp", "show", "--json").json()["experiments"]
    assert [e["name"] for e in shown] == ["workspace", "deep"]
    run_cli(b, "checkout")  # tracked inputs: none here; stage outputs come with apply
    run_cli(b, "exp", "apply", "deep")
    report = run_cli(b, "repro", "--json").json()
    assert report["ran"] == 0 and report["restored"] == 0
    assert (b / "model.json").read_bytes() != b"" and "depth: 7" in (b / "params.yaml").read_text()


def test_notebook_table(tmp_path: Path) -> None:
    import pivot

    root = make_repo(tmp_path / "p")
    pivot.exp_run(["train.lr=0.2,0.3"], name="lr", root=root, cwd=root)
    table = pivot.exp_show(root=root, cwd=root, sort_by="train.lr")
    assert [r.name for r in table.rows] == ["workspace", "lr-1", "lr-2"]
    html = table._repr_html_()
    assert html.count("<tr>") == 4 and "metrics.json:score" in html
    frame = table.to_pandas()
    assert list(frame["name"]) == ["workspace", "lr-1", "lr-2"] and "train.lr" in frame.columns
    shutil.rmtree(root / ".pivot" / "cache")  # records live in the cache: gone with it
    assert [r.name for r in pivot.exp_show(root=root, cwd=root).rows] == ["workspace"]
