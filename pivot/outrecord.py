"""One output record, the same from worker to lock file to run record.

A stage's output is known by where it lives, which bytes it holds and how
big it is. The worker produces these, the lock file records them and the run
cache replays them: one frozen type, so a result flows through without
conversions (and a field added for one is seen by all three).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pivot.digest import Digest
from pivot.safepath import SafePath


@dataclass(frozen=True, slots=True)
class OutRecord:
    path: SafePath  # checked where it was read (pivot.safepath); a directory output ends with "/"
    digest: Digest
    size: int
    is_dir: bool = False

    def to_dict(self, digest_key: str = "digest") -> dict[str, Any]:
        return {"path": self.path, digest_key: str(self.digest), "size": self.size, "is_dir": self.is_dir}


def by_path(outs: tuple[OutRecord, ...]) -> tuple[OutRecord, ...]:
    """Canonical order, so equal records compare (and serialise) equal."""
    return tuple(sorted(outs, key=lambda o: o.path))
