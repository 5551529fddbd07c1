"""`pivot get --rev`: a file or folder as it was at a revision, written only after its hash checks out.

Where the revision recorded a hash (a stage output in a lock file, tracked
data in a ``.pvt``) the bytes come from the local cache, then the remote
(``show.objects``); a plain git file comes from git. The target is written
through a temporary name, so a failed fetch leaves nothing behind.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from pivot import paths
from pivot.digest import Digest
from pivot.errors import UserError
from pivot.leftovers import temp_beside
from pivot.show.objects import Objects, atomic_write
from pivot.show.views import open_point


def _find(root: Path, objects: Objects, rev: str, rel: str) -> tuple[Digest | None, bool, bytes | None]:
    """(recorded digest, is a folder, git bytes) of ``rel`` at ``rev`` (a git revision or an
    experiment); a UserError when it is none of them."""
    point = open_point(root, objects.ws.odb, objects, rev, {})
    bare = paths.strip_dir(rel)
    for lock in point.locks().values():
        for out in lock.outs:
            if paths.strip_dir(out.path) == bare:
                return out.digest, out.is_dir, None
    for item in point.tracked():
        if paths.strip_dir(item.path) == bare:
            return item.digest, item.is_dir, None
    data = point.git_file(bare)
    if data is None:
        raise UserError(f"{rel}: not a stage output, tracked data or git file at revision {rev!r}", path=rel)
    return None, False, data


def materialise(root: Path, objects: Objects, path: str, rev: str, out: Path | None, *, force: bool = False) -> Path:
    try:
        rel = paths.normalize(path.replace(os.sep, "/"))
    except UserError as exc:
        raise UserError(f"{path}: give a path inside the project ({exc})", path=path) from exc
    digest, is_dir, data = _find(root, objects, rev, rel)
    dest = out if out is not None else Path.cwd() / Path(paths.strip_dir(rel)).name
    if os.path.lexists(dest) and not force:
        raise UserError(f"{dest} already exists; choose another -o or pass --force", path=str(dest))
    if not is_dir and dest.is_dir() and not dest.is_symlink():
        shutil.rmtree(dest)  # --force: a file replaces a folder (a rename cannot)
    if data is not None:
        atomic_write(dest, data)
    elif not is_dir:
        assert digest is not None
        objects.write_file(digest, dest)  # verified inside
    else:
        assert digest is not None
        _write_folder(objects, digest, dest)
    return dest


def _write_folder(objects: Objects, digest: Digest, dest: Path) -> None:
    """Build the whole folder beside ``dest``, then swap it in: never a half-written folder."""
    tmp = temp_beside(dest)
    try:
        objects.write_tree(digest, tmp)
        if dest.is_dir() and not dest.is_symlink():
            shutil.rmtree(dest)
        elif os.path.lexists(dest):
            dest.unlink()
        os.replace(tmp, dest)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)


__all__ = ["materialise"]
