"""Local executor: a process pool (spawn), workers reused across stages.

Pool processes send their stages' output lines through one multiprocessing
queue; a thread here turns them into notes for the engine (live output).
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import threading
from collections.abc import Iterable
from concurrent.futures import Future
from typing import Any

from pivot.executor.base import Executor, Note
from pivot.executor.live import set_local_queue
from pivot.executor.task import StageResult, StageTask
from pivot.executor.worker import run_task, watch_parent


def _init_process(channel: Any, planner: int) -> None:
    """Pool process start: stage lines go to the planner's reader, and the process (with its
    stage's command) exits when the planner is gone, e.g. SIGKILLed (no orphans)."""
    set_local_queue(channel)
    watch_parent(planner)


class LocalExecutor(Executor):
    name = "local"

    def __init__(self, jobs: int | None = None) -> None:
        super().__init__()
        self.jobs = max(1, jobs or os.cpu_count() or 1)
        self._pool: cf.ProcessPoolExecutor | None = None
        self._futures: set[Future[StageResult]] = set()
        self._lines: Any = None
        self._reader: threading.Thread | None = None
        self._stop = threading.Event()
        self._read_lock = threading.Lock()

    def _ensure_pool(self) -> cf.ProcessPoolExecutor:
        # Started lazily: a no-op repro never pays for worker start-up.
        if self._pool is None:
            context = multiprocessing.get_context("spawn")
            self._stop = threading.Event()
            self._lines = context.SimpleQueue()  # put() writes through: no feeder thread to lag
            self._reader = threading.Thread(target=self._read_lines, args=(self._stop,),
                                            name="pivot-lines", daemon=True)
            self._reader.start()
            self._pool = cf.ProcessPoolExecutor(self.jobs, mp_context=context, initializer=_init_process,
                                                initargs=(self._lines, os.getpid()))
        return self._pool

    def _read_lines(self, stop: threading.Event) -> None:
        # Polled rather than woken by a sentinel: a pool process killed while writing
        # holds the queue's write lock forever, and close() must never wait on it.
        while True:
            if self._drain():
                continue
            if stop.is_set():
                return
            stop.wait(0.02)

    def _drain(self) -> bool:
        """Post every line already sent (True if any). A pool process writes its stage's
        lines before its result, so draining when a result arrives keeps them in order."""
        with self._read_lock:
            lines, found = self._lines, False
            while lines is not None and not lines.empty():
                stage, stream, line = lines.get()
                self.post(Note("output", stage, stream, line))
                found = True
            return found

    def submit(self, task: StageTask, *, priority: int = 0) -> Future[StageResult]:
        future = self._ensure_pool().submit(run_task, task)
        self._futures.add(future)
        return future

    def _forget(self, done: set[Future[StageResult]]) -> None:
        self._futures -= done
        if done:
            self._drain()

    def cancel_all(self) -> None:
        for future in self._futures:
            future.cancel()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        if self._reader is not None:
            self._stop.set()  # after the pool: every line sent is in the queue, and read first
            self._reader.join(5)
            with self._read_lock:
                self._reader = self._lines = None


class InlineExecutor(Executor):
    """Runs each stage in this process, one at a time (-j 1 without a pool; debugging)."""

    name = "inline"

    def submit(self, task: StageTask, *, priority: int = 0) -> Future[StageResult]:
        future: Future[StageResult] = Future()
        future.set_result(run_task(task))
        return future

    def wait_any(self, futures: Iterable[Future[StageResult]], timeout: float | None = None) -> set[Future[StageResult]]:
        return {f for f in futures if f.done()}

    def close(self) -> None:
        pass
