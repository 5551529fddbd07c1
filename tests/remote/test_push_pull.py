"""push -> fresh clone -> pull: the clone verifies and `repro` runs nothing (file:// and S3)."""

from __future__ import annotations

from pathlib import Path

from tests.fixtures.project import outputs_snapshot, run_cli
from tests.remote.conftest import add_remote, clone, working_copy


def test_push_clone_pull_verify_and_nothing_runs(origin: Path, tmp_path: Path, remote_url: str) -> None:
    a = working_copy(origin, tmp_path / "a")
    add_remote(a, remote_url)
    first = run_cli(a, "push", "--json").json()
    assert first["ok"] and first["transferred"] == 13 and first["records"] == 8
    assert run_cli(a, "push", "--json").json()["transferred"] == 0  # all known: nothing moves

    b = clone(a, tmp_path / "b")
    status = run_cli(b, "remote", "status", "--json").json()
    assert status["to_pull"] == 13 and status["to_push"] == 0 and status["missing"] == []
    pulled = run_cli(b, "pull", "--json").json()
    assert pulled["ok"] and pulled["transferred"] == 13 and pulled["records"] == 8
    run_cli(b, "verify")
    report = run_cli(b, "repro", "--json").json()
    assert report["ran"] == 0 and report["failed"] == 0
    assert {s["status"] for s in report["stages"]} <= {"skipped", "checked_out"}
    assert outputs_snapshot(b) == outputs_snapshot(a)


def test_push_verify_repairs_what_the_index_trusted(origin: Path, tmp_path: Path) -> None:
    """The index only saves checks; `push --verify` asks the remote and re-sends a lost object."""
    from pivot.cache.odb import ObjectStore
    from pivot.lockfile import read

    a = working_copy(origin, tmp_path / "a")
    url = f"file://{tmp_path / 'remote'}"
    add_remote(a, url)
    run_cli(a, "push")
    lock = read(a / ".pivot" / "stages" / "prep" / "clean.lock")
    assert lock is not None
    store = ObjectStore(url)
    store.delete(lock.outs[0].digest)  # lost behind the index's back
    assert run_cli(a, "push", "--json").json()["transferred"] == 0
    assert run_cli(a, "push", "--verify", "--json").json()["transferred"] == 1
    assert store.exists(lock.outs[0].digest)


def test_targets_select_stages_and_tracked_paths(origin: Path, tmp_path: Path) -> None:
    a = working_copy(origin, tmp_path / "a")
    add_remote(a, f"file://{tmp_path / 'remote'}")
    pushed = run_cli(a, "push", "prep:clean", "data/raw.txt", "--json").json()
    assert pushed["transferred"] == 2 and pushed["records"] == 1
    b = clone(a, tmp_path / "b")
    run_cli(b, "pull", "prep:clean")
    assert (b / "prep" / "clean.txt").read_bytes() == (a / "prep" / "clean.txt").read_bytes()
    assert not (b / "prep" / "split").exists()


class _Recorder:
    """A Progress of our own: what the CLI's bar and the notebook's display are told."""

    def __init__(self) -> None:
        self.objects = self.nbytes = self.advanced = 0

    def add_total(self, objects: int, nbytes: int) -> None:
        self.objects += objects
        self.nbytes += nbytes

    def advance(self, nbytes: int) -> None:
        self.advanced += 1


def test_python_api_reports_progress_through_the_protocol(origin: Path, tmp_path: Path) -> None:
    import pivot

    a = working_copy(origin, tmp_path / "a")
    add_remote(a, f"file://{tmp_path / 'remote'}")
    pushed_bar = _Recorder()
    report = pivot.push(root=a, cwd=a, progress=pushed_bar)
    assert report.transferred == 13 and pushed_bar.objects == 13 and pushed_bar.advanced == 13
    b = clone(a, tmp_path / "b")
    pulled_bar = _Recorder()
    pulled = pivot.pull(root=b, cwd=b, progress=pulled_bar)
    assert pulled.transferred == 13 and pulled_bar.advanced >= 11  # files; manifests are stored after
    assert outputs_snapshot(b) == outputs_snapshot(a)
