"""Changed data reaches teammates (issue 12): a tracked file edited without `pivot track
--force` used to be run with (correct) but never pushed, so a teammate saw every stage stale."""

from __future__ import annotations

from pathlib import Path

from tests.fixtures.project import run_cli
from tests.fresh import gitrepo

RAW_V2 = "one two\nthree four\nfive six\n"


def test_edited_tracked_file_is_named_by_push_status_and_verify(origin: Path, tmp_path: Path) -> None:
    run_cli(origin, "remote", "add", "origin", f"file://{tmp_path / 'remote'}", "--default")
    (origin / "data" / "raw.txt").write_text(RAW_V2)
    run_cli(origin, "repro", "--all")  # runs with the new bytes (correct)

    status = run_cli(origin, "status")
    assert "tracked data modified: data/raw.txt" in status.out
    assert "pivot track data/raw.txt" in status.out

    verify = run_cli(origin, "verify", check=False)
    assert verify.code == 1 and "data/raw.txt" in verify.out

    push = run_cli(origin, "push", check=False)
    assert push.code == 1, push.out + push.err
    assert "data/raw.txt" in push.err and "pivot track data/raw.txt" in push.err
    assert "pushed" in push.out  # the rest went anyway
    assert run_cli(origin, "push", "--allow-modified").code == 0

    # `pivot track PATH` (no --force) records the new bytes, as `dvc add` does.
    assert "tracked data/raw.txt" in run_cli(origin, "track", "data/raw.txt").out
    run_cli(origin, "verify")
    assert run_cli(origin, "push").code == 0
    gitrepo.commit_sources(origin, "new data")

    teammate = gitrepo.clone(origin, tmp_path / "teammate")
    run_cli(teammate, "pull")
    assert (teammate / "data" / "raw.txt").read_text() == RAW_V2
    assert run_cli(teammate, "repro", "--json").json()["ran"] == 0
    run_cli(teammate, "verify")


def test_track_needs_force_only_for_a_real_conflict(origin: Path) -> None:
    (origin / "data" / "raw.txt").unlink()
    (origin / "data" / "raw.txt").mkdir()
    (origin / "data" / "raw.txt" / "part").write_text("x\n")
    conflict = run_cli(origin, "track", "data/raw.txt", check=False)
    assert conflict.code == 2 and "--force" in conflict.err and "Traceback" not in conflict.err
    assert run_cli(origin, "track", "--force", "data/raw.txt").code == 0
