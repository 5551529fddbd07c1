"""`-S` overrides: `[WHERE:]stage.key=v1,v2,...`, expanded to a Cartesian product.

WHERE is a pipeline folder (`models:train.lr=0.1` edits `models/params.yaml`)
or a YAML file (`conf/params.yaml:train.lr=0.1`); without it the project's
root `params.yaml`. Values are YAML scalars, as on DVC's command line.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pivot.errors import UserError
from pivot.project.config_edit import parse_scalar
from pivot.project.params import PARAMS_FILE
from pivot.safepath import safe_path


@dataclass(frozen=True)
class Override:
    file: str  # project-relative params file
    key: str  # dotted key inside it
    shown: str  # as the user wrote it, for tables: "train.lr" or "models:train.lr"


def parse_override(text: str) -> tuple[Override, list[Any]]:
    where, eq, raw = text.partition("=")
    if not eq or not where or not raw:
        raise UserError(f"-S {text!r}: expected [FOLDER:|FILE.yaml:]STAGE.KEY=VALUE[,VALUE...]", path=text)
    prefix, colon, key = where.rpartition(":")
    if not colon:
        file = PARAMS_FILE
    elif prefix.endswith((".yaml", ".yml")):
        file = prefix
    else:
        file = f"{prefix.strip('/')}/{PARAMS_FILE}"
    if not key or any(not part for part in key.split(".")):
        raise UserError(f"-S {text!r}: bad key {key!r}", path=text)
    # The project's one path check (rule 13: a record's keys may come from a remote): inside the
    # project, not the root itself, and not into .pivot/, whose config is no params file.
    file = safe_path(file, source=f"-S {text!r}")
    values = [parse_scalar(v.strip()) for v in raw.split(",")]
    return Override(file, key, where), values


def recorded(params: Mapping[str, Any]) -> dict[Override, Any]:
    """An experiment record's params (keys as `-S` names them) as overrides, every file checked."""
    return {parse_override(f"{shown}=0")[0]: value for shown, value in params.items()}


def write_overrides(root: Path, overrides: Mapping[Override, Any], source: str) -> list[str]:
    """Each value into its params file under ``root`` (comments kept). Every file is checked for a
    link leading outside ``root`` before any is written; returns the files written."""
    from pivot.project import config_edit
    from pivot.safepath import check_writable

    for override in overrides:
        check_writable(root, root / override.file, source=source)
    for override, value in overrides.items():
        doc = config_edit.load(root / override.file)
        config_edit.set_value(doc, override.key, value)
        config_edit.save(root / override.file, doc)
    return sorted({o.file for o in overrides})


def expand(options: Sequence[str]) -> list[dict[Override, Any]]:
    """Every combination of the swept values, in command-line order (one empty set: no -S)."""
    parsed = [parse_override(o) for o in options]
    seen: set[tuple[str, str]] = set()
    for override, _ in parsed:
        if (override.file, override.key) in seen:
            raise UserError(f"-S {override.shown}: given twice", path=override.shown)
        seen.add((override.file, override.key))
    axes = [[(override, v) for v in values] for override, values in parsed]
    return [dict(combo) for combo in itertools.product(*axes)]


def shown(overrides: Mapping[Override, Any]) -> dict[str, Any]:
    return {o.shown: v for o, v in overrides.items()}


def default_name(base: str, overrides: Mapping[Override, Any]) -> str:
    """Deterministic: the same base commit and overrides give the same name (a re-run replaces it)."""
    canon = json.dumps([base, sorted((o.file, o.key, repr(v)) for o, v in overrides.items())])
    return "exp-" + hashlib.sha256(canon.encode()).hexdigest()[:7]
