"""Capture a stage's stdout/stderr at the file-descriptor level, so output
from subprocesses and C extensions is caught too (not only Python's print).
Safe because a worker process runs one stage at a time.

Each stream goes through a pipe read by a thread of this process: it keeps the
last 64 KiB for the StageResult and hands every complete line to ``sink`` as
soon as it is written, so the user sees a running stage's output live. No temp
file is involved: a killed worker leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

_KEEP_BYTES = 64 * 1024
_MAX_LINE = 4000  # a line longer than this is shown cut (kept whole in the captured text)
_DRAIN_S = 2.0  # after the stage: how long to wait for a child that still holds the pipe

LineSink = Callable[[str, str], None]  # (stream, line without its newline)


@dataclass
class Captured:
    stdout: str = ""
    stderr: str = ""


class _Reader(threading.Thread):
    def __init__(self, fd: int, stream: str, sink: LineSink | None) -> None:
        super().__init__(name=f"pivot-capture-{stream}", daemon=True)
        self.fd, self.stream, self.sink = fd, stream, sink
        self.kept = bytearray()
        self.size = 0

    def run(self) -> None:
        pending = b""
        while chunk := os.read(self.fd, 65536):
            self.size += len(chunk)
            self.kept += chunk
            if len(self.kept) > 2 * _KEEP_BYTES:
                del self.kept[:-_KEEP_BYTES]
            if self.sink is not None:
                *lines, pending = (pending + chunk).split(b"\n")
                for line in lines:
                    self._send(line)
        if pending and self.sink is not None:
            self._send(pending)
        os.close(self.fd)

    def _send(self, line: bytes) -> None:
        assert self.sink is not None
        with contextlib.suppress(Exception):  # showing output live is best effort; the result keeps it all
            self.sink(self.stream, line[:_MAX_LINE].decode("utf-8", errors="replace").rstrip("\r"))

    def text(self) -> str:
        data = bytes(self.kept[-_KEEP_BYTES:])
        text = data.decode("utf-8", errors="replace")
        return text if self.size <= _KEEP_BYTES else "...(truncated)\n" + text


@contextlib.contextmanager
def capture_output(sink: LineSink | None = None) -> Iterator[Captured]:
    captured = Captured()
    sys.stdout.flush()
    sys.stderr.flush()
    saved = (os.dup(1), os.dup(2))
    pipes = (os.pipe(), os.pipe())
    readers = (_Reader(pipes[0][0], "stdout", sink), _Reader(pipes[1][0], "stderr", sink))
    for reader in readers:
        reader.start()
    line_buffered = _line_buffering(True)
    try:
        os.dup2(pipes[0][1], 1)
        os.dup2(pipes[1][1], 2)
        os.close(pipes[0][1])
        os.close(pipes[1][1])
        yield captured
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        _line_buffering(line_buffered)
        os.dup2(saved[0], 1)  # closes the last write end we hold: the readers see EOF
        os.dup2(saved[1], 2)
        os.close(saved[0])
        os.close(saved[1])
        for reader in readers:
            reader.join(_DRAIN_S)  # a background child of the stage may keep the pipe open
        captured.stdout = readers[0].text()
        captured.stderr = readers[1].text()


def _line_buffering(on: bool) -> bool:
    """Python's own print() flushes per line while a stage runs (stdout to a pipe is block-buffered)."""
    before = bool(getattr(sys.stdout, "line_buffering", False))
    reconfigure = getattr(sys.stdout, "reconfigure", None)
    if reconfigure is not None:
        with contextlib.suppress(Exception):
            reconfigure(line_buffering=on)
    return before
