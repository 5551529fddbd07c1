"""`pivot move`: rename tracked data, as `dvc move` does.

The data moves in the workspace (a rename: same bytes, same cache object), its .pvt is
written beside the new path and the old one removed, and the .gitignore lines follow. Every
check comes first, so a refused move changes nothing: the source must be tracked (a stage's
output is moved by editing its pipeline.py), the destination must stay inside the project and
outside .pivot/, be free in the workspace and have no .pvt, be no stage's output, and no folder
on the way may be a link leading outside the project (DESIGN rule 13).
"""

from __future__ import annotations

import os
import posixpath
from dataclasses import dataclass

from pivot import paths
from pivot.api.session import session
from pivot.errors import UserError
from pivot.session import Session


@dataclass(frozen=True)
class Moved:
    source: str  # root-relative; trailing "/" for a folder
    destination: str
    readers: list[str]  # stages whose declared dependencies name the old path: their pipeline.py needs the new one


def move(source: str, destination: str, *, root: str | os.PathLike[str] | None = None,
         cwd: str | os.PathLike[str] | None = None) -> Moved:
    from pivot.project import tracked
    from pivot.safepath import check_writable, safe_path

    with session(root, cwd) as s:
        src = paths.normalize(source.removesuffix(tracked.SUFFIX), base=s.cwd_rel)
        pvt = tracked.pvt_file(s.root, src)
        if not pvt.is_file():
            raise UserError(f"{source}: not tracked (no {pvt.relative_to(s.root)}); "
                            "a stage's output moves with its declaration in pipeline.py", path=source)
        item = tracked.read(s.root, pvt)
        dst = paths.strip_dir(paths.normalize(destination, base=s.cwd_rel))
        if (s.root / dst).is_dir() and not (s.root / dst).is_symlink():  # into a folder, as mv does
            dst = posixpath.join(dst, posixpath.basename(paths.strip_dir(item.path)))
        dst += "/" if item.is_dir else ""
        _check_destination(s, item.path, dst, destination)
        check_writable(s.root, s.root / paths.strip_dir(dst), source=destination)
        readers = sorted(i for i, spec in s.graph.stages.items() if any(_overlaps(d.path, item.path) for d in spec.deps))
        src_abs, dst_abs = s.root / paths.strip_dir(item.path), s.root / paths.strip_dir(dst)
        dst_abs.parent.mkdir(parents=True, exist_ok=True)
        new_pvt = tracked.write(s.root, tracked.Tracked(safe_path(dst, source=destination), item.digest, item.size))
        if os.path.lexists(src_abs):  # data not checked out moves as its record only
            try:
                os.replace(src_abs, dst_abs)
            except OSError as exc:  # e.g. another filesystem mounted there: leave everything as it was
                new_pvt.unlink()
                raise UserError(f"{destination}: cannot move {item.path} there ({exc.strerror or exc})",
                                path=destination) from exc
        pvt.unlink()
        tracked.remove_from_gitignore(s.root, item.path)
        tracked.add_to_gitignore(s.root, dst)
        return Moved(item.path, dst, readers)


def _check_destination(s: Session, src: str, dst: str, shown: str) -> None:
    from pivot.project import tracked

    root = s.root
    if paths.is_inside_state_dir(dst):
        raise UserError(f"{shown}: inside {paths.STATE_DIR}/, which Pivot owns", path=shown)
    if _overlaps(dst, src):
        raise UserError(f"{shown}: {src} cannot move to itself or into itself", path=shown)
    if os.path.lexists(root / paths.strip_dir(dst)) or tracked.pvt_file(root, dst).exists():
        raise UserError(f"{shown}: {paths.strip_dir(dst)} already exists", path=shown)
    producer = s.graph.producers(dst)
    if producer:
        raise UserError(f"{shown}: {dst} is an output of stage {sorted(producer)[0]!r}", path=shown)


def _overlaps(a: str, b: str) -> bool:
    a, b = paths.strip_dir(a), paths.strip_dir(b)
    return a == b or a.startswith(b + "/") or b.startswith(a + "/")
