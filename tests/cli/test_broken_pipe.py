"""`pivot history | head`: when the reader of stdout goes away the command ends quietly with
141 (what a shell reports for a tool killed by SIGPIPE), not with an "unexpected error"."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.fixtures.project import PIVOT, run_cli


def test_a_closed_stdout_ends_quietly_with_141(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    root.mkdir()
    run_cli(root, "init")
    for _ in range(3):
        run_cli(root, "repro")  # a few history rows to print
    proc = subprocess.Popen([*PIVOT, "history"], cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # the reader is gone before the first line is written
    err = proc.stderr.read().decode()
    assert proc.wait(60) == 141, err
    assert err == ""
