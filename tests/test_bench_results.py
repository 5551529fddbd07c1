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
