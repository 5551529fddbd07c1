"""What a transfer is about: the objects behind the chosen outputs and tracked files.

A selection lists (path, digest) items from lock files and .pvt files; expanding
it reads tree manifests (locally, or verified from the remote) so every file
object and manifest is known, with the path a person would recognise it by.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pivot.cache.odb import ObjectStore
from pivot.cache.run_cache import RunRecord
from pivot.digest import Digest
from pivot.errors import CacheError, CorruptObjectError
from pivot.fingerprint.trees import parse_manifest
from pivot.pool import pool_map
from pivot.remote.store import Remote
from pivot.safepath import UnsafePathError
from pivot.workspace import Workspace

if TYPE_CHECKING:
    from pivot.api.session import Targets

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Item:
    path: str
    digest: Digest
    is_dir: bool


@dataclass
class Selection:
    items: list[Item]
    stage_keys: set[str]
    everything: bool



@dataclass
class Expanded:
    """Every object behind a selection: file objects, tree manifests, and who uses each."""

    files: set[Digest] = field(default_factory=set)
    trees: dict[Digest, bytes | None] = field(default_factory=dict)  # manifest bytes when fetched
    paths: dict[Digest, str] = field(default_factory=dict)
    required: set[Digest] = field(default_factory=set)  # named by the selection, not only by run records
    unreadable: set[Digest] = field(default_factory=set)  # manifests we could not get


# -- selection -------------------------------------------------------------------------
def all_locks(ws: Workspace) -> list[Any]:
    from pivot import lockfile

    folder = ws.layout.state_dir / "stages"
    found = (lockfile.read(p) for p in sorted(folder.rglob("*.lock")))
    return [lock for lock in found if lock is not None]


@contextlib.contextmanager
def open_selection(targets: Targets, root: str | os.PathLike[str] | None,
          cwd: str | os.PathLike[str] | None) -> Iterator[tuple[Workspace, Selection]]:
    from pivot.project import tracked
    from pivot.project.root import find_root

    wanted = [targets] if isinstance(targets, str) else list(targets or [])
    if not wanted:  # everything: no need to import the pipelines (nor the session machinery)
        ws = Workspace(Path(root).resolve() if root is not None else find_root(Path(cwd or Path.cwd())))
        items = [Item(t.path, t.digest, t.is_dir) for t in tracked.find_all(ws.root)]
        locks = all_locks(ws)
        items += [Item(o.path, o.digest, o.is_dir) for lock in locks for o in lock.outs]
        try:
            yield ws, Selection(items, {lock.stage_key for lock in locks}, True)
        finally:
            ws.close()
        return
    from pivot.api.session import session

    with session(root, cwd) as s:
        yield s.ws, _select(s, wanted)


def _select(s: Any, wanted: list[str]) -> Selection:
    from pivot import paths
    from pivot.project import tracked
    from pivot.session import resolve_target

    by_path = {paths.strip_dir(t.path): Item(t.path, t.digest, t.is_dir) for t in tracked.find_all(s.root)}
    items: list[Item] = []
    keys: set[str] = set()
    for target in wanted:
        rel = paths.strip_dir(paths.normalize(target, base=s.cwd_rel))
        if rel in by_path:
            items.append(by_path[rel])
            continue
        for stage in sorted(resolve_target(s.graph, target, s.cwd_rel)):
            lock = s.ws.lock(stage)
            if lock is not None:
                keys.add(lock.stage_key)
                items += [Item(o.path, o.digest, o.is_dir) for o in lock.outs]
    return Selection(items, keys, False)


def record_items(odb: ObjectStore, keys: set[str]) -> list[Item]:
    items: list[Item] = []
    for key in sorted(keys):
        raw = odb.get_record(key)
        with contextlib.suppress(ValueError, UnsafePathError):  # RunCache.get reports it when used
            record = RunRecord.from_bytes(raw) if raw is not None else None
            items += [Item(o.path, o.digest, o.is_dir) for o in record.outs] if record else []
    return items


def expand(items: list[Item], local: ObjectStore, remote: Remote | None, jobs: int,
            optional: Sequence[Item] = ()) -> Expanded:
    """Trees are read from the local cache, else (when given) fetched from the remote, verified."""
    out = Expanded()
    out.required = {i.digest for i in items}
    for item in [*items, *optional]:
        out.paths.setdefault(item.digest, item.path)
        if item.is_dir:
            out.trees.setdefault(item.digest, None)
        else:
            out.files.add(item.digest)

    def manifest(d: Digest) -> tuple[Digest, bytes | None, bool]:
        with contextlib.suppress(CacheError):
            return d, local.get_bytes(d), False
        if remote is None:
            return d, None, False
        try:
            return d, remote.get_manifest_bytes(d), True
        except CorruptObjectError:
            raise
        except (CacheError, FileNotFoundError):
            return d, None, False

    for d, data, fetched in pool_map(manifest, sorted(out.trees), jobs):
        try:
            entries = parse_manifest(data, source=str(d)) if data is not None else None
        except ValueError:
            entries = None
        except UnsafePathError as exc:  # a hostile tree is reported and never placed
            log.warning("ignoring tree: %s", exc)
            entries = None
        if entries is None:
            out.unreadable.add(d)
            continue
        out.trees[d] = data if fetched else None
        for e in entries:
            out.files.add(e.digest)
            if d in out.required:
                out.required.add(e.digest)
            out.paths.setdefault(e.digest, f"{out.paths[d]}{e.path}")
    return out


def sizes(local: ObjectStore, ds: set[Digest]) -> int:
    total = 0
    for d in ds:
        path = local.local_path(d)
        with contextlib.suppress(OSError):
            total += path.stat().st_size if path is not None else 0
    return total



def entries(odb: ObjectStore, tree: Digest) -> list[Digest]:
    return [e.digest for e in odb.read_manifest(tree)]


