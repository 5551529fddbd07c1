"""The ``--jsonl`` event stream: one JSON object a line, for editors, agents and dashboards.

A progress consumer like the console display: it maps the engine's ``Event``
kinds onto the stable, versioned schema in ``events.schema.json`` (shipped in
the package, validated by the tests). Each line is flushed at once so a reader
sees a stage start while it runs.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Sequence
from importlib import resources
from typing import Any, TextIO

from pivot.results import Outcome, RunReport

SCHEMA_VERSION = 1


def schema() -> dict[str, Any]:
    """The JSON Schema every line conforms to."""
    text = resources.files("pivot.report").joinpath("events.schema.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


class JsonlSink:
    """Write run and stage events; call ``schema_line`` once, then per run ``run_start`` .. ``run_end``."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream if stream is not None else sys.stdout
        self._started = 0.0
        self._index = 0
        self.run_id = ""

    def emit(self, event: str, **fields: Any) -> None:
        line = json.dumps({"event": event, **fields}, separators=(",", ":"), default=str)
        self.stream.write(line + "\n")
        self.stream.flush()

    def schema_line(self) -> None:
        self.emit("schema", version=SCHEMA_VERSION)

    def run_start(self, run_id: str, targets: Sequence[str], executor: str) -> None:
        self._started, self._index, self.run_id = time.perf_counter(), 0, run_id
        self.emit("run_start", run_id=run_id, targets=list(targets), executor=executor)

    def run_end(self, report: RunReport | None, exit_code: int, error: str | None = None) -> None:
        counts = {str(o): report.count(o) for o in Outcome} if report is not None else {str(o): 0 for o in Outcome}
        fields: dict[str, Any] = {"run_id": self.run_id, "counts": counts,
                                  "duration_ms": _ms(time.perf_counter() - self._started), "exit_code": exit_code}
        if error is not None:
            fields["error"] = error
        self.emit("run_end", **fields)

    def notice(self, message: str) -> None:
        self.emit("notice", message=message)

    def __call__(self, event: Any) -> None:
        """The engine's progress callback (``pivot.results.Event``)."""
        if event.kind == "start":
            self._index += 1
            self.emit("stage_start", stage=event.stage, index=self._index, total=event.total)
        elif event.kind == "finish" and event.outcome is not None:
            o = event.outcome
            self.emit("stage_end", stage=o.stage, status=str(o.status), reason=o.reason,
                      duration_ms=_ms(o.duration_s))
        elif event.kind == "output":
            self.emit("stage_output", stage=event.stage, stream=event.stream, line=event.line)
        elif event.kind == "notice":
            self.emit("notice", message=event.message, **({"stage": event.stage} if event.stage else {}))


def _ms(seconds: float) -> int:
    return max(0, round(seconds * 1000))
