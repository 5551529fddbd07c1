"""The project root: the nearest folder holding ``.pivot/``, and ``pivot init``.

Paths are made absolute and normalised but symlinks are not resolved, so the
root and every pipeline folder found below it share one spelling and
``relative_to`` always works between them.
"""

from __future__ import annotations

import os
from pathlib import Path

from pivot.errors import UserError
from pivot.paths import STATE_DIR

CONFIG_FILE = "config.yaml"
# The project lock (one repro at a time; pivot/project/lock.py, layout.Layout.project_lock).
PROJECT_LOCK = "repro.lock"

_GITIGNORE = f"""\
# Written by `pivot init`. Machine-local state only: config.yaml and the
# stage lock files (stages/) belong in git.
/cache/
/state.lmdb/
/tmp/
/load-cache.json
/{PROJECT_LOCK}
"""

_CONFIG = """\
# Pivot project configuration (see README "Configuration" and "Remotes"). Examples:
# remotes:
#   origin: s3://bucket/pivot-cache      # `pivot remote add origin URL --default`
# core:
#   remote: origin
# cache:
#   dir: s3://bucket/pivot-cache         # the cache itself on a URL (cluster workers share it)
# cluster:
#   address: tcp://scheduler:8786
# gc:
#   grace: 14d                           # `pivot gc` never deletes younger objects
{}
"""


def absolute(path: Path) -> Path:
    return Path(os.path.normpath(os.path.abspath(path)))


def find_root(start: Path) -> Path:
    """The nearest ancestor of ``start`` (itself included) that holds ``.pivot/``."""
    here = absolute(start)
    for folder in (here, *here.parents):
        if (folder / STATE_DIR).is_dir():
            return folder
    raise UserError(
        f"not inside a Pivot project (no {STATE_DIR}/ found from {str(here)!r}); run `pivot init`",
        path=str(here),
    )


def init(path: Path) -> Path:
    """Create ``.pivot/`` in ``path``; existing files are kept, so running it twice is harmless."""
    root = absolute(path)
    state = root / STATE_DIR
    state.mkdir(parents=True, exist_ok=True)
    for name, text in ((".gitignore", _GITIGNORE), (CONFIG_FILE, _CONFIG)):
        target = state / name
        if not target.exists():
            target.write_text(text, encoding="utf-8")
    return root
