"""Output capture: each stage sees only its own output, however many stages a worker ran before."""

from __future__ import annotations

import os
import subprocess

from pivot.executor.capture import capture_output


def test_each_capture_holds_only_its_own_output() -> None:
    with capture_output() as first:
        subprocess.run(["sh", "-c", "echo long-first-line-from-stage-one; echo err-one >&2"], check=True)
    with capture_output() as second:
        os.write(1, b"two\n")
    assert first.stdout == "long-first-line-from-stage-one\n" and first.stderr == "err-one\n"
    assert second.stdout == "two\n" and second.stderr == ""
