"""The benchmark harness keeps each report's raw results beside that report (tests/benchmarks/run.py).

A run with `--output /tmp/iso-check.md` once overwrote the raw results of BENCHMARKS.md with its one
row; the next `--merge` run rendered BENCHMARKS.md from that and ~60 rows were lost. No benchmark
runs here: `collect` hands back ready rows, so only the harness's file handling is exercised.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.benchmarks import run
from tests.benchmarks.common import Row
from tests.benchmarks.measure import Sample, Series


def _row(rid: str, wall: float) -> Row:
    return Row(rid, f"scenario {rid}", 100, Series([Sample(wall, 40.0, wall, 0, "", "")]))


@pytest.fixture()
def canonical(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """BENCHMARKS.md and its raw results with two rows, in tmp_path (never the repository's own)."""
    report, results = tmp_path / "BENCHMARKS.md", tmp_path / "work" / "results.json"
    monkeypatch.setattr(run, "DEFAULT_OUTPUT", report)
    monkeypatch.setattr(run, "RESULTS", results)
    monkeypatch.setattr(run, "WORK", tmp_path / "work")
    monkeypatch.setattr(run, "machine", lambda: {"cores": "test"})
    results.parent.mkdir()
    meta = {"command": "make bench", "date": "2026-01-01T00:00:00", "elapsed_min": 1.0, "pivot_reps": 5,
            "dvc_reps": 3, "mode": "test", "machine": {"cores": "test"}, "notes": []}
    rows = [_row("noop_status", 0.3).to_json(), _row("noop_repro", 0.4).to_json()]
    results.write_text(json.dumps({"meta": meta, "rows": rows, "profiles": []}))
    return results


def _measure(monkeypatch: pytest.MonkeyPatch, *rows: Row) -> None:
    monkeypatch.setattr(run, "collect", lambda cfg: (list(rows), []))


def _ids(results: Path) -> list[tuple[str, float]]:
    return [(r["id"], r["pivot"]["wall_s"][0]) for r in json.loads(results.read_text())["rows"]]


def test_results_belong_to_their_report(canonical: Path, tmp_path: Path) -> None:
    assert run.results_for(run.DEFAULT_OUTPUT) == canonical
    assert run.results_for(tmp_path / "check.md") == tmp_path / "check.md.json"


def test_other_output_never_writes_the_canonical_results(
        canonical: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = canonical.read_bytes()
    check = tmp_path / "check.md"
    _measure(monkeypatch, _row("hash", 0.2))
    assert run.main(["--only", "hash", "--output", str(check)]) == 0
    assert canonical.read_bytes() == before
    assert _ids(tmp_path / "check.md.json") == [("hash", 0.2)]
    # A --merge run into the same trial report merges from the trial report's own results.
    _measure(monkeypatch, _row("hash", 0.25), _row("help", 0.06))
    assert run.main(["--only", "hash,startup", "--output", str(check), "--merge"]) == 0
    assert canonical.read_bytes() == before
    assert _ids(tmp_path / "check.md.json") == [("hash", 0.25), ("help", 0.06)]


def test_default_output_merges_onto_the_canonical_results(
        canonical: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _measure(monkeypatch, _row("noop_repro", 0.35))
    assert run.main(["--only", "noop_repro", "--merge"]) == 0
    assert _ids(canonical) == [("noop_status", 0.3), ("noop_repro", 0.35)]
    assert "scenario noop_status" in run.DEFAULT_OUTPUT.read_text()


def test_report_only_reads_the_outputs_own_results(
        canonical: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run.main(["--report-only"]) == 0
    assert "scenario noop_repro" in run.DEFAULT_OUTPUT.read_text()
    assert run.main(["--report-only", "--output", str(tmp_path / "other.md")]) == 2
    assert "other.md.json" in capsys.readouterr().err
    assert not (tmp_path / "other.md").exists()


def _results_table(text: str) -> list[str]:
    return [ln for ln in text.split("\n## Results\n", 1)[1].split("\n## ", 1)[0].splitlines() if ln.startswith("|")]


def test_the_repositorys_report_reads_back_to_the_same_table() -> None:
    """Every row of the committed BENCHMARKS.md is read back (tests/benchmarks/rebuild.py) and
    renders the same line, except a ratio of two rounded figures (its last digit)."""
    from tests.benchmarks import rebuild, report

    text = (run.REPO / "BENCHMARKS.md").read_text()
    rows = rebuild.rows_from_report(text)
    before, after = _results_table(text), report.table(rows)
    assert len(before) == len(after) > 30
    for old, new in zip(before, after, strict=True):
        if old != new:  # only the ratio column may move, by rounding
            assert old.split(" | ")[:7] == new.split(" | ")[:7], (old, new)
    verdicts = [ln.split(" | ")[1] for ln in report.targets(rows)[2:]]
    section = text.split("\n## Targets\n", 1)[1].split("\n## ", 1)[0]
    committed = [ln.split(" | ")[1] for ln in section.splitlines() if ln.startswith("| ") and "**" in ln]
    assert verdicts == committed
    meta = rebuild.meta_from_report(text)
    assert meta["machine"] and meta["pivot_reps"] > 0 and meta["notes"]


def test_merge_without_raw_results_keeps_every_row_of_the_report(
        canonical: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A fresh machine had no raw results (they lived in the untracked work folder): a --merge there
    rendered only the rows it had just measured. It now reads the others back from the report."""
    data = json.loads(canonical.read_text())
    for raw, title in zip(data["rows"], ("no-op status", "no-op repro"), strict=True):
        raw["title"] = title  # the report's real titles: reading back keys rows by them
    canonical.write_text(json.dumps(data))
    assert run.main(["--report-only"]) == 0
    report_text = run.DEFAULT_OUTPUT.read_text()
    canonical.unlink()
    _measure(monkeypatch, Row("noop_repro", "no-op repro", 100, Series([Sample(0.35, 40.0, 0.35, 0, "", "")])))
    assert run.main(["--only", "noop_repro", "--merge"]) == 0
    assert _ids(canonical) == [("noop_status", 0.3), ("noop_repro", 0.35)]
    text = run.DEFAULT_OUTPUT.read_text()
    assert "read back from BENCHMARKS.md" in text
    assert _results_table(text)[2] == _results_table(report_text)[2]  # the kept row, as it was


def test_a_section_left_empty_keeps_its_old_text() -> None:
    old = "# R\n\n## Targets\n\nold targets\n\n## Where Pivot's time goes\n\nold profile\n\n## Extra\n\nkept\n"
    new = "# R\n\n## Targets\n\nnew targets\n\n## Where Pivot's time goes\n"
    assert run._keep_other_sections(old, new) == (
        "# R\n\n## Targets\n\nnew targets\n\n## Where Pivot's time goes\n\nold profile\n\n## Extra\n\nkept\n")
