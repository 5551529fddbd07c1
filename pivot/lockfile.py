"""Lock files: the verifying trace of one stage (what it last ran with).

One YAML file per stage at ``.pivot/stages/<identity>.lock``; canonical and
sorted so that unchanged content is byte-identical and is never rewritten.
A missing, corrupt or foreign-schema lock reads as "never ran".
"""

from __future__ import annotations

import functools
import itertools
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pivot.digest import Digest
from pivot.outrecord import OutRecord, by_path
from pivot.safepath import safe_path

SCHEMA_VERSION = 1
log = logging.getLogger(__name__)


@functools.cache
def yaml_loader() -> Any:
    """PyYAML's safe loader, imported when a lock file is first parsed: a no-op answered from
    parsed locks and the skip memo never pays PyYAML's import. The C one is ~10x faster."""
    import yaml

    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@functools.cache
def _yaml_dumper() -> Any:
    import yaml

    return getattr(yaml, "CSafeDumper", yaml.SafeDumper)


@dataclass(frozen=True)
class LockRecord:
    stage: str
    stage_key: str
    code: Mapping[str, str] = field(default_factory=dict)
    params: Mapping[str, Any] = field(default_factory=dict)
    deps: Mapping[str, str] = field(default_factory=dict)  # path -> str(Digest)
    outs: tuple[OutRecord, ...] = ()
    out_decls: tuple[Mapping[str, str], ...] = ()

    def __post_init__(self) -> None:
        # Canonical order, so equal records compare equal however they were built.
        object.__setattr__(self, "outs", by_path(self.outs))
        object.__setattr__(self, "out_decls", tuple(sorted(self.out_decls, key=lambda d: sorted(d.items()))))

    def out_map(self) -> dict[str, OutRecord]:
        return {o.path: o for o in self.outs}

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "stage": self.stage,
            "stage_key": self.stage_key,
            "code": dict(sorted(self.code.items())),
            "params": _sorted(self.params),
            "deps": [{"path": p, "hash": h} for p, h in sorted(self.deps.items())],
            "outs": [o.to_dict(digest_key="hash") for o in self.outs],
            "out_decls": sorted((dict(sorted(d.items())) for d in self.out_decls), key=lambda d: d.get("path", "")),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "lock file") -> LockRecord:
        """Every path is checked here, once (UnsafePathError names ``source``)."""
        return cls(
            stage=_stage_name(data["stage"], source),
            stage_key=str(data["stage_key"]),
            code={str(k): str(v) for k, v in (data.get("code") or {}).items()},
            params=dict(data.get("params") or {}),
            deps={safe_path(d["path"], source=source): str(d["hash"]) for d in data.get("deps") or []},
            outs=tuple(
                OutRecord(safe_path(o["path"], source=source), Digest.parse(str(o["hash"])), int(o["size"]),
                          bool(o.get("is_dir", False)))
                for o in data.get("outs") or []
            ),
            out_decls=tuple({str(k): str(v) for k, v in d.items()} for d in data.get("out_decls") or []),
        )


def _stage_name(raw: object, source: str) -> str:
    """A stage name is also its lock file's name (``.pivot/stages/<stage>.lock``): one read from an
    untrusted lock (an experiment record from a remote, a lock from git) must pass the project's
    path check as that relative path, so it cannot climb out of the folder (DESIGN rule 13)."""
    name = str(raw)
    safe_path(name.replace(":", "/"), source=f"{source}: stage name")
    return name


def _sorted(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _sorted(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, list | tuple):
        return [_sorted(v) for v in value]
    return value


def lock_path(state_dir: Path, identity: str) -> Path:
    return Path(lock_name(str(state_dir), identity))  # one parse, not three joins (per stage)


def lock_name(state_dir: str, identity: str) -> str:
    # ":" separates a sub-pipeline folder from the stage name; keep it readable but portable.
    safe = identity.replace(":", "/").replace("@", "@")
    return f"{state_dir}/stages/{safe}.lock"


def dumps(record: LockRecord) -> str:
    from pivot import yamlemit  # imports PyYAML (its resolvers): only when a lock is written

    data = record.to_dict()
    try:
        return yamlemit.dumps(data)
    except yamlemit.Unsupported:  # an unusual params value (a date, a non-string key): PyYAML's way
        import yaml

        return str(yaml.dump(data, Dumper=_yaml_dumper(), sort_keys=False, default_flow_style=False, allow_unicode=True))


def read(path: Path) -> LockRecord | None:
    """The lock at ``path``, or None ("never ran") when missing, corrupt or foreign.

    A lock naming a path outside the project is not damage but a threat: it
    raises UnsafePathError (exit 2) instead of being quietly ignored.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        log.warning("cannot read lock file %s (%s); treating the stage as never run", path, exc)
        return None
    return parse(text, str(path))


def parse(text: str, where: str) -> LockRecord | None:
    """A lock file's text (from disk or from a git revision), or None when corrupt or foreign."""
    import yaml

    try:
        data = yaml.load(text, Loader=yaml_loader())
        if not isinstance(data, dict) or data.get("schema_version") != SCHEMA_VERSION:
            log.warning("lock file %s has an unknown schema; treating the stage as never run", where)
            return None
        return LockRecord.from_dict(data, source=where)
    except (yaml.YAMLError, KeyError, TypeError, ValueError, AttributeError) as exc:  # wrong shapes or types
        log.warning("lock file %s is corrupt (%s); treating the stage as never run", where, exc)
        return None


def write(path: Path, record: LockRecord, *, compare: bool = True) -> bool:
    """Write atomically (temp file + rename). Returns False when the content was unchanged.

    ``compare=False``: the caller knows the file holds no equal record (it read it).
    """
    text = dumps(record)
    if compare:
        try:
            if path.read_text(encoding="utf-8") == text:
                return False
        except (OSError, UnicodeDecodeError):  # missing or damaged: replaced below
            pass
    atomic_write_text(path, text)
    return True


_tmp_names = itertools.count()


def atomic_write_text(path: Path, text: str) -> None:
    data = text.encode("utf-8")
    # Only the planner writes lock files (one per project at a time), so pid + counter
    # is unique; O_EXCL still refuses a leftover of a killed process with the same pid.
    tmp = f"{path.parent}/.{path.name}.{os.getpid()}.{next(_tmp_names)}.tmp"
    try:
        fd = _create(tmp)
    except FileNotFoundError:  # the first lock in this folder: made here, not checked each time
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = _create(tmp)
    except FileExistsError:
        import tempfile  # (with shutil and bz2) only on this rare name clash

        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        os.fchmod(fd, 0o666 & ~_umask())
    try:
        with os.fdopen(fd, "wb") as handle:
            # No fsync: rename keeps a killed process from leaving a partial lock, and a
            # lock emptied by a power cut reads as "never ran" (the stage re-runs), so
            # durability would buy nothing but ~5 ms per stage.
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _create(tmp: str) -> int:
    # Mode 0666 minus the umask, like any file the user creates: lock files are shared project files.
    return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current
