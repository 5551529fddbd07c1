"""The stage key: one hash over everything that determines a stage's outputs.

Code manifest digest, resolved params, the content hash of every dependency,
and the output declarations, plus the stage identity (so two stages never
share a run-cache entry even when everything else matches).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pivot.digest import hash_json


def manifest_hash(manifest: Mapping[str, str]) -> str:
    return hash_json(dict(sorted(manifest.items()))).hex


def stage_key(
    identity: str,
    code: Mapping[str, str],
    params: Mapping[str, Any],
    deps: Mapping[str, str],
    out_decls: Sequence[Mapping[str, str]],
) -> str:
    return hash_json(
        {
            "stage": identity,
            "code": manifest_hash(code),
            "params": params,
            "deps": sorted(deps.items()),
            "outs": sorted(sorted(d.items()) for d in out_decls),
        }
    ).hex


def definition_digest(
    identity: str,
    code: Mapping[str, str],
    params: Mapping[str, Any],
    out_decls: Sequence[Mapping[str, str]],
    always_run: bool,
    uses_run_cache: bool,
) -> str:
    """Everything of a stage's key but its dependency hashes, plus how it is decided: kept
    in the load cache, so a later plan can tell an unchanged stage without hashing it
    (pivot.skipmemo)."""
    return hash_json(
        {
            "stage": identity,
            "code": dict(sorted(code.items())),
            "params": params,
            "outs": sorted(sorted(d.items()) for d in out_decls),
            "always_run": always_run,
            "uses_run_cache": uses_run_cache,
        }
    ).hex
