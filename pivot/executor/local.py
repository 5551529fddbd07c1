"""Local executor: a few worker processes (spawn), reused across stages.

Each process has one two-way pipe to the planner: tasks go down it, and its
stages' output lines and results come back up it, in the order written. The
planner waits on the pipes themselves, so there is no pool manager thread, no
queue feeder thread and no line reader thread to pass the GIL between: at
thousands of stages that bookkeeping cost more CPU than the planning.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import threading
from collections import deque
from collections.abc import Iterable
from concurrent.futures import Future
from multiprocessing.connection import Connection, wait
from multiprocessing.reduction import ForkingPickler
from typing import Any

from pivot.executor.base import Executor, Note
from pivot.executor.live import set_local_queue
from pivot.executor.task import StageResult, StageTask
from pivot.executor.worker import run_task, watch_parent

# A second task waits in a busy process's pipe only when it is small: the pipe's
# buffer then always has room, so sending never blocks the planner on a busy process.
_QUEUED_MAX = 32 * 1024


class WorkerLostError(RuntimeError):
    """A worker process exited while it held a stage (killed, out of memory)."""


class _Lines:
    """The worker's end of the live-output channel: lines go up the same pipe as results."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._lock = threading.Lock()  # a Python stage's stdout and stderr readers send at once

    def put(self, item: tuple[str, str, str]) -> None:
        self.send(("line", *item))

    def send(self, message: tuple[Any, ...]) -> None:
        with self._lock:
            self._conn.send(message)


def _serve(conn: Connection, planner: int, closing: Any) -> None:
    """A worker process: run tasks until the planner closes the pipe (or dies: ``watch_parent``)."""
    channel = _Lines(conn)
    set_local_queue(channel)
    watch_parent(planner)
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError, KeyboardInterrupt):
            return
        if task is None:
            return
        if closing.is_set():  # sent to wait behind a stage, and the run stopped meanwhile: never started
            channel.send(("cancelled",))
            continue
        try:
            channel.send(("result", run_task(task)))
        except Exception as exc:  # not a stage failure (those are results): an OSError, or Pivot's own bug
            _send_error(channel, exc)
        except KeyboardInterrupt:
            return


def _send_error(channel: _Lines, exc: Exception) -> None:
    """The exception itself when it pickles (the user sees it as the pool showed it), else its text."""
    try:
        channel.send(("error", exc))
    except Exception:
        channel.send(("error", RuntimeError(f"{type(exc).__name__}: {exc}")))


class _Process:
    def __init__(self, context: Any, planner: int, closing: Any) -> None:
        self.conn, child = context.Pipe(duplex=True)
        self.process = context.Process(target=_serve, args=(child, planner, closing), name="pivot-worker",
                                       daemon=True)
        self.process.start()
        child.close()
        self.held: deque[Future[StageResult]] = deque()  # in the order sent = the order answered


class LocalExecutor(Executor):
    name = "local"

    def __init__(self, jobs: int | None = None) -> None:
        super().__init__()
        self.jobs = max(1, jobs or os.cpu_count() or 1)
        # One task running and one waiting per process: no process waits for the planner,
        # and the next ready stage is still picked by priority when a slot frees.
        self.capacity = 2 * self.jobs
        self._procs: list[_Process] = []
        self._context: Any = None
        self._closing: Any = None  # set on close: tasks still waiting in a pipe are not started
        self._waiting: deque[tuple[bytes, Future[StageResult]]] = deque()  # too big to queue behind a stage

    def _new_process(self) -> _Process:
        if self._context is None:
            self._context = multiprocessing.get_context("spawn")
            self._closing = self._context.Event()
        return _Process(self._context, os.getpid(), self._closing)

    def submit(self, task: StageTask, *, priority: int = 0) -> Future[StageResult]:
        future: Future[StageResult] = Future()  # pending until its process answers: cancel_all can cancel it
        self._waiting.append((bytes(ForkingPickler.dumps(task)), future))
        self._dispatch()
        return future

    def _dispatch(self) -> None:
        """Hand waiting tasks to idle processes, or queue small ones behind a running stage."""
        while self._waiting:
            payload = self._waiting[0][0]
            proc = min(self._procs, key=lambda p: len(p.held), default=None)
            if (proc is None or proc.held) and len(self._procs) < self.jobs:
                # Started as the work needs them: a no-op never pays for one, one stage for one.
                proc = self._new_process()
                self._procs.append(proc)
            assert proc is not None
            if proc.held and (len(proc.held) > 1 or len(payload) > _QUEUED_MAX):
                return
            _, future = self._waiting.popleft()
            proc.held.append(future)
            try:
                proc.conn.send_bytes(payload)
            except OSError:  # the process is gone (killed while idle): the task goes to its successor
                proc.held.pop()
                self._waiting.appendleft((payload, future))
                self._replace(proc)

    def wait_any(self, futures: Iterable[Future[StageResult]], timeout: float | None = None) -> set[Future[StageResult]]:
        """Read what the processes sent: lines become notes, results settle their futures."""
        wanted = set(futures)
        done = {f for f in wanted if f.done()}
        busy = {p.conn: p for p in self._procs if p.held}
        if done or not busy:
            return done
        for conn in wait(list(busy), timeout):
            proc = busy[conn]  # wait() returns the connections it was given
            while proc.held and self._read(proc, replace=True) and proc.conn.poll():
                pass
        self._dispatch()
        return {f for f in wanted if f.done()}

    def _read(self, proc: _Process, *, replace: bool = False) -> bool:
        """Settle one message from ``proc``; False once it is gone (then replaced, if asked: not while closing)."""
        try:
            message = proc.conn.recv()
        except (EOFError, OSError):
            if replace:
                self._replace(proc)
            return False
        except Exception as exc:  # only an error's exception can fail to unpickle here (lines and results do not)
            message = ("error", RuntimeError(f"the worker's error could not be read: {exc}"))
        self._settle(proc, message)
        return True

    def _settle(self, proc: _Process, message: tuple[Any, ...]) -> None:
        kind = message[0]
        if kind == "line":
            self.post(Note("output", message[1], message[2], message[3]))
            return
        future = proc.held.popleft()
        if future.done():
            return
        if kind == "result":
            future.set_result(message[1])
        elif kind == "cancelled":
            future.set_exception(WorkerLostError("not started: the run was stopping"))
        else:
            error = message[1]
            future.set_exception(error if isinstance(error, BaseException) else RuntimeError(str(error)))

    def _replace(self, proc: _Process) -> None:
        """``proc`` exited: the stages it held fail, and a new process takes its place."""
        proc.process.join(1)
        for future in proc.held:
            future.set_exception(WorkerLostError(f"the worker process running it exited "
                                                 f"(exit code {proc.process.exitcode})"))
        proc.held.clear()
        proc.conn.close()
        self._procs[self._procs.index(proc)] = self._new_process()

    def cancel_all(self) -> None:
        for _, future in self._waiting:
            future.cancel()
        self._waiting.clear()

    def close(self) -> None:
        """Stages already running finish (their results are read and dropped); then the processes exit."""
        self.cancel_all()
        if self._closing is not None:
            self._closing.set()
        for proc in self._procs:
            while proc.held and self._read(proc):
                pass
            with contextlib.suppress(OSError):  # already gone
                proc.conn.send(None)
        for proc in self._procs:
            proc.process.join()
            proc.conn.close()
        self._procs = []


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
