"""DVC 2 projects: objects at .dvc/cache/ab/cdef..., md5 of text with CRLF read as LF, no `hash:` field.

Written by hand in DVC 2's format (DVC 2 itself is not installed); a damaged cache object
is refused (DESIGN rule 13).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from tests.fixtures.project import run_cli

CRLF = b"first\r\nsecond\r\n"


def _legacy_md5(data: bytes) -> str:
    return hashlib.md5(data.replace(b"\r\n", b"\n")).hexdigest()


def _put(root: Path, data: bytes, md5: str) -> None:
    obj = root / ".dvc" / "cache" / md5[:2] / md5[2:]
    obj.parent.mkdir(parents=True, exist_ok=True)
    obj.write_bytes(data)


def test_dvc2_tracked_data_and_lock_are_imported_and_adopted(tmp_path: Path) -> None:
    md5 = _legacy_md5(CRLF)
    assert md5 != hashlib.md5(CRLF).hexdigest()  # the case DVC 3 hashes differently
    _put(tmp_path, CRLF, md5)
    _put(tmp_path, b"bad bytes\n", "ab" * 16)  # an object whose bytes do not match its name
    (tmp_path / "data.txt").write_bytes(CRLF)
    (tmp_path / "copy.txt").write_bytes(CRLF)
    (tmp_path / "data.txt.dvc").write_text(f"outs:\n- md5: {md5}\n  size: {len(CRLF)}\n  path: data.txt\n")
    (tmp_path / "bad.txt.dvc").write_text(f"outs:\n- md5: {'ab' * 16}\n  path: bad.txt\n")
    (tmp_path / "dvc.yaml").write_text("stages:\n  copy:\n    cmd: cp data.txt copy.txt\n"
                                       "    deps: [data.txt]\n    outs: [copy.txt]\n")
    (tmp_path / "dvc.lock").write_text(
        "schema: '2.0'\nstages:\n  copy:\n    cmd: cp data.txt copy.txt\n"
        f"    deps:\n    - path: data.txt\n      md5: {md5}\n"
        f"    outs:\n    - path: copy.txt\n      md5: {md5}\n")
    report = run_cli(tmp_path, "import-dvc", "--json").json()
    assert report["adopted"] == ["copy"] and report["tracked"] == ["data.txt"]
    assert any("bad.txt not imported" in n and "damaged" in n for n in report["notes"]["not_converted"])
    (tmp_path / "data.txt").unlink()
    run_cli(tmp_path, "checkout")
    assert (tmp_path / "data.txt").read_bytes() == CRLF
    stages = run_cli(tmp_path, "repro", "--all", "--json").json()["stages"]
    assert [s["status"] for s in stages] == ["skipped"]


def test_not_a_dvc_project_is_a_user_error(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "import-dvc", check=False)
    assert result.code == 2 and "not a DVC project" in result.err and "Traceback" not in result.err
