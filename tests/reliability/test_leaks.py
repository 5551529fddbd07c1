"""Long-lived processes leak nothing: a session releases what it opened (issue 11).

A notebook kernel, `repro --watch` or a batch driver opens many projects in one
process; each closed session must give back its state DB (a descriptor and a
1 GiB LMDB map) and everything else it held.
"""

from __future__ import annotations

import contextlib
import gc
import os
from pathlib import Path

import pivot
from pivot.api import session

PIPELINE = """
from pivot import Pipeline

pipeline = Pipeline("leak")
pipeline.register_cmd("copy", cmd="cp in.txt out.txt", deps=["in.txt"], outs=["out.txt"])
"""


def _fds(under: Path) -> int:
    """Descriptors open on files of the test's projects. Counting only those keeps the check
    exact while session fixtures of other tests (a moto server, a Dask client) open sockets."""
    found = 0
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):
            if os.readlink(f"/proc/self/fd/{fd}").startswith(str(under)):
                found += 1
    return found


def _lmdb_maps() -> int:
    with open("/proc/self/maps") as maps:
        return sum(1 for line in maps if ".lmdb" in line or "data.mdb" in line or "lock.mdb" in line)


def _rss_kib() -> int:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))


def _project(folder: Path) -> Path:
    folder.mkdir()
    pivot.api.init(folder)
    (folder / "in.txt").write_text("x\n")
    (folder / "pipeline.py").write_text(PIPELINE)
    return folder


def _use(root: Path) -> None:
    pivot.api.status(root=root, cwd=root)  # discovery, planning, hashing: the state DB is written
    with session(root, root) as s:
        assert s.ws.workspace_hash("in.txt") is not None


def test_sessions_on_200_projects_release_everything(tmp_path: Path) -> None:
    warm = _project(tmp_path / "warm")  # imports and first-use caches are not leaks
    _use(warm)
    gc.collect()
    fds, maps, rss = _fds(tmp_path), _lmdb_maps(), _rss_kib()
    for i in range(200):
        _use(_project(tmp_path / f"p{i}"))
    gc.collect()
    assert _fds(tmp_path) == fds, "file descriptors leaked"
    assert _lmdb_maps() == maps, "LMDB environments left mapped"
    grown = _rss_kib() - rss
    assert grown < 64 * 1024, f"resident memory grew by {grown} KiB over 200 projects"
