"""Fast read-only YAML (libyaml's C loader when present): params, config, .pvt, locks.

Editing with comments preserved uses ruamel.yaml instead (config commands).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pivot.errors import ConfigError


def load(text: str) -> Any:
    import yaml  # ~15 ms: not for a file with nothing in it (a fresh project's commented config)

    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def _empty(text: str) -> bool:
    """True when the document is only comments and blank lines, with at most one ``{}`` line:
    YAML reads it as null or an empty mapping."""
    kept = [s for line in text.splitlines() if (s := line.strip()) and not s.startswith("#")]
    return kept in ([], ["{}"])


def read_mapping(path: Path, shown: str | None = None) -> dict[str, Any]:
    """The top-level mapping of a YAML file; {} when the file is missing or empty.

    Anything else is a ConfigError naming the file (``shown``, else the path).
    """
    name = shown or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{name}: not UTF-8 text (byte {exc.object[exc.start]:#04x} at offset {exc.start})", path=name) from exc
    except OSError as exc:
        raise ConfigError(f"{name}: cannot read ({exc.strerror or exc})", path=name) from exc
    if _empty(text):
        return {}
    import yaml

    try:
        data = load(text)
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or type(exc).__name__
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise ConfigError(f"{name}: invalid YAML{where}: {problem}", path=name) from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{name}: expected a mapping at the top level, got {type(data).__name__}", path=name)
    return data
