"""The params a shell stage reads: ``key`` of the params.yaml beside its pipeline, or
``FILE:key`` of another YAML file (relative to the pipeline folder, as DVC's
``- ../params.yaml: [key]``).

One function resolves them for a fresh load and for the load cache's params
refresh (pivot.loadcache), so the two cannot disagree. No pydantic here: the
cache's hit path must not import it.
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Callable, Collection, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from pivot import paths
from pivot.errors import ConfigError

if TYPE_CHECKING:
    from pivot.project.spec import StageSpec

PARAMS_FILE = "params.yaml"

# Reads one params file by its root-relative path ({} when missing); raises ConfigError.
Reader = Callable[[str], Mapping[str, Any]]


def own_params_file(pipeline_dir: str) -> str:
    """The root-relative params.yaml beside a pipeline."""
    return f"{pipeline_dir}/{PARAMS_FILE}" if pipeline_dir else PARAMS_FILE


def _split(key: str, pipeline_dir: str) -> tuple[str, str]:
    """(root-relative file, dotted key) that one entry of ``param_keys`` reads."""
    file, sep, name = key.rpartition(":")
    if not sep or not file.endswith((".yaml", ".yml")):
        return own_params_file(pipeline_dir), key
    return _file(file, pipeline_dir), name


@functools.lru_cache(maxsize=1024)
def _file(file: str, pipeline_dir: str) -> str:
    # Thousands of stages name the same few files ("../params.yaml"): normalise each once.
    return paths.normalize(file, base=pipeline_dir)


def files_read(param_keys: tuple[str, ...], pipeline_dir: str) -> set[str]:
    return {_split(key, pipeline_dir)[0] for key in param_keys}


def values(stage: str, param_keys: tuple[str, ...], pipeline_dir: str, read: Reader) -> dict[str, Any]:
    """``{entry: value}`` for every entry of ``param_keys``; ConfigError names a missing key."""
    found: dict[str, Any] = {}
    for key in param_keys:
        rel, name = _split(key, pipeline_dir)
        node: Any = read(rel)
        for part in name.split("."):
            if not isinstance(node, dict) or part not in node:
                raise ConfigError(f"{rel}: stage {stage!r} reads param {name!r}, which is not set", path=rel, stage=stage)
            node = node[part]
        found[key] = node
    return found


def unknown_keys(specs: Iterable[StageSpec], read: Reader, only: Collection[str] | None = None
                 ) -> list[tuple[str, str, str]]:
    """(file, key, hint) for each top-level key of a pipeline's params.yaml that names no stage
    and that no shell stage reads; ``only``: check just these root-relative files."""
    used: dict[str, set[str]] = {}  # params.yaml beside a pipeline -> the stage names in it
    shared: dict[str, set[str]] = {}  # any YAML file -> top-level keys shell stages read
    for spec in specs:
        own = used.setdefault(own_params_file(spec.pipeline_dir), set())
        own.update({spec.name, spec.name.split("@", 1)[0]})
        for key in spec.param_keys:  # a key of the pipeline's own file counts as read from it too
            rel, name = _split(key, spec.pipeline_dir)
            shared.setdefault(rel, set()).add(name.split(".", 1)[0])
    found: list[tuple[str, str, str]] = []
    for rel, names in used.items():
        if only is not None and rel not in only:
            continue
        try:
            values = read(rel)
        except ConfigError:
            continue  # a file no stage needs: its syntax is not our business here
        known = names | shared.get(rel, set())
        for key in (str(k) for k in values):
            if key not in known:
                close = difflib.get_close_matches(key, sorted(known), n=1)
                found.append((rel, key, f"; did you mean {close[0]!r}?" if close else ""))
    return found
