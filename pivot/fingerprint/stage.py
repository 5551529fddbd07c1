"""A stage's code manifest: its function (and everything it references), the
loaders of its dependencies and outputs, and its params class; or, for a
shell stage, its commands. Used identically by the planner and by workers
(which refuse to run when theirs differs: version skew).
"""

from __future__ import annotations

from pivot.digest import hash_json
from pivot.fingerprint.code import code_manifest, object_manifest
from pivot.fingerprint.stage_key import manifest_hash
from pivot.project.spec import StageSpec


def stage_code_manifest(spec: StageSpec) -> dict[str, str]:
    if spec.cmd is not None:
        return {"cmd": hash_json(list(spec.cmd)).hex}
    assert spec.func is not None
    manifest = dict(code_manifest(spec.func))
    for dep in spec.deps:
        if dep.loader is not None:
            _merge(manifest, f"loader:dep:{dep.arg or dep.path}", object_manifest(dep.loader))
    for out in spec.outs:
        if out.loader is not None:
            _merge(manifest, f"loader:out:{out.key or out.path}", object_manifest(out.loader))
    if spec.params is not None:
        _merge(manifest, "params_class", object_manifest(type(spec.params)))
    return manifest


def _merge(manifest: dict[str, str], prefix: str, extra: dict[str, str]) -> None:
    # Component keys of shared helpers (e.g. the same loader class) may repeat; values agree.
    manifest[prefix] = manifest_hash(extra)


def stage_code_digest(spec: StageSpec) -> str:
    return manifest_hash(stage_code_manifest(spec))
