"""Output capture reuses one pair of temp files per worker: each stage sees only its own output."""

from __future__ import annotations

import os
import subprocess
import threading

from pivot.executor.capture import capture_output


def test_each_capture_holds_only_its_own_output() -> None:
    with capture_output() as first:
        subprocess.run(["sh", "-c", "echo long-first-line-from-stage-one; echo err-one >&2"], check=True)
    with capture_output() as second:
        os.write(1, b"two\n")
    assert first.stdout == "long-first-line-from-stage-one\n" and first.stderr == "err-one\n"
    assert second.stdout == "two\n" and second.stderr == ""


def test_a_concurrent_capture_gets_its_own_files() -> None:
    inner_seen: list[str] = []
    started, release = threading.Event(), threading.Event()

    def other() -> None:
        with capture_output():  # holds the shared pair while the main thread captures
            started.set()
            release.wait(10)

    thread = threading.Thread(target=other)
    thread.start()
    started.wait(10)
    with capture_output() as mine:
        os.write(2, b"mine\n")
    inner_seen.append(mine.stderr)
    release.set()
    thread.join()
    assert inner_seen == ["mine\n"]
