"""Reaching a Dask cluster for the executor: connect or start one, check what
the workers can see, ship the code, and describe the cluster in one line.

Everything here talks to the cluster once, when a run starts; the executor
(pivot.executor.dask) does the per-stage work.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pivot.errors import ConfigError, StageFailedError
from pivot.executor.task import StageTask


def describe(client: Any, isolated: bool, cache: str, dashboard: str | None) -> dict[str, Any]:
    info = client.scheduler_info(n_workers=-1)
    workers = info.get("workers", {})
    return {"address": str(info.get("address") or client.scheduler.address), "workers": len(workers),
            "threads": sum(int(w.get("nthreads", 0)) for w in workers.values()),
            "cache": "isolated" if isolated else "shared", "cache_url": cache, "dashboard": dashboard}


def info_line(info: Mapping[str, Any]) -> str:
    line = (f"dask cluster {info['address']}: {info['workers']} worker(s), {info['threads']} thread(s), "
            f"{info['cache']} cache ({info['cache_url']})")
    return line + (f"; dashboard: {info['dashboard']}" if info.get("dashboard") else "")


WINDOW_PER_THREAD = 2  # one task running and one queued behind it on every thread


def window_setting(config: Any) -> int | None:
    """``cluster.window``: how many tasks may be on the scheduler at once (None: size it from the cluster)."""
    raw = config.get("cluster.window")
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < 1:
        raise ConfigError(f"cluster.window {raw!r}: expected a whole number of tasks >= 1 "
                          f"(or no setting: {WINDOW_PER_THREAD}x the cluster's threads)", path=".pivot/config.yaml")
    return raw


def default_window(client: Any) -> int:
    """Twice the cluster's threads when the run connects: enough to keep every thread busy while
    the planner commits, few enough that the scheduler's queue stays short and priorities hold."""
    workers = client.scheduler_info(n_workers=-1).get("workers", {})
    threads = sum(int(w.get("nthreads", 0)) for w in workers.values())
    return max(WINDOW_PER_THREAD, WINDOW_PER_THREAD * threads)


def quiet_distributed() -> None:
    for name in ("distributed", "distributed.client", "distributed.core", "distributed.comm", "tornado"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


def config(root: Path) -> Any:
    from pivot.project.config import Config
    from pivot.project.layout import Layout

    return Config.load(Layout(root).config_file)


def open_client(address: Any, workers: int | None, timeout: float) -> tuple[Any, Any, bool]:
    """(client, embedded cluster or None, whether we own the client); ``timeout``: the handshake's."""
    import dask
    from distributed import Client, LocalCluster

    if isinstance(address, Client):
        return address, None, False
    if address != "local":
        from pivot.executor import connect

        # Probed first: a refused port fails at once, a silent or foreign one within the timeout.
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


def close(client: Any, cluster: Any) -> None:
    if client is not None:
        with contextlib.suppress(Exception):  # a lost scheduler: nothing left to close cleanly
            client.close(timeout=5)
    if cluster is not None:
        cluster.close()


def dashboard(client: Any) -> str | None:
    services = client.scheduler_info(n_workers=0).get("services", {})
    return str(client.dashboard_link) if "dashboard" in services else None


def inside(cache_url: str, root: Path) -> bool:
    if "://" in cache_url and not cache_url.startswith("file://"):
        return False
    path = Path(cache_url.removeprefix("file://")).resolve()
    return path.is_relative_to(root)


def ship_code(client: Any, key: str, root: Path) -> None:
    """``key``: the project root exactly as the tasks name it (StageTask.project_root)."""
    from pivot.executor.plugin import CodePlugin, pack_project

    plugin = CodePlugin(key, pack_project(root))
    client.register_plugin(plugin, name=plugin.name)


def prepare(client: Any, isolated: bool, key: str, root: Path, topics: Mapping[str, Any]) -> None:
    """What a client needs before its first task (at the start, and after a reconnect)."""
    if isolated:
        ship_code(client, key, root)
    else:
        check_shared(client, root)
    for topic, handler in topics.items():
        client.subscribe_topic(topic, handler)


def resource_problem(client: Any, offers: list[Mapping[str, float]] | None,
                     task: StageTask) -> tuple[str | None, list[Mapping[str, float]] | None]:
    """Fail fast, instead of waiting forever, when no worker offers what the stage needs: (why
    not, or None; the workers' offers, asked once and again on a miss)."""
    if not task.resources:
        return None, offers
    for refresh in (False, True):
        if offers is None or refresh:
            workers = client.scheduler_info(n_workers=-1).get("workers", {})
            offers = [w.get("resources") or {} for w in workers.values()]
        if any(all(offer.get(k, 0) >= v for k, v in task.resources.items()) for offer in offers):
            return None, offers
    return no_worker_offers(task, offers or []), offers


def check_shared(client: Any, root: Path) -> None:
    """Shared mode needs the project folder (code and cache) at the same path on every worker."""
    seen = client.run(os.path.isdir, str(root))
    blind = sorted(worker for worker, ok in seen.items() if not ok)
    if blind:
        raise ConfigError(
            f"{len(blind)} Dask worker(s) cannot see the project folder {root} (e.g. {blind[0]}); "
            "use a shared filesystem, or set cache.dir in .pivot/config.yaml to a location every worker "
            "reaches (s3://... or a shared folder outside the project) for isolated mode", path=str(root))


def no_worker_offers(task: StageTask, offers: list[Mapping[str, float]]) -> str:
    offered = sorted({f"{k}={v:g}" for offer in offers for k, v in offer.items()})
    wanted = ",".join(f"{k}={v:g}" for k, v in sorted(task.resources.items()))
    return (f"stage {task.stage!r} needs resources {wanted}, which no worker of the cluster offers "
            f"(offered: {', '.join(offered) or 'none'}); start workers with `dask worker --resources "
            f"\"{wanted}\"` (cluster/start.sh --resources) or change the stage's resources")


def gave_up(task: StageTask, exc: BaseException | None, attempt: int) -> StageFailedError:
    tried = (attempt + 1) * (1 + int(getattr(exc, "allowed_failures", 0)))  # the scheduler may retry too
    last = getattr(getattr(exc, "last_worker", None), "address", "unknown")
    return StageFailedError(
        f"stage {task.stage!r}: the Dask worker running it died, {tried} time(s) ({type(exc).__name__}; last on "
        f"{last}: see that worker's log, e.g. for running out of memory); nothing was recorded. "
        "Retries after a worker loss: cluster.retries in .pivot/config.yaml", stage=task.stage)
