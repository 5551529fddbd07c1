"""Capture a stage's stdout/stderr at the file-descriptor level, so output
from subprocesses and C extensions is caught too (not only Python's print).
Safe because a worker process runs one stage at a time.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

_KEEP_BYTES = 64 * 1024


@dataclass
class Captured:
    stdout: str = ""
    stderr: str = ""


# A worker runs thousands of trivial stages: two temp files made once per process and
# emptied before each stage, instead of two file creations per stage.
_spare: tuple[IO[bytes], IO[bytes]] | None = None
_spare_lock = threading.Lock()


@contextlib.contextmanager
def capture_output() -> Iterator[Captured]:
    if not _spare_lock.acquire(blocking=False):  # another thread is capturing: own files
        with _capture(_new_files(), keep=False) as captured:
            yield captured
        return
    try:
        global _spare
        if _spare is None:
            _spare = _new_files()
        for handle in _spare:
            handle.seek(0)
            handle.truncate()
        with _capture(_spare, keep=True) as captured:
            yield captured
    finally:
        _spare_lock.release()


def _new_files() -> tuple[IO[bytes], IO[bytes]]:
    return (tempfile.TemporaryFile(), tempfile.TemporaryFile())  # closed by the caller (or kept for reuse)


@contextlib.contextmanager
def _capture(files: tuple[IO[bytes], IO[bytes]], *, keep: bool) -> Iterator[Captured]:
    captured = Captured()
    sys.stdout.flush()
    sys.stderr.flush()
    saved = (os.dup(1), os.dup(2))
    try:
        os.dup2(files[0].fileno(), 1)
        os.dup2(files[1].fileno(), 2)
        yield captured
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        os.close(saved[0])
        os.close(saved[1])
        captured.stdout = _tail(files[0])
        captured.stderr = _tail(files[1])
        if not keep:
            for handle in files:
                handle.close()


def _tail(file: IO[bytes]) -> str:
    size = file.seek(0, os.SEEK_END)
    file.seek(max(0, size - _KEEP_BYTES))
    data = file.read()
    text = data.decode("utf-8", errors="replace")
    return text if size <= _KEEP_BYTES else "...(truncated)\n" + text
