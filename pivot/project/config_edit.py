"""Editing ``.pivot/config.yaml`` (or the global file) with comments kept.

Reading for decisions stays in ``pivot.project.config`` (PyYAML, fast); this
module round-trips the file through ruamel.yaml so a user's comments and key
order survive ``pivot config set`` and ``pivot remote add``. Each write goes
to a temp file and is renamed in.
"""

from __future__ import annotations

import io
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

from pivot.errors import ConfigError
from pivot.lockfile import atomic_write_text
from pivot.project.config import global_config_file

REMOTES = "remotes"
DEFAULT_REMOTE = "core.remote"


def config_path(root: Path | None, *, global_: bool = False) -> Path:
    if global_:
        return global_config_file()
    if root is None:
        raise ConfigError("not inside a Pivot project (no .pivot/ found); use --global")
    return root / ".pivot" / "config.yaml"


def _yaml() -> Any:
    from ruamel.yaml import YAML

    yaml = YAML()  # round-trip mode: comments, order and quoting survive
    yaml.preserve_quotes = True
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def load(path: Path) -> Any:
    """The document as a ruamel CommentedMap (an empty one when the file is missing)."""
    from ruamel.yaml.comments import CommentedMap
    from ruamel.yaml.error import YAMLError

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return CommentedMap()
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.object[exc.start]:#04x} at offset {exc.start})",
                          path=str(path)) from exc
    try:
        doc = _yaml().load(text)
    except YAMLError as exc:
        raise ConfigError(f"{path}: invalid YAML ({str(exc).splitlines()[0]})", path=str(path)) from exc
    if doc is None:
        return CommentedMap()
    if not isinstance(doc, MutableMapping):
        raise ConfigError(f"{path}: expected a mapping at the top level", path=str(path))
    return doc


def save(path: Path, doc: Any) -> None:
    buf = io.StringIO()
    if doc:
        _yaml().dump(doc, buf)
    else:
        buf.write(_comments_only(path))  # an emptied file keeps its header comments
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, buf.getvalue())


def _comments_only(path: Path) -> str:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return ""
    kept = [line for line in lines if line.lstrip().startswith("#")]
    return "\n".join(kept) + ("\n" if kept else "")


def _split(key: str) -> list[str]:
    parts = key.split(".")
    if not key or any(not p for p in parts):
        raise ConfigError(f"bad config key {key!r}: use dotted names like core.remote", path=key)
    return parts


def get_value(doc: Any, key: str) -> Any:
    node: Any = doc
    for part in _split(key):
        if not isinstance(node, MutableMapping) or part not in node:
            return None
        node = node[part]
    return node


def set_value(doc: Any, key: str, value: Any) -> None:
    from ruamel.yaml.comments import CommentedMap

    *parents, last = _split(key)
    node: Any = doc
    for part in parents:
        child = node.get(part)
        if child is None:
            child = node[part] = CommentedMap()
        elif not isinstance(child, MutableMapping):
            raise ConfigError(f"cannot set {key}: {part} holds a value, not a section", path=key)
        node = child
    node[last] = value


def unset_value(doc: Any, key: str) -> bool:
    """Remove the key; empty parent sections go too. False when it was not set."""
    parts = _split(key)
    chain: list[Any] = [doc]
    for part in parts[:-1]:
        child = chain[-1].get(part)
        if not isinstance(child, MutableMapping):
            return False
        chain.append(child)
    if parts[-1] not in chain[-1]:
        return False
    del chain[-1][parts[-1]]
    for depth in range(len(parts) - 1, 0, -1):
        if not chain[depth]:
            del chain[depth - 1][parts[depth - 1]]
    return True


def parse_scalar(text: str) -> Any:
    """``true``/``4``/``0.5`` become YAML scalars; everything else (URLs too) stays a string."""
    import yaml

    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    return value if isinstance(value, bool | int | float) else text


def edit(path: Path, key: str, value: Any) -> None:
    doc = load(path)
    set_value(doc, key, value)
    save(path, doc)


def remove(path: Path, key: str) -> bool:
    doc = load(path)
    if not unset_value(doc, key):
        return False
    save(path, doc)
    return True
