"""The only writer: outputs into the cache and workspace, run-cache entry, lock, state.

Fixed order (so a kill at any point leaves a project the next repro completes):
outputs present in the object store -> workspace -> run-cache entry -> lock
file -> state DB. A lock is written last, so a stage without a current lock
simply runs again.
"""

from __future__ import annotations

from collections.abc import Mapping

from pivot.cache.checkout import place_bytes, store_output
from pivot.cache.run_cache import RunRecord
from pivot.digest import hash_bytes
from pivot.errors import CacheError, CorruptObjectError
from pivot.executor.task import StageResult
from pivot.lockfile import LockRecord
from pivot.outrecord import OutRecord
from pivot.planner.decide import StageInputs
from pivot.planner.decision import Action, Decision
from pivot.project.spec import OutKind, StageSpec
from pivot.safepath import SafePath, UnsafePathError
from pivot.session import Session
from pivot.workspace import Workspace


def commit_run(ws: Workspace, spec: StageSpec, inputs: StageInputs, decision: Decision,
               result: StageResult, *, isolated: bool) -> dict[str, str]:
    """Record a successful run; returns the output hashes its consumers see."""
    _only_declared(spec, result.outs)  # a task result crossed a process (or host) boundary
    inline = _sent_back(spec, result) if isolated else {}
    for out in result.outs:
        if out.path in inline:  # checked: stored from here, off the commit path (also when already placed)
            ws.odb.later.submit(ws.odb.put_bytes, inline[out.path])
        elif not ws.object_available(out.digest, out.is_dir):
            raise CacheError(f"stage {spec.identity!r}: output {out.path} is missing from the cache after the run", stage=spec.identity)
    if isolated:
        _checkout_outputs(ws, spec, result.outs, inline)
    assert decision.stage_key is not None
    outs = result.outs
    # DESIGN rule 11: the lock records the dependency hashes the stage was planned
    # with. If one changed while it ran, the run may have read either version, so
    # it must not be offered to anyone else through the run cache.
    consumed_as_planned = all(ws.workspace_hash(p) == h for p, h in decision.dep_hashes.items())
    if inputs.uses_run_cache and consumed_as_planned:
        ws.run_cache.put(RunRecord(decision.stage_key, outs))
    ws.write_lock(_lock(spec, inputs, decision, outs))
    return {o.path: str(o.digest) for o in outs}


def commit_restore(ws: Workspace, spec: StageSpec, inputs: StageInputs, decision: Decision) -> dict[str, str]:
    """Check a run-cache hit's outputs out and record them like a fresh run."""
    assert decision.stage_key is not None
    record = ws.full_run_record(decision.stage_key)
    if record is None:
        raise CacheError(f"stage {spec.identity!r}: run-cache entry vanished", stage=spec.identity)
    _checkout_outputs(ws, spec, record.outs)
    ws.write_lock(_lock(spec, inputs, decision, record.outs))
    return {o.path: str(o.digest) for o in record.outs}


def commit_checkout(ws: Workspace, spec: StageSpec, decision: Decision) -> dict[str, str]:
    """Restore an up-to-date stage's missing or modified outputs from the cache."""
    lock = ws.lock(spec.identity)
    assert lock is not None
    _checkout_outputs(ws, spec, lock.outs)
    return {o.path: str(o.digest) for o in lock.outs}


def discard_outputs(ws: Workspace, spec: StageSpec) -> None:
    """Remove what a run that could not be recorded left in the workspace; the previous
    lock stays, and `pivot checkout` restores its outputs from the cache."""
    import shutil

    for out in spec.outs:
        target = ws.root / out.path.rstrip("/")
        if target.is_symlink() or target.is_file():
            target.unlink()
        elif target.is_dir():
            shutil.rmtree(target, ignore_errors=True)


def _sent_back(spec: StageSpec, result: StageResult) -> dict[str, bytes]:
    """An isolated worker's small file outputs, sent with its result, each checked against its digest."""
    sent: dict[str, bytes] = {}
    for out in result.outs:
        data = result.inline.get(out.path)
        if out.is_dir or not isinstance(data, bytes):
            continue
        if hash_bytes(data) != out.digest:
            raise CorruptObjectError(f"stage {spec.identity!r}: the bytes sent back for {out.path} do not hash "
                                     f"to {out.digest}", path=out.path, stage=spec.identity)
        sent[out.path] = data
    return sent


def _checkout_outputs(ws: Workspace, spec: StageSpec, outs: tuple[OutRecord, ...],
                      inline: Mapping[str, bytes] | None = None) -> None:
    kinds = {o.path: o.kind for o in spec.outs}
    _only_declared(spec, outs)
    for out in outs:
        if ws.workspace_hash(out.path) == str(out.digest):
            continue  # already in place: never re-read or re-verified (the stat cache decides)
        writable = kinds.get(out.path) in (OutKind.INCREMENTAL, OutKind.METRIC)
        if inline and out.path in inline:  # the worker sent the bytes instead of storing them
            place_bytes(out.digest, inline[out.path], ws.root / out.path, root=ws.root, label=out.path)
            continue
        ws.place(out.path, out.digest, out.is_dir, writable=writable)


def _only_declared(spec: StageSpec, outs: tuple[OutRecord, ...]) -> None:
    """A result, lock or run record may only name the stage's declared outputs: anything
    else (a forged record naming pipeline code, say) is refused before a byte is written."""
    declared = {o.path for o in spec.outs}
    for out in outs:
        if out.path not in declared:
            raise UnsafePathError(f"stage {spec.identity!r}: refusing output {out.path!r}: the stage does not declare it",
                                  path=out.path, stage=spec.identity, source=spec.identity)


def _lock(spec: StageSpec, inputs: StageInputs, decision: Decision, outs: tuple[OutRecord, ...]) -> LockRecord:
    assert decision.stage_key is not None
    return LockRecord(
        stage=spec.identity,
        stage_key=decision.stage_key,
        code=dict(inputs.code),
        params=dict(inputs.params),
        deps=dict(decision.dep_hashes),
        outs=outs,
        out_decls=tuple(inputs.out_decls),
    )


def record_workspace(session: Session, stage: str, inputs: StageInputs,
                     consumed: Mapping[str, str] | None = None, produced: Mapping[str, OutRecord] | None = None) -> bool:
    """`pivot commit`: take the workspace's outputs as this stage's result.

    import-dvc passes what dvc.lock recorded where the workspace differs: ``consumed``
    (dependency hashes; the stage runs if they still differ when planned) and ``produced``
    (outputs already in the cache; a plan restores them), so Pivot then decides as DVC would.
    """
    from pivot.errors import UserError
    from pivot.fingerprint.stage_key import stage_key

    ws = session.ws
    spec = session.graph.stages[stage]
    deps: dict[str, str] = {}
    for dep in spec.deps:
        current = (consumed or {}).get(dep.path) or ws.workspace_hash(dep.path)
        if current is None:
            raise UserError(f"cannot commit {stage!r}: dependency {dep.path} is missing", stage=stage, path=dep.path)
        deps[dep.path] = current
    outs = []
    for out in spec.outs:
        if produced and out.path in produced:
            outs.append(produced[out.path])
            continue
        art = ws.hasher.hash(out.path)
        if art is None:
            raise UserError(f"cannot commit {stage!r}: output {out.path} is missing", stage=stage, path=out.path)
        store_output(ws.odb, ws.root, out.path, art)
        outs.append(OutRecord(SafePath(out.path), art.digest, art.size, art.is_dir))  # checked at registration
    key = stage_key(stage, inputs.code, inputs.params, deps, inputs.out_decls)
    decision = Decision(stage, Action.SKIP, (), stage_key=key, dep_hashes=deps)
    record = _lock(spec, inputs, decision, tuple(outs))
    if ws.lock(stage) == record:
        return False
    ws.write_lock(record)
    return True
