"""Fast read-only YAML (libyaml's C loader when present): params, config, .pvt, locks.

Editing with comments preserved uses ruamel.yaml instead (config commands).
"""

from __future__ import annotations

from typing import Any

import yaml

try:
    _Loader: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - libyaml missing
    _Loader = yaml.SafeLoader

YAMLError = yaml.YAMLError


def load(text: str) -> Any:
    return yaml.load(text, Loader=_Loader)
