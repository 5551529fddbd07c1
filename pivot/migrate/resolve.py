"""DVC's templating, resolved the way DVC resolves it: ``vars``, ``${...}``, ``foreach``, ``matrix``.

The rules (from DVC's ``dvc/parsing``):
- A dvc.yaml's context starts with the whole ``params.yaml`` beside it (if any), then its
  ``vars`` in order: a string is ``FILE`` or ``FILE:key1,key2`` (relative to the dvc.yaml's
  folder), a mapping is inline values. Values merge recursively; redefining a leaf is an error.
  A stage's own ``vars`` load (relative to its ``wdir``) into a copy of that context.
- ``${a.b[0]}`` selects nested keys and list indexes. A string that is exactly one
  expression takes the value itself (a number stays a number); otherwise each value is
  rendered into the string (booleans as ``true``/``false``; a mapping in ``cmd`` as
  ``--key value`` flags) and ``\\${`` escapes an expression. Mapping keys are resolved too.
- ``foreach`` over a list of scalars names variants by value, over a list with any
  mapping/list by index, over a mapping by key (and sets ``key``); ``item`` is the value.
- ``matrix`` is the product of its lists in order; a variant is named by its values joined
  with ``-`` (a mapping/list value by ``<name><index>``); ``item`` maps names to values.
"""

from __future__ import annotations

import itertools
import re
import shlex
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pivot.errors import UserError

_EXPR = re.compile(r"(?<!\\)\$\{(?P<inner>.*?)\}")
DEFAULT_PARAMS = "params.yaml"


class TemplateError(UserError):
    """A ``${...}``, ``vars`` or ``foreach``/``matrix`` entry that cannot be resolved as DVC would."""


@dataclass
class Context:
    """The values ``${...}`` can select, and the files (with selected keys) already loaded."""

    data: dict[str, Any]
    imports: dict[str, list[str] | None]
    # dotted path -> the file its value came from (None: inline vars, item, key)
    sources: dict[str, str] = field(default_factory=dict)

    @classmethod
    def for_file(cls, folder: Path, vars_: Sequence[Any], shown: str) -> Context:
        ctx = cls({}, {})
        if (folder / DEFAULT_PARAMS).is_file():
            ctx.load_file(folder, DEFAULT_PARAMS, shown)
        ctx.load_vars(folder, vars_, shown)
        return ctx

    def copy(self) -> Context:
        import copy

        return Context(copy.deepcopy(self.data), copy.deepcopy(self.imports), dict(self.sources))

    def load_vars(self, folder: Path, vars_: Sequence[Any], shown: str) -> None:
        if not isinstance(vars_, list):
            raise TemplateError(f"{shown}: 'vars' must be a list", path=shown)
        for item in vars_:
            if isinstance(item, str):
                if _EXPR.search(item):
                    raise TemplateError(f"{shown}: interpolation is not allowed in 'vars' ({item!r})", path=shown)
                self.load_file(folder, item, shown)
            elif isinstance(item, Mapping):
                self.merge(dict(item), shown)
            else:
                raise TemplateError(f"{shown}: a 'vars' entry must be a file name or a mapping", path=shown)

    def load_file(self, folder: Path, item: str, shown: str) -> None:
        name, _, keys_text = item.partition(":")
        path = (folder / name).resolve()
        keys = [k for k in keys_text.split(",") if k] or None
        key = str(path)
        if key in self.imports:
            before = self.imports[key]
            if keys is None and before is None:
                return  # the same whole file listed twice is allowed
            if keys is None or before is None or set(keys) & set(before):
                raise TemplateError(f"{shown}: cannot load {item!r} again (already loaded)", path=shown)
        data = read_values(path, name)
        if keys is not None:
            missing = [k for k in keys if k not in data]
            if missing:
                raise TemplateError(f"{shown}: {name} has no key {missing[0]!r}", path=shown)
            data = {k: data[k] for k in keys}
        self.merge(data, shown, source=key)
        self.imports[key] = keys if key not in self.imports else [*(self.imports[key] or []), *(keys or [])]

    def merge(self, update: Mapping[str, Any], shown: str, source: str | None = None) -> None:
        added: list[str] = []
        _merge(self.data, update, shown, "", added)
        for path in added:
            if source is None:
                self.sources.pop(path, None)
            else:
                self.sources[path] = source

    def select(self, expr: str) -> Any:
        return self.locate(expr)[0]

    def locate(self, expr: str) -> tuple[Any, tuple[str | int, ...]]:
        """The value ``${expr}`` selects and its path of keys and list indexes."""
        node: Any = self.data
        keys: list[str | int] = []
        for part in expr.replace("[", ".").replace("]", "").split("."):
            part = part.strip()
            try:
                key: str | int = int(part) if isinstance(node, list) else part
                node = node[key]
            except (KeyError, IndexError, ValueError, TypeError) as exc:
                raise TemplateError(f"could not find '{expr}'") from exc
            keys.append(key)
        return node, tuple(keys)

    def source_of(self, keys: tuple[str | int, ...]) -> str | None:
        """The file a selected value came from (the longest recorded prefix of its path)."""
        for n in range(len(keys), 0, -1):
            found = self.sources.get(".".join(str(k) for k in keys[:n]))
            if found is not None or ".".join(str(k) for k in keys[:n]) in self.sources:
                return found
        return None


def _merge(into: dict[str, Any], update: Mapping[str, Any], shown: str, prefix: str, added: list[str]) -> None:
    for key, value in update.items():
        if not isinstance(key, str):
            continue  # DVC ignores non-string keys for interpolation
        if isinstance(into.get(key), Mapping) and isinstance(value, Mapping):
            _merge(into[key], value, shown, f"{prefix}{key}.", added)
        elif key in into:
            raise TemplateError(f"{shown}: cannot redefine '{prefix}{key}' (vars)", path=shown)
        else:
            into[key] = value
            added.append(f"{prefix}{key}")


def read_values(path: Path, shown: str) -> dict[str, Any]:
    """A params/vars file as a mapping: YAML (and so JSON) or TOML; DVC's Python params are not read."""
    from pivot import yamlio

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise TemplateError(f"{shown}: cannot read ({exc.strerror})", path=shown) from exc
    if path.suffix == ".toml":
        import tomllib

        data: Any = tomllib.loads(text)
    elif path.suffix in (".yaml", ".yml", ".json", ""):
        data = yamlio.load(text)
    else:
        raise TemplateError(f"{shown}: only YAML, JSON and TOML values files are supported", path=shown)
    if not isinstance(data, dict):
        raise TemplateError(f"{shown}: expected a mapping at the top level", path=shown)
    return data


def to_str(value: Any, *, flags: bool = False) -> str:
    """How DVC renders a value inside a longer string."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping):
        if not flags:
            raise TemplateError("cannot interpolate a mapping here (only inside 'cmd')")
        return _flags(value)
    if isinstance(value, list):
        raise TemplateError("cannot interpolate a list into a string")
    return str(value)


def _flags(value: Mapping[str, Any]) -> str:
    """A mapping in ``cmd`` becomes ``--key value`` flags (DVC's default parsing config)."""
    parts: list[str] = []
    for key, item in _flatten(value, ""):
        if isinstance(item, bool):
            if item:
                parts.append(f"--{key}")
        elif isinstance(item, str):
            parts.append(f"--{key} {shlex.quote(item)}")
        elif isinstance(item, list):
            rendered = [shlex.quote(i) if isinstance(i, str) else str(i) for i in item]
            parts.append(" ".join([f"--{key} {rendered[0]}", *rendered[1:]]) if rendered else "")
        else:
            parts.append(f"--{key} {item}")
    return " ".join(p for p in parts if p)


def _flatten(value: Mapping[str, Any], prefix: str) -> Iterator[tuple[str, Any]]:
    for key, item in value.items():
        if isinstance(item, Mapping) and item:
            yield from _flatten(item, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", item


def resolve(value: Any, ctx: Context, key: str = "") -> Any:
    """``value`` with every ``${...}`` replaced; ``key`` is the stage field (``cmd`` allows flags)."""
    if isinstance(value, Mapping):
        return {resolve(k, ctx, key): resolve(v, ctx, key) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [resolve(v, ctx, key) for v in value]
    if not isinstance(value, str):
        return value
    matches = list(_EXPR.finditer(value))
    if len(matches) == 1 and matches[0].group(0) == value:
        found = ctx.select(matches[0]["inner"])
        composite = isinstance(found, Mapping | list) and "foreach" not in key and "matrix" not in key
        if composite and not (isinstance(found, Mapping) and key == "cmd"):
            raise TemplateError(f"cannot interpolate data of type '{type(found).__name__}' in '{key}'")
        return found
    out, index = "", 0
    for match in matches:
        out += value[index:match.start()] + to_str(ctx.select(match["inner"]), flags=key == "cmd")
        index = match.end()
    return (out + value[index:]).replace("\\${", "${")


def file_refs(value: Any, ctx: Context) -> list[str]:
    """The ``${...}`` expressions in ``value`` whose values come from a params/vars file."""
    if isinstance(value, Mapping):
        return [r for k, v in value.items() for r in (*file_refs(k, ctx), *file_refs(v, ctx))]
    if isinstance(value, list | tuple):
        return [r for v in value for r in file_refs(v, ctx)]
    if not isinstance(value, str):
        return []
    return [m["inner"] for m in _EXPR.finditer(value) if ctx.source_of(ctx.locate(m["inner"])[1]) is not None]


def has_template(value: Any) -> bool:
    if isinstance(value, Mapping):
        return any(has_template(k) or has_template(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(has_template(v) for v in value)
    return isinstance(value, str) and bool(_EXPR.search(value))


def foreach_variants(data: Any, ctx: Context) -> list[tuple[str, dict[str, Any]]]:
    """(variant name, temporary context values) for a ``foreach`` group."""
    items = resolve(data, ctx, "foreach")
    if isinstance(items, Mapping):
        return [(to_str(k), {"item": v, "key": to_str(k)}) for k, v in items.items()]
    if not isinstance(items, list):
        raise TemplateError(f"foreach: expected a list or mapping, got {type(items).__name__}")
    if any(isinstance(v, Mapping | list) for v in items):
        return [(str(i), {"item": v}) for i, v in enumerate(items)]
    return [(to_str(v), {"item": v}) for v in items]


def matrix_variants(data: Any, ctx: Context) -> list[tuple[str, dict[str, Any]]]:
    """(variant name, temporary context values) for a ``matrix`` group."""
    axes = resolve(data, ctx, "matrix")
    if not isinstance(axes, Mapping) or not all(isinstance(v, list) for v in axes.values()):
        raise TemplateError("matrix: expected a mapping of lists")
    names = list(axes)
    found = []
    for combo in itertools.product(*(list(enumerate(axes[n])) for n in names)):
        parts = [f"{n}{i}" if isinstance(v, Mapping | list) else to_str(v) for n, (i, v) in zip(names, combo, strict=True)]
        key = "-".join(parts)
        found.append((key, {"item": {n: v for n, (_, v) in zip(names, combo, strict=True)}, "key": key}))
    return found


def with_values(ctx: Context, values: Mapping[str, Any]) -> Context:
    """A copy of ``ctx`` with ``item``/``key`` set for one variant (they replace any global)."""
    new = ctx.copy()
    new.data.update(values)
    for name in values:
        new.sources.pop(name, None)
    return new


@dataclass(frozen=True)
class Ref:
    """A value interpolated from a params/vars file: DVC reads it again on every run."""

    file: str  # absolute path of the file
    keys: tuple[str | int, ...]


def parts(template: str, ctx: Context) -> list[str | Ref] | None:
    """``template`` resolved into literal text and file-sourced references, or None when no
    reference can stay live (a reference renders like DVC only for strings and numbers)."""
    matches = list(_EXPR.finditer(template))
    found: list[str | Ref] = []
    index, live = 0, False
    for match in matches:
        value, keys = ctx.locate(match["inner"])
        source = ctx.source_of(keys)
        literal = template[index:match.start()].replace("\\${", "${")
        found.append(literal)
        if source is not None and isinstance(value, str | int | float) and not isinstance(value, bool):
            found.append(Ref(source, keys))
            live = True
        else:
            found.append(to_str(value, flags=True))
        index = match.end()
    found.append(template[index:].replace("\\${", "${"))
    return [p for p in found if p != ""] if live else None
