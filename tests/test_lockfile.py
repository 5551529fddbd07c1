"""Lock files: round trip, corruption reads as never ran, a kill mid-write keeps the old lock."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from pivot import lockfile
from pivot.digest import Digest
from pivot.lockfile import LockRecord
from pivot.outrecord import OutRecord

RECORD = LockRecord(
    stage="models:train@small",
    stage_key="abc123",
    code={"self": "h1", "func:m._helper": "h2"},
    params={"lr": 0.1, "layers": [1, 2], "nested": {"b": 1, "a": 2}},
    deps={"data/x.csv": "xxh3_128:00ff", "data/y/": "xxh3_128:11ee"},
    outs=(OutRecord("models/out.pkl", Digest("xxh3_128", "aa"), 10), OutRecord("models/dir/", Digest("xxh3_128", "bb"), 20, True)),
    out_decls=({"path": "models/out.pkl", "kind": "out", "key": ""},),
)


def test_round_trip_and_unchanged_content_not_rewritten(tmp_path: Path) -> None:
    path = lockfile.lock_path(tmp_path, RECORD.stage)
    assert lockfile.write(path, RECORD) is True
    assert lockfile.read(path) == RECORD
    mtime = path.stat().st_mtime_ns
    assert lockfile.write(path, RECORD) is False
    assert path.stat().st_mtime_ns == mtime
    assert lockfile.dumps(RECORD) == lockfile.dumps(lockfile.read(path))  # canonical


def test_corrupt_or_foreign_lock_reads_as_never_ran(tmp_path: Path) -> None:
    path = tmp_path / "x.lock"
    path.write_text("{{{ not yaml")
    assert lockfile.read(path) is None
    path.write_text("schema_version: 999\nstage: x\n")
    assert lockfile.read(path) is None
    path.write_text("schema_version: 1\nstage: x\n")  # missing fields
    assert lockfile.read(path) is None
    assert lockfile.read(tmp_path / "missing.lock") is None


_WRITER = """
import sys, time
from pathlib import Path
from pivot import lockfile
from tests.test_lockfile import RECORD
import dataclasses
big = dataclasses.replace(RECORD, params={"blob": "x" * 50_000_000})
def slow_replace(src, dst):  # runs after the temp file is written, before the rename
    print("writing", flush=True)
    time.sleep(30)
lockfile.os.replace = slow_replace
lockfile.write(Path(sys.argv[1]), big)
"""


def test_kill_mid_write_leaves_old_lock_intact(tmp_path: Path) -> None:
    path = tmp_path / "stage.lock"
    lockfile.write(path, RECORD)
    proc = subprocess.Popen([sys.executable, "-c", _WRITER, str(path)], stdout=subprocess.PIPE, text=True,
                            cwd=Path(__file__).parent.parent)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "writing"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    time.sleep(0.05)
    assert lockfile.read(path) == RECORD


def test_lock_file_mode_follows_the_umask_and_no_temp_file_is_left(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        path = lockfile.lock_path(tmp_path, "a:b@c")
        lockfile.write(path, RECORD)
        assert path.stat().st_mode & 0o777 == 0o640
        lockfile.write(path, dataclasses.replace(RECORD, stage_key="other"), compare=False)
    finally:
        os.umask(old)
    assert lockfile.read(path) == dataclasses.replace(RECORD, stage_key="other")
    assert [p.name for p in path.parent.iterdir()] == [path.name]


def test_a_leftover_temp_name_is_not_reused(tmp_path: Path) -> None:
    path = tmp_path / "x.lock"
    taken = f"{tmp_path}/.x.lock.{os.getpid()}.{next(lockfile._tmp_names) + 1}.tmp"
    Path(taken).write_text("leftover of a killed writer with this pid")
    lockfile.write(path, RECORD)
    assert lockfile.read(path) == RECORD
    assert Path(taken).read_text() == "leftover of a killed writer with this pid"
