"""Executors: where stages run. Each returns futures of StageResult."""

from __future__ import annotations

import abc
import queue
import threading
from collections.abc import Iterable
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass
from typing import Any

from pivot.executor.task import StageResult, StageTask


@dataclass(frozen=True)
class Note:
    """News from an executor while stages run: a line a stage printed ("output":
    ``stream``, ``line``) or a message for the user ("notice": ``message``)."""

    kind: str  # "output" | "notice"
    stage: str = ""
    stream: str = ""
    line: str = ""
    message: str = ""


class Executor(abc.ABC):
    """Submit tasks, learn of completions. Decides nothing (DESIGN rule 1).

    Notes arrive on the executor's own threads; ``post`` queues them and wakes
    ``wait_any``, so the engine hands them to the progress display on its own
    thread, in order, while stages still run.
    """

    name: str = "base"
    isolated: bool = False
    # Tasks the engine keeps submitted at once; None: all that are ready (the executor
    # queues them itself). A bounded window keeps the engine's priorities in force and
    # its waits cheap (waiting on N futures locks all N).
    capacity: int | None = None

    def __init__(self) -> None:
        self._notes: queue.SimpleQueue[Note] = queue.SimpleQueue()
        self._bell_lock = threading.Lock()
        self._bell: Future[None] = Future()

    @abc.abstractmethod
    def submit(self, task: StageTask, *, priority: int = 0) -> Future[StageResult]: ...

    def wait_any(self, futures: Iterable[Future[StageResult]], timeout: float | None = None) -> set[Future[StageResult]]:
        """Futures that are done; returns early (maybe with none) when a note arrives."""
        bell = self._bell
        waited: list[Future[Any]] = [*futures, bell]
        finished, _ = wait(waited, timeout=timeout, return_when=FIRST_COMPLETED)
        done: set[Future[StageResult]] = {f for f in finished if f is not bell}
        self._forget(done)
        return done

    def _forget(self, done: set[Future[StageResult]]) -> None:  # noqa: B027 - optional hook
        """Drop bookkeeping for settled futures."""

    def post(self, note: Note) -> None:
        """Thread-safe: queue a note and wake the engine."""
        self._notes.put(note)
        with self._bell_lock:
            if not self._bell.done():
                self._bell.set_result(None)

    def notes(self) -> list[Note]:
        """Take every queued note (the engine's thread)."""
        with self._bell_lock:
            if self._bell.done():
                self._bell = Future()
        taken = []
        while True:
            try:
                taken.append(self._notes.get_nowait())
            except queue.Empty:
                return taken

    def cancel_all(self) -> None:  # noqa: B027 - optional hook
        """Cancel work not yet started (Ctrl-C)."""

    @abc.abstractmethod
    def close(self) -> None: ...

    def describe(self) -> str:
        return self.name
