"""The skip memo: what a no-op already proved, kept so the next no-op need not prove it again.

A stage the planner decided to skip is remembered (state DB, ``skip:<stage>``) with its
definition digest (pivot.fingerprint.stage_key.definition_digest, kept in the load cache),
its stage key, dependency and output hashes, and the stat signature of its lock file and
of every file it read. The next plan may skip it from the memo (pivot.planner.loop) when
the definition is the same, the dependencies settle with the same hashes and every
recorded file still has its signature: then the stage key, the lock and the outputs are
the ones the full check compared, so its answer is the same (DESIGN rule 3). The racy
rule is the stat cache's: a file changed within one granularity of the start of the
planning that read it is not remembered. A lost or damaged memo only costs the full check.
"""

from __future__ import annotations

import json
import os
import stat as stat_mod
from collections.abc import Mapping
from dataclasses import dataclass

from pivot import lockfile
from pivot.planner.decision import Decision
from pivot.state import StateBase

PREFIX = "skip:"
FileSig = tuple[int, int, int, int]  # mtime_ns, size, inode, ctime_ns


def _sig(st: os.stat_result) -> FileSig:
    return (st.st_mtime_ns, st.st_size, st.st_ino, st.st_ctime_ns)


@dataclass(frozen=True)
class Recalled:
    """One remembered skip whose definition and lock file are unchanged."""

    stage_key: str
    deps: Mapping[str, str]
    outs: Mapping[str, str]
    files: Mapping[str, FileSig]
    root: str

    def file_digest(self, path: str) -> str | None:
        """The remembered hash of ``path`` if the file still has its recorded signature, else None."""
        recorded = self.files.get(path)
        if recorded is None:
            return None
        try:
            st = os.stat(f"{self.root}/{path}")
        except OSError:
            return None
        if _sig(st) != recorded:
            return None
        return self.outs.get(path) or self.deps.get(path)


class SkipMemo:
    def __init__(self, root: str, state_dir: str, state: StateBase, started_ns: int, granularity_ns: int) -> None:
        self._root = root
        self._state_dir = state_dir
        self._state = state
        self._started = started_ns  # taken before this process read anything it plans with
        self._gran = granularity_ns
        self._learned: dict[str, tuple[str, Decision]] = {}
        self._recalled: dict[str, list[object]] = {}  # stage -> its entry as read (pivot.planshot)
        self._extra: dict[str, bytes] = {}

    def recall(self, stage: str, definition: str) -> Recalled | None:
        raw = self._state.get(PREFIX + stage)
        if raw is None:
            return None
        try:
            got_def, key, lock_sig, deps, outs, files = json.loads(raw)
            if got_def != definition or not isinstance(key, str):
                return None
            if current_sig(lockfile.lock_name(self._state_dir, stage)) != tuple(lock_sig):
                return None
            recalled = Recalled(key, str_map(deps), str_map(outs),
                                {str(p): (int(a), int(b), int(c), int(d)) for p, (a, b, c, d) in files.items()},
                                self._root)
        except (ValueError, TypeError, AttributeError):
            return None  # damaged: the full check decides
        if any(p not in recalled.files for p in recalled.outs):
            return None
        self._recalled[stage] = [stage, key, lock_sig, deps, outs, files]
        return recalled

    def recalled_entry(self, stage: str) -> list[object] | None:
        """The entry ``recall`` returned for ``stage`` (without its definition), if any."""
        return self._recalled.get(stage)

    def remember(self, key: str, value: bytes) -> None:
        """Another record to write with the learned entries (pivot.planshot's whole plans)."""
        self._extra[key] = value

    def learn(self, stage: str, definition: str, decision: Decision) -> None:
        """A skip proved by the full check; written (if racily clean) when the workspace closes."""
        self._learned[stage] = (definition, decision)

    def entries(self) -> dict[str, bytes]:
        """The state entries for what was learned: stat signatures taken now, each file
        checked against the racy rule (one racy file and the stage is not remembered)."""
        found, self._extra = self._extra, {}
        sigs: dict[str, FileSig | None] = {}
        for stage, (definition, decision) in self._learned.items():
            lock_sig = self._clean(lockfile.lock_name(self._state_dir, stage))
            paths = {*decision.dep_hashes, *decision.outs}
            for p in paths:
                if p not in sigs:
                    sigs[p] = self._clean(f"{self._root}/{p}")
            if lock_sig is None or any(sigs[p] is None for p in paths) or decision.stage_key is None:
                continue
            entry = [definition, decision.stage_key, lock_sig, dict(decision.dep_hashes), dict(decision.outs),
                     {p: sigs[p] for p in sorted(paths)}]
            found[PREFIX + stage] = json.dumps(entry, separators=(",", ":")).encode()
        self._learned = {}
        return found

    def _clean(self, name: str) -> FileSig | None:
        """The file's signature when it is a regular file unchanged since well before the
        planning started; None otherwise (folders are always checked in full)."""
        try:
            st = os.stat(name)
        except OSError:
            return None
        if not stat_mod.S_ISREG(st.st_mode) or max(st.st_mtime_ns, st.st_ctime_ns) + self._gran >= self._started:
            return None
        return _sig(st)


def current_sig(name: str) -> FileSig | None:
    try:
        return _sig(os.stat(name))
    except OSError:
        return None


def str_map(raw: object) -> dict[str, str]:
    if not isinstance(raw, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in raw.items()):
        raise TypeError("not a mapping of strings")
    return raw
