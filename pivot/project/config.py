"""Project configuration: ``.pivot/config.yaml`` over ``~/.config/pivot/config.yaml``.

Read-only access here (PyYAML, fast); editing with comments preserved lives
in the config command (ruamel.yaml).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pivot import yamlio


def global_config_file() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "pivot" / "config.yaml"


def _read(path: Path) -> dict[str, Any]:
    return yamlio.read_mapping(path)


def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


@dataclass(frozen=True)
class Config:
    data: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, project_file: Path) -> Config:
        return cls(_merge(_read(global_config_file()), _read(project_file)))

    def get(self, dotted: str, default: Any = None) -> Any:
        node: Any = self.data
        for part in dotted.split("."):
            if not isinstance(node, Mapping) or part not in node:
                return default
            node = node[part]
        return node
