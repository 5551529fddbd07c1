"""Dask executor: every ready stage becomes one task on a distributed cluster.

The same ``run_task`` as the local pool runs on the workers (DESIGN rule 6);
the Dask key is the task key (stage key + run token, DESIGN rule 12). Each
distributed future is mirrored by a concurrent.futures.Future that the engine
waits on. A stage whose worker died is resubmitted under a fresh key, at most
``retries`` times, then fails with the reason; nothing is committed before the
planner holds a complete result, so a retry is always safe.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, InvalidStateError, wait
from pathlib import Path
from typing import Any

from pivot.errors import ConfigError, StageFailedError
from pivot.executor import connect
from pivot.executor.base import Executor
from pivot.executor.task import StageResult, StageTask
from pivot.executor.worker import run_task

log = logging.getLogger(__name__)

MODES = ("auto", "shared", "isolated")


class DaskExecutor(Executor):
    name = "dask"
    connect_timeout = connect.DEFAULT_TIMEOUT  # config cluster.connect_timeout

    def __init__(self, client: Any, *, isolated: bool = False, retries: int = 2, cluster: Any = None,
                 owns_client: bool = False, dashboard: str | None = None) -> None:
        self.client = client
        self.isolated = isolated
        self.retries = retries
        self.dashboard = dashboard
        self._cluster = cluster  # an embedded LocalCluster, closed with the executor
        self._owns_client = owns_client
        self._lock = threading.Lock()
        self._live: dict[Future[StageResult], Any] = {}  # our future -> its current distributed future
        self._resources: list[Mapping[str, float]] | None = None
        self._target: tuple[Any, int | None, str, Path] | None = None  # connect(): opened at first submit

    @classmethod
    def connect(cls, address: Any, *, workers: int | None = None, project_root: str | os.PathLike[str],
                cache_url: str, mode: str | None = None, retries: int | None = None,
                source: str = "--cluster") -> DaskExecutor:
        """``address``: "local" (embedded LocalCluster), "tcp://HOST:PORT", or a distributed.Client.

        The cluster is reached (or started) at the first submit: a repro with nothing to run pays nothing.
        """
        root = Path(project_root).resolve()
        config = _config(root)
        mode = str(mode or config.get("cluster.mode") or "auto")
        if mode not in MODES:
            raise ConfigError(f"cluster.mode {mode!r}: use one of {', '.join(MODES)}", path=".pivot/config.yaml")
        if not (isinstance(address, str) and address) and type(address).__name__ != "Client":
            raise ConfigError(f"cluster {address!r}: use 'local', tcp://HOST:PORT or a distributed.Client")
        if isinstance(address, str) and address != "local":
            address = str(connect.parse(address, source))  # a malformed address fails now, in one line
        retries = int(retries if retries is not None else config.get("cluster.retries", 2))
        isolated = mode == "isolated" or (mode == "auto" and not _inside(cache_url, root))
        executor = cls(None, isolated=isolated, retries=retries)
        executor._target = (address, workers, str(project_root), root)
        executor.connect_timeout = connect.timeout(config)
        return executor

    def open(self) -> Any:
        """Reach (or start) the cluster now instead of at the first submit; the client."""
        with self._lock:
            if self.client is None:
                assert self._target is not None
                address, workers, key, root = self._target
                client, cluster, owns = _open_client(address, workers, self.connect_timeout)
                try:
                    if self.isolated:
                        _ship_code(client, key, root)
                    else:
                        _check_shared(client, root)
                    self.dashboard = _dashboard(client)
                except BaseException:
                    _close(client if owns else None, cluster)
                    raise
                self.client, self._cluster, self._owns_client = client, cluster, owns
            return self.client

    def submit(self, task: StageTask, *, priority: int = 0) -> Future[StageResult]:
        outer: Future[StageResult] = Future()
        self.open()
        problem = self._resource_problem(task)
        if problem is not None:
            outer.set_exception(StageFailedError(problem, stage=task.stage))
            return outer
        self._submit(outer, task, priority, attempt=0)
        return outer

    def _submit(self, outer: Future[StageResult], task: StageTask, priority: int, attempt: int) -> None:
        key = task.task_key if attempt == 0 else f"{task.task_key}-retry{attempt}"
        inner = self.client.submit(run_task, task, key=key, pure=False, priority=priority,
                                   resources=dict(task.resources) or None)
        with self._lock:
            self._live[outer] = inner
        inner.add_done_callback(lambda done: self._settle(outer, done, task, priority, attempt))

    def _settle(self, outer: Future[StageResult], inner: Any, task: StageTask, priority: int, attempt: int) -> None:
        """Runs on distributed's callback thread: mirror the outcome, or retry after a worker loss."""
        from distributed.scheduler import KilledWorker

        if outer.done():
            return  # cancelled meanwhile
        try:
            if inner.status == "finished":
                _resolve(outer, result=inner.result())
                return
            if inner.status == "cancelled":
                raise StageFailedError(f"stage {task.stage!r}: its Dask task was cancelled", stage=task.stage)
            exc = inner.exception()
        except Exception as error:  # the result could not be fetched (connection lost)
            exc = error
        if isinstance(exc, KilledWorker):
            tried = (attempt + 1) * (1 + int(getattr(exc, "allowed_failures", 0)))  # the scheduler retries too
            if tried <= self.retries:
                log.warning("stage %s: worker lost (%s); retrying on another worker", task.stage, exc)
                self._submit(outer, task, priority, attempt + 1)
                return
            last = getattr(getattr(exc, "last_worker", None), "address", "unknown")
            exc = StageFailedError(
                f"stage {task.stage!r}: the Dask worker running it died, {tried} time(s) (KilledWorker; last on "
                f"{last}: see that worker's log, e.g. for running out of memory); nothing was recorded. "
                "Retries after a worker loss: cluster.retries in .pivot/config.yaml", stage=task.stage)
        _resolve(outer, error=exc if isinstance(exc, BaseException) else RuntimeError(str(exc)))

    def wait_any(self, futures: Iterable[Future[StageResult]], timeout: float | None = None) -> set[Future[StageResult]]:
        done, _ = wait(list(futures), timeout=timeout, return_when=FIRST_COMPLETED)
        with self._lock:
            for future in done:
                self._live.pop(future, None)
        return set(done)

    def cancel_all(self) -> None:
        with self._lock:
            live = dict(self._live)
            self._live.clear()
        for outer in live:
            outer.cancel()
        if live and self.client is not None:
            self.client.cancel(list(live.values()))

    def close(self) -> None:
        self.cancel_all()
        _close(self.client if self._owns_client else None, self._cluster)
        self.client = self._cluster = None

    def describe(self) -> str:
        mode = "isolated" if self.isolated else "shared"
        where = self.client.scheduler.address if self.client is not None else "not connected"
        return f"dask ({where}, {mode} cache)"

    def _resource_problem(self, task: StageTask) -> str | None:
        """Fail fast, instead of waiting forever, when no worker offers what the stage needs."""
        if not task.resources:
            return None
        for refresh in (False, True):
            if self._resources is None or refresh:
                workers = self.client.scheduler_info(n_workers=-1).get("workers", {})
                self._resources = [w.get("resources") or {} for w in workers.values()]
            if any(all(offer.get(k, 0) >= v for k, v in task.resources.items()) for offer in self._resources):
                return None
        offered = sorted({f"{k}={v:g}" for offer in self._resources or [] for k, v in offer.items()})
        wanted = ",".join(f"{k}={v:g}" for k, v in sorted(task.resources.items()))
        return (f"stage {task.stage!r} needs resources {wanted}, which no worker of the cluster offers "
                f"(offered: {', '.join(offered) or 'none'}); start workers with `dask worker --resources "
                f"\"{wanted}\"` (cluster/start.sh --resources) or change the stage's resources")


def _resolve(outer: Future[StageResult], *, result: StageResult | None = None, error: BaseException | None = None) -> None:
    try:
        if error is not None:
            outer.set_exception(error)
        else:
            assert isinstance(result, StageResult)
            outer.set_result(result)
    except InvalidStateError:
        pass  # cancelled by cancel_all while the result was on its way


def _config(root: Path) -> Any:
    from pivot.project.config import Config
    from pivot.project.layout import Layout

    return Config.load(Layout(root).config_file)


def _open_client(address: Any, workers: int | None, timeout: float) -> tuple[Any, Any, bool]:
    """(client, embedded cluster or None, whether we own the client)."""
    import dask
    from distributed import Client, LocalCluster

    if isinstance(address, Client):
        return address, None, False
    if address != "local":
        return connect.open_client(address, timeout), None, True
    # One thread per worker process: stages chdir. Worker loss is retried by the
    # executor (with fresh keys), so the scheduler gives up on the first loss.
    if logging.getLogger("distributed").level < logging.WARNING:
        logging.getLogger("distributed").setLevel(logging.WARNING)  # the embedded scheduler's chatter
    settings = {"distributed.scheduler.allowed-failures": 0, "distributed.worker.daemon": False}
    with dask.config.set(settings):
        cluster = LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1, processes=True,
                               dashboard_address=":0", silence_logs=logging.ERROR)  # type: ignore[no-untyped-call]
        try:
            return Client(cluster), cluster, True  # type: ignore[no-untyped-call]
        except BaseException:
            cluster.close()
            raise


def _close(client: Any, cluster: Any) -> None:
    if client is not None:
        client.close()
    if cluster is not None:
        cluster.close()


def _dashboard(client: Any) -> str | None:
    services = client.scheduler_info(n_workers=0).get("services", {})
    return str(client.dashboard_link) if "dashboard" in services else None


def _inside(cache_url: str, root: Path) -> bool:
    if "://" in cache_url and not cache_url.startswith("file://"):
        return False
    path = Path(cache_url.removeprefix("file://")).resolve()
    return path.is_relative_to(root)


def _ship_code(client: Any, key: str, root: Path) -> None:
    """``key``: the project root exactly as the tasks name it (StageTask.project_root)."""
    from pivot.executor.plugin import CodePlugin, pack_project

    plugin = CodePlugin(key, pack_project(root))
    client.register_plugin(plugin, name=plugin.name)


def _check_shared(client: Any, root: Path) -> None:
    """Shared mode needs the project folder (code and cache) at the same path on every worker."""
    seen = client.run(os.path.isdir, str(root))
    blind = sorted(worker for worker, ok in seen.items() if not ok)
    if blind:
        raise ConfigError(
            f"{len(blind)} Dask worker(s) cannot see the project folder {root} (e.g. {blind[0]}); "
            "use a shared filesystem, or set cache.dir in .pivot/config.yaml to a location every worker "
            "reaches (s3://... or a shared folder outside the project) for isolated mode", path=str(root))

