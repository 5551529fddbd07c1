"""The load cache's params refresh: a shell stage's params edited, no pipeline re-imported.

Editing one value in params.yaml is the most common edit there is, and it used to
miss the whole load cache (pivot.loadcache): every pipeline.py imported again, every
function fingerprinted again, for a change the cache can apply itself. A params file
qualifies only when nothing but Pivot's params resolver read it during the load and
only shell stages take values from it (a Python stage's params go through its
pydantic class, which only a real load can run). For those files the cache keeps
their signatures apart; when one changed, the shell stages reading it get their
``param_values`` again from the same function a fresh load uses
(pivot.project.shell_params.values), and the unknown-key warning is checked for
the changed files. Anything a fresh load would report (a missing key, bad YAML, a
value JSON cannot carry, a warning) makes the refresh give up: the caller loads
afresh and the user sees exactly what a fresh load says (DESIGN rule 3).
"""

from __future__ import annotations

import json
import os
from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pivot.errors import PivotError
from pivot.project import shell_params
from pivot.project.reads import Signature
from pivot.project.spec import StageSpec


@dataclass(frozen=True)
class Refreshed:
    specs: list[StageSpec]
    changed: dict[int, dict[str, Any]]  # index in the spec list -> its new param_values
    signatures: dict[str, Signature]  # each changed file's signature, taken before it was read
    started: int  # when the refresh began (the racily-clean rule for storing it)


def refreshable(root: Path, specs: Collection[StageSpec], read_by_resolver_only: set[str]) -> set[str]:
    """The params files (absolute) the cache may refresh instead of missing on."""
    shell_files: set[str] = set()
    strict: set[str] = set()
    for spec in specs:  # the paths normalised without error when these specs were loaded
        if spec.is_shell:
            shell_files |= {_abs(root, rel) for rel in shell_params.files_read(spec.param_keys, spec.pipeline_dir)}
        else:  # a Python stage's params come through its class: only a real load resolves them
            strict.add(_abs(root, shell_params.own_params_file(spec.pipeline_dir)))
    return (read_by_resolver_only & shell_files) - strict


def refresh(root: Path, specs: list[StageSpec], changed: dict[str, Signature], started: int) -> Refreshed | None:
    """``specs`` with the shell stages reading a changed file re-resolved, or None (load afresh).

    ``changed``: each changed file's signature, taken before ``started`` and before it is read
    here (an edit after that shows next time)."""
    from pivot import yamlio  # PyYAML's C loader; a hit without changes never needs it

    changed_rel = {Path(f).relative_to(root).as_posix() for f in changed}
    texts: dict[str, Mapping[str, Any]] = {}

    def read(rel: str) -> Mapping[str, Any]:
        if rel not in texts:
            texts[rel] = yamlio.read_mapping(root / rel, rel)
        return texts[rel]

    out = list(specs)
    new_values: dict[int, dict[str, Any]] = {}
    try:
        for i, spec in enumerate(specs):
            if not spec.is_shell or not spec.param_keys:
                continue
            if not shell_params.files_read(spec.param_keys, spec.pipeline_dir) & changed_rel:
                continue
            values = shell_params.values(spec.name, spec.param_keys, spec.pipeline_dir, read)
            new_values[i] = values
            out[i] = replace(spec, param_values=values)
        every = list(new_values.values())
        if json.loads(json.dumps(every)) != every:
            return None  # a value JSON cannot carry exactly: a fresh load would not have cached it either
        if shell_params.unknown_keys(out, read, only=changed_rel):
            return None  # a fresh load warns (and stores nothing): let it
    except (PivotError, OSError, ValueError, TypeError, RecursionError):
        return None
    return Refreshed(out, new_values, changed, started)


def _abs(root: Path, rel: str) -> str:
    return os.path.abspath(os.path.join(root, rel))

