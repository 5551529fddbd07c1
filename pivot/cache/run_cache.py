"""The run cache: stage key -> output hashes (DESIGN rule 8, a constructive trace).

Records are small objects at ``runs/<2 hex>/<rest>`` inside the object store
itself, so ``push`` shares them and cluster workers see them. A record counts
only when every object it names is present, and only for the exact stage key
it was written for.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from pivot.cache.layout import RUNS, run_key
from pivot.cache.odb import ObjectStore
from pivot.digest import SCHEMA_VERSION, Digest, canonical_json
from pivot.outrecord import OutRecord, by_path
from pivot.safepath import UnsafePathError, safe_path

log = logging.getLogger(__name__)
RECORD_KIND = "pivot-run"


@dataclass(frozen=True)
class RunRecord:
    stage_key: str
    outs: tuple[OutRecord, ...]

    def __post_init__(self) -> None:
        # Sorted once here so equal records compare (and serialise) equal.
        object.__setattr__(self, "outs", by_path(self.outs))

    def to_bytes(self) -> bytes:
        outs = [o.to_dict() for o in self.outs]
        doc = {
            "schema": SCHEMA_VERSION,
            "kind": RECORD_KIND,
            "stage_key": self.stage_key,
            "outs": outs,
        }
        return canonical_json(doc)

    @classmethod
    def from_bytes(cls, data: bytes, source: str = "run record") -> RunRecord:
        """Raises ValueError on anything that is not a record of this schema, and
        UnsafePathError (naming ``source``) on a path outside the project."""
        try:
            doc: dict[str, Any] = json.loads(data)
            if doc["schema"] != SCHEMA_VERSION or doc["kind"] != RECORD_KIND:
                raise ValueError(f"unsupported run record {doc['schema']!r}/{doc['kind']!r}")
            outs = tuple(
                OutRecord(safe_path(o["path"], source=source), Digest.parse(o["digest"]), int(o["size"]),
                          bool(o["is_dir"]))
                for o in doc["outs"]
            )
            return cls(str(doc["stage_key"]), outs)
        except (KeyError, TypeError, AttributeError, UnicodeDecodeError) as exc:
            raise ValueError(f"not a run record: {exc}") from exc


def record_key(stage_key: str) -> str:
    """Stage keys may be written "algo:hex" or bare hex; the record lives under the hex."""
    return run_key(stage_key.rpartition(":")[2])


class RunCache:
    """On a remote store, lookups start from one listing of ``runs/`` when a single LIST
    holds it (a key not listed is a miss without a request), and records are written on
    threads (``odb.later``, flushed by Workspace.close). A record another process writes
    after the listing is not seen this run: the stage runs instead of being restored,
    never the reverse (only what is read is ever replayed, and it is checked as before)."""

    def __init__(self, odb: ObjectStore) -> None:
        self.odb = odb
        self._listed: set[str] | None = None
        self._listing_done = odb.is_local  # local lookups are one open() each: no listing
        self._written: dict[str, bytes] = {}  # key -> record written by this process (maybe still on its way)

    def _known_missing(self, key: str) -> bool:
        if not self._listing_done:
            self._listing_done = True
            try:
                self._listed = self.odb.keys_in_one_page(RUNS)
            except Exception as exc:  # a listing is only a speed-up
                log.debug("run cache: no listing (%s)", exc)
        return self._listed is not None and key not in self._listed

    def get(self, stage_key: str) -> RunRecord | None:
        raw = self._written.get(record_key(stage_key))
        if raw is None and self._known_missing(record_key(stage_key)):
            return None
        if raw is None:
            raw = self.odb.get_record(record_key(stage_key))
        if raw is None:
            return None
        where = f"{self.odb.url}/{record_key(stage_key)}"
        try:
            record = RunRecord.from_bytes(raw, source=where)
        except ValueError as exc:
            log.warning("ignoring unreadable run record %s: %s", where, exc)
            return None
        except UnsafePathError as exc:  # possibly pulled from a shared remote: never applied
            log.warning("ignoring run record: %s", exc)
            return None
        if record.stage_key != stage_key:
            return None  # never replay a record written for other inputs
        return record if self._complete(record) else None

    def _complete(self, record: RunRecord) -> bool:
        files = {o.digest for o in record.outs if not o.is_dir}
        if self.odb.exists_many(files) != files:
            return False
        return all(self.odb.tree_complete(o.digest) for o in record.outs if o.is_dir)

    def put(self, record: RunRecord) -> None:
        key, data = record_key(record.stage_key), record.to_bytes()
        if self._listed is not None:
            self._listed.add(key)
        if self.odb.is_local:
            self.odb.put_record(key, data)
            return
        self._written[key] = data
        self.odb.later.submit(self.odb.put_record, key, data)  # for later runs: off the commit path
