"""A pull whose objects and run records are all here already never contacts the remote
(so it does not even import s3fs); anything damaged or gone still is fetched again."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from tests.fixtures.project import outputs_snapshot, run_cli
from tests.remote.conftest import add_remote, working_copy

pytestmark = pytest.mark.s3


def test_noop_pull_makes_no_request(origin: Path, tmp_path: Path, s3_bucket: str,
                                    s3_requests: list[tuple[str, str, str]]) -> None:
    a = working_copy(origin, tmp_path / "a")
    add_remote(a, s3_bucket + "/store")
    run_cli(a, "push")
    before = outputs_snapshot(a)
    s3_requests.clear()
    pulled = run_cli(a, "pull", "--json").json()
    assert pulled["ok"] and pulled["transferred"] == 0 and pulled["records"] == 0
    assert s3_requests == []
    # A removed output comes back from the local cache, still without asking the remote.
    victim = next(p for p in sorted((a / "prep").rglob("*")) if p.is_file())
    victim.unlink()
    assert run_cli(a, "pull", "--json").json()["ok"]
    assert s3_requests == [] and outputs_snapshot(a) == before


def _tracked_only(root: Path, url: str) -> Path:
    root.mkdir()
    run_cli(root, "init")
    (root / "data").mkdir()
    (root / "data" / "a.txt").write_text("alpha\n")
    (root / "data" / "b.txt").write_text("beta\n")
    run_cli(root, "track", "data")
    add_remote(root, url)
    run_cli(root, "push")
    return root


def _object_of(root: Path, content: bytes) -> Path:
    found = [p for p in (root / ".pivot" / "cache").rglob("*") if p.is_file() and p.read_bytes() == content]
    assert len(found) == 1
    return found[0]


def test_tracked_only_noop_pull_makes_no_request(tmp_path: Path, s3_bucket: str,
                                                 s3_requests: list[tuple[str, str, str]]) -> None:
    root = _tracked_only(tmp_path / "p", s3_bucket + "/store")
    s3_requests.clear()
    pulled = run_cli(root, "pull", "--json").json()
    assert pulled["ok"] and pulled["transferred"] == 0 and pulled["checked_out"] == []
    assert s3_requests == []


def test_corrupt_local_object_is_fetched_again(tmp_path: Path, s3_bucket: str,
                                               s3_requests: list[tuple[str, str, str]]) -> None:
    """The skip never trusts the local cache's bytes: checkout verifies and re-fetches."""
    root = _tracked_only(tmp_path / "p", s3_bucket + "/store")
    obj = _object_of(root, b"alpha\n")
    os.chmod(obj, stat.S_IWUSR | stat.S_IRUSR)
    obj.write_bytes(b"ALPHA\n")
    (root / "data" / "a.txt").unlink()
    s3_requests.clear()
    pulled = run_cli(root, "pull", "--json").json()
    assert pulled["ok"] and "data/" in pulled["checked_out"]
    assert (root / "data" / "a.txt").read_text() == "alpha\n"
    assert any(method == "GET" for method, _, _ in s3_requests)  # the good bytes came from the remote


def test_object_gone_locally_is_fetched(tmp_path: Path, s3_bucket: str,
                                        s3_requests: list[tuple[str, str, str]]) -> None:
    root = _tracked_only(tmp_path / "p", s3_bucket + "/store")
    obj = _object_of(root, b"beta\n")
    os.chmod(obj.parent, 0o755)
    obj.unlink()
    (root / "data" / "b.txt").unlink()
    pulled = run_cli(root, "pull", "--json").json()
    assert pulled["ok"] and pulled["transferred"] == 1
    assert (root / "data" / "b.txt").read_text() == "beta\n"
