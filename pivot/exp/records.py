"""Experiment records: small, content-addressed, kept in the project cache.

A record (JSON, canonical) is stored as an object named by its hash; a ref
``exps/<name>`` names the current record of an experiment. The ref is written
last, so a killed `exp run` leaves either a complete experiment or none, and
push/pull/gc see records and the objects they name like any other object.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from pivot.cache.odb import ObjectStore
from pivot.digest import Digest, canonical_json
from pivot.errors import UserError

SCHEMA = 1
PREFIX = "exps"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


@dataclass(frozen=True)
class ExpRecord:
    name: str
    base: str  # the commit the working copy started from
    created: str  # ISO time
    status: str  # "success" | "failed"
    params: dict[str, Any]  # the overrides, as the user wrote their keys
    metrics: dict[str, Any] = field(default_factory=dict)  # "path:key" -> value
    locks: dict[str, dict[str, Any]] = field(default_factory=dict)  # stage -> lock file contents
    ran: list[str] = field(default_factory=list)
    restored: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"schema": SCHEMA, "kind": "pivot-experiment", "name": self.name, "base": self.base,
                "created": self.created, "status": self.status, "params": self.params, "metrics": self.metrics,
                "locks": self.locks, "ran": self.ran, "restored": self.restored}

    @classmethod
    def from_bytes(cls, data: bytes) -> ExpRecord:
        """Raises ValueError on anything that is not an experiment record."""
        try:
            doc = json.loads(data)
            if doc.get("schema") != SCHEMA or doc.get("kind") != "pivot-experiment":
                raise ValueError("not a pivot experiment record")
            return cls(check_name(str(doc["name"])), str(doc["base"]), str(doc["created"]), str(doc["status"]),
                       dict(doc["params"]), dict(doc.get("metrics") or {}), dict(doc.get("locks") or {}),
                       list(doc.get("ran") or []), list(doc.get("restored") or []))
        except (KeyError, TypeError, AttributeError, UnicodeDecodeError, json.JSONDecodeError, UserError) as exc:
            raise ValueError(f"not an experiment record: {exc}") from exc


def is_name(name: str) -> bool:
    return bool(_NAME.fullmatch(name))


def checked_locks(record: ExpRecord) -> tuple[dict[str, Any], list[str]]:
    """The record's lock files as LockRecords, by stage, and the stages whose lock is refused: a
    record may come from a remote (`exp pull`), so every path is checked (rule 13) and none may
    lie inside the state folder."""
    from pivot.git import checked_outs
    from pivot.lockfile import LockRecord

    good: dict[str, Any] = {}
    refused = []
    for identity, data in sorted(record.locks.items()):
        try:
            lock = LockRecord.from_dict(data, source=f"experiment {record.name}")
        except (UserError, KeyError, TypeError, ValueError, AttributeError):
            lock = None
        if lock is not None and checked_outs(lock):
            good[lock.stage] = lock
        else:
            refused.append(identity)
    return good, refused


def applicable(record: ExpRecord) -> dict[str, Any]:
    """The record's locks (LockRecords by stage), or a UserError when any is refused: what
    `exp apply` and `exp branch` write must all pass (rule 13)."""
    from pivot.paths import STATE_DIR

    good, refused = checked_locks(record)
    if refused:
        raise UserError(f"experiment {record.name!r}: the lock of {refused[0]} is unreadable or names a path "
                        f"outside the project or inside {STATE_DIR}/; refusing it", path=record.name)
    return good


def check_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise UserError(f"experiment name {name!r}: use letters, digits, '.', '_' or '-'", path=name)
    return name


def save(odb: ObjectStore, record: ExpRecord) -> Digest:
    digest = odb.put_bytes(canonical_json(record.to_json()))
    odb.put_record(f"{PREFIX}/{check_name(record.name)}", str(digest).encode())  # last: the record is whole
    return digest


def ref(odb: ObjectStore, name: str) -> Digest | None:
    raw = odb.get_record(f"{PREFIX}/{check_name(name)}")
    if raw is None:
        return None
    try:
        return Digest.parse(raw.decode().strip())
    except (UnicodeDecodeError, ValueError):
        return None


def load(odb: ObjectStore, name: str) -> ExpRecord:
    digest = ref(odb, name)
    if digest is None:
        raise UserError(f"no experiment named {name!r}; `pivot exp show` lists them", path=name)
    try:
        return ExpRecord.from_bytes(odb.get_bytes(digest))
    except Exception as exc:  # a missing or damaged object: say which experiment
        raise UserError(f"experiment {name!r}: its record {digest} cannot be read ({exc})", path=name) from exc


def names(odb: ObjectStore) -> list[str]:
    return sorted(key.split("/", 1)[1] for key in odb.iter_records(PREFIX) if "/" in key)


def load_all(odb: ObjectStore) -> list[ExpRecord]:
    found = []
    for name in names(odb):
        try:
            found.append(load(odb, name))
        except UserError:
            continue  # damaged: `exp show` lists the rest
    return found


def remove(odb: ObjectStore, name: str) -> bool:
    key = f"{PREFIX}/{check_name(name)}"
    if odb.get_record(key) is None:
        return False
    odb.delete_record(key)
    return True


def referenced(odb: ObjectStore) -> tuple[set[Digest], list[tuple[str, Digest, bool]]]:
    """What the experiments kept in ``odb`` need: their record objects, and every output
    (path, digest, is_dir) their lock files name. gc keeps these like a commit's."""
    from pivot.lockfile import LockRecord

    record_objects: set[Digest] = set()
    outputs: list[tuple[str, Digest, bool]] = []
    for name in names(odb):
        digest = ref(odb, name)
        if digest is None:
            continue
        record_objects.add(digest)
        try:
            record = ExpRecord.from_bytes(odb.get_bytes(digest))
            for data in record.locks.values():
                outputs += [(o.path, o.digest, o.is_dir) for o in LockRecord.from_dict(data).outs]
        except Exception:  # a damaged or missing record protects only itself
            continue
    return record_objects, outputs
