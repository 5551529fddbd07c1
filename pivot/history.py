"""Run history: a small record of every repro/run in the state DB.

A record is written as "started" before the first stage is handed out and
finished when the run ends; the project lock guarantees one run at a time, so
a record still "started" when the next run begins belongs to a run that was
killed, and is marked "interrupted" then. Like everything in the state DB this
is informational (DESIGN rule 3): a lost DB loses history, never a decision.
Only the planner process writes it (DESIGN rule 6).
"""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import socket
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pivot.errors import PivotError, UserError
from pivot.results import RunReport
from pivot.state import StateBase

PREFIX = "hist:"
META_KEY = PREFIX + "meta"
DEFAULT_KEEP = 1000


@dataclass(frozen=True)
class StageEntry:
    stage: str
    status: str
    reason: str
    duration_ms: int


@dataclass(frozen=True)
class RunEntry:
    id: str
    started: float  # seconds since the epoch
    user: str
    host: str
    command: str
    targets: tuple[str, ...]
    executor: str
    status: str = "started"  # "started" | "finished" | "interrupted"
    finished: float | None = None
    exit_code: int | None = None
    error: str | None = None
    stages: tuple[StageEntry, ...] = field(default_factory=tuple)
    seq: int = 0  # the run's number in this project (its slot in the ring)

    def to_json(self) -> dict[str, Any]:
        # Field by field, not asdict: its deep copy of thousands of stage entries was most of
        # a no-op repro's history cost (every field here is a plain value).
        data = {f: getattr(self, f) for f in self.__dataclass_fields__}
        data["targets"] = list(self.targets)
        data["stages"] = [{f: getattr(s, f) for f in StageEntry.__dataclass_fields__} for s in self.stages]
        data["started_at"] = _iso(self.started)
        data["duration_ms"] = None if self.finished is None else round((self.finished - self.started) * 1000)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunEntry:
        stages = tuple(StageEntry(**s) for s in data.get("stages", ()))
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data and k != "stages"}
        known["targets"] = tuple(known.get("targets", ()))
        return cls(**known, stages=stages)

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for s in self.stages:
            counts[s.status] = counts.get(s.status, 0) + 1
        return counts


def new_run_id() -> str:
    """Sortable by time, unique across hosts: ``20261126-143012-a1b2c3``."""
    return time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + "-" + uuid.uuid4().hex[:6]


def _iso(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers)
        return str(os.getuid())


class History:
    """A ring of ``keep`` slots: run number ``seq`` lives in slot ``seq % keep``, so the cap
    costs no deletes and a run costs two small writes (started, finished). Each record holds
    its ``seq``; a slot whose record has another (``keep`` changed) is skipped."""

    def __init__(self, state: StateBase, keep: int | None = None) -> None:
        self.state = state
        next_seq, stored_keep = self._meta()
        self.next_seq = next_seq
        self.keep = max(1, keep if keep is not None else stored_keep)

    def _meta(self) -> tuple[int, int]:
        try:
            data = json.loads(self.state.get(META_KEY) or b"{}")
            return int(data.get("next", 0)), int(data.get("keep", DEFAULT_KEEP))
        except (ValueError, TypeError, AttributeError):
            return 0, DEFAULT_KEEP  # a damaged record only loses history

    def _slot(self, seq: int) -> str:
        return f"{PREFIX}slot:{seq % self.keep}"

    def get_seq(self, seq: int) -> RunEntry | None:
        raw = self.state.get(self._slot(seq))
        try:
            entry = RunEntry.from_json(json.loads(raw)) if raw is not None else None
        except (ValueError, TypeError, KeyError):
            return None
        return entry if entry is not None and entry.seq == seq else None

    def latest(self, n: int) -> list[RunEntry]:
        """The newest ``n`` runs (0: all kept), newest first."""
        count = min(n, self.keep) if n > 0 else self.keep
        found = (self.get_seq(seq) for seq in range(self.next_seq - 1, max(-1, self.next_seq - 1 - count), -1))
        return [e for e in found if e is not None]

    def find(self, prefix: str) -> RunEntry:
        """A run by id or unique id prefix (``show`` accepts the short form)."""
        matches = [e for e in self.latest(0) if e.id.startswith(prefix)] if prefix else []
        if len(matches) != 1:
            what = "is ambiguous" if matches else "is not in the history"
            raise UserError(f"run {prefix!r} {what}; `pivot history` lists the runs", path=prefix)
        return matches[0]

    def add(self, entry: RunEntry) -> RunEntry:
        """Record a new run (one write); the entry as numbered."""
        entry = replace(entry, seq=self.next_seq)
        self.next_seq += 1
        meta = {"next": self.next_seq, "keep": self.keep}
        self.state.put_many({self._slot(entry.seq): _dump(entry.to_json()), META_KEY: _dump(meta)})
        return entry

    def update(self, entry: RunEntry) -> None:
        self.state.put_many({self._slot(entry.seq): _dump(entry.to_json())})

    def mark_interrupted(self) -> None:
        """Runs still "started" were killed: the caller holds the project lock, so none is live."""
        for seq in range(self.next_seq - 1, max(-1, self.next_seq - 1 - min(20, self.keep)), -1):
            # A killed run is recent: scanning all 1,000 would cost every start. A record whose
            # bytes lack the started status (as _dump writes it) is not parsed: a finished run
            # of thousands of stages is a large document.
            raw = self.state.get(self._slot(seq))
            if raw is None or b'"status":"started"' not in raw:
                continue
            entry = self.get_seq(seq)
            if entry is not None and entry.status == "started":
                self.update(replace(entry, status="interrupted", error="the run was killed before it finished"))


def _dump(data: Any) -> bytes:
    return json.dumps(data, separators=(",", ":")).encode()


def finish(entry: RunEntry, report: RunReport | None, exit_code: int, error: str | None = None) -> RunEntry:
    stages = () if report is None else tuple(
        StageEntry(o.stage, str(o.status), o.reason, round(o.duration_s * 1000)) for o in report.outcomes.values())
    status = "interrupted" if exit_code == 130 else "finished"
    return replace(entry, status=status, finished=time.time(), exit_code=exit_code, error=error, stages=stages)


@dataclass
class Recording:
    """Filled in by the recorded block: its report, and how the executor describes itself."""

    executor: Any = None
    report: RunReport | None = None


@contextlib.contextmanager
def recording(state: StateBase, keep: int, *, run_id: str | None, targets: Sequence[str]) -> Iterator[Recording]:
    """Record a run around the block: "started" now, finished (or failed) when the block ends."""
    history = History(state, keep)
    history.mark_interrupted()
    entry = RunEntry(run_id or new_run_id(), time.time(), _user(), socket.gethostname(), _command(),
                     tuple(targets), "local")
    entry = history.add(entry)
    rec = Recording()
    try:
        yield rec
    except KeyboardInterrupt:
        history.update(finish(_described(entry, rec), None, 130, "interrupted by the user (Ctrl-C)"))
        raise
    except PivotError as exc:
        history.update(finish(_described(entry, rec), None, exc.exit_code, str(exc)))
        raise
    except Exception as exc:
        history.update(finish(_described(entry, rec), None, 1, f"{type(exc).__name__}: {exc}"))
        raise
    report = rec.report
    history.update(finish(_described(entry, rec), report, 1 if report is not None and report.failed else 0))


def _described(entry: RunEntry, rec: Recording) -> RunEntry:
    # Described at the end: a Dask executor knows its scheduler's address only once connected.
    describe = getattr(rec.executor, "describe", None)
    return replace(entry, executor=str(describe())) if callable(describe) else entry


def _command() -> str:
    """The command line for CLI runs; "python" for the API (a notebook's argv says nothing useful)."""
    name = os.path.basename(sys.argv[0]) if sys.argv else ""
    return " ".join(["pivot", *sys.argv[1:]]) if name in ("pivot", "main.py") else "python"


@contextlib.contextmanager
def open_history(root: str | os.PathLike[str] | None = None) -> Iterator[History]:
    """The project's history, read without loading any pipeline (works on a broken project)."""
    from pivot.project.layout import Layout
    from pivot.project.root import find_root
    from pivot.state import LmdbState

    state = LmdbState.open(Layout(find_root(Path(root) if root is not None else Path.cwd())).state_db)
    try:
        yield History(state)
    finally:
        state.close()


def runs(n: int = 20, *, root: str | os.PathLike[str] | None = None) -> list[RunEntry]:
    """The newest ``n`` runs, newest first (0: all kept)."""
    with open_history(root) as history:
        return history.latest(n)


def show(run_id: str, *, root: str | os.PathLike[str] | None = None) -> RunEntry:
    """One run by id or unique id prefix."""
    with open_history(root) as history:
        return history.find(run_id)
