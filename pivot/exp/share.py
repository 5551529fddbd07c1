"""`exp push` / `exp pull`: an experiment travels as its record, its ref and every
object its lock files name (tree manifests after their files, the ref last)."""

from __future__ import annotations

from pivot.digest import Digest
from pivot.errors import CacheError, UserError
from pivot.exp import records
from pivot.lockfile import LockRecord
from pivot.remote.select import Item, expand
from pivot.remote.store import DEFAULT_JOBS, Remote
from pivot.workspace import Workspace


def _items(record: records.ExpRecord) -> list[Item]:
    items = []
    for data in record.locks.values():
        lock = LockRecord.from_dict(data)
        items += [Item(o.path, o.digest, o.is_dir) for o in lock.outs]
    return items


def push(ws: Workspace, remote: Remote, name: str) -> int:
    """Upload one experiment; returns the number of objects sent."""
    digest = records.ref(ws.odb, name)
    record = records.load(ws.odb, name)
    assert digest is not None
    ex = expand(_items(record), ws.odb, None, DEFAULT_JOBS)
    files = ws.odb.exists_many(ex.files)
    todo = remote.missing(files | {digest}, jobs=DEFAULT_JOBS)
    failed = remote.upload(ws.odb, todo, jobs=DEFAULT_JOBS)
    trees = remote.missing(set(ex.trees) - ex.unreadable, jobs=DEFAULT_JOBS)
    failed += remote.upload(ws.odb, trees, jobs=DEFAULT_JOBS)
    if failed:
        raise CacheError(f"exp push {name}: {len(failed)} object(s) failed: {failed[0].error}")
    remote.odb.put_record(f"{records.PREFIX}/{name}", str(digest).encode())
    return len(todo) + len(trees)


def remote_names(remote: Remote) -> list[str]:
    return records.names(remote.odb)


def pull(ws: Workspace, remote: Remote, name: str) -> int:
    """Download one experiment (verified); the local ref is written last."""
    raw = remote.odb.get_record(f"{records.PREFIX}/{records.check_name(name)}")
    if raw is None:
        raise UserError(f"no experiment named {name!r} on {remote.url}", path=name)
    try:
        digest = Digest.parse(raw.decode().strip())
    except (UnicodeDecodeError, ValueError) as exc:
        raise CacheError(f"experiment {name!r} on {remote.url}: damaged ref", path=name) from exc
    tmp = ws.layout.tmp_dir
    failed = remote.download(ws.odb, [digest], tmp) if not ws.odb.exists(digest) else []
    if failed:
        raise CacheError(f"exp pull {name}: {failed[0].error}", path=name)
    record = records.ExpRecord.from_bytes(ws.odb.get_bytes(digest))
    ex = expand(_items(record), ws.odb, remote, DEFAULT_JOBS)
    todo = ex.files - ws.odb.exists_many(ex.files)
    failed = remote.download(ws.odb, todo, tmp)
    if failed:
        raise CacheError(f"exp pull {name}: {len(failed)} object(s) failed: {failed[0].error}", path=name)
    for data in ex.trees.values():
        if data is not None:
            ws.odb.put_bytes(data)
    ws.odb.put_record(f"{records.PREFIX}/{name}", str(digest).encode())
    return len(todo) + 1
