"""Workspace.write_lock: an equal lock already on disk is left alone, any other is replaced."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from pivot.state import StateNoop
from pivot.workspace import Workspace
from tests.test_lockfile import RECORD


def test_write_lock_skips_an_equal_lock_and_replaces_a_different_one(tmp_path: Path) -> None:
    (tmp_path / ".pivot").mkdir()
    ws = Workspace(tmp_path, state=StateNoop())
    path = ws.layout.lock_file(RECORD.stage)
    assert ws.lock(RECORD.stage) is None  # read this session: absent
    ws.write_lock(RECORD)
    first = path.stat()
    again = Workspace(tmp_path, state=StateNoop())
    assert again.lock(RECORD.stage) == RECORD
    again.write_lock(RECORD)  # equal to what this session read: not rewritten
    assert path.stat().st_ino == first.st_ino and path.stat().st_mtime_ns == first.st_mtime_ns
    changed = dataclasses.replace(RECORD, stage_key="changed")
    again.write_lock(changed)
    assert Workspace(tmp_path, state=StateNoop()).lock(RECORD.stage) == changed
    fresh = Workspace(tmp_path, state=StateNoop())  # never read: compares with the file
    fresh.write_lock(changed)
    assert fresh.lock(RECORD.stage) == changed
