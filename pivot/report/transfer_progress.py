"""Transfer progress on a terminal: objects and bytes with a rate (rich, on stderr).

Implements pivot.remote.progress.Progress; the notebook has its own.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import Any

from pivot.remote.progress import NoProgress, Progress


@contextlib.contextmanager
def transfer_progress(label: str, *, enabled: bool) -> Iterator[Progress]:
    """A live bar when asked for and stderr is a terminal, else nothing."""
    if not enabled or not sys.stderr.isatty():
        yield NoProgress()
        return
    with rich_progress(label) as bar:
        yield bar


@contextlib.contextmanager
def rich_progress(label: str) -> Iterator[Any]:
    """Objects and bytes with a rate, on stderr; gone when done."""
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

    columns = (TextColumn("{task.description}"), BarColumn(),
               TextColumn("{task.fields[objects]}/{task.fields[total_objects]} objects"),
               DownloadColumn(), TransferSpeedColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=0, objects=0, total_objects=0)
        yield _Bar(bar, task)


class _Bar:
    def __init__(self, bar: Any, task: Any) -> None:
        self.bar, self.task = bar, task
        self.objects = self.total_objects = self.nbytes = 0

    def add_total(self, objects: int, nbytes: int) -> None:
        self.total_objects += objects
        self.nbytes += nbytes
        self.bar.update(self.task, total=self.nbytes or None, total_objects=self.total_objects)

    def advance(self, nbytes: int) -> None:
        self.objects += 1
        self.bar.update(self.task, advance=nbytes, objects=self.objects)


