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
