"""Run one command as a child process: wall time and peak RSS from os.wait4 (in a helper)."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import pathlib
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence


@dataclasses.dataclass(frozen=True)
class Sample:
    wall_s: float
    peak_rss_mb: float  # largest single process in the tree (Linux wait4 ru_maxrss)
    cpu_s: float  # user + sys of the whole tree
    rc: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.rc == 0

    def error_line(self) -> str:
        """The first meaningful line: for a traceback, its last line (the exception)."""
        lines = [ln.strip() for ln in (self.stderr or self.stdout).splitlines() if ln.strip()]
        if not lines:
            return f"exit code {self.rc}"
        if lines[0].startswith("Traceback"):
            return lines[-1]
        return lines[0]


# Linux hands a child the parent's RSS high-water mark at fork/exec, so a child started
# straight from this (large, moto-hosting) process would report at least our RSS. A tiny
# `python -S` forks the real command instead; its own small mark is the only floor left.
_SPAWN = """
import json, os, sys, time
res, argv = sys.argv[1], sys.argv[2:]
t = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        os.execvp(argv[0], argv)
    except OSError as exc:
        os.write(2, f"{argv[0]}: {exc}\\n".encode())
        os._exit(127)
_, status, ru = os.wait4(pid, 0)
wall = time.perf_counter() - t
code = os.waitstatus_to_exitcode(status)
with open(res, "w") as f:
    json.dump({"wall": wall, "maxrss_kb": ru.ru_maxrss, "cpu": ru.ru_utime + ru.ru_stime,
               "rc": code}, f)
sys.exit(code if 0 <= code < 256 else 1)
"""


def run(
    argv: Sequence[str],
    cwd: pathlib.Path,
    env: Mapping[str, str] | None = None,
    timeout: float = 3600.0,
) -> Sample:
    """Run argv to completion; output goes to temp files so a chatty child never blocks."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.NamedTemporaryFile(suffix=".json") as res:
        t0 = time.perf_counter()
        try:
            proc = subprocess.Popen(
                [sys.executable, "-S", "-c", _SPAWN, res.name, *argv], cwd=cwd,
                env=dict(env) if env is not None else None, stdin=subprocess.DEVNULL,
                stdout=out, stderr=err, start_new_session=True,
            )
        except OSError as exc:
            return Sample(0.0, 0.0, 0.0, 127, "", f"{argv[0]}: {exc}")
        timer = threading.Timer(timeout, _kill_group, args=(proc.pid,))
        timer.start()
        try:
            proc.wait()
        finally:
            timer.cancel()
        wall = time.perf_counter() - t0
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
        try:
            info = json.loads(pathlib.Path(res.name).read_text() or "{}")
        except ValueError:
            info = {}
        if "rc" not in info:  # killed by the timer (or the helper itself failed)
            note = f"timed out after {timeout:.0f} s" if wall >= timeout else "spawn helper failed"
            return Sample(wall, 0.0, 0.0, proc.returncode or -9, stdout, f"{note}\n{stderr}")
        return Sample(float(info["wall"]), info["maxrss_kb"] / 1024.0, float(info["cpu"]),
                      int(info["rc"]), stdout, stderr)


def _kill_group(pid: int) -> None:
    # Only the process group this module started (start_new_session=True above).
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


@dataclasses.dataclass(frozen=True)
class Stats:
    median: float
    low: float
    high: float
    n: int

    @classmethod
    def of(cls, values: Sequence[float]) -> Stats:
        return cls(statistics.median(values), min(values), max(values), len(values))


@dataclasses.dataclass
class Series:
    """The timed repeats of one tool in one scenario, or the error that stopped them."""

    samples: list[Sample] = dataclasses.field(default_factory=list)
    error: str | None = None
    note: str | None = None  # e.g. "extrapolated"
    fixed: float | None = None  # a figure not measured here (extrapolated / quoted)

    @property
    def wall(self) -> Stats | None:
        if self.samples and self.error is None:
            return Stats.of([s.wall_s for s in self.samples])
        if self.fixed is not None:
            return Stats(self.fixed, self.fixed, self.fixed, 0)
        return None

    @property
    def rss(self) -> Stats | None:
        if self.samples and self.error is None:
            return Stats.of([s.peak_rss_mb for s in self.samples])
        return None

    def to_json(self) -> dict[str, object]:
        return {
            "wall_s": [s.wall_s for s in self.samples],
            "peak_rss_mb": [s.peak_rss_mb for s in self.samples],
            "cpu_s": [s.cpu_s for s in self.samples],
            "error": self.error, "note": self.note, "fixed": self.fixed,
        }

    @classmethod
    def from_json(cls, d: Mapping[str, object]) -> Series:
        walls, rss, cpu = (list(d.get(k) or []) for k in ("wall_s", "peak_rss_mb", "cpu_s"))  # type: ignore[call-overload]
        samples = [Sample(float(w), float(r), float(c), 0, "", "") for w, r, c in zip(walls, rss, cpu, strict=False)]
        fixed, error, note = d.get("fixed"), d.get("error"), d.get("note")
        return cls(samples, str(error) if error else None, str(note) if note else None,
                   float(fixed) if isinstance(fixed, int | float) else None)


def ratio(baseline: Stats, ours: Stats) -> Stats:
    """How many times faster ours is: median/median, bounded by the worst and best pairing."""
    return Stats(
        baseline.median / ours.median, baseline.low / ours.high, baseline.high / ours.low,
        min(baseline.n, ours.n),
    )
