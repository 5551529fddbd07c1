"""Executors: where stages run. Each returns futures of StageResult."""

from __future__ import annotations

import abc
from collections.abc import Iterable
from concurrent.futures import Future

from pivot.executor.task import StageResult, StageTask


class Executor(abc.ABC):
    """Submit tasks, learn of completions. Decides nothing (DESIGN rule 1)."""

    name: str = "base"
    isolated: bool = False

    @abc.abstractmethod
    def submit(self, task: StageTask, *, priority: int = 0) -> Future[StageResult]: ...

    @abc.abstractmethod
    def wait_any(self, futures: Iterable[Future[StageResult]], timeout: float | None = None) -> set[Future[StageResult]]: ...

    def cancel_all(self) -> None:  # noqa: B027 - optional hook
        """Cancel work not yet started (Ctrl-C)."""

    @abc.abstractmethod
    def close(self) -> None: ...

    def describe(self) -> str:
        return self.name
