"""An isolated stage's scratch folder is removed off the result's path (pivot.executor.sweep)."""

from __future__ import annotations

from pathlib import Path

from pivot.executor import sweep


def _folder(root: Path, name: str) -> Path:
    folder = root / name
    (folder / "a" / "b").mkdir(parents=True)
    for i in range(3):
        (folder / "a" / "b" / f"f{i}").write_bytes(b"x" * 100)
    (folder / "ro.txt").write_text("read-only")
    (folder / "ro.txt").chmod(0o444)
    return folder


def test_folders_are_removed_in_the_background_and_drain_waits(tmp_path: Path) -> None:
    folders = [_folder(tmp_path, f"pivot-s{i}-") for i in range(5)]
    for f in folders:
        sweep.remove_later(f)
    sweep.remove_later(tmp_path / "never-existed")  # already gone: no error, nothing raised later
    sweep.drain(timeout=30)
    assert not any(f.exists() for f in folders)
    assert not sweep._pending  # done futures are dropped, so a long-lived worker holds none
