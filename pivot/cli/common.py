"""Helpers the command modules share: JSON out, the project root if any, the config file to edit."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click


def emit(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=str))


def root_or_none() -> Path | None:
    from pivot import api
    from pivot.errors import PivotError

    try:
        return api.find_root()
    except PivotError:
        return None


def config_file(global_: bool) -> Path:
    from pivot.project import config_edit

    return config_edit.config_path(None if global_ else root_or_none(), global_=global_)


def project_config() -> Any:
    """The configuration in force here (the project's file over the global one), or the global
    one alone outside a project."""
    from pivot.project.config import Config

    root = root_or_none()
    return Config.load(root / ".pivot" / "config.yaml" if root else Path("/nonexistent"))
