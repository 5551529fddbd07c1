"""pull selects (issue 12): with no targets it fetches what this workspace's locks and .pvt
files use plus their stage keys' run records, not the whole remote (observed: 46 objects
fetched where 17 were needed); `status --remote` counts exactly what push/pull transfer."""

from __future__ import annotations

from pathlib import Path

from tests.fixtures.project import run_cli
from tests.fresh import gitrepo


def _files(cache: Path) -> int:
    return sum(1 for p in (cache / "files").rglob("*") if p.is_file()) if cache.exists() else 0


def _runs(cache: Path) -> int:
    return sum(1 for p in (cache / "runs").rglob("*") if p.is_file()) if cache.exists() else 0


def test_pull_fetches_what_the_workspace_uses_and_status_counts_it(origin: Path, tmp_path: Path) -> None:
    a = origin
    remote = tmp_path / "remote"
    run_cli(a, "remote", "add", "origin", f"file://{remote}", "--default")
    gitrepo.commit_sources(a, "remote")
    expected = run_cli(a, "status", "--remote", "--json").json()
    pushed = run_cli(a, "push", "--json").json()
    assert pushed["transferred"] == expected["to_push"] > 0
    assert pushed["records"] == expected["records_to_push"] > 0
    needed = _files(remote)  # one version: everything on the remote is needed

    for i, text in enumerate(("one two\nthree four\n", "five six\nseven\n")):
        (a / "data" / "raw.txt").write_text(text)
        run_cli(a, "track", "data/raw.txt")
        run_cli(a, "repro", "--all")
        expected = run_cli(a, "status", "--remote", "--json").json()
        pushed = run_cli(a, "push", "--json").json()
        assert pushed["transferred"] == expected["to_push"] > 0, (i, expected, pushed)
    assert run_cli(a, "status", "--remote", "--json").json()["to_push"] == 0

    b = gitrepo.clone(a, tmp_path / "b")  # at the first version
    cache = b / ".pivot" / "cache"
    counts = run_cli(b, "status", "--remote", "--json").json()
    pulled = run_cli(b, "pull", "--json").json()
    assert pulled["transferred"] == counts["to_pull"] == needed == _files(cache)
    assert pulled["records"] == counts["records_to_pull"] == _runs(cache) < _runs(remote)
    assert _files(cache) < _files(remote)
    assert run_cli(b, "status", "--remote", "--json").json()["to_pull"] == 0
    assert run_cli(b, "repro", "--json").json()["ran"] == 0
    run_cli(b, "verify")

    # Every run record and what it names (the tracked data of other commits is named by their
    # .pvt files only, so it stays on the remote).
    before = _files(cache)
    everything = run_cli(b, "pull", "--all-history", "--json").json()
    assert everything["transferred"] == _files(cache) - before > 0 and _runs(cache) == _runs(remote)
