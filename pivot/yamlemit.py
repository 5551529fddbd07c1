"""A small canonical YAML emitter for plain data (lock files).

PyYAML's representer is pure Python even with the C dumper: at 5,000 stages it
was the largest single cost of a fresh run's bookkeeping. Lock files hold only
mappings with string keys, lists, strings, ints, floats, bools and None, so
this writes them directly, in PyYAML's own block layout (an unchanged lock
written by either is byte-identical in the common case).

Safety over brevity: a string is written plain only when it is made of a few
safe ASCII characters *and* PyYAML's resolver reads it back as a string (so
``1e-05``, ``1:20``, ``yes``, ``null`` or ``0x1f`` are quoted); every other
string is double-quoted with JSON escapes, which are valid YAML escapes.
Floats follow PyYAML's own spelling (``1.0e-05``, never ``1e-05``, which
YAML 1.1 reads as a string). Anything else raises ``Unsupported`` so the
caller can fall back to PyYAML.
"""

from __future__ import annotations

import json
import math
import re
from functools import lru_cache
from typing import Any

import yaml
from yaml.nodes import ScalarNode

_STR_TAG = "tag:yaml.org,2002:str"
_PLAIN = re.compile(r"[A-Za-z0-9_./][A-Za-z0-9_./@+:-]*\Z")
# Characters a YAML reader rejects or treats as line breaks inside quotes:
# escape them (JSON already escaped the C0 controls, quotes and backslashes).
_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff]")
_SURROGATE = re.compile("[\ud800-\udfff]")  # not encodable; libyaml rejects their escapes
_MAX_KEY = 1000  # PyYAML's scanner allows simple keys up to 1024 characters
# The resolver of the loader lock files are read with (pivot.lockfile), so "plain" means
# "that loader reads it back as this string".
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_resolver = _LOADER("")
# First characters that can start a non-string plain scalar (numbers, bools, null, ...).
_RESOLVED_FIRST = frozenset(k for k in _LOADER.yaml_implicit_resolvers if k is not None)


class Unsupported(TypeError):
    """A value this emitter does not write (the caller falls back to PyYAML)."""


def dumps(data: dict[str, Any]) -> str:
    """``data`` as a block-style YAML document (keys in the given order)."""
    if not data:
        return "{}\n"
    lines: list[str] = []
    _mapping(data, 0, lines)
    lines.append("")
    return "\n".join(lines)


def _mapping(data: dict[str, Any], indent: int, lines: list[str]) -> None:
    pad = " " * indent
    for key, value in data.items():
        if not isinstance(key, str):
            raise Unsupported(f"mapping key {key!r}")
        head = f"{pad}{_key(key)}:"
        if isinstance(value, dict) and value:
            lines.append(head)
            _mapping(value, indent + 2, lines)
        elif isinstance(value, list | tuple) and value:
            lines.append(head)
            _sequence(value, indent, lines)  # PyYAML's layout: items level with the key
        else:
            lines.append(f"{head} {_scalar(value)}")


def _sequence(items: list[Any] | tuple[Any, ...], indent: int, lines: list[str]) -> None:
    pad = " " * indent
    for item in items:
        if (isinstance(item, dict | list | tuple)) and item:
            start = len(lines)
            if isinstance(item, dict):
                _mapping(item, indent + 2, lines)
            else:
                _sequence(item, indent + 2, lines)
            lines[start] = f"{pad}- {lines[start][indent + 2:]}"
        else:
            lines.append(f"{pad}- {_scalar(item)}")


def _key(key: str) -> str:
    text = _string(key)
    if len(text) > _MAX_KEY:
        raise Unsupported("mapping key too long for a simple key")
    return text


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, float):
        return _float(value)
    if isinstance(value, dict):
        return "{}"  # only empty ones get here
    if isinstance(value, list | tuple):
        return "[]"
    raise Unsupported(f"value of type {type(value).__name__}")


def _float(value: float) -> str:
    # PyYAML's own representer: YAML 1.1 floats need a dot ("1e-05" reads as a string).
    if math.isnan(value):
        return ".nan"
    if math.isinf(value):
        return ".inf" if value > 0 else "-.inf"
    text = repr(float(value)).lower()
    if "." not in text and "e" in text:
        text = text.replace("e", ".0e", 1)
    return text


@lru_cache(maxsize=65536)
def _string(value: str) -> str:
    if not value:
        return "''"  # as PyYAML writes it (lock files hold many empty output keys)
    if value[0] not in _RESOLVED_FIRST and _PLAIN.match(value) and not value.endswith(":"):
        return value  # no implicit type starts with this character: a plain string
    if _PLAIN.match(value) and not value.endswith(":") and \
            _resolver.resolve(ScalarNode, value, (True, False)) == _STR_TAG:
        return value
    if _SURROGATE.search(value):
        raise Unsupported("a string with a lone surrogate")
    quoted = json.dumps(value, ensure_ascii=False)
    return _UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", quoted)
