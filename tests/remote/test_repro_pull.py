"""`repro --pull` on a fresh clone restores or checks out every stage; none runs."""

from __future__ import annotations

from pathlib import Path

from tests.fixtures.project import outputs_snapshot, run_cli
from tests.remote.conftest import add_remote, clone, working_copy

RAW_V2 = "one two\nthree four\nfive six\n"


def _statuses(report: dict[str, object]) -> dict[str, str]:
    stages = report["stages"]
    assert isinstance(stages, list)
    return {s["name"]: s["status"] for s in stages}


def test_fresh_clone_restores_from_remote_run_cache(origin: Path, tmp_path: Path, remote_url: str) -> None:
    a = working_copy(origin, tmp_path / "a")
    add_remote(a, remote_url)
    run_cli(a, "push")
    # Another clone computes a second version of the input and shares it.
    (a / "data" / "raw.txt").write_text(RAW_V2)
    run_cli(a, "track", "--force", "data/raw.txt")
    assert run_cli(a, "repro", "--json").json()["ran"] == 8
    run_cli(a, "push")

    b = clone(origin, tmp_path / "b")  # lock files and .pvt of the first version
    add_remote(b, remote_url)
    first = run_cli(b, "repro", "--pull", "--json").json()
    assert first["ran"] == 0 and first["failed"] == 0
    assert set(_statuses(first).values()) <= {"checked_out", "skipped", "restored"}
    assert outputs_snapshot(b) == outputs_snapshot(origin)

    c = clone(origin, tmp_path / "c")
    add_remote(c, remote_url)
    (c / "data").mkdir(exist_ok=True)
    (c / "data" / "raw.txt").write_text(RAW_V2)  # edited before anything was fetched
    second = run_cli(c, "repro", "--pull", "--json").json()
    assert second["ran"] == 0 and second["failed"] == 0
    assert _statuses(second)["prep:clean"] == "restored"
    a_out = {k: v for k, v in outputs_snapshot(a).items() if not k.endswith(".pvt")}
    c_out = {k: v for k, v in outputs_snapshot(c).items() if not k.endswith(".pvt")}
    assert c_out == a_out
