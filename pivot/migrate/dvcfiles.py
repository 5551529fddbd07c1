"""Reading a DVC project: every dvc.yaml (resolved), dvc.lock entries and ``.dvc`` files.

Paths stay as DVC wrote them (relative to the stage's ``wdir``); ``stage_path`` turns one
into a path relative to the dvc.yaml's folder, which is what a Pivot pipeline.py uses.
"""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pivot import yamlio
from pivot.migrate import resolve as tpl

SKIP_DIRS = frozenset({".dvc", ".git", ".pivot", ".venv", "node_modules", "__pycache__"})


@dataclass(frozen=True)
class DvcOut:
    path: str  # as written, relative to the stage's wdir
    section: str  # "outs" | "metrics" | "plots"
    cache: bool = True
    persist: bool = False
    remote: str | None = None


@dataclass(frozen=True)
class DvcStage:
    folder: str  # root-relative folder of the dvc.yaml ("" at the root)
    name: str  # "train", or "train@us" for a foreach/matrix variant
    group: str | None  # "train" for a variant
    kind: str  # "stage" | "foreach" | "matrix"
    cmd: str | list[str]
    wdir: str = ""  # relative to the dvc.yaml folder
    deps: tuple[str, ...] = ()
    outs: tuple[DvcOut, ...] = ()
    params: tuple[tuple[str, tuple[str, ...] | None], ...] = ()  # (file, keys | None = whole file)
    frozen: bool = False
    always_changed: bool = False
    desc: str | None = None
    # Per command: its text split into literals and values read from params/vars files, which
    # DVC interpolates afresh on every run (None: nothing to keep live).
    cmd_parts: tuple[tuple[str | tpl.Ref, ...] | None, ...] = ()
    notes: tuple[str, ...] = ()  # converted with a difference, and why

    @property
    def variant(self) -> str | None:
        return pivot_name(self.name.split("@", 1)[1]) if self.group else None

    @property
    def pivot_name(self) -> str:
        """The name in Pivot: DVC's, with characters Pivot's names refuse (a foreach over
        paths gives ``stage@data/a.csv``) replaced by "_"."""
        group, at, variant = self.name.partition("@")
        return pivot_name(group) + (at + pivot_name(variant) if at else "")

    @property
    def identity(self) -> str:
        return f"{self.folder}:{self.pivot_name}" if self.folder else self.pivot_name

    def stage_path(self, written: str) -> str:
        """A path DVC resolves against ``wdir``, relative to the dvc.yaml's folder instead."""
        joined = posixpath.normpath(posixpath.join(self.wdir or ".", written))
        return "" if joined == "." else joined


@dataclass
class DvcFile:
    folder: str
    stages: list[DvcStage] = field(default_factory=list)
    lock: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)  # what could not be resolved or converted, and why
    top_level: list[str] = field(default_factory=list)  # top-level sections besides stages/vars


def pivot_name(part: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9_.\-]", "_", part)
    return cleaned if re.match(r"[A-Za-z0-9_]", cleaned) else f"_{cleaned}"


def find_dvc_yamls(root: Path) -> list[str]:
    """Root-relative folders holding a dvc.yaml, sorted (the root first)."""
    found = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
        if "dvc.yaml" in files:
            rel = Path(folder).relative_to(root).as_posix()
            found.append("" if rel == "." else rel)
    return sorted(found, key=lambda f: (f != "", f))


def read_dvc_file(root: Path, folder: str) -> DvcFile:
    here = root / folder
    shown = f"{folder}/dvc.yaml" if folder else "dvc.yaml"
    doc = _load(here / "dvc.yaml", shown)
    result = DvcFile(folder, top_level=[k for k in doc if k not in ("stages", "vars")])
    lock_path = here / "dvc.lock"
    if lock_path.is_file():
        result.lock = dict(_load(lock_path, shown.replace(".yaml", ".lock")).get("stages") or {})
    try:
        ctx = tpl.Context.for_file(here, doc.get("vars") or [], shown)
    except tpl.TemplateError as exc:
        result.problems.append(f"{shown}: vars not resolved, no stage converted: {exc}")
        return result
    for name, body in (doc.get("stages") or {}).items():
        try:
            result.stages.extend(_stages(here, folder, str(name), dict(body), ctx, shown))
        except (tpl.TemplateError, ValueError, TypeError) as exc:
            result.problems.append(f"{shown}: stage '{name}' not converted: {exc}")
    return result


def _load(path: Path, shown: str) -> dict[str, Any]:
    """A DVC file's mapping; a file that is not valid YAML is a one-line user error naming it."""
    return yamlio.read_mapping(path, shown)


def _stages(here: Path, folder: str, name: str, body: dict[str, Any], ctx: tpl.Context,
            shown: str) -> list[DvcStage]:
    kind = "matrix" if "matrix" in body else "foreach" if "foreach" in body else "stage"
    if kind == "stage":
        return [_entry(here, folder, name, None, kind, body, ctx, shown)]
    refs = tpl.file_refs(body[kind], ctx)
    notes = (f"stage '{name}': its {kind} variants come from {', '.join(refs)} in a params/vars file; "
             "pipeline.py lists the variants as they are now",) if refs else ()
    if kind == "matrix":
        variants = tpl.matrix_variants(body["matrix"], ctx)
        template = {k: v for k, v in body.items() if k != "matrix"}
    else:
        variants = tpl.foreach_variants(body["foreach"], ctx)
        template = dict(body.get("do") or {})
    return [_entry(here, folder, f"{name}@{key}", name, kind, template, tpl.with_values(ctx, values), shown, notes)
            for key, values in variants]


def _entry(here: Path, folder: str, name: str, group: str | None, kind: str, body: Mapping[str, Any],
           ctx: tpl.Context, shown: str, notes: tuple[str, ...] = ()) -> DvcStage:
    wdir = str(tpl.resolve(body.get("wdir") or "", ctx, "wdir"))
    wdir = "" if posixpath.normpath(wdir or ".") == "." else posixpath.normpath(wdir)
    if body.get("vars"):
        ctx = ctx.copy()
        ctx.load_vars(here / wdir, body["vars"], f"{shown} stage '{name}'")
    data = {k: tpl.resolve(v, ctx, k) for k, v in body.items() if k != "vars"}
    fixed = [r for k, v in body.items() if k not in ("cmd", "vars", "desc") for r in tpl.file_refs(v, ctx)]
    if fixed:
        notes += (f"stage '{name}': {', '.join(sorted(set(fixed)))} from a params/vars file "
                  "written into paths or fields as they are now (DVC reads them again on every run)",)
    if "cmd" not in data:
        raise ValueError("no 'cmd'")
    cmd = data["cmd"]
    if not (isinstance(cmd, str) or (isinstance(cmd, list) and all(isinstance(c, str) for c in cmd))):
        raise ValueError("'cmd' must be a string or a list of strings")
    deps = tuple(_dep(d) for d in data.get("deps") or [])
    outs = tuple(o for section in ("outs", "metrics", "plots") for o in _outs(data.get(section) or [], section))
    return DvcStage(folder, name, group, kind, cmd, wdir, deps, outs, _params(data.get("params") or []),
                    bool(data.get("frozen")), bool(data.get("always_changed")), data.get("desc"),
                    _cmd_parts(body["cmd"], cmd, ctx), notes)


def _cmd_parts(raw: Any, resolved: str | list[str], ctx: tpl.Context) -> tuple[tuple[str | tpl.Ref, ...] | None, ...]:
    templates = [raw] if isinstance(raw, str) else raw
    if not isinstance(templates, list) or len(templates) != (1 if isinstance(resolved, str) else len(resolved)):
        return ()
    found = []
    for template in templates:
        split = tpl.parts(template, ctx) if isinstance(template, str) else None
        found.append(tuple(split) if split is not None else None)
    return tuple(found)


def _dep(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"dependency {value!r} is not a path (datasets and imports are not converted)")
    return value


def _outs(items: list[Any], section: str) -> list[DvcOut]:
    found = []
    for item in items:
        if isinstance(item, str):
            found.append(DvcOut(item, section))
            continue
        if not isinstance(item, Mapping) or len(item) != 1:
            raise ValueError(f"{section} entry {item!r} is not a path or a one-key mapping")
        ((path, opts),) = item.items()
        opts = dict(opts or {})
        found.append(DvcOut(str(path), section, bool(opts.get("cache", True)), bool(opts.get("persist", False)),
                            opts.get("remote")))
    return found


def _params(items: list[Any]) -> tuple[tuple[str, tuple[str, ...] | None], ...]:
    """DVC's params: bare keys of params.yaml, or ``{file: [keys]}`` (no keys: the whole file)."""
    found: list[tuple[str, tuple[str, ...] | None]] = []
    for item in items:
        if isinstance(item, str):
            found.append((tpl.DEFAULT_PARAMS, (item,)))
        elif isinstance(item, Mapping):
            for file, keys in item.items():
                found.append((str(file), tuple(str(k) for k in keys) if keys else None))
        else:
            raise ValueError(f"params entry {item!r} is not a key or a file mapping")
    return tuple(found)


@dataclass(frozen=True)
class DvcTracked:
    """One output of a ``.dvc`` file (``dvc add``)."""

    dvc_file: str  # root-relative path of the .dvc file
    path: str  # root-relative path of the data
    md5: str  # ends in ".dir" for a folder
    legacy: bool  # DVC 2 layout and hashing (no ``hash: md5`` field)


def find_dot_dvc(root: Path) -> list[str]:
    found: list[str] = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
        rel = Path(folder).relative_to(root).as_posix()
        found.extend(posixpath.join("" if rel == "." else rel, f) for f in sorted(files) if f.endswith(".dvc"))
    return found


def read_dot_dvc(root: Path, rel: str) -> tuple[list[DvcTracked], str | None]:
    """The data a .dvc file tracks, or why it is not converted (imports have deps)."""
    doc = _load(root / rel, rel)
    if doc.get("deps"):
        dep = doc["deps"][0] if isinstance(doc["deps"], list) and doc["deps"] else {}
        kind = "dvc import" if isinstance(dep, Mapping) and dep.get("repo") else "dvc import-url"
        return [], f"{rel}: a `{kind}` of {dep.get('path', '?') if isinstance(dep, Mapping) else '?'}; " \
                   "Pivot has no imports: fetch the data once and `pivot track` it"
    folder = posixpath.dirname(rel)
    found: list[DvcTracked] = []
    for out in doc.get("outs") or []:
        md5 = out.get("md5") if isinstance(out, Mapping) else None
        if not md5:
            return [], f"{rel}: output without an md5 (never committed); not converted"
        path = posixpath.normpath(posixpath.join(folder, str(out["path"])))
        found.append(DvcTracked(rel, path, str(md5), out.get("hash") != "md5"))
    return found, None
