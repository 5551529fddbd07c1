"""Where things live under the single ``.pivot/`` of a project (DESIGN rule 2)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from pivot.lockfile import lock_path


@dataclass(frozen=True)
class Layout:
    root: Path

    @cached_property
    def state_dir(self) -> Path:
        return self.root / ".pivot"

    @property
    def config_file(self) -> Path:
        return self.state_dir / "config.yaml"

    @property
    def state_db(self) -> Path:
        return self.state_dir / "state.lmdb"

    @property
    def default_cache(self) -> Path:
        return self.state_dir / "cache"

    @property
    def project_lock(self) -> Path:
        return self.state_dir / "repro.lock"

    @property
    def tmp_dir(self) -> Path:
        return self.state_dir / "tmp"

    def lock_file(self, identity: str) -> Path:
        return lock_path(self.state_dir, identity)  # asked a few times per stage: kept cheap
