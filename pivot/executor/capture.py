"""Capture a stage's stdout/stderr. A Python stage's are caught at the
file-descriptor level, so output from subprocesses and C extensions is caught
too (not only Python's print); safe because a worker process runs one stage at
a time. A shell stage's commands get pipes of their own (``PipedRun``).

Each stream keeps the last 64 KiB for the StageResult and hands every complete
line to ``sink`` as soon as it is written, so the user sees a running stage's
output live. No temp file is involved: a killed worker leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import subprocess
import sys
import threading
import time
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


class _Stream:
    """One stream's bytes: the last 64 KiB kept for the result, every complete line to ``sink``."""

    def __init__(self, name: str, sink: LineSink | None) -> None:
        self.name, self.sink = name, sink
        self.kept = bytearray()
        self.size = 0
        self.pending = b""

    def feed(self, chunk: bytes) -> None:
        self.size += len(chunk)
        self.kept += chunk
        if len(self.kept) > 2 * _KEEP_BYTES:
            del self.kept[:-_KEEP_BYTES]
        if self.sink is not None:
            *lines, self.pending = (self.pending + chunk).split(b"\n")
            for line in lines:
                self._send(line)

    def close(self) -> None:
        if self.pending and self.sink is not None:
            self._send(self.pending)
        self.pending = b""

    def _send(self, line: bytes) -> None:
        assert self.sink is not None
        with contextlib.suppress(Exception):  # showing output live is best effort; the result keeps it all
            self.sink(self.name, line[:_MAX_LINE].decode("utf-8", errors="replace").rstrip("\r"))

    def text(self) -> str:
        data = bytes(self.kept[-_KEEP_BYTES:])
        text = data.decode("utf-8", errors="replace")
        return text if self.size <= _KEEP_BYTES else "...(truncated)\n" + text


class _Reader(threading.Thread):
    def __init__(self, fd: int, stream: str, sink: LineSink | None) -> None:
        super().__init__(name=f"pivot-capture-{stream}", daemon=True)
        self.fd = fd
        self.stream = _Stream(stream, sink)

    def run(self) -> None:
        while chunk := os.read(self.fd, 65536):
            self.stream.feed(chunk)
        self.stream.close()
        os.close(self.fd)


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
        captured.stdout = readers[0].stream.text()
        captured.stderr = readers[1].stream.text()


class PipedRun:
    """Shell commands with their stdout/stderr on pipes this thread reads: no fd juggling and
    no reader threads per stage (a stage's commands are its only writers)."""

    def __init__(self, sink: LineSink | None) -> None:
        self.streams = (_Stream("stdout", sink), _Stream("stderr", sink))

    def run(self, command: str, cwd: str, env: dict[str, str], children: set[subprocess.Popen[bytes]]) -> int:
        with subprocess.Popen(command, shell=True, cwd=cwd, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE) as proc:
            children.add(proc)
            try:
                assert proc.stdout is not None and proc.stderr is not None
                self._pump(proc, {proc.stdout.fileno(): self.streams[0], proc.stderr.fileno(): self.streams[1]})
                return proc.wait()
            finally:
                children.discard(proc)

    def _pump(self, proc: subprocess.Popen[bytes], open_fds: dict[int, _Stream]) -> None:
        with selectors.DefaultSelector() as selector:
            for fd in open_fds:
                selector.register(fd, selectors.EVENT_READ)
            ended: float | None = None
            while open_fds:
                # A background child of the command may hold a pipe open after the command
                # exits: keep reading for a short while, then stop waiting for it.
                if ended is None and proc.poll() is not None:
                    ended = time.monotonic()
                if ended is not None and time.monotonic() - ended > _DRAIN_S:
                    return
                for key, _ in selector.select(0.1 if ended is None else 0.05):
                    fd = int(key.fd)
                    chunk = os.read(fd, 65536)
                    if chunk:
                        open_fds[fd].feed(chunk)
                        continue
                    open_fds.pop(fd).close()
                    selector.unregister(fd)

    def captured(self) -> Captured:
        for stream in self.streams:
            stream.close()
        return Captured(self.streams[0].text(), self.streams[1].text())


def _line_buffering(on: bool) -> bool:
    """Python's own print() flushes per line while a stage runs (stdout to a pipe is block-buffered)."""
    before = bool(getattr(sys.stdout, "line_buffering", False))
    reconfigure = getattr(sys.stdout, "reconfigure", None)
    if reconfigure is not None:
        with contextlib.suppress(Exception):
            reconfigure(line_buffering=on)
    return before
