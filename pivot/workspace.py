"""The project as the planner sees it: state DB, cache, hashes and lock files.

Implements the planner's Facts protocol by reading the disk. Opened only in
the planner process (the only writer of state, locks and the workspace).
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from pivot import lockfile
from pivot.cache.checkout import LinkMode, checkout
from pivot.cache.odb import ObjectStore
from pivot.cache.run_cache import RunCache, RunRecord
from pivot.digest import Digest
from pivot.errors import ConfigError, CorruptObjectError
from pivot.fingerprint.trees import Hasher
from pivot.lockfile import LockRecord
from pivot.paths import strip_dir
from pivot.project.config import Config
from pivot.project.layout import Layout
from pivot.skipmemo import SkipMemo
from pivot.state import LmdbState, StateBase, mtime_granularity_ns

log = logging.getLogger(__name__)


class Workspace:
    def __init__(self, root: Path, *, state: StateBase | None = None) -> None:
        self._opened_ns = time.time_ns()  # before anything is read: the skip memo's racy bound
        self.root = root
        self.layout = Layout(root)
        self.config = Config.load(self.layout.config_file)
        self._owns_state = state is None  # an injected state belongs to whoever made it
        self.state = state if state is not None else LmdbState.open(self.layout.state_db)
        # Where a corrupt local object is fetched again (the API sets the default remote's).
        self.refetch: Callable[[Digest, bool], bool] = lambda _d, _is_dir: False
        self.cache_url = self._cache_url()
        self.odb = ObjectStore(self.cache_url)
        self.run_cache = RunCache(self.odb)
        self.hasher = Hasher(root, self.state)
        self.link_modes = self._link_modes()
        self._locks: dict[str, LockRecord | None] = {}
        self._records: dict[str, RunRecord | None] = {}
        self._pending: dict[str, bytes] = {}
        self._granularity = mtime_granularity_ns()
        self._state_text = str(self.layout.state_dir)
        self._closed = False
        self._memo: SkipMemo | None = None

    @property
    def memo(self) -> SkipMemo:
        """Skips earlier plans proved (pivot.skipmemo); what this one proves is written on close."""
        if self._memo is None:
            self._memo = SkipMemo(str(self.root), self._state_text, self.state, self._opened_ns, self._granularity)
        return self._memo

    def _cache_url(self) -> str:
        configured = self.config.get("cache.dir")
        if not configured:
            return str(self.layout.default_cache)
        text = str(configured)
        if "://" in text:
            from pivot.cache import url

            url.check(text, f"{self.layout.config_file}: cache.dir")
            return text
        path = Path(text).expanduser()
        return str(path if path.is_absolute() else (self.root / path))

    def _link_modes(self) -> tuple[LinkMode, ...]:
        raw = self.config.get("cache.type", "copy")
        names = [n.strip() for n in str(raw).split(",") if n.strip()]
        try:
            modes = tuple(LinkMode(n) for n in names)
        except ValueError as exc:
            raise ConfigError(f"{self.layout.config_file}: cache.type {raw!r}: use hardlink, symlink or copy", path=str(self.layout.config_file)) from exc
        return modes if LinkMode.COPY in modes else (*modes, LinkMode.COPY)

    # -- Facts (see pivot.planner.decide.Facts) ------------------------------------
    def lock(self, stage: str) -> LockRecord | None:
        if stage not in self._locks:
            self._locks[stage] = self._read_lock(stage)
        return self._locks[stage]

    def _read_lock(self, stage: str) -> LockRecord | None:
        """Parse a lock file, or take its parsed form from the state DB when the file
        is unchanged (same racy-safe stat rule as file hashes: YAML parsing is the
        largest cost of a no-op status)."""
        name = lockfile.lock_name(self._state_text, stage)  # a str: no pathlib parse per stage
        try:
            st = os.stat(name)
        except FileNotFoundError:
            return None
        key = f"lock:{stage}"
        cached = self.state.get(key)
        if cached is not None:
            try:
                entry = json.loads(cached)
                if entry["stat"] == [st.st_mtime_ns, st.st_size, st.st_ino] and entry["recorded"] > st.st_mtime_ns + self._granularity:
                    return LockRecord.from_dict(entry["lock"], source=name)
            except (ValueError, KeyError, TypeError, AttributeError):
                pass  # a damaged state entry is only a lost speed-up: parse the file
        recorded = time.time_ns()
        record = lockfile.read(Path(name))
        if record is not None:
            entry = {"stat": [st.st_mtime_ns, st.st_size, st.st_ino], "recorded": recorded, "lock": record.to_dict()}
            self._pending[key] = json.dumps(entry, separators=(",", ":")).encode()
        return record

    def workspace_hash(self, path: str) -> str | None:
        art = self.hasher.hash(path)
        return None if art is None else str(art.digest)

    def run_record(self, stage_key: str) -> Mapping[str, str] | None:
        record = self.full_run_record(stage_key)
        return None if record is None else {o.path: str(o.digest) for o in record.outs}

    def full_run_record(self, stage_key: str) -> RunRecord | None:
        if stage_key not in self._records:
            self._records[stage_key] = self.run_cache.get(stage_key)
        return self._records[stage_key]

    def lock_outputs_cached(self, lock: LockRecord) -> bool:
        return all(self.object_available(o.digest, o.is_dir) for o in lock.outs)

    # -- helpers -------------------------------------------------------------------
    def object_available(self, digest: Digest, is_dir: bool) -> bool:
        return self.odb.tree_complete(digest) if is_dir else self.odb.exists(digest)

    def write_lock(self, record: LockRecord) -> None:
        known = record.stage in self._locks
        if known and self._locks[record.stage] == record:
            return  # the file already holds this record (read this session, project locked)
        # A lock read this session and found different (or absent) needs no re-read to compare.
        lockfile.write(self.layout.lock_file(record.stage), record, compare=not known)
        self._locks[record.stage] = record

    def place(self, rel: str, digest: Digest, is_dir: bool, *, writable: bool = False) -> None:
        """Check an object out at ``rel`` (verified); a corrupt local object is set aside
        and fetched again from the remote once. CorruptObjectError when it cannot be."""
        dest = self.root / strip_dir(rel)
        try:
            checkout(self.odb, digest, is_dir, dest, root=self.root, modes=self.link_modes, writable=writable)
        except CorruptObjectError as exc:
            log.warning("%s", exc)
            if not self.refetch(digest, is_dir):
                raise
            checkout(self.odb, digest, is_dir, dest, root=self.root, modes=self.link_modes, writable=writable)

    def close(self) -> None:
        """Flush what was learned, then release the state DB (its descriptor and map):
        a long-lived process opens many projects and must not keep them all."""
        if self._closed:
            return
        self._closed = True
        try:
            self.odb.later.flush()
            self.hasher.flush()
            if self._memo is not None:
                self._pending.update(self._memo.entries())
            if self._pending:
                self.state.put_many(self._pending)
                self._pending = {}
        finally:
            if self._owns_state:
                self.state.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
