"""Jupyter support: detect a kernel and show run progress as one updating display.

A terminal gets rich's live console; a notebook would get its escape codes as
text. Here progress is a single output (``display_id``) rewritten in place with
"done/total, running" as plain HTML and text, never ANSI. Stage output lines
and notices (the cluster's dashboard, a worker lost) are printed as they come,
so they appear in the cell under the progress display.
"""

from __future__ import annotations

import html
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pivot.results import Event


def in_notebook() -> bool:
    """True inside a Jupyter kernel (not a terminal IPython, not plain Python)."""
    if "IPython" not in sys.modules:  # never import IPython just to ask
        return False
    from IPython import get_ipython

    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


class ProgressLine:
    """What the display shows; IPython picks ``_repr_html_`` or ``__repr__``."""

    def __init__(self, done: int, total: int, running: tuple[str, ...], last: str = "") -> None:
        self.done, self.total, self.running, self.last = done, total, running, last

    def summary(self) -> str:
        running = ", ".join(self.running) if self.running else "-"
        tail = f"; last: {self.last}" if self.last else ""
        return f"pivot: {self.done}/{self.total} stages settled, running: {running}{tail}"

    def __repr__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        return f'<pre class="pivot-progress">{html.escape(self.summary())}</pre>'


class NotebookProgress:
    """A ``progress`` callback for ``api.repro`` that updates one notebook display."""

    def __init__(self) -> None:
        self._handle: Any = None

    def __call__(self, event: Event) -> None:
        if event.kind == "output":
            prefix = f"{event.stage} | " if len(event.running) > 1 else ""
            print(prefix + event.line, file=sys.stdout if event.stream == "stdout" else sys.stderr, flush=True)
            return
        if event.kind == "notice":
            print(f"pivot: {event.message}", flush=True)
            return
        last = f"{event.stage} {event.outcome.status}" if event.outcome is not None else ""
        self.show(ProgressLine(event.done, event.total, event.running, last))

    def show(self, line: ProgressLine) -> None:
        from IPython import display as ipd

        if self._handle is None:
            show: Callable[..., Any] = ipd.display  # untyped in IPython
            self._handle = show(line, display_id=True)
        else:
            self._handle.update(line)


class TransferLine:
    """What a transfer display shows: objects and bytes so far, plain text and HTML."""

    def __init__(self, label: str, objects: int, total_objects: int, nbytes: int) -> None:
        self.text = f"pivot {label}: {objects}/{total_objects} objects, {nbytes:,} bytes"

    def __repr__(self) -> str:
        return self.text

    def _repr_html_(self) -> str:
        return f'<pre class="pivot-progress">{html.escape(self.text)}</pre>'


class NotebookTransferProgress:
    """pivot.remote.progress.Progress for a kernel: one display rewritten in place."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.objects = self.total_objects = self.nbytes = 0
        self._handle: Any = None

    def add_total(self, objects: int, nbytes: int) -> None:
        self.total_objects += objects
        self._show()

    def advance(self, nbytes: int) -> None:
        self.objects += 1
        self.nbytes += nbytes
        self._show()

    def _show(self) -> None:
        from IPython import display as ipd

        line = TransferLine(self.label, self.objects, self.total_objects, self.nbytes)
        if self._handle is None:
            show: Callable[..., Any] = ipd.display  # untyped in IPython
            self._handle = show(line, display_id=True)
        else:
            self._handle.update(line)


def default_progress() -> NotebookProgress | None:
    """The progress display ``pivot.repro`` uses when none was given: only inside a kernel."""
    return NotebookProgress() if in_notebook() else None


_registered: set[int] = set()


def register_formatters() -> None:
    """Inside a kernel, show a Plan as the report's table (HTML and text).

    The planner stays free of display code (it imports nothing above it), so the
    notebook representations are attached here, once per IPython shell.
    """
    if not in_notebook():
        return
    from IPython import get_ipython

    from pivot.planner.decision import Plan
    from pivot.report.html import plan_html, plan_text

    shell = get_ipython()
    if shell is None or id(shell) in _registered:
        return
    formatters = shell.display_formatter.formatters
    formatters["text/html"].for_type(Plan, plan_html)
    formatters["text/plain"].for_type(Plan, lambda plan, printer, _cycle: printer.text(plan_text(plan)))
    _registered.add(id(shell))
