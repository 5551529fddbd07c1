"""Decide one stage from facts already gathered: pure, no I/O.

The rule (DESIGN rule 3): a stage is up to date iff its stage key equals the
key in its lock file and every output exists with its recorded hash. The run
cache and the object store only change *how* an out-of-date or missing result
is produced (restore, checkout), never *whether* the stage is up to date.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

from pivot.fingerprint.stage_key import stage_key
from pivot.lockfile import LockRecord
from pivot.planner.decision import Action, Change, Decision, Reason, ReasonKind


class Facts(Protocol):
    """What the planner may ask about the world. The engine answers from disk."""

    def lock(self, stage: str) -> LockRecord | None: ...
    def workspace_hash(self, path: str) -> str | None: ...
    def run_record(self, stage_key: str) -> Mapping[str, str] | None: ...
    def lock_outputs_cached(self, lock: LockRecord) -> bool: ...


@dataclass(frozen=True)
class StageInputs:
    """A stage's current definition, independent of upstream results."""

    stage: str
    code: Mapping[str, str]
    params: Mapping[str, Any]
    out_decls: Sequence[Mapping[str, str]]
    always_run: bool = False
    forced: bool = False
    uses_run_cache: bool = True
    # The definition digest the load cache holds for exactly these fields (None: not known,
    # so the skip memo is not consulted). Whoever replaces a field must drop it.
    definition: str | None = None


def decide(inputs: StageInputs, deps: Mapping[str, str], facts: Facts) -> Decision:
    """Decide a stage whose dependency hashes are all known."""
    key = stage_key(inputs.stage, inputs.code, inputs.params, deps, inputs.out_decls)
    lock = facts.lock(inputs.stage)
    run = Decision(inputs.stage, Action.RUN, (), stage_key=key, dep_hashes=dict(deps), will_run=True)
    if inputs.forced:
        return replace(run, reasons=(Reason(ReasonKind.FORCED),))
    if inputs.always_run:
        return replace(run, reasons=(Reason(ReasonKind.ALWAYS_RUN),))
    if lock is not None and lock.stage_key == key:
        return _decide_current(lock, facts, run)
    reasons = definition_changes(inputs, deps, lock) or (Reason(ReasonKind.KEY_CHANGED),)
    if inputs.uses_run_cache:
        record = facts.run_record(key)
        if record is not None:
            return replace(
                run, action=Action.RESTORE, reasons=(*reasons, Reason(ReasonKind.RUN_CACHE_HIT)), outs=dict(record)
            )
    return replace(run, reasons=reasons)


def _decide_current(lock: LockRecord, facts: Facts, run: Decision) -> Decision:
    missing: list[Change] = []
    modified: list[Change] = []
    for out in lock.outs:
        current = facts.workspace_hash(out.path)
        if current is None:
            missing.append(Change(out.path, str(out.digest), None))
        elif current != str(out.digest):
            modified.append(Change(out.path, str(out.digest), current))
    outs: dict[str, str] = {o.path: str(o.digest) for o in lock.outs}
    if not missing and not modified:
        return replace(run, action=Action.SKIP, reasons=(Reason(ReasonKind.UP_TO_DATE),), outs=outs, will_run=False)
    reasons = tuple(
        r for r in (
            Reason(ReasonKind.OUTPUTS_MISSING, tuple(missing)) if missing else None,
            Reason(ReasonKind.OUTPUTS_MODIFIED, tuple(modified)) if modified else None,
        ) if r is not None
    )
    if facts.lock_outputs_cached(lock):
        return replace(run, action=Action.CHECKOUT, reasons=reasons, outs=outs, will_run=False)
    return replace(run, reasons=reasons)


def definition_changes(
    inputs: StageInputs, deps: Mapping[str, str | None], lock: LockRecord | None
) -> tuple[Reason, ...]:
    """Why the stage key differs from the lock's; deps mapped to None are unknown yet."""
    if lock is None:
        return (Reason(ReasonKind.NEVER_RAN),)
    reasons: list[Reason] = []
    code = _diff(lock.code, inputs.code)
    if code:
        reasons.append(Reason(ReasonKind.CODE_CHANGED, code))
    params = _diff(flatten(lock.params), flatten(inputs.params))
    if params:
        reasons.append(Reason(ReasonKind.PARAMS_CHANGED, params))
    dep_changes = _diff(lock.deps, {p: h for p, h in deps.items() if h is not None}, skip_new_keys=set(p for p, h in deps.items() if h is None))
    if dep_changes:
        reasons.append(Reason(ReasonKind.DEPS_CHANGED, dep_changes))
    if _decl_set(lock.out_decls) != _decl_set(inputs.out_decls):
        reasons.append(Reason(ReasonKind.OUT_DECLS_CHANGED))
    return tuple(reasons)


def _decl_set(decls: Sequence[Mapping[str, str]]) -> set[tuple[tuple[str, str], ...]]:
    return {tuple(sorted(d.items())) for d in decls}


def _diff(old: Mapping[str, Any], new: Mapping[str, Any], skip_new_keys: set[str] | None = None) -> tuple[Change, ...]:
    skip = skip_new_keys or set()
    changes = []
    for key in sorted(set(old) | set(new)):
        if key in skip:
            continue
        if old.get(key) != new.get(key) or (key in old) != (key in new):
            changes.append(Change(key, old.get(key), new.get(key)))
    return tuple(changes)


def flatten(params: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in params.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, name + "."))
        else:
            flat[name] = value
    return flat
