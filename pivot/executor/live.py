"""Where a running stage's output lines go, on the worker side.

- Local process pool: the pipe each pool process shares with the planner
  (``set_local_queue``), the same one its results go up; the planner reads it.
- Dask worker: ``Worker.log_event`` on one topic, tagged with the run token; the client subscribed
  to that topic before submitting, so lines arrive while the stage runs.
- Anywhere else (inline, a worker without either): no live lines, the
  StageResult still carries the captured text.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

from pivot.executor.capture import LineSink

_LOCAL_QUEUE: Any = None


def set_local_queue(channel: Any) -> None:
    """This process sends its stages' lines to ``channel`` (anything with ``put``: the local pool's pipe)."""
    global _LOCAL_QUEUE
    _LOCAL_QUEUE = channel


OUTPUT_TOPIC = "pivot-output"  # one topic for every run: the scheduler keeps a bounded log per topic


def sink_for(stage: str, run_token: str) -> LineSink | None:
    if _LOCAL_QUEUE is not None:
        channel = _LOCAL_QUEUE
        return lambda stream, line: channel.put((stage, stream, line))
    worker = dask_worker()
    if worker is not None:
        return lambda stream, line: worker.log_event(
            OUTPUT_TOPIC, {"run": run_token, "stage": stage, "stream": stream, "line": line})
    return None


def dask_worker() -> Any:
    """The Dask worker running this code, or None (never imports distributed itself)."""
    if "distributed" not in sys.modules:
        return None
    from distributed import get_worker

    try:
        return get_worker()
    except ValueError:
        return None


def scratch_base() -> Path:
    """Where a stage's private folder goes: under the Dask worker's local directory
    (``dask worker --local-directory``), which distributed sweeps when a dead
    worker's folder is found at the next worker start; else the temp folder."""
    worker = dask_worker()
    base = getattr(worker, "local_directory", None) if worker is not None else None
    if base:
        path = Path(base) / "pivot-scratch"
        path.mkdir(parents=True, exist_ok=True)
        return path
    return Path(tempfile.gettempdir())
