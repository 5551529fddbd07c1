"""A push killed half-way leaves a consistent remote; the next push finishes the job."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from pivot.cache.odb import ObjectStore
from pivot.digest import hash_bytes
from pivot.remote.retry import KILL_AFTER_ENV
from tests.fixtures.project import PIVOT, run_cli
from tests.remote.conftest import FRESH, add_remote, clone


def _data_project(root: Path, files: int) -> Path:
    root.mkdir(parents=True)
    run_cli(root, "init")
    many = root / "data" / "many"
    many.mkdir(parents=True)
    for i in range(files):
        (many / f"part_{i:04d}.txt").write_text(f"row {i}\n" * (i % 7 + 1))
    run_cli(root, "track", "data/many")
    return root


@pytest.mark.parametrize(("kind", "files", "kill_after"), [("file", 300, 120), pytest.param("s3", 30, 12, marks=pytest.mark.s3)])
def test_killed_push_is_finished_by_the_next(tmp_path: Path, request: pytest.FixtureRequest,
                                             kind: str, files: int, kill_after: int) -> None:
    url = f"file://{tmp_path / 'remote'}" if kind == "file" else request.getfixturevalue("s3_bucket") + "/c"
    a = _data_project(tmp_path / "a", files)
    add_remote(a, url)
    env = {**os.environ, KILL_AFTER_ENV: str(kill_after)}
    killed = subprocess.run([*PIVOT, "push", "-j", "4"], cwd=a, env=env, capture_output=True, timeout=120)
    assert killed.returncode == -9  # died like SIGKILL: no cleanup ran

    store = ObjectStore(url, storage_options=FRESH)
    partial = set(store.iter_objects())
    assert kill_after <= len(partial) < files + 1  # some objects, and never the manifest
    b = clone(a, tmp_path / "b")
    assert run_cli(b, "pull", check=False).code == 1  # the tree is not there yet: reported missing

    finished = run_cli(a, "push", "--json").json()
    assert finished["ok"] and finished["transferred"] == files + 1 - len(partial)
    everything = set(store.iter_objects())
    assert len(everything) == files + 1
    for d in everything:
        assert hash_bytes(store.get_bytes(d)) == d  # every object verifies
    run_cli(b, "pull")
    assert sorted(p.name for p in (b / "data" / "many").iterdir()) == sorted(
        p.name for p in (a / "data" / "many").iterdir())
    last = f"part_{files - 1:04d}.txt"
    assert (b / "data" / "many" / last).read_bytes() == (a / "data" / "many" / last).read_bytes()
