"""How transfers report progress: a small protocol the CLI and the notebook implement.

The remote package never imports a display; callers hand it a Progress.
"""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    def add_total(self, objects: int, nbytes: int) -> None: ...

    def advance(self, nbytes: int) -> None: ...


class NoProgress:
    def add_total(self, objects: int, nbytes: int) -> None:
        return None

    def advance(self, nbytes: int) -> None:
        return None

