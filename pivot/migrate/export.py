"""`pivot export-dvc`: a dvc.yaml per pipeline folder, so DVC users can run the project.

Shell stages map field by field (the inverse of import-dvc). A Python stage gets
``cmd: python -m pivot.migrate.run_stage <identity>``, which runs the function in place
the way Pivot's worker does; its pipeline.py is listed as a dependency so DVC re-runs it
when the file changes (helper modules it imports are not listed).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from pivot import paths
from pivot.errors import UserError
from pivot.project.spec import OutKind, StageSpec


def export_dvc(out: Path | None = None, *, force: bool = False, root: Path | None = None) -> list[str]:
    """Write the dvc.yaml files (into ``out``, default the project); returns what was written."""
    from pivot import api

    root = api.find_root(root)
    dest = (out or root).resolve()
    by_dir: dict[str, dict[str, Any]] = {}
    specs = api.list_stages(root)
    for spec in specs:
        by_dir.setdefault(spec.pipeline_dir, {})[spec.name] = _escape(stage_entry(spec, root))
    by_dir = {folder: _group_variants(stages) for folder, stages in by_dir.items()}
    targets = {folder: dest / folder / "dvc.yaml" for folder in by_dir}
    existing = [t for t in targets.values() if t.exists()]
    if existing and not force:
        raise UserError(f"{existing[0]} already exists; use --force to overwrite it", path=str(existing[0]))
    written = []
    for folder, stages in by_dir.items():
        targets[folder].parent.mkdir(parents=True, exist_ok=True)
        targets[folder].write_text(yaml.safe_dump({"stages": stages}, sort_keys=False, width=1000), encoding="utf-8")
        written.append(str(targets[folder].relative_to(dest)))
    if dest != root:
        written.extend(_copy_params(root, dest, _params_files(specs)))
    return written


def stage_entry(spec: StageSpec, root: Path) -> dict[str, Any]:
    entry: dict[str, Any] = {}
    if spec.cmd is not None:
        entry["cmd"] = spec.cmd[0] if len(spec.cmd) == 1 else list(spec.cmd)
        deps = [paths.strip_dir(d.written) for d in spec.deps]
    else:
        entry["cmd"] = f"python -m pivot.migrate.run_stage {spec.identity}"
        deps = [*(paths.strip_dir(d.written) for d in spec.deps), Path(spec.pipeline_file).name]
    if deps:
        entry["deps"] = deps
    params = _params(spec, root)
    if params:
        entry["params"] = params
    outs = [_out(o.written, o.kind) for o in spec.outs if o.kind is not OutKind.METRIC]
    metrics = [{paths.strip_dir(o.written): {"cache": False}} for o in spec.outs if o.kind is OutKind.METRIC]
    if outs:
        entry["outs"] = outs
    if metrics:
        entry["metrics"] = metrics
    if spec.always_run:
        entry["always_changed"] = True
    return entry


def _escape(value: Any) -> Any:
    """DVC would interpolate a shell's ``${VAR}``: write it as ``\\${VAR}``, which DVC turns back."""
    if isinstance(value, dict):
        return {_escape(k): _escape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_escape(v) for v in value]
    return value.replace("${", "\\${") if isinstance(value, str) else value


class _Mismatch(Exception):
    """Variants whose entries differ in shape: no single foreach template fits them."""


def _group_variants(stages: dict[str, Any]) -> dict[str, Any]:
    """``name@variant`` stages as one DVC ``foreach`` group (DVC reads "@" as group@key): a
    template where the variants agree, ``${item.vN}`` where they differ. Variants that fit no
    one template are written as ``name-variant`` stages."""
    groups: dict[str, dict[str, Any]] = {}
    for name, entry in stages.items():
        base, at, variant = name.partition("@")
        groups.setdefault(base if at else name, {})[variant if at else ""] = entry
    result: dict[str, Any] = {}
    for base, members in groups.items():
        if "" in members:
            result[base] = members[""]
            continue
        slots: dict[str, list[Any]] = {}
        try:
            do = _template(list(members.values()), slots)
        except _Mismatch:
            result.update({f"{base}-{v}": e for v, e in members.items()})
            continue
        items = {v: {slot: values[i] for slot, values in slots.items()} for i, v in enumerate(members)}
        result[base] = {"foreach": items, "do": do}
    return result


def _template(values: list[Any], slots: dict[str, list[Any]], where: str = "") -> Any:
    """The part of the variants' entries at ``where`` ("outs_0"): as is, or a ``${item.<where>}`` slot."""
    first = values[0]
    if all(isinstance(v, dict) and len(v) == len(first) for v in values):
        pairs = [list(v.items()) for v in values]
        found = {}
        for i in range(len(first)):
            key = _template([p[i][0] for p in pairs], slots, (f"{where}_path" if len(first) == 1 else f"{where}_{i}_path") if where else f"key{i}")
            slot_key = isinstance(key, str) and key.startswith("${")
            inner = f"{where}_{i}" if where and slot_key else f"{where}_{key}" if where else str(key)
            found[key] = _template([p[i][1] for p in pairs], slots, inner)
        return found
    if all(isinstance(v, list) and len(v) == len(first) for v in values):
        return [_template([v[i] for v in values], slots, f"{where}_{i}") for i in range(len(first))]
    if all(type(v) is type(first) and v == first for v in values):
        return first
    if any(isinstance(v, dict | list) for v in values):
        raise _Mismatch
    name = where if where and where not in slots else f"{where or 'value'}_{len(slots)}"
    slots[name] = values
    return "${item." + name + "}"


def _out(written: str, kind: OutKind) -> Any:
    path = paths.strip_dir(written)
    return {path: {"persist": True}} if kind is OutKind.INCREMENTAL else path


def _params(spec: StageSpec, root: Path) -> list[Any]:
    """Shell keys as DVC params (``FILE:key`` -> ``{FILE: [key]}``); a Python stage's section."""
    plain: list[Any] = []
    files: dict[str, list[str]] = {}
    for key in spec.param_keys:
        file, sep, name = key.rpartition(":")
        if sep and file.endswith((".yaml", ".yml")):
            files.setdefault(file, []).append(name)
        else:
            plain.append(key)
    if spec.cmd is None and spec.params is not None:
        plain.extend(_python_sections(spec, root))
    return plain + [{file: keys} for file, keys in files.items()]


def _python_sections(spec: StageSpec, root: Path) -> list[str]:
    """The params.yaml sections a Python stage reads (its base name, then its own name), where
    present: DVC refuses a params key its file does not have."""
    from pivot import yamlio

    values = yamlio.read_mapping(root / spec.pipeline_dir / "params.yaml")
    return [k for k in dict.fromkeys((spec.name.split("@", 1)[0], spec.name)) if k in values]


def _params_files(specs: Iterable[StageSpec]) -> set[str]:
    found = set()
    for spec in specs:
        if spec.param_keys or spec.params is not None:
            found.add(paths.normalize("params.yaml", base=spec.pipeline_dir) if spec.pipeline_dir else "params.yaml")
        for key in spec.param_keys:
            file, sep, _ = key.rpartition(":")
            if sep and file.endswith((".yaml", ".yml")):
                found.add(paths.normalize(file, base=spec.pipeline_dir))
    return found


def _copy_params(root: Path, dest: Path, files: set[str]) -> list[str]:
    """DVC reads params from beside its dvc.yaml: copy the ones the stages use (never overwrite)."""
    copied = []
    for rel in sorted(files):
        src, target = root / rel, dest / rel
        if src.is_file() and not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, target)
            copied.append(rel)
    return copied
