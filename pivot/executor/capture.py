"""Capture a stage's stdout/stderr at the file-descriptor level, so output
from subprocesses and C extensions is caught too (not only Python's print).
Safe because a worker process runs one stage at a time.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

_KEEP_BYTES = 64 * 1024


@dataclass
class Captured:
    stdout: str = ""
    stderr: str = ""


@contextlib.contextmanager
def capture_output() -> Iterator[Captured]:
    captured = Captured()
    sys.stdout.flush()
    sys.stderr.flush()
    saved = (os.dup(1), os.dup(2))
    files = (tempfile.TemporaryFile(), tempfile.TemporaryFile())  # noqa: SIM115 - closed in finally
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
        for handle in files:
            handle.close()


def _tail(file: IO[bytes]) -> str:
    size = file.seek(0, os.SEEK_END)
    file.seek(max(0, size - _KEEP_BYTES))
    data = file.read()
    text = data.decode("utf-8", errors="replace")
    return text if size <= _KEEP_BYTES else "...(truncated)\n" + text
