"""The data verbs: track, checkout, restore, commit, load."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from pivot import paths
from pivot.api.session import Targets, session, target_list, with_pipelines
from pivot.digest import Digest
from pivot.errors import CacheError, CorruptObjectError, UnsavedChangesError, UserError
from pivot.session import Session
from pivot.workspace import Workspace

if TYPE_CHECKING:
    from pivot.project.pipeline import Pipeline

log = logging.getLogger(__name__)


def track(targets: Sequence[str], *, force: bool = False, root: str | os.PathLike[str] | None = None,
          cwd: str | os.PathLike[str] | None = None) -> list[str]:
    """Store files or folders in the cache and write their .pvt files."""
    from pivot.cache.checkout import store_output
    from pivot.project import tracked
    from pivot.safepath import safe_path

    written = []
    with session(root, cwd) as s:
        base = s.cwd_rel
        for target in targets:
            rel = paths.normalize(target, base=base)
            if paths.is_inside_state_dir(rel):  # its .gitignore entry would hide the project's config
                raise UserError(f"{target}: inside {paths.STATE_DIR}/, which Pivot owns; it cannot be tracked", path=target)
            absolute = s.root / rel
            if absolute.is_dir() and not rel.endswith("/"):
                rel += "/"
            producer = s.graph.producers(rel)
            if producer:
                raise UserError(f"{rel} is an output of stage {sorted(producer)[0]!r}; outputs are tracked by their stage", path=rel)
            art = s.ws.hasher.hash(rel)
            if art is None:
                raise UserError(f"{target}: no such file or folder", path=target)
            if not force and _unchanged_or_conflict(s.root, rel, art.digest):
                continue
            store_output(s.ws.odb, s.root, rel, art)
            tracked.write(s.root, tracked.Tracked(safe_path(rel, source=target), art.digest, art.size))
            tracked.add_to_gitignore(s.root, rel)
            written.append(rel)
    return written


def untrack(targets: Sequence[str], *, root: str | os.PathLike[str] | None = None,
            cwd: str | os.PathLike[str] | None = None) -> list[str]:
    """Stop tracking files or folders (as `dvc remove x.dvc`): their .pvt and .gitignore line go,
    the data stays in place, and its cache objects go at the next gc. Targets may name the .pvt."""
    from pathlib import Path

    from pivot.project import tracked
    from pivot.project.root import find_root

    here = Path(cwd or Path.cwd()).resolve()
    project = Path(root).resolve() if root is not None else find_root(here)
    base = paths.relative_to_root(project, here) if here.is_relative_to(project) else ""
    found = []
    for target in targets:  # every target is checked before anything is removed
        rel = paths.normalize(target.removesuffix(tracked.SUFFIX), base=base)
        pvt = tracked.pvt_file(project, rel)
        if not pvt.is_file():
            raise UserError(f"{target}: not tracked (no {pvt.relative_to(project)})", path=target)
        found.append((tracked.read(project, pvt), pvt))
    for item, pvt in found:
        pvt.unlink()
        tracked.remove_from_gitignore(project, item.path)
    return [item.path for item, _ in found]


def _unchanged_or_conflict(root: Any, rel: str, digest: Digest) -> bool:
    """True when the .pvt already records these bytes. Re-tracking changed bytes updates the
    .pvt (as `dvc add` does); only a real conflict needs --force: the .pvt is unreadable, or
    records a folder where there is now a file (or the reverse)."""
    from pivot.project import tracked

    pvt = tracked.pvt_file(root, rel)
    if not pvt.exists():
        return False
    try:
        existing = tracked.read(root, pvt)
    except UserError as exc:
        raise UserError(f"{exc}; use --force to overwrite it", path=rel) from exc
    if existing.is_dir != rel.endswith("/"):
        was, now = ("folder", "file") if existing.is_dir else ("file", "folder")
        raise UserError(f"{pvt.name} tracks a {was} but {paths.strip_dir(rel)} is now a {now}; "
                        "use --force to track it as it is now", path=rel)
    return existing.digest == digest


def checkout(targets: Targets = None, *, force: bool = False, root: str | os.PathLike[str] | None = None,
             cwd: str | os.PathLike[str] | None = None) -> list[str]:
    """Restore tracked files and stage outputs from the cache into the workspace. ``targets``:
    stages, or tracked paths (``data/raw``, ``data/raw.pvt``); default everything.

    A changed file or folder whose bytes are in no cache is kept, not overwritten (DVC's
    checkout asks first): the rest is restored, then UnsavedChangesError names what was kept.
    ``force`` discards such changes."""
    from pivot.project import tracked

    wanted = target_list(targets)
    if not wanted:
        ws = _tracked_only(root, cwd)
        if ws is not None:  # no stage has a lock: only tracked data, the pipelines are not needed
            try:
                return _restore_reporting(ws, [(t.path, t.digest, t.is_dir) for t in tracked.find_all(ws.root)],
                                          force=force)
            finally:
                ws.close()
    with session(root, cwd) as s:
        every: list[tuple[str, Digest, bool]] = [(t.path, t.digest, t.is_dir) for t in tracked.find_all(s.root)]
        items, stages = (every, list(s.graph.stages)) if not wanted else _split_targets(s, wanted, every)
        for stage in stages:
            lock = s.ws.lock(stage)
            declared = {o.path for o in s.graph.stages[stage].outs}
            for o in lock.outs if lock is not None else ():
                if o.path in declared:  # a lock may only restore what its stage declares
                    items.append((o.path, o.digest, o.is_dir))
                else:
                    log.warning("%s: skipping %s, not an output of stage %r", s.ws.layout.lock_file(stage), o.path, stage)
        return _restore_reporting(s.ws, items, force=force)


def _split_targets(s: Session, wanted: list[str], every: list[tuple[str, Digest, bool]]
                   ) -> tuple[list[tuple[str, Digest, bool]], list[str]]:
    """(tracked items named, stages of the other targets): a target is tracked data when it
    names a tracked path (or its .pvt), as `dvc checkout data.csv.dvc` does."""
    from pivot.project import tracked

    by_path = {paths.strip_dir(item[0]): item for item in every}
    items, others = [], []
    for target in wanted:
        rel = paths.strip_dir(paths.normalize(target.removesuffix(tracked.SUFFIX), base=s.cwd_rel))
        if rel in by_path:
            items.append(by_path[rel])
        else:
            others.append(target)
    return items, s.scope(others, upstream=False) if others else []


def _tracked_only(root: str | os.PathLike[str] | None, cwd: str | os.PathLike[str] | None) -> Workspace | None:
    """The project's workspace when no stage has a lock file, else None. Importing and loading
    the pipelines costs ~0.3 s and is only needed to check each lock against its stage's
    declared outputs; without locks there is nothing to check."""
    from pathlib import Path

    from pivot.project.root import find_root

    ws = Workspace(Path(root).resolve() if root is not None else find_root(Path(cwd or Path.cwd())))
    if next((ws.layout.state_dir / "stages").rglob("*.lock"), None) is None:
        from pivot.api.session import _refetch_from_remote

        ws.refetch = _refetch_from_remote(ws)  # as in a session: a corrupt object comes back from the remote
        return ws
    ws.close()
    return None


def _restore_reporting(ws: Workspace, items: Sequence[tuple[str, Digest, bool]], *, force: bool = False) -> list[str]:
    kept = set() if force else unsaved_changes(ws, items)
    restored = restore(ws, [item for item in items if item[0] not in kept])
    for rel, digest, is_dir in items:  # never silent about what could not be restored
        if rel not in kept and not ws.object_available(digest, is_dir) and ws.workspace_hash(rel) != str(digest):
            log.warning("%s is not in the local cache and was not restored; `pivot pull` fetches it", rel)
    if kept:
        shown = ", ".join(sorted(kept)[:5]) + (f" (+{len(kept) - 5} more)" if len(kept) > 5 else "")
        raise UnsavedChangesError(
            f"restored {len(restored)} path(s) but kept your changes to {shown}: their bytes are in no cache. "
            "`pivot track PATH` (tracked data) or `pivot commit STAGE` (a stage's outputs) records them; "
            "`pivot checkout --force` discards them", path=sorted(kept)[0])
    return restored


def unsaved_changes(ws: Workspace, items: Iterable[tuple[str, Digest, bool]]) -> set[str]:
    """The paths where the workspace holds bytes other than the recorded ones that no cache has:
    placing the recorded ones would destroy them (a file deleted from a folder loses nothing)."""
    return {rel for rel, digest, _ in items
            if ws.workspace_hash(rel) not in (None, str(digest)) and not _all_in_cache(ws, rel)}


def _all_in_cache(ws: Workspace, rel: str) -> bool:
    """Every file now at ``rel`` (the file, or each file of the folder) has its bytes in the cache."""
    from pivot.fingerprint.trees import walk_files

    key = paths.strip_dir(rel)
    path = ws.root / key
    names = [f"{key}/{sub}" for sub, _, _ in walk_files(path)] if path.is_dir() else [key]
    for name in names:
        art = ws.hasher.hash(name)
        if art is not None and not ws.odb.exists(art.digest):
            return False
    return True


def restore(ws: Workspace, items: Iterable[tuple[str, Digest, bool]], *, only_missing: bool = False) -> list[str]:
    """Check cached objects out at their root-relative paths, skipping what is already
    there (``only_missing``: anything at all at that path) or not in the cache. Every
    object is verified; corrupt ones are set aside, fetched again from the remote when
    one is configured, else reported together at the end (the rest is restored)."""
    restored, corrupt = [], []
    for rel, digest, is_dir in items:
        dest = ws.root / paths.strip_dir(rel)
        present = os.path.lexists(dest) if only_missing else ws.workspace_hash(rel) == str(digest)
        if present or not (ws.object_available(digest, is_dir) or (is_dir and _corrupt_manifest(ws, digest))):
            continue  # not in the cache: nothing to restore (a damaged manifest is reported below)
        try:
            ws.place(rel, digest, is_dir)
        except CorruptObjectError as exc:
            corrupt.append(str(exc))
            continue
        restored.append(rel)
    if corrupt:
        raise CorruptObjectError(f"not restored: {'; '.join(corrupt)} (`pivot pull` fetches them again, "
                                 "`pivot repro` recomputes stage outputs)")
    return restored


def _corrupt_manifest(ws: Workspace, digest: Digest) -> bool:
    try:
        ws.odb.read_manifest(digest)
    except CorruptObjectError:
        return True
    except CacheError:
        pass
    return False


def commit(targets: Targets = None, *, root: str | os.PathLike[str] | None = None,
           cwd: str | os.PathLike[str] | None = None) -> list[str]:
    """Record the current workspace outputs as the stages' results without running them."""
    from pivot.api.session import ignore_outputs
    from pivot.commit import record_workspace

    done = []
    with session(root, cwd) as s:
        scope = s.scope(target_list(targets), all_pipelines=not target_list(targets), upstream=False)
        inputs = s.inputs(scope)
        for stage in scope:
            if record_workspace(s, stage, inputs[stage]):
                done.append(stage)
        ignore_outputs(s)
    return done


def load(stage_or_path: str, *, root: str | os.PathLike[str] | None = None,
         cwd: str | os.PathLike[str] | None = None, pipelines: Sequence[Pipeline] = ()) -> Any:
    """An output read through its loader: by stage (one output) or by output path."""
    root, extra = with_pipelines(root, cwd, (), pipelines)
    with session(root, cwd, extra) as s:
        out = _find_out(s, stage_or_path)
        path = s.root / paths.strip_dir(out.path)
    if not path.exists():
        raise UserError(f"{out.path} does not exist yet; run `pivot repro` first", path=out.path)
    if out.loader is None:  # shell stage outputs have no loader: hand over the path
        return path
    return out.loader.load(path)


def _find_out(s: Session, stage_or_path: str) -> Any:
    from pivot.session import resolve_target

    with contextlib.suppress(UserError):  # not a valid path: it can still be a stage name
        rel = paths.strip_dir(paths.normalize(stage_or_path, base=s.cwd_rel))
        for spec in s.graph.stages.values():
            for out in spec.outs:
                if paths.strip_dir(out.path) == rel:
                    return out
    stages = resolve_target(s.graph, stage_or_path, s.cwd_rel)
    outs = [o for stage in sorted(stages) for o in s.graph.stages[stage].outs]
    if len(outs) != 1:
        names = ", ".join(o.path for o in outs) or "none"
        raise UserError(f"{stage_or_path!r} has {len(outs)} outputs ({names}); load one by path", stage=stage_or_path)
    return outs[0]


