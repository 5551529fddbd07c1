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


def test_checkout_keeps_changes_no_cache_has(reproduced_project: Path) -> None:
    """`pivot checkout` never destroys bytes it cannot bring back (as `dvc checkout` asks first): a
    changed tracked file or output whose bytes are in no cache is kept and named, the rest is
    restored; `--force` discards the change; targets may be tracked paths (or their .pvt)."""
    root = reproduced_project
    raw, small, large = root / "data" / "raw.txt", root / "model" / "model_small.json", root / "model" / "model_large.json"
    recorded = {p: p.read_bytes() for p in (raw, small)}
    raw.write_text(RAW_V2)  # new bytes, never tracked: in no cache
    small.write_text('{"hand": "edited"}')
    (root / "prep" / "clean.txt").unlink()
    shard = sorted((root / "prep" / "shards").iterdir())[0]
    shard.unlink()  # a file gone from an output folder: nothing is lost by restoring it

    kept = run_cli(root, "checkout", check=False)
    assert kept.code == 2 and kept.err.count("\n") == 1 and "Traceback" not in kept.err, kept.err
    assert "data/raw.txt" in kept.err and "model/model_small.json" in kept.err and "--force" in kept.err
    assert raw.read_text() == RAW_V2 and small.read_text() == '{"hand": "edited"}'  # untouched
    assert (root / "prep" / "clean.txt").exists() and shard.exists()  # the rest was restored
    assert "shards" not in kept.err

    assert run_cli(root, "checkout", "data/raw.txt.pvt", check=False).code == 2
    (root / "data" / "more.txt").write_text("more\n")
    run_cli(root, "track", "data/more.txt")
    (root / "data" / "more.txt").unlink()
    run_cli(root, "remote", "add", "origin", f"file://{root.parent / 'remote'}", "--default")
    assert run_cli(root, "pull", "data/more.txt").code == 0  # only what was asked: raw.txt is not in the way
    assert (root / "data" / "more.txt").read_text() == "more\n" and raw.read_text() == RAW_V2
    assert run_cli(root, "checkout", "--force", "model:train@small").code == 0
    assert small.read_bytes() == recorded[small]
    small.write_bytes(large.read_bytes())  # changed, but to bytes the cache holds: nothing is lost
    assert run_cli(root, "checkout", "model:train@small").code == 0
    assert small.read_bytes() == recorded[small]
    assert run_cli(root, "checkout", "-f", "data/raw.txt").code == 0
    assert raw.read_bytes() == recorded[raw]
