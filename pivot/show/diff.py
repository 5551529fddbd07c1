"""`pivot diff`: which outputs and tracked files were added, deleted or modified between two points.

Judged by content hash only; sizes are shown so a reviewer sees what moved.
A directory counts as one entry (its manifest hash covers every file in it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pivot.show.tables import Row, TableResult
from pivot.show.views import View


@dataclass(frozen=True)
class Entry:
    path: str
    hash: str
    size: int
    origin: str  # a stage identity, or "tracked" for a .pvt


def entries(view: View) -> dict[str, Entry]:
    found: dict[str, Entry] = {t.path: Entry(t.path, str(t.digest), t.size, "tracked") for t in view.tracked()}
    for ref in view.outputs():
        if ref.digest is not None:
            found[ref.path] = Entry(ref.path, str(ref.digest), ref.size, ref.stage)
    return found


class OutputsDiff(TableResult):
    headers = ("change", "path", "old size", "new size")
    empty = "no changes"

    def __init__(self, old: Mapping[str, Entry], new: Mapping[str, Entry], a: str, b: str) -> None:
        self.a, self.b = a, b
        self.caption = f"Diff: {a} -> {b}"
        self.added = [new[p] for p in sorted(set(new) - set(old))]
        self.deleted = [old[p] for p in sorted(set(old) - set(new))]
        self.modified = [(old[p], new[p]) for p in sorted(set(old) & set(new)) if old[p].hash != new[p].hash]

    def rows(self) -> list[Row]:
        return [*(("added", e.path, "", _size(e.size)) for e in self.added),
                *(("deleted", e.path, _size(e.size), "") for e in self.deleted),
                *(("modified", o.path, _size(o.size), _size(n.size)) for o, n in self.modified)]

    def to_json(self) -> dict[str, Any]:
        return {
            "a": self.a, "b": self.b,
            "added": [{"path": e.path, "hash": e.hash, "size": e.size} for e in self.added],
            "deleted": [{"path": e.path, "hash": e.hash, "size": e.size} for e in self.deleted],
            "modified": [{"path": o.path, "old": o.hash, "new": n.hash, "old_size": o.size, "new_size": n.size}
                         for o, n in self.modified],
        }


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{n} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"  # pragma: no cover


__all__ = ["Entry", "OutputsDiff", "entries"]
