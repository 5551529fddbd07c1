"""Stage specs to and from JSON for the load cache: data only, every field checked on the way in.

A spec read back carries no Python objects (function, loaders, params instance):
``stripped`` is what a cached spec must equal, and the cache stores a load only
when every spec comes back equal to it.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from pivot.project.spec import DepSpec, OutKind, OutSpec, StageSpec
from pivot.safepath import safe_path

_SOURCE = ".pivot/load-cache.json"
# Registration's stage-name rule (pivot.project.pipeline._NAME; a test keeps them equal). Copied,
# not imported: importing the registration module costs a no-op its pydantic import.
NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*(@[A-Za-z0-9_.\-]+)?$")


def stripped(spec: StageSpec) -> StageSpec:
    return replace(spec, func=None, params=None,
                   deps=tuple(replace(d, loader=None) for d in spec.deps),
                   outs=tuple(replace(o, loader=None) for o in spec.outs))


def spec_to_json(spec: StageSpec) -> dict[str, Any]:
    return {
        "identity": spec.identity, "name": spec.name, "pipeline": spec.pipeline,
        "pipeline_dir": spec.pipeline_dir, "pipeline_file": spec.pipeline_file,
        "deps": [[d.path, d.written, d.arg] for d in spec.deps],
        "outs": [[o.path, o.written, str(o.kind), o.key, o.cache, dict(o.props)] for o in spec.outs],
        "cmd": list(spec.cmd) if spec.cmd is not None else None,
        "params_arg": spec.params_arg, "param_keys": list(spec.param_keys),
        "param_values": dict(spec.param_values), "always_run": spec.always_run,
        "resources": dict(spec.resources), "mutex": list(spec.mutex),
    }


def spec_from_json(raw: Any) -> StageSpec:
    """TypeError/ValueError/KeyError on anything not shaped like ``spec_to_json``'s output."""
    if not isinstance(raw, dict):
        raise TypeError("spec is not a mapping")
    cmd = raw["cmd"]
    name, folder = _str(raw["name"]), _str(raw["pipeline_dir"])
    # Identity and files are what registration derives from the folder and name, nothing else:
    # an identity names the stage's lock file, so a crafted one must not point anywhere else.
    if not NAME.match(name) or (folder and _path(folder) != folder.rstrip("/")):
        raise ValueError(f"stage {name!r} in {folder!r}: not a registered name")
    identity = f"{folder}:{name}" if folder else name
    pipeline_file = f"{folder}/pipeline.py" if folder else "pipeline.py"
    if raw["identity"] != identity or raw["pipeline_file"] != pipeline_file:
        raise ValueError(f"stage {identity!r}: identity or file does not match its folder and name")
    return StageSpec(
        identity=identity, name=name, pipeline=_str(raw["pipeline"]),
        pipeline_dir=folder, pipeline_file=pipeline_file,
        deps=tuple(_dep(d) for d in _list(raw["deps"])),
        outs=tuple(_out(o) for o in _list(raw["outs"])),
        cmd=None if cmd is None else tuple(_str(c) for c in _list(cmd)),
        params_arg=_opt_str(raw["params_arg"]),
        param_keys=tuple(_str(k) for k in _list(raw["param_keys"])),
        param_values=_dict(raw["param_values"]),
        always_run=_bool(raw["always_run"]),
        resources={_str(k): _number(v) for k, v in _dict(raw["resources"]).items()},
        mutex=tuple(_str(m) for m in _list(raw["mutex"])),
    )


def _dep(raw: Any) -> DepSpec:
    path, written, arg = _list(raw)
    return DepSpec(_path(path), _str(written), arg=_opt_str(arg))


def _out(raw: Any) -> OutSpec:
    path, written, kind, key, cache, props = _list(raw)
    return OutSpec(_path(path), _str(written), kind=OutKind(_str(kind)), key=_opt_str(key), cache=_bool(cache),
                   props=_dict(props))


def _path(raw: Any) -> str:
    # Registration only ever produces normalised project paths: anything else was not written by us.
    if safe_path(raw, source=_SOURCE) != raw:
        raise ValueError(f"{raw!r} is not a normalised project path")
    return str(raw)


def _str(raw: Any) -> str:
    if not isinstance(raw, str):
        raise TypeError(f"{raw!r} is not a string")
    return raw


def _opt_str(raw: Any) -> str | None:
    return None if raw is None else _str(raw)


def _bool(raw: Any) -> bool:
    if not isinstance(raw, bool):
        raise TypeError(f"{raw!r} is not a boolean")
    return raw


def _number(raw: Any) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise TypeError(f"{raw!r} is not a number")
    return raw


def _list(raw: Any) -> list[Any]:
    if not isinstance(raw, list):
        raise TypeError(f"{raw!r} is not a list")
    return raw


def _dict(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise TypeError(f"{raw!r} is not a mapping")
    return raw
