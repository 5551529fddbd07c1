"""`metrics show/diff` and `params show/diff` on a real two-commit git repository, through the real CLI."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.fixtures.project import run_cli
from tests.show.conftest import commit_all, set_lr

CHANGED_METRICS = {
    ("metrics.json", "acc"): (0.6, 0.7),
    ("metrics.json", "loss"): (0.4, 0.3),
    ("metrics.json", "avg_prec.test"): (0.6, 0.7),
    ("report.yaml", "score"): (1.0, 2.0),
    ("scores.tsv", "precision"): (0.8, 0.9),
}


def _pairs(diff: list[dict]) -> dict[tuple[str, str], tuple[object, object]]:
    return {(d["path"], d["key"]): (d["old"], d["new"]) for d in diff}


def _same(pairs: dict, expected: dict) -> bool:
    return set(pairs) == set(expected) and all(pairs[k] == pytest.approx(v) for k, v in expected.items())


def test_metrics_diff_shows_exactly_the_changed_keys(project: Path) -> None:
    data = run_cli(project, "metrics", "diff", "HEAD~1", "HEAD", "--json").json()
    assert set(data) >= {"diff"}
    assert _same(_pairs(data["diff"]), CHANGED_METRICS), data["diff"]
    for row in data["diff"]:
        assert set(row) >= {"path", "key", "old", "new", "change"}
        assert row["change"] == pytest.approx(row["new"] - row["old"])
    acc = next(r for r in data["diff"] if r["key"] == "acc")
    assert acc["percent"] == pytest.approx(100 * 0.1 / 0.6)


def test_metrics_diff_all_includes_unchanged(project: Path) -> None:
    data = run_cli(project, "metrics", "diff", "HEAD~1", "HEAD", "--all", "--json").json()
    pairs = _pairs(data["diff"])
    assert pairs[("metrics.json", "epochs")] == (3, 3)
    assert pairs[("report.yaml", "name")] == ("demo", "demo")
    assert pairs[("scores.tsv", "recall")] == (0.5, 0.5)


def test_metrics_diff_default_is_head_against_workspace(project: Path) -> None:
    assert run_cli(project, "metrics", "diff", "--json").json()["diff"] == []
    set_lr(project, 0.3)
    run_cli(project, "repro")
    pairs = _pairs(run_cli(project, "metrics", "diff", "--json").json()["diff"])
    assert pairs[("metrics.json", "acc")] == pytest.approx((0.7, 0.8))
    assert pairs[("report.yaml", "score")] == pytest.approx((2.0, 3.0))


def test_params_diff_shows_what_each_result_was_made_with(project: Path) -> None:
    data = run_cli(project, "params", "diff", "HEAD~1", "HEAD", "--json").json()
    assert {(d["stage"], d["key"]): (d["old"], d["new"]) for d in data["diff"]} == {
        ("train", "lr"): (0.1, 0.2), ("report", "train.lr"): (0.1, 0.2)}
    # params.yaml edited but not re-run: the workspace's params differ from HEAD's lock
    set_lr(project, 0.5)
    now = run_cli(project, "params", "diff", "--json").json()["diff"]
    assert {(d["stage"], d["key"]): (d["old"], d["new"]) for d in now} == {
        ("train", "lr"): (0.2, 0.5), ("report", "train.lr"): (0.2, 0.5)}


def test_metrics_show_covers_python_and_shell_stages(project: Path) -> None:
    data = run_cli(project, "metrics", "show", "--json").json()
    by_path = {m["path"]: m for m in data["metrics"]}
    assert set(by_path) == {"metrics.json", "report.yaml", "scores.tsv"}
    assert by_path["metrics.json"]["stage"] == "train"
    assert by_path["metrics.json"]["values"]["avg_prec.test"] == 0.7
    assert by_path["report.yaml"]["stage"] == "report"
    assert by_path["scores.tsv"]["values"] == {"precision": 0.9, "recall": 0.5}
    old = run_cli(project, "metrics", "show", "--rev", "HEAD~1", "--json").json()
    assert {m["path"]: m["values"] for m in old["metrics"]}["metrics.json"]["acc"] == 0.6
    text = run_cli(project, "metrics", "show", "train").out
    assert "avg_prec.test" in text and "report.yaml" not in text


def test_params_show_effective_values(project: Path) -> None:
    data = run_cli(project, "params", "show", "--json").json()
    values = {p["stage"]: p["values"] for p in data["params"]}
    assert values["train"] == {"lr": 0.2, "epochs": 3, "seed": 1}  # defaults merged with params.yaml
    assert values["report"] == {"train.lr": 0.2}


def _check_markdown(text: str, columns: int) -> list[list[str]]:
    lines = text.strip().splitlines()
    assert len(lines) >= 3
    assert re.fullmatch(r"\|(---\|)+", lines[1]), lines[1]
    rows = []
    for line in [lines[0], *lines[2:]]:
        assert line.startswith("| ") and line.endswith(" |"), line
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
        assert len(cells) == columns, line
        rows.append(cells)
    assert lines[1].count("---") == columns
    return rows


def test_markdown_tables_are_valid(project: Path) -> None:
    rows = _check_markdown(run_cli(project, "metrics", "diff", "HEAD~1", "HEAD", "--md").out, 6)
    assert rows[0] == ["path", "key", "HEAD~1", "HEAD", "change", "%"]
    assert ["metrics.json", "acc", "0.6", "0.7", "0.1", "+16.7%"] in rows
    assert len(rows) == 1 + len(CHANGED_METRICS)
    rows = _check_markdown(run_cli(project, "params", "diff", "HEAD~1", "HEAD", "--md").out, 6)
    assert len(rows) == 3
    _check_markdown(run_cli(project, "metrics", "show", "--md").out, 4)
    _check_markdown(run_cli(project, "params", "show", "--md").out, 3)


def test_csv_holds_the_same_rows_as_markdown(project: Path) -> None:
    """`--csv`, as DVC's show and diff commands have it: the same header and rows, CSV-quoted."""
    import csv
    import io

    for args, columns in ((("metrics", "diff", "HEAD~1", "HEAD"), 6), (("params", "diff", "HEAD~1", "HEAD"), 6),
                          (("metrics", "show"), 4), (("params", "show"), 3)):
        md = _check_markdown(run_cli(project, *args, "--md").out, columns)
        rows = list(csv.reader(io.StringIO(run_cli(project, *args, "--csv").out)))
        assert rows == [[c.replace("\\|", "|") for c in row] for row in md], args
    assert run_cli(project, "metrics", "show", "--csv", "--json").json()["metrics"]  # the last flag wins


def test_without_git_the_workspace_works_and_revisions_are_a_user_error(project: Path) -> None:
    import shutil

    shutil.rmtree(project / ".git")
    assert run_cli(project, "metrics", "show", "--json").json()["metrics"]
    for args in (("metrics", "diff"), ("get", "--rev", "HEAD", "model.txt")):
        result = run_cli(project, *args, check=False)
        assert result.code == 2, (args, result.err)
        assert result.err.count("\n") == 1 and "git repository" in result.err, result.err


def test_unknown_revision_is_one_line(project: Path) -> None:
    result = run_cli(project, "metrics", "diff", "nosuchrev", check=False)
    assert result.code == 2 and "unknown git revision 'nosuchrev'" in result.err
    assert "Traceback" not in result.err


def test_python_api_returns_the_same_data(project: Path) -> None:
    import pivot

    shown = pivot.metrics(root=project)
    assert shown.values()["metrics.json"]["acc"] == 0.7
    assert "<table>" in shown._repr_html_()
    changed = pivot.metrics_diff("HEAD~1", "HEAD", root=project)
    assert json.loads(json.dumps(changed.to_json()))["diff"] == run_cli(
        project, "metrics", "diff", "HEAD~1", "HEAD", "--json").json()["diff"]
    params = pivot.params(root=project)
    assert "train" in repr(params)


def test_commit_then_diff_against_new_head(project: Path) -> None:
    set_lr(project, 0.3)
    run_cli(project, "repro")
    commit_all(project, "lr=0.3")
    pairs = _pairs(run_cli(project, "metrics", "diff", "HEAD~2", "HEAD", "--json").json()["diff"])
    assert pairs[("metrics.json", "acc")] == pytest.approx((0.6, 0.8))
