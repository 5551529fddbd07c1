"""Waiting for a lost Dask scheduler to come back (``cluster.reconnect_timeout``).

This helps when the scheduler and its workers are restarted at the same address
(by an operator, or by Kubernetes). distributed's own client is no help: it
cancels every future it had when the connection drops, and reconnects only
within its own short timeout. So on a loss the executor puts every stage that
was out back into its waiting heap (same task, same priority), closes the old
client, and a thread of ours polls the address with a fresh client until a
scheduler with at least one worker answers, or the deadline passes (then the
run ends as without this setting: one ClusterLostError, exit code 3).

Once back, the code is shipped again (isolated mode) or the shared folder
checked, and the stages go out under fresh Dask keys (a generation suffix), so
nothing of the old scheduler can match them; callbacks of the old client's
cancelled futures carry the old generation and are ignored. Resubmitting is
safe for the reason a retry after a worker loss is: nothing is committed
before the planner holds a complete result. Nothing here runs on
distributed's callback thread.
"""

from __future__ import annotations

import heapq
import logging
import math
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pivot.errors import ClusterLostError, ConfigError
from pivot.executor import connect
from pivot.executor import dask_cluster as reach
from pivot.executor.base import Note

if TYPE_CHECKING:
    from pivot.executor.dask import DaskExecutor

log = logging.getLogger(__name__)

POLL_S = 0.25  # between attempts: a refused port fails at once
CLOSE_OLD_S = 2.0  # the old client's close: its scheduler is gone, there is nothing to say goodbye to


def setting(config: Any) -> float:
    """``cluster.reconnect_timeout``: seconds to wait for a lost scheduler (0, the default: do not wait)."""
    raw = config.get("cluster.reconnect_timeout", 0)
    try:
        value = -1.0 if isinstance(raw, bool) else float(raw)
    except (TypeError, ValueError):
        value = -1.0
    if not (value >= 0 and math.isfinite(value)):
        raise ConfigError(f"cluster.reconnect_timeout {raw!r}: expected a number of seconds >= 0 "
                          "(0: do not wait for a lost scheduler)", path="cluster.reconnect_timeout")
    return value


def lost_error(where: str, waited: float) -> ClusterLostError:
    after = f" (it did not come back within {waited:g} s, cluster.reconnect_timeout)" if waited else ""
    return ClusterLostError(f"lost the Dask scheduler at {where}{after}", path=where)


class Waiter:
    """One wait for the scheduler at ``address``; ``stop`` ends it early (close, Ctrl-C)."""

    def __init__(self, address: str, seconds: float, connect_timeout: float) -> None:
        self.address, self.seconds, self.connect_timeout = address, seconds, connect_timeout
        self.stop = threading.Event()
        self.deadline = time.monotonic() + seconds
        self.thread: threading.Thread | None = None

    def wait(self, setup: Callable[[Any], None]) -> Any | None:
        """A client of a scheduler that is back with a worker and ``setup`` done; None: gave up."""
        while not self.stop.is_set():
            left = self.deadline - time.monotonic()
            if left <= 0:
                return None
            client = self._attempt(left, setup)
            if client is not None:
                return client
            self.stop.wait(POLL_S)
        return None

    def _attempt(self, left: float, setup: Callable[[Any], None]) -> Any | None:
        try:
            client = connect.open_client(self.address, min(self.connect_timeout, left))
        except Exception as exc:  # not listening yet, or not answering yet
            log.debug("scheduler not back yet: %s", exc)
            return None
        try:
            # Workers register after the scheduler: short waits, so stop is seen at once.
            while not client.nthreads():
                if self.stop.wait(POLL_S) or time.monotonic() > self.deadline:
                    raise TimeoutError("no worker")
            setup(client)
            if self.stop.is_set():
                raise TimeoutError("stopped")
            return client
        except Exception as exc:
            log.debug("scheduler back but not ready: %r", exc)
            reach.close(client, None)
            return None


def begin(executor: DaskExecutor) -> bool:
    """The scheduler was lost: requeue every stage that was out and start waiting for it.

    False when this executor cannot wait (a client the user passed, an embedded
    cluster, a wait that already gave up): the caller settles everything as lost.
    """
    address = executor._target[0] if executor._target is not None else None
    if not (isinstance(address, str) and address != "local" and executor._owns_client):
        return False
    with executor._lock:
        if executor._lost is not None or executor._waited:
            return False
        if executor._waiter is not None:
            return True  # already waiting: the stages were requeued by the first report of the loss
        executor._generation += 1
        requeued = 0
        for outer, (task, priority) in executor._out.items():
            if not outer.done():  # a result pushed just before the loss is kept
                heapq.heappush(executor._waiting, (-priority, next(executor._seq), outer, task, priority))
                requeued += 1
        executor._out.clear()
        executor._live.clear()
        executor._by_key.clear()
        waiter = executor._waiter = Waiter(address, executor.reconnect_timeout, executor.connect_timeout)
        old = executor.client
    where = executor.info.get("address") or address
    executor.post(Note("notice", message=f"lost the Dask scheduler at {where}: waiting up to "
                       f"{executor.reconnect_timeout:g} s for it to come back (cluster.reconnect_timeout)"))
    waiter.thread = threading.Thread(target=_wait, args=(executor, waiter, old, where, requeued),
                                     name="pivot-reconnect", daemon=True)
    waiter.thread.start()
    return True


def _wait(executor: DaskExecutor, waiter: Waiter, old: Any, where: str, requeued: int) -> None:
    reach.quiet_distributed()  # its own lines about the lost connection say nothing more than our notice
    if old is not None:  # its reconnect attempts and cancelled futures end here
        try:
            old.close(timeout=CLOSE_OLD_S)
        except Exception as exc:
            log.debug("closing the old client: %r", exc)
    client = waiter.wait(executor._setup)
    if client is not None and waiter.stop.is_set():  # stopped (close, Ctrl-C) just as it came back
        reach.close(client, None)
        client = None
    with executor._lock:
        executor._waiter = None
        if client is not None:
            executor.client, executor._resources = client, None  # the new workers' resources are asked anew
        else:
            executor._waited = waiter.seconds
            if waiter.stop.is_set() and executor._lost is None:  # close or Ctrl-C, not the deadline
                executor._lost = ClusterLostError(f"lost the Dask scheduler at {where} (stopped waiting for it)",
                                                  path=where)
    if client is None:
        executor._lose(None)  # the wait is over: exactly the path without it
        return
    executor.post(Note("notice", message=f"the Dask scheduler at {where} is back: resubmitting {requeued} stage(s)"))
    executor._pump()


def stop(executor: DaskExecutor, join: bool) -> None:
    """End a wait in progress (Ctrl-C, close); ``join``: until its thread has finished."""
    waiter = executor._waiter
    if waiter is None:
        return
    waiter.stop.set()
    if join and waiter.thread is not None and waiter.thread is not threading.current_thread():
        waiter.thread.join(CLOSE_OLD_S + waiter.connect_timeout + 1)
