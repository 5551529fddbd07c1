"""A stage's planning inputs (pivot.planner.decide.StageInputs) from its spec, and the
definition digest the load cache keeps for them (the skip memo's key, pivot.skipmemo)."""

from __future__ import annotations

from pivot.planner.decide import StageInputs
from pivot.project.spec import OutKind, StageSpec


def stage_inputs(spec: StageSpec, *, forced: bool = False, code: dict[str, str] | None = None,
                 definition: str | None = None) -> StageInputs:
    incremental = any(o.kind == OutKind.INCREMENTAL for o in spec.outs)
    return StageInputs(
        stage=spec.identity,
        code=dict(code) if code is not None else _manifest(spec),
        params=dict(spec.param_values),
        out_decls=tuple(o.declaration() for o in spec.outs),
        always_run=spec.always_run,
        forced=forced,
        # Non-deterministic or self-reading stages must never replay an old result.
        uses_run_cache=not spec.always_run and not incremental,
        definition=definition,
    )


def definition_of(spec: StageSpec, code: dict[str, str]) -> str:
    """The definition digest of ``spec`` with this code manifest (what the load cache keeps)."""
    from pivot.fingerprint.stage_key import definition_digest

    i = stage_inputs(spec, code=code)
    return definition_digest(i.stage, i.code, i.params, i.out_decls, i.always_run, i.uses_run_cache)


def _manifest(spec: StageSpec) -> dict[str, str]:
    from pivot.fingerprint.stage import stage_code_manifest  # not needed when the load cache has it

    return stage_code_manifest(spec)
