"""Watch a running `pivot` subprocess's output line by line, with the time each line arrived."""

from __future__ import annotations

import subprocess
import threading
import time
from typing import IO


class LineWatch:
    """Reads one stream of a subprocess on a thread; lines are (monotonic time, text)."""

    def __init__(self, stream: IO[str]) -> None:
        self.lines: list[tuple[float, str]] = []
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            with self._changed:
                self.lines.append((time.monotonic(), line.rstrip("\n")))
                self._changed.notify_all()

    def wait_for(self, text: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self._changed:
            while not any(text in line for _, line in self.lines):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(left)
        return True

    def text(self) -> str:
        self._thread.join(30)
        return "\n".join(line for _, line in self.lines)

    def times(self) -> list[float]:
        return [t for t, _ in self.lines]


def watch(proc: subprocess.Popen[str]) -> tuple[LineWatch, LineWatch]:
    assert proc.stdout is not None and proc.stderr is not None
    return LineWatch(proc.stdout), LineWatch(proc.stderr)
