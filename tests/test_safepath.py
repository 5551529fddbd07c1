"""The one path check (pivot.safepath): what it accepts, what it refuses, and why."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest

from pivot.errors import UserError
from pivot.safepath import UnsafePathError, check_writable, safe_entry, safe_path


@pytest.mark.parametrize(("raw", "expected"), [
    ("a/b.txt", "a/b.txt"), ("a/./b.txt", "a/b.txt"), ("a/x/../b.txt", "a/b.txt"), ("out/", "out/"),
    ("a//b", "a/b"), (".pivotish/x", ".pivotish/x"),
])
def test_accepted_paths_come_back_normalised(raw: str, expected: str) -> None:
    assert safe_path(raw, source="f.lock") == expected


@pytest.mark.parametrize(("raw", "why"), [
    ("../outside.txt", "leaves"), ("a/../../x", "leaves"), ("..", "leaves"), ("/etc/passwd", "absolute"),
    ("", "empty"), ("/", "empty"), (".", "root itself"), ("a\x00b", "NUL"), (".pivot/config.yaml", ".pivot"),
    ("x/../.pivot/cache", ".pivot"), (".pivot", ".pivot"), (None, "not a string"), (["a"], "not a string"),
])
def test_refused_paths_name_the_file_and_the_path(raw: object, why: str) -> None:
    with pytest.raises(UnsafePathError, match=why) as info:
        safe_path(raw, source="stages/x.lock")
    assert isinstance(info.value, UserError) and info.value.exit_code == 2
    assert str(info.value).startswith("stages/x.lock: refusing path")
    assert "\n" not in str(info.value) and "\x00" not in str(info.value)
    assert info.value.source == "stages/x.lock"


@pytest.mark.parametrize("raw", ["../x", "a/../b", "./a", "a//b", "/abs", "", "a/"])
def test_directory_entries_must_be_plain(raw: str) -> None:
    with pytest.raises(UnsafePathError):
        safe_entry(raw, source="manifest")


def test_the_error_survives_pickling() -> None:
    error = UnsafePathError("f: refusing path 'x'", path="x", stage="s", source="f")
    back = pickle.loads(pickle.dumps(error))
    assert (type(back), str(back), back.path, back.stage, back.source) == (UnsafePathError, str(error), "x", "s", "f")


def test_writes_never_go_through_a_symlink_leading_outside(tmp_path: Path) -> None:
    root, outside = tmp_path / "proj", tmp_path / "elsewhere"
    (root / "real").mkdir(parents=True)
    outside.mkdir()
    os.symlink(outside, root / "link")
    os.symlink(root / "real", root / "inner")
    check_writable(root, root / "real" / "a.txt")
    check_writable(root, root / "inner" / "a.txt")  # a link that stays inside is fine
    check_writable(root, root / "new" / "deeper" / "a.txt")  # folders still to be made
    check_writable(root, root / "link")  # the link itself is replaced, not written through
    with pytest.raises(UnsafePathError, match="symlink"):
        check_writable(root, root / "link" / "a.txt")
    with pytest.raises(UnsafePathError, match="symlink"):
        check_writable(root, root / "link" / "sub" / "a.txt")
