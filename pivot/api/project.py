"""``pivot.Project``: the verbs bound to one project root, for notebooks."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pivot.api.data import load
from pivot.api.pipeline import repro, status, verify
from pivot.api.session import Targets, find_root, init, list_stages
from pivot.project.spec import StageSpec
from pivot.results import RunReport
from pivot.status_report import StatusReport, VerifyReport

if TYPE_CHECKING:
    from pivot.project.pipeline import Pipeline


class Project:
    """A project bound to its root, for notebooks: ``pivot.Project(path).repro()``.

    ``path`` may be the root or any folder inside it (default: the working folder).
    """

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.root = find_root(path)

    @classmethod
    def init(cls, path: str | os.PathLike[str]) -> Project:
        """Create the project (``pivot init``) and open it."""
        return cls(init(path))

    def __repr__(self) -> str:
        return f"Project({str(self.root)!r})"

    def status(self, targets: Targets = None, **options: Any) -> StatusReport:
        return status(targets, root=self.root, cwd=self.root, **options)

    def repro(self, targets: Targets = None, **options: Any) -> RunReport:
        return repro(targets, root=self.root, cwd=self.root, **options)

    def verify(self, targets: Targets = None, **options: Any) -> VerifyReport:
        return verify(targets, root=self.root, cwd=self.root, **options)

    def load(self, stage_or_path: str, *, pipelines: Sequence[Pipeline] = ()) -> Any:
        return load(stage_or_path, root=self.root, cwd=self.root, pipelines=pipelines)

    def list_stages(self) -> list[StageSpec]:
        return list_stages(root=self.root, cwd=self.root)
