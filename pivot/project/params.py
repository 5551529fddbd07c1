"""Stage parameters: a typed pydantic model in code, overridable from ``params.yaml``.

``params.yaml`` lives beside the pipeline.py and is keyed by stage name. The
values a stage receives are merged in this order, later wins:

1. the StageParams class defaults;
2. the instance passed as ``register(params=...)`` (or a matrix variant's
   ``params``), taken whole: it is the stage's baseline as written in code;
3. ``params.yaml[<base name>]`` (for ``train@small`` the base name is ``train``);
4. ``params.yaml[<name@variant>]``, for a matrix variant.

params.yaml wins over code on purpose: it is the file users edit to try a
value without touching the pipeline, as in DVC. Mappings merge deeply, so a
key overriding ``opt: {lr: 0.1}`` keeps the other fields of ``opt``.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pydantic

from pivot import yamlio
from pivot.errors import ConfigError
from pivot.project import reads, shell_params
from pivot.project.shell_params import PARAMS_FILE as PARAMS_FILE

if TYPE_CHECKING:
    from pivot.project.spec import StageSpec

log = logging.getLogger(__name__)


class StageParams(pydantic.BaseModel):
    """Subclass with typed fields and defaults; a stage parameter of this type receives them."""

    model_config = pydantic.ConfigDict(frozen=True, extra="forbid")


_ONE_LOAD: contextvars.ContextVar[dict[Path, dict[str, Any]] | None] = contextvars.ContextVar("params_memo", default=None)


@contextlib.contextmanager
def one_load() -> Iterator[None]:
    """While loading a project's pipelines, parse each params file once.

    Scoped to one load on purpose: a memo that outlived it could hand a later
    load (a notebook re-run) values from before an edit.
    """
    token = _ONE_LOAD.set({})
    try:
        yield
    finally:
        _ONE_LOAD.reset(token)


def read_params_yaml(path: Path, shown: str) -> dict[str, Any]:
    """The top-level mapping of a params.yaml, or {} when there is none. ``shown`` names it in errors."""
    memo = _ONE_LOAD.get()
    key = Path(os.path.normpath(path.absolute()))
    if memo is not None and key in memo:
        return memo[key]
    with reads.params_read(str(key)):
        values = yamlio.read_mapping(path, shown)
    if memo is not None:
        memo[key] = values
    return values


def resolve(
    cls: type[StageParams],
    base: StageParams | None,
    stage_name: str,
    values: Mapping[str, Any],
    shown: str,
) -> StageParams:
    """The params a stage runs with; see the module docstring for the order."""
    merged: dict[str, Any] = base.model_dump() if base is not None else {}
    keys = [stage_name.split("@", 1)[0]]
    if "@" in stage_name:
        keys.append(stage_name)
    for key in keys:
        override = values.get(key)
        if override is None:
            continue
        if not isinstance(override, dict):
            raise ConfigError(f"{shown}: key {key!r} must be a mapping of parameter values", path=shown, stage=stage_name)
        merged = deep_merge(merged, override)
    try:
        return cls.model_validate(merged)
    except pydantic.ValidationError as exc:
        where = " or ".join(repr(k) for k in keys if k in values) or "(class defaults)"
        raise ConfigError(f"{shown}: key {where}: {_first_error(exc)}", path=shown, stage=stage_name) from exc


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        old = merged.get(key)
        if isinstance(old, Mapping) and isinstance(value, Mapping):
            merged[key] = deep_merge(old, value)
        else:
            merged[key] = value
    return merged


def _first_error(exc: pydantic.ValidationError) -> str:
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"])
    more = f" (+{exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"{loc}: {err['msg']}{more}" if loc else f"{err['msg']}{more}"


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


def warn_unknown_keys(root: Path, specs: Sequence[StageSpec]) -> None:
    """Warn about a top-level params.yaml key that names no stage and that no shell stage
    reads: most likely a typo, which would otherwise silently change nothing."""
    for rel, key, hint in shell_params.unknown_keys(specs, lambda rel: read_params_yaml(root / rel, rel)):
        log.warning("%s: key %r names no stage and no shell stage reads it%s", rel, key, hint)
