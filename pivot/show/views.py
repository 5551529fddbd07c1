"""A project as seen at one point: the workspace, a git revision or an experiment.

All answer the same questions (which outputs, with which hashes and params,
and their bytes), so show and diff are one code path for any pair of points.
The workspace answers from the registered stages and the files on disk; a
revision from its lock files, its ``.pvt`` files and git (``pivot.git``), with
cached bytes from ``show.objects``; an experiment from the lock files its
record kept, with every byte from the cache.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from pivot.cache.odb import ObjectStore
from pivot.digest import Digest, hash_bytes
from pivot.errors import UserError
from pivot.exp import records
from pivot.exp.records import ExpRecord
from pivot.git import GitError, Repo, open_repo
from pivot.lockfile import LockRecord
from pivot.project.tracked import Tracked, find_all
from pivot.session import Session
from pivot.show.objects import Objects

WORKSPACE = "workspace"
EXP_PREFIX = "exp:"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OutputRef:
    """One output of one stage at one point. ``digest`` None: missing (never run, or deleted)."""

    stage: str
    path: str
    kind: str  # OutKind value: "out", "dir", "metric", "plot", "incremental"
    cache: bool
    digest: Digest | None
    size: int = 0
    props: Mapping[str, Any] | None = None  # plot display options, from the current declaration


class View(Protocol):
    label: str

    def outputs(self, kinds: frozenset[str] | None = None) -> list[OutputRef]: ...

    def params(self) -> dict[str, Mapping[str, Any]]: ...

    def tracked(self) -> list[Tracked]: ...

    def read(self, ref: OutputRef) -> bytes | None: ...


class WorkspaceView:
    """The files on disk and the stages as registered now."""

    label = WORKSPACE

    def __init__(self, session: Session) -> None:
        self.s = session

    def outputs(self, kinds: frozenset[str] | None = None) -> list[OutputRef]:
        """Outputs (of ``kinds`` only, so `metrics show` never hashes a large model file)."""
        refs = []
        for spec in self.s.graph.stages.values():
            for out in spec.outs:
                if kinds is not None and str(out.kind) not in kinds:
                    continue
                art = self.s.ws.hasher.hash(out.path)
                refs.append(OutputRef(spec.identity, out.path, str(out.kind), out.cache,
                                      None if art is None else art.digest, 0 if art is None else art.size,
                                      dict(out.props)))
        return refs

    def params(self) -> dict[str, Mapping[str, Any]]:
        return {spec.identity: spec.param_values for spec in self.s.graph.stages.values() if spec.param_values}

    def tracked(self) -> list[Tracked]:
        found = []
        for item in find_all(self.s.root):  # the data's current bytes, not the .pvt's hash (rule 9)
            art = self.s.ws.hasher.hash(item.path)
            if art is not None:
                found.append(Tracked(item.path, art.digest, art.size))
        return found

    def read(self, ref: OutputRef) -> bytes | None:
        try:
            return (self.s.root / ref.path).read_bytes()
        except OSError:
            return None


class _LockedView:
    """A point known by its lock records (a revision, an experiment): outputs and params from them."""

    _locks: dict[str, LockRecord]
    _current: Mapping[str, Mapping[str, Any]]  # path -> plot props declared now (old data drawn the current way)

    def outputs(self, kinds: frozenset[str] | None = None) -> list[OutputRef]:
        return _lock_outputs(self._locks, self._current, kinds)

    def params(self) -> dict[str, Mapping[str, Any]]:
        return {identity: lock.params for identity, lock in self._locks.items() if lock.params}

    def locks(self) -> dict[str, LockRecord]:
        return self._locks


class RevisionView(_LockedView):
    """A git revision: lock files say what each output was; bytes come from git or the cache."""

    def __init__(self, repo: Repo, rev: str, objects: Objects, current: Mapping[str, Mapping[str, Any]]) -> None:
        self.repo, self.rev, self.objects = repo, rev, objects
        self.label = rev
        self._current = current
        self._locks = repo.locks(rev)

    def tracked(self) -> list[Tracked]:
        return self.repo.tracked(self.rev)

    def git_file(self, rel: str) -> bytes | None:
        return self.repo.read(self.rev, rel)

    def read(self, ref: OutputRef) -> bytes | None:
        """An uncached output is read from git as committed; a cached one must match its recorded hash."""
        committed = self.repo.read(self.rev, ref.path)
        if not ref.cache or ref.digest is None:
            return committed
        if committed is not None and hash_bytes(committed) == ref.digest:
            return committed
        return self.objects.get_bytes(ref.digest)


class ExperimentView(_LockedView):
    """An experiment of `pivot exp run`: its record's lock files say what each output was, and
    the bytes come from the cache (an experiment keeps every output there, cached or not)."""

    def __init__(self, record: ExpRecord, objects: Objects, current: Mapping[str, Mapping[str, Any]],
                 repo: Repo | None) -> None:
        self.label = record.name
        self.objects, self._current, self._repo, self._base = objects, current, repo, record.base
        self._locks, refused = records.checked_locks(record)
        for identity in refused:
            log.warning("experiment %s: the lock of %s is unreadable or names a path outside the project; "
                        "ignored", record.name, identity)

    def tracked(self) -> list[Tracked]:
        """An experiment changes params only: its tracked data is its base commit's."""
        if self._repo is None or not self._base:
            return []
        return self._repo.tracked(self._base)

    def git_file(self, _rel: str) -> bytes | None:
        return None  # the experiment's working copy is gone; only its recorded outputs remain

    def read(self, ref: OutputRef) -> bytes | None:
        return None if ref.digest is None else self.objects.get_bytes(ref.digest)


def open_point(root: Path, odb: ObjectStore, objects: Objects, rev: str,
               current: Mapping[str, Mapping[str, Any]]) -> RevisionView | ExperimentView:
    """``rev``: a git revision, or an experiment's name (``exp:NAME`` always means the
    experiment; a plain NAME is a git revision first, as in DVC)."""
    name = rev.removeprefix(EXP_PREFIX)
    repo, unknown = None, None
    try:
        repo = open_repo(root)
        if name == rev:
            return RevisionView(repo, rev, objects, current)
    except GitError as exc:
        unknown = exc
    if records.is_name(name) and records.ref(odb, name) is not None:
        return ExperimentView(records.load(odb, name), objects, current, repo)
    if unknown is not None and name == rev:
        raise UserError(f"{rev!r} is neither a git revision nor an experiment "
                        f"(`pivot exp show` lists experiments): {unknown}", path=rev) from unknown
    raise UserError(f"no experiment named {name!r}; `pivot exp show` lists them", path=rev)


def _lock_outputs(locks: Mapping[str, LockRecord], current: Mapping[str, Mapping[str, Any]],
                  kinds: frozenset[str] | None) -> list[OutputRef]:
    """The outputs lock records name (of ``kinds`` only), drawn with the plot options declared now."""
    refs = []
    for identity, lock in sorted(locks.items()):
        decls = {d.get("path", ""): d for d in lock.out_decls}
        for out in lock.outs:
            decl = decls.get(out.path, {})
            if kinds is not None and decl.get("kind") not in kinds:
                continue
            refs.append(OutputRef(identity, out.path, decl.get("kind", "dir" if out.is_dir else "out"),
                                  decl.get("cache", "true") != "false", out.digest, out.size,
                                  current.get(out.path, {})))
    return refs


def current_props(session: Session) -> dict[str, Mapping[str, Any]]:
    return {o.path: dict(o.props) for spec in session.graph.stages.values() for o in spec.outs if o.props}


__all__ = ["EXP_PREFIX", "WORKSPACE", "ExperimentView", "OutputRef", "RevisionView", "View", "WorkspaceView", "current_props", "open_point"]
