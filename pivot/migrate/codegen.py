"""Writing a readable pipeline.py for one dvc.yaml: ``register_cmd`` calls a person would write.

Every stage field becomes what Pivot means by it: paths relative to the dvc.yaml's folder
(a DVC ``wdir`` becomes ``cd wdir && `` before each command), folders end in "/",
``persist`` outputs are ``IncrementalOut``, ``metrics`` are ``Metric``, ``always_changed``
is ``always_run``. A foreach/matrix group becomes a table of what differs between its
variants and one loop that registers ``name@variant``. A frozen stage never runs in DVC:
its outputs become tracked data and its call is written commented out.
"""

from __future__ import annotations

import keyword
import os
import re
import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pivot.migrate.dvcfiles import DvcStage
from pivot.migrate.resolve import DEFAULT_PARAMS, Ref

WIDTH = 110


@dataclass(frozen=True)
class Marker:
    """An output written as a marker call, e.g. ``Metric("m.json")``."""

    cls: str
    path: str

    def __repr__(self) -> str:
        return f"{self.cls}({py_str(self.path)})"


@dataclass
class Live:
    """A command with values DVC reads from a params/vars file on every run: written as an
    f-string over that file, so an edited value changes the command as it does in DVC."""

    parts: tuple[str | Ref, ...]
    text: str  # the command as resolved now
    code: str = ""  # set by ``render`` once the files have variable names

    def __repr__(self) -> str:
        return self.code or py_str(self.text)


@dataclass
class Converted:
    """One stage as ``register_cmd`` keyword arguments, plus what the conversion had to note."""

    stage: DvcStage
    kwargs: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    file_deps: list[str] = field(default_factory=list)  # params files Pivot reads as plain files


def convert(stage: DvcStage, is_dir: Callable[[str], bool]) -> Converted:
    """``is_dir(path)``: whether a path (relative to the dvc.yaml folder) is a folder."""
    conv = Converted(stage, {}, list(dict.fromkeys(stage.notes)))
    if stage.pivot_name != stage.name:
        conv.notes.append(f"stage {stage.name!r} is named {stage.pivot_name!r} (Pivot names allow letters, digits, "
                          "'_', '.', '-' and one '@')")
    if stage.frozen:
        conv.notes.append(f"stage {stage.name!r} is frozen: its outputs are now tracked data (.pvt) and its "
                          "registration is commented out")
    prefix = f"cd {shlex.quote(stage.wdir)} && " if stage.wdir else ""
    texts = [stage.cmd] if isinstance(stage.cmd, str) else list(stage.cmd)
    cmds: list[str | Live] = []
    for i, text in enumerate(texts):
        parts = stage.cmd_parts[i] if i < len(stage.cmd_parts) else None
        cmds.append(Live((prefix, *parts), prefix + text) if parts else prefix + text)
    conv.kwargs["cmd"] = cmds[0] if isinstance(stage.cmd, str) else cmds
    params = _params(stage, conv)
    deps = [_dir(stage.stage_path(d), is_dir) for d in stage.deps if _local(stage, d, conv)] + conv.file_deps
    outs = [_out(stage, o, is_dir, conv) for o in stage.outs if _local(stage, o.path, conv)]
    if deps:
        conv.kwargs["deps"] = deps
    if outs:
        conv.kwargs["outs"] = outs
    if params:
        conv.kwargs["params"] = params
    if stage.always_changed:
        conv.kwargs["always_run"] = True
    return conv


def _local(stage: DvcStage, path: str, conv: Converted) -> bool:
    """DVC's external paths (URLs, absolute paths) have no Pivot equivalent: noted and left out."""
    if "://" in path or path.startswith("/"):
        conv.notes.append(f"stage {stage.name!r}: external path {path!r} left out (Pivot tracks project files only)")
        return False
    return True


def _dir(path: str, is_dir: Callable[[str], bool]) -> str:
    return path + "/" if is_dir(path) else path


def _out(stage: DvcStage, out: Any, is_dir: Callable[[str], bool], conv: Converted) -> Any:
    path = _dir(stage.stage_path(out.path), is_dir)
    where = f"stage {stage.name!r}, {out.section} {out.path!r}"
    if not out.cache:
        conv.notes.append(f"{where}: `cache: false`; Pivot caches every output (the file stays in the workspace)")
    if out.remote:
        conv.notes.append(f"{where}: `remote: {out.remote}`; Pivot pushes all outputs to the project's remote")
    if out.section == "plots":
        conv.notes.append(f"{where}: a plot; Pivot keeps it as an output (plot properties are not converted)")
    if path.endswith("/"):
        if out.persist or out.section == "metrics":
            conv.notes.append(f"{where}: a persistent or metric folder; converted to a plain folder output")
        return path
    if out.persist:
        return Marker("IncrementalOut", path)
    if out.section == "metrics":
        return Marker("Metric", path)
    return path


def _params(stage: DvcStage, conv: Converted) -> list[str]:
    """Pivot's params: keys of params.yaml beside pipeline.py, else ``FILE:key``."""
    keys: list[str] = []
    for file, names in stage.params:
        rel = stage.stage_path(file)
        if names is None or not file.endswith((".yaml", ".yml")):
            conv.file_deps.append(rel)
            what = "the whole file" if names is None else "a non-YAML params file"
            conv.notes.append(f"stage {stage.name!r}: params from {what} {rel}: Pivot depends on the file's bytes")
            continue
        keys.extend(k if rel == DEFAULT_PARAMS else f"{rel}:{k}" for k in names)
    return keys


# ---------------------------------------------------------------- rendering


def render(pipeline_name: str, shown: str, converted: Sequence[Converted], here: Path) -> str:
    """The pipeline.py text for one dvc.yaml's stages, in dvc.yaml order (``here``: its folder)."""
    files = _live_files(converted, here)
    body: list[str] = []
    used: set[str] = set()
    index = 0
    while index < len(converted):
        conv = converted[index]
        group = [c for c in converted[index:] if c.stage.group and c.stage.group == conv.stage.group]
        if conv.stage.group and not conv.stage.frozen and len(group) > 1:
            body.append(_render_group(group, used))
            index += len(group)
            continue
        body.append(_render_single(conv))
        index += 1
    return _header(pipeline_name, shown, converted, files) + "\n" + "\n\n".join(body) + "\n"


def _header(pipeline_name: str, shown: str, converted: Sequence[Converted], files: dict[str, tuple[str, str]]) -> str:
    """Docstring, imports, the live values files (if any) and the Pipeline."""
    markers = {o.cls for c in converted for o in c.kwargs.get("outs", []) if isinstance(o, Marker)}
    imports = ", ".join(sorted(["Pipeline", *markers]))
    head = (f'"""Pipeline {py_str(pipeline_name)}, converted from {shown} by `pivot import-dvc`.\n\n'
            "Edit freely: this file is now the pipeline (the DVC files are left as they were).\n"
            '"""\n\n')
    if files:
        head += "from pathlib import Path\n\nimport yaml\n\n"
    head += f"from pivot import {imports}\n\n"
    if files:
        head += ("# Values DVC interpolates into commands from these files (`${...}`), read on every\n"
                 "# load as DVC reads them on every run: editing one changes those commands.\n"
                 "HERE = Path(__file__).parent\n")
        head += "".join(f"{name} = yaml.safe_load((HERE / {py_str(rel)}).read_text())\n"
                        for name, rel in files.values())
        head += "\n"
    return head + f"pipeline = Pipeline({py_str(pipeline_name)})\n"


def _lives(converted: Sequence[Converted]) -> list[Live]:
    found: list[Live] = []
    for conv in converted:
        cmd = conv.kwargs.get("cmd")
        found.extend(c for c in (cmd if isinstance(cmd, list) else [cmd]) if isinstance(c, Live))
    return found


def _live_files(converted: Sequence[Converted], here: Path) -> dict[str, tuple[str, str]]:
    """Name the files live commands read (absolute path -> (variable, path from ``here``)) and
    write each live command's f-string; a command that cannot be one stays a constant."""
    files: dict[str, tuple[str, str]] = {}
    used: set[str] = {"pipeline", "yaml", "Path", "HERE"}
    for live in _lives(converted):
        refs = [p for p in live.parts if isinstance(p, Ref) and p.file.endswith((".yaml", ".yml", ".json"))]
        if len(refs) != sum(isinstance(p, Ref) for p in live.parts):
            continue
        for ref in refs:
            if ref.file not in files:
                name = _identifier(f"{Path(ref.file).stem}_{Path(ref.file).suffix.lstrip('.')}", used)
                files[ref.file] = (name, Path(os.path.relpath(ref.file, here)).as_posix())
        live.code = _fstring(live.parts, {f: v[0] for f, v in files.items()}) or ""
    return {f: v for f, v in files.items() if any(f"{v[0]}[" in live.code for live in _lives(converted))}


def _fstring(parts: Sequence[str | Ref], names: dict[str, str]) -> str | None:
    literal = "".join(p for p in parts if isinstance(p, str))
    quote = '"' if '"' not in literal else "'" if "'" not in literal else None
    if quote is None:
        return None
    inner = "'" if quote == '"' else '"'
    body = ""
    for part in parts:
        if isinstance(part, str):
            body += (part.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t")
                     .replace("{", "{{").replace("}", "}}"))
            continue
        if any(isinstance(k, str) and (inner in k or "\\" in k) for k in part.keys):
            return None
        body += "{" + names[part.file] + "".join(
            f"[{inner}{k}{inner}]" if isinstance(k, str) else f"[{k}]" for k in part.keys) + "}"
    return f"f{quote}{body}{quote}"


def _comment(stage: DvcStage) -> list[str]:
    lines: list[str] = []
    if stage.desc:
        lines.extend(f"# {line}".rstrip() for line in str(stage.desc).splitlines())
    if stage.frozen:
        lines.append("# Frozen in DVC (never runs): its outputs are tracked data (.pvt files). To run it")
        lines.append("# again, delete those .pvt files and uncomment the registration.")
    return lines


def _render_single(conv: Converted) -> str:
    call = _call("pipeline.register_cmd", [py_str(conv.stage.pivot_name)], conv.kwargs)
    if conv.stage.frozen:
        call = "\n".join(f"# {line}" for line in call.splitlines())
    return "\n".join([*_comment(conv.stage), call])


def _render_group(group: Sequence[Converted], used: set[str]) -> str:
    first = group[0].stage
    keys = list(dict.fromkeys(k for c in group for k in c.kwargs))
    common = {k: group[0].kwargs[k] for k in keys
              if all(k in c.kwargs and repr(c.kwargs[k]) == repr(group[0].kwargs[k]) for c in group)}
    base = first.pivot_name.partition("@")[0]
    table = _identifier(f"{base}_variants", used)
    rows = []
    for conv in group:
        varying = {k: v for k, v in conv.kwargs.items() if k not in common}
        rows.append(f"    {py_str(conv.stage.variant or '')}: {_dict(varying, 8)},")
    kind = "foreach/do" if first.kind == "foreach" else "matrix"
    lines = [f"# {first.group}: one stage per variant (DVC {kind}), named {base}@<variant>", *_comment(first)]
    lines.append(f"{table} = {{")
    lines.extend(rows)
    lines.append("}")
    lines.append(f"for variant, varying in {table}.items():")
    args = [f'f"{base}@{{variant}}"']
    call = _call("pipeline.register_cmd", args, common, extra="**varying", indent=4)
    lines.append(call)
    return "\n".join(lines)


def _call(func: str, args: list[str], kwargs: dict[str, Any], *, extra: str = "", indent: int = 0) -> str:
    parts = [*args, *(f"{k}={_value(v, indent + 4)}" for k, v in kwargs.items()), *([extra] if extra else [])]
    pad = " " * indent
    one = f"{pad}{func}({', '.join(parts)})"
    if len(one) <= WIDTH and "\n" not in one:
        return one
    inner = "".join(f"{pad}    {p},\n" for p in parts)
    return f"{pad}{func}(\n{inner}{pad})"


def py_str(text: str) -> str:
    """A string literal the way a person (and black/ruff format) writes it: double quotes."""
    literal = repr(text)
    if literal.startswith("'") and '"' not in text:
        literal = '"' + literal[1:-1].replace("\\'", "'") + '"'
    return literal


def _value(value: Any, indent: int) -> str:
    if isinstance(value, str):
        return py_str(value)
    if isinstance(value, list):
        items = [_value(v, indent + 4) for v in value]
        flat = f"[{', '.join(items)}]"
        if len(flat) + indent <= WIDTH - 10:
            return flat
        pad = " " * indent
        return "[\n" + "".join(f"{pad}    {v},\n" for v in items) + f"{pad}]"
    return repr(value)


def _dict(values: dict[str, Any], indent: int) -> str:
    flat = "{" + ", ".join(f"{py_str(k)}: {_value(v, indent)}" for k, v in values.items()) + "}"
    if len(flat) + indent <= WIDTH and "\n" not in flat:
        return flat
    pad = " " * indent
    inner = "".join(f"{pad}{py_str(k)}: {_value(v, indent)},\n" for k, v in values.items())
    return "{\n" + inner + " " * (indent - 4) + "}"


def _identifier(text: str, used: set[str]) -> str:
    name = re.sub(r"\W", "_", text).lower()
    if not name or name[0].isdigit() or keyword.iskeyword(name):
        name = f"_{name}"
    base, n = name, 2
    while name in used:
        name, n = f"{base}_{n}", n + 1
    used.add(name)
    return name
