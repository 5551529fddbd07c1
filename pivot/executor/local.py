"""Local executor: a process pool (spawn), workers reused across stages."""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
from collections.abc import Iterable
from concurrent.futures import Future

from pivot.executor.base import Executor
from pivot.executor.task import StageResult, StageTask
from pivot.executor.worker import run_task, watch_parent


class LocalExecutor(Executor):
    name = "local"

    def __init__(self, jobs: int | None = None) -> None:
        self.jobs = max(1, jobs or os.cpu_count() or 1)
        self._pool: cf.ProcessPoolExecutor | None = None
        self._futures: set[Future[StageResult]] = set()

    def _ensure_pool(self) -> cf.ProcessPoolExecutor:
        # Started lazily: a no-op repro never pays for worker start-up.
        if self._pool is None:
            self._pool = cf.ProcessPoolExecutor(self.jobs, mp_context=multiprocessing.get_context("spawn"),
                                                initializer=watch_parent, initargs=(os.getpid(),))
        return self._pool

    def submit(self, task: StageTask, *, priority: int = 0) -> Future[StageResult]:
        future = self._ensure_pool().submit(run_task, task)
        self._futures.add(future)
        return future

    def wait_any(self, futures: Iterable[Future[StageResult]], timeout: float | None = None) -> set[Future[StageResult]]:
        done, _ = cf.wait(list(futures), timeout=timeout, return_when=cf.FIRST_COMPLETED)
        self._futures -= done
        return set(done)

    def cancel_all(self) -> None:
        for future in self._futures:
            future.cancel()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


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
