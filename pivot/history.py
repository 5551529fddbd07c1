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
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from pivot.errors import PivotError, UserError
from pivot.results import RunReport
from pivot.state import StateBase

PREFIX = "hist:"
INDEX_KEY = PREFIX + "index"
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

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["targets"] = list(self.targets)
        data["stages"] = [asdict(s) for s in self.stages]
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
    def __init__(self, state: StateBase, keep: int = DEFAULT_KEEP) -> None:
        self.state = state
        self.keep = max(1, keep)

    def ids(self) -> list[str]:
        raw = self.state.get(INDEX_KEY)
        if raw is None:
            return []
        try:
            ids = json.loads(raw)
        except ValueError:
            return []  # a damaged index only loses history
        return [i for i in ids if isinstance(i, str)]

    def get(self, run_id: str) -> RunEntry | None:
        raw = self.state.get(PREFIX + "run:" + run_id)
        if raw is None:
            return None
        try:
            return RunEntry.from_json(json.loads(raw))
        except (ValueError, TypeError):
            return None

    def find(self, prefix: str) -> RunEntry:
        """A run by id or unique id prefix (``show`` accepts the short form)."""
        matches = [i for i in self.ids() if i.startswith(prefix)] if prefix else []
        entry = self.get(matches[0]) if len(matches) == 1 else None
        if entry is None:
            what = "is ambiguous" if len(matches) > 1 else "is not in the history"
            raise UserError(f"run {prefix!r} {what}; `pivot history` lists the runs", path=prefix)
        return entry

    def latest(self, n: int) -> list[RunEntry]:
        entries = [self.get(i) for i in reversed(self.ids()[-n:] if n > 0 else self.ids())]
        return [e for e in entries if e is not None]

    def put(self, entry: RunEntry) -> None:
        ids = [i for i in self.ids() if i != entry.id] + [entry.id]
        dropped, ids = ids[: -self.keep], ids[-self.keep :]
        self.state.put_many({PREFIX + "run:" + entry.id: _dump(entry.to_json()), INDEX_KEY: _dump(ids)})
        for old in dropped:
            self.state.delete_prefix(PREFIX + "run:" + old)

    def mark_interrupted(self) -> None:
        """Runs still "started" were killed: the caller holds the project lock, so none is live."""
        for entry in self.latest(20):  # a killed run is recent; scanning all 1,000 would cost every start
            if entry.status == "started":
                self.put(replace(entry, status="interrupted", error="the run was killed before it finished"))


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
    history.put(entry)
    rec = Recording()
    try:
        yield rec
    except KeyboardInterrupt:
        history.put(finish(_described(entry, rec), None, 130, "interrupted by the user (Ctrl-C)"))
        raise
    except PivotError as exc:
        history.put(finish(_described(entry, rec), None, exc.exit_code, str(exc)))
        raise
    except Exception as exc:
        history.put(finish(_described(entry, rec), None, 1, f"{type(exc).__name__}: {exc}"))
        raise
    report = rec.report
    history.put(finish(_described(entry, rec), report, 0 if report is None or report.ok else 1))


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
