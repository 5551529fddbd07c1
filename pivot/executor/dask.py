"""Dask executor: every ready stage becomes one task on a distributed cluster.

The same ``run_task`` as the local pool runs on the workers (DESIGN rule 6);
the Dask key is the task key (stage key + run token, DESIGN rule 12). Each
distributed future is mirrored by a concurrent.futures.Future the engine waits on.

Nothing here blocks distributed's callback thread: a done-callback only hands
the future to a thread of our own, which fetches the result with a timeout.
A stage whose worker died (or whose result cannot be fetched from it) is
resubmitted at once under a fresh key, at most ``retries`` times, with a
notice. Losing the scheduler settles every stage still out with one
ClusterLostError, or first waits for it to come back (``cluster.reconnect_timeout``,
pivot.executor.dask_reconnect). Nothing is committed before the planner holds a
complete result, so a retry is always safe. Stage output lines come back through
distributed's event pub-sub (``Worker.log_event`` -> ``subscribe_topic``).

At most ``window`` tasks are on the scheduler at once (``cluster.window``,
default twice the cluster's threads): the rest wait here, highest priority
first, and go out as earlier ones settle. The scheduler is never flooded with
thousands of tasks, and a stage that became ready late with a long path ahead
still overtakes the waiting ones. Nothing per stage is kept once it settles.
Results come back pushed, or gathered as a fallback (pivot.executor.dask_push).
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import logging
import os
import pickle
import threading
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from pivot.errors import ClusterLostError, ConfigError, StageFailedError
from pivot.executor import connect, dask_reconnect
from pivot.executor import dask_cluster as reach
from pivot.executor.base import Executor, Note
from pivot.executor.dask_push import RESULT_TOPIC, run_and_push
from pivot.executor.dask_push import resolve as _resolve
from pivot.executor.live import OUTPUT_TOPIC
from pivot.executor.task import StageResult, StageTask

log = logging.getLogger(__name__)

MODES = ("auto", "shared", "isolated")
FETCH_TIMEOUT_S = 10.0  # results are tiny: a fetch this slow means the worker holding it is gone


class DaskExecutor(Executor):
    name = "dask"
    connect_timeout = connect.DEFAULT_TIMEOUT  # config cluster.connect_timeout

    def __init__(self, client: Any, *, isolated: bool = False, retries: int = 2, cluster: Any = None,
                 owns_client: bool = False, dashboard: str | None = None, window: int | None = None) -> None:
        super().__init__()
        self.client = client
        self.isolated = isolated
        self.retries = retries
        self.window = window  # tasks on the scheduler at once; None: sized from the cluster at open()
        self.peak_out = 0  # the most tasks that were out at once (tests and benchmarks read it)
        self._waiting: list[tuple[int, int, Future[StageResult], StageTask, int]] = []  # heap, best first
        self._seq = itertools.count()
        self._by_key: dict[str, tuple[Future[StageResult], Any]] = {}  # Dask key -> (ours, distributed's)
        self.dashboard = dashboard
        self.info: dict[str, Any] = {}  # the cluster's one-line description, as data (JSON report)
        self._cluster = cluster  # an embedded LocalCluster, closed with the executor
        self._owns_client = owns_client
        self._lock = threading.Lock()
        self._live: dict[Future[StageResult], Any] = {}  # out on the scheduler: ours -> distributed's (None: sending)
        self._resources: list[Mapping[str, float]] | None = None
        self._target: tuple[Any, int | None, str, Path] | None = None  # connect(): opened at first submit
        self._fetchers = ThreadPoolExecutor(8, thread_name_prefix="pivot-fetch")
        self._runs: set[str] = set()  # run tokens whose output lines we show
        self._lost: ClusterLostError | None = None
        self._out: dict[Future[StageResult], tuple[StageTask, int]] = {}  # the _live ones: resubmitted if lost
        self.reconnect_timeout, self._waited, self._generation = 0.0, 0.0, 0  # see dask_reconnect
        self._waiter: dask_reconnect.Waiter | None = None
        self._cache_url = ""

    @classmethod
    def connect(cls, address: Any, *, workers: int | None = None, project_root: str | os.PathLike[str],
                cache_url: str, mode: str | None = None, retries: int | None = None,
                source: str = "--cluster") -> DaskExecutor:
        """``address``: "local" (embedded LocalCluster), "tcp://HOST:PORT", or a distributed.Client.

        The cluster is reached (or started) at the first submit: a repro with nothing to run pays nothing.
        """
        root = Path(project_root).resolve()
        config = reach.config(root)
        mode = str(mode or config.get("cluster.mode") or "auto")
        if mode not in MODES:
            raise ConfigError(f"cluster.mode {mode!r}: use one of {', '.join(MODES)}", path=".pivot/config.yaml")
        if not (isinstance(address, str) and address) and type(address).__name__ != "Client":
            raise ConfigError(f"cluster {address!r}: use 'local', tcp://HOST:PORT or a distributed.Client")
        if isinstance(address, str) and address != "local":
            address = str(connect.parse(address, source))  # a malformed address fails now, in one line
        retries = int(retries if retries is not None else config.get("cluster.retries", 2))
        isolated = mode == "isolated" or (mode == "auto" and not reach.inside(cache_url, root))
        executor = cls(None, isolated=isolated, retries=retries, window=reach.window_setting(config))
        executor._target = (address, workers, str(project_root), root)
        executor._cache_url = cache_url
        executor.connect_timeout = connect.timeout(config)
        executor.reconnect_timeout = dask_reconnect.setting(config)
        return executor

    def open(self) -> Any:
        """Reach (or start) the cluster now instead of at the first submit; the client."""
        with self._lock:
            if self.client is None:
                assert self._target is not None
                address, workers, _, root = self._target
                client, embedded, owns = reach.open_client(address, workers, self.connect_timeout)
                try:
                    self._setup(client)
                    self.dashboard = reach.dashboard(client)
                    self.info = reach.describe(client, self.isolated, self._cache_url or str(root), self.dashboard)
                except BaseException:
                    reach.close(client if owns else None, embedded)
                    raise
                self.client, self._cluster, self._owns_client = client, embedded, owns
                self.post(Note("notice", message=reach.info_line(self.info)))
            if self.window is None:
                self.window = reach.default_window(self.client)
            self.info["window"] = self.window
            return self.client

    def _setup(self, client: Any) -> None:
        """What a new client needs before the first task (also after a reconnect)."""
        assert self._target is not None
        reach.prepare(client, self.isolated, *self._target[2:], {OUTPUT_TOPIC: self._on_output,
                                                                 RESULT_TOPIC: self._on_result})

    def refresh_code(self) -> None:
        """Ship the project's code again (isolated mode): an executor kept across runs (watch
        mode) must not run the code of the first run. Shared mode workers read it from disk."""
        with self._lock:
            if self.client is not None and self.isolated and self._target is not None:
                reach.ship_code(self.client, self._target[2], self._target[3])

    def submit(self, task: StageTask, *, priority: int = 0) -> Future[StageResult]:
        outer: Future[StageResult] = Future()
        if self._lost is not None:
            outer.set_exception(self._lost)
            return outer
        self.open()
        self._runs.add(task.run_token)
        problem = None
        try:  # fail fast when no worker offers what it needs; while the scheduler is away, just queue it
            if self._waiter is None:
                problem, self._resources = reach.resource_problem(self.client, self._resources, task)
        except Exception as exc:
            if not self._scheduler_gone(exc):
                raise
            self._lose(exc)
        if self._lost is not None:
            outer.set_exception(self._lost)
            return outer
        if problem is not None:
            outer.set_exception(StageFailedError(problem, stage=task.stage))
            return outer
        with self._lock:
            heapq.heappush(self._waiting, (-priority, next(self._seq), outer, task, priority))
        self._pump()
        return outer

    def _pump(self) -> None:
        """Send the best waiting tasks while the window has room (any thread)."""
        while True:
            with self._lock:
                if not self._waiting or (self._lost is None and (
                        self._waiter is not None or len(self._live) >= (self.window or 1))):
                    return  # full, or waiting for the scheduler to come back
                _, _, outer, task, priority = heapq.heappop(self._waiting)
                if outer.done():
                    continue  # cancelled while it waited
                if self._lost is None:
                    self._live[outer] = None  # the slot is taken before the (slow) submit
                    self._out[outer] = (task, priority)
                    self.peak_out = max(self.peak_out, len(self._live))
            if self._lost is not None:
                _resolve(outer, error=self._lost)
                continue
            self._submit(outer, task, priority, attempt=0)

    def _release(self, outer: Future[StageResult], inner: Any) -> None:
        """The stage settled: free its slot and the scheduler's copy of its result, send the next."""
        with self._lock:
            if self._live.get(outer) is inner:
                del self._live[outer], self._out[outer]
            self._by_key.pop(str(getattr(inner, "key", "")), None)
        with contextlib.suppress(Exception):
            inner.release()
        self._pump()

    def _submit(self, outer: Future[StageResult], task: StageTask, priority: int, attempt: int) -> None:
        gen = self._generation  # fresh keys after a reconnect: nothing of the old scheduler matches
        key = task.task_key + (f"-gen{gen}" if gen else "") + (f"-retry{attempt}" if attempt else "")
        try:
            inner = self.client.submit(run_and_push, task, key, key=key, pure=False, priority=priority,
                                       resources=dict(task.resources) or None)
        except Exception as exc:  # the client is closed or reconnecting
            self._lose(exc)
            if self._lost is not None:  # else requeued, to go out when the scheduler is back
                _resolve(outer, error=self._lost)
            return
        with self._lock:  # not cancelled (cancel_all), settled or requeued (scheduler lost) meanwhile
            kept = outer in self._live and gen == self._generation
            if kept:
                self._live[outer] = inner
                self._by_key[key] = (outer, inner)
        if not kept:
            with contextlib.suppress(Exception):
                self.client.cancel([inner])
            return
        self._watch(outer, inner, task, priority, attempt, gen)

    def _watch(self, outer: Future[StageResult], inner: Any, task: StageTask, priority: int, attempt: int,
               gen: int) -> None:
        # The callback runs on distributed's single callback thread: it must only hand over.
        inner.add_done_callback(
            lambda done: self._fetchers.submit(self._settle, outer, done, task, priority, attempt, gen))

    def _settle(self, outer: Future[StageResult], inner: Any, task: StageTask, priority: int, attempt: int,
                gen: int) -> None:
        """On our own thread: mirror the outcome, or retry after a worker loss."""
        from distributed.scheduler import KilledWorker

        if gen != self._generation:
            return  # the old client's cancelled future: the stage was requeued when its scheduler went
        if outer.done():  # its result was pushed (dask_push), or it was cancelled meanwhile
            self._release(outer, inner)
            return
        status = inner.status
        if status not in ("finished", "error", "cancelled"):  # its result was lost and is being recomputed
            self._watch(outer, inner, task, priority, attempt, gen)
            return
        try:
            if status == "finished":
                _resolve(outer, result=inner.result(timeout=FETCH_TIMEOUT_S))
                self._release(outer, inner)
                return
            exc = None if status == "cancelled" else inner.exception(timeout=FETCH_TIMEOUT_S)
        except Exception as error:  # the result could not be fetched: its worker is gone, or the scheduler
            exc = error
        if self._scheduler_gone(exc):
            self._lose(exc)
            return
        if status == "cancelled":
            exc = StageFailedError(f"stage {task.stage!r}: its Dask task was cancelled", stage=task.stage)
        elif isinstance(exc, KilledWorker) or status == "finished":  # died running it, or died holding the result
            if attempt < self.retries:
                self._retry(outer, inner, task, priority, attempt + 1)
                return
            exc = reach.gave_up(task, exc, attempt)
        _resolve(outer, error=exc if isinstance(exc, BaseException) else RuntimeError(str(exc)))
        self._release(outer, inner)

    def _retry(self, outer: Future[StageResult], inner: Any, task: StageTask, priority: int, attempt: int) -> None:
        """At once, under a fresh key: the old key may still name the lost attempt on the scheduler."""
        self.post(Note("notice", task.stage,
                       message=f"worker lost: retrying {task.stage} (attempt {attempt + 1} of {self.retries + 1})"))
        with self._lock:
            self._by_key.pop(str(getattr(inner, "key", "")), None)
        with contextlib.suppress(Exception):
            inner.release()
        self._submit(outer, task, priority, attempt)

    def _scheduler_gone(self, exc: BaseException | None) -> bool:
        if self._lost is not None:
            return True
        status = getattr(self.client, "status", "running")
        return status not in ("running", "newly-created") or "connection-lost" in str(getattr(exc, "reason", ""))

    def _lose(self, exc: BaseException | None) -> None:
        """The scheduler is gone: wait for it, or settle every stage still out with one ClusterLostError."""
        if self.reconnect_timeout > 0 and dask_reconnect.begin(self):
            return
        with self._lock:
            if self._lost is None:
                self._lost = dask_reconnect.lost_error(str(self.info.get("address") or "?"), self._waited)
                log.debug("scheduler lost: %r", exc)
            live = [*self._live, *(entry[2] for entry in self._waiting)]
            self._live.clear()
            self._out.clear()
            self._waiting.clear()
            self._by_key.clear()
        for outer in live:
            _resolve(outer, error=self._lost)

    def _on_output(self, event: Any) -> None:
        """On the client's event loop: hand the line over, never block."""
        _, msg = event
        if isinstance(msg, dict) and msg.get("run") in self._runs:
            self.post(Note("output", str(msg.get("stage", "")), str(msg.get("stream", "")), str(msg.get("line", ""))))

    def _on_result(self, event: Any) -> None:
        """On the client's event loop: a worker pushed a finished stage's result; never block."""
        _, msg = event
        # No lock: open() and refresh_code() hold it while they wait on this very event loop.
        found = self._by_key.get(str(msg.get("key"))) if isinstance(msg, dict) else None
        if found is None:
            return  # another client's task, or already settled
        try:
            result = pickle.loads(msg["result"])
        except Exception:  # the gather in _settle still settles it
            return
        if isinstance(result, StageResult):  # its slot is freed when the scheduler says it finished (_settle)
            _resolve(found[0], result=result)

    def cancel_all(self) -> None:
        dask_reconnect.stop(self, join=False)  # a wait for the scheduler ends too
        with self._lock:
            live = dict(self._live)
            self._live.clear()
            self._out.clear()
            waiting = [entry[2] for entry in self._waiting]
            self._waiting.clear()
            self._by_key.clear()
        for outer in [*live, *waiting]:
            outer.cancel()
        sent = [inner for inner in live.values() if inner is not None]
        if sent and self.client is not None and self._lost is None:
            with contextlib.suppress(Exception):
                self.client.cancel(sent)

    def close(self) -> None:
        dask_reconnect.stop(self, join=True)  # first: its thread settles what it requeued
        self.cancel_all()
        self._fetchers.shutdown(wait=False, cancel_futures=True)
        if self.client is not None and self._lost is None:
            with contextlib.suppress(Exception):
                self.client.unsubscribe_topic(OUTPUT_TOPIC)
                self.client.unsubscribe_topic(RESULT_TOPIC)
        if self._lost is not None:
            reach.quiet_distributed()  # its own log lines about the lost connection say nothing more
        reach.close(self.client if self._owns_client else None, self._cluster)
        self.client = self._cluster = None

    def describe(self) -> str:
        where = self.info.get("address") or "not connected"
        return f"dask ({where}, {'isolated' if self.isolated else 'shared'} cache)"
