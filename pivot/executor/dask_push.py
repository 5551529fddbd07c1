"""The worker side of the Dask executor: run the stage, then push its result to the client.

The same ``run_task`` as the local pool runs (DESIGN rule 6). A result of a few
hundred bytes is also published on ``RESULT_TOPIC`` (distributed's pub-sub:
``Worker.log_event`` -> ``Client.subscribe_topic``), which reaches the client
before the task's completion does and saves it a gather round trip through the
scheduler for every stage. The task's return value stays the fallback: the
client gathers it when no pushed result arrived (a big result, a lost event).
``resolve`` is the client side: a result (or error) into the engine's future.
"""

from __future__ import annotations

import contextlib
import pickle
from concurrent.futures import Future, InvalidStateError

from pivot.executor.task import StageResult, StageTask
from pivot.executor.worker import run_task

RESULT_TOPIC = "pivot-result"
PUSH_LIMIT = 16 * 1024  # bigger results (chatty stages) are gathered: the scheduler keeps the last 1,000 events


def run_and_push(task: StageTask, key: str) -> StageResult:
    """On the worker: run the stage; ``key`` is this task's Dask key, the client's handle on it."""
    result = run_task(task)
    payload = pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)
    if len(payload) <= PUSH_LIMIT:
        with contextlib.suppress(Exception):  # no worker context, closing: the return value still counts
            from distributed import get_worker

            get_worker().log_event(RESULT_TOPIC, {"key": key, "result": payload})
    return result


def resolve(outer: Future[StageResult], *, result: StageResult | None = None, error: BaseException | None = None) -> None:
    try:
        if error is not None:
            outer.set_exception(error)
        else:
            assert isinstance(result, StageResult)
            outer.set_result(result)
    except InvalidStateError:
        pass  # cancelled by cancel_all while the result was on its way
