"""Writes to a remote store that nothing in this run waits for, done on a few threads.

Used for what the planner alone stores after an isolated run (small outputs it received
with the result, run-cache records): they are for later runs and other machines, so the
commit path does not wait for their round trips. ``flush`` (Workspace.close) waits for
all of them; a failed write is logged and costs only a later download or re-run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

log = logging.getLogger(__name__)
THREADS = 4


class Later:
    def __init__(self, where: str) -> None:
        self.where = where
        self._pool: ThreadPoolExecutor | None = None
        self._pending: list[Future[Any]] = []

    def submit(self, fn: Callable[..., Any], *args: Any) -> None:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(THREADS, thread_name_prefix="pivot-store")
        self._pending.append(self._pool.submit(fn, *args))

    def flush(self) -> None:
        pending, self._pending = self._pending, []
        for future in pending:
            try:
                future.result()
            except Exception as exc:
                log.warning("could not store an object or record in %s: %s", self.where, exc)
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None
