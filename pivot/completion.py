"""Shell completion data: stage names, remote names and config keys of the project.

Completing runs on every keypress, so stage names come from a small cache,
``.pivot/completion.json``, keyed by the stat of every pipeline.py: it is
rebuilt (the pipelines imported once) only when a pipeline.py was added,
removed or edited. Remote names and config keys are read from the config
files, which is cheap. Any failure completes nothing rather than printing.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any

CACHE_NAME = "completion.json"
_SKIP_DIRS = frozenset({".venv", ".git", ".pivot", "node_modules", "__pycache__", "site-packages"})
CACHE_VERSION = 1
# Every key Pivot reads (grep 'config.get(' pivot/); user-set keys are added from the files.
KNOWN_KEYS = ("cache.dir", "cache.type", "cache.remote", "core.remote", "cluster.address", "cluster.mode",
              "cluster.retries", "cluster.window", "history.keep", "watch.debounce")


def _root() -> Path | None:
    from pivot.errors import PivotError
    from pivot.project.root import find_root

    try:
        return find_root(Path.cwd())
    except PivotError:
        return None


def _pipeline_stats(root: Path) -> dict[str, list[int]]:
    """Stat of every pipeline.py: the cache key. A plain walk, not discovery's, so a cached
    completion imports nothing of the project machinery (pydantic alone costs ~0.15 s);
    files .pivotignore hides only make the key stricter."""
    stats: dict[str, list[int]] = {}
    stack = [root]
    while stack:
        folder = stack.pop()
        with contextlib.suppress(OSError), os.scandir(folder) as scan:
            entries = list(scan)
            if folder != root and any(e.name == "pyvenv.cfg" for e in entries):
                continue
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    if entry.name not in _SKIP_DIRS:
                        stack.append(Path(entry.path))
                elif entry.name == "pipeline.py":
                    st = entry.stat()
                    stats[Path(entry.path).relative_to(root).as_posix()] = [st.st_mtime_ns, st.st_size, st.st_ino]
    return dict(sorted(stats.items()))


def stage_names(root: Path | None = None) -> list[str]:
    """Identities and short names of every stage, from the cache when the pipelines are unchanged."""
    root = root or _root()
    if root is None:
        return []
    cache = root / ".pivot" / CACHE_NAME
    stats = _pipeline_stats(root)
    with contextlib.suppress(OSError, ValueError, TypeError, KeyError):
        data = json.loads(cache.read_text(encoding="utf-8"))
        if data["version"] == CACHE_VERSION and data["pipelines"] == stats:
            return [str(s) for s in data["stages"]]
    names = _load_names(root)
    if names is None:
        return []  # a broken pipeline: complete nothing, cache nothing
    tmp = cache.with_name(f"{CACHE_NAME}.{os.getpid()}.tmp")
    with contextlib.suppress(OSError):
        tmp.write_text(json.dumps({"version": CACHE_VERSION, "pipelines": stats, "stages": names}), encoding="utf-8")
        os.replace(tmp, cache)  # atomic: a concurrent completion reads the old or the new file
    return names


def _load_names(root: Path) -> list[str] | None:
    import io
    import sys

    from pivot.project.discovery import load_pipelines

    saved = sys.stdout, sys.stderr
    sys.stdout = sys.stderr = io.StringIO()  # a pipeline that prints must not break the shell's completion
    try:
        specs = load_pipelines(root)
    except Exception:
        return None
    finally:
        sys.stdout, sys.stderr = saved
    names = {s.identity for s in specs} | {s.name for s in specs}
    names |= {s.name.split("@", 1)[0] for s in specs if "@" in s.name}  # a matrix base name runs all variants
    return sorted(names)


def _configs(root: Path | None) -> list[dict[str, Any]]:
    from pivot.project.config import global_config_file
    from pivot.yamlio import read_mapping

    files = [global_config_file()] + ([root / ".pivot" / "config.yaml"] if root is not None else [])
    found = []
    for file in files:
        with contextlib.suppress(Exception):
            found.append(read_mapping(file))
    return found


def remote_names(root: Path | None = None) -> list[str]:
    names: set[str] = set()
    for data in _configs(root or _root()):
        remotes = data.get("remotes")
        if isinstance(remotes, dict):
            names |= {str(k) for k in remotes}
    return sorted(names)


def config_keys(root: Path | None = None) -> list[str]:
    keys = set(KNOWN_KEYS)
    for data in _configs(root or _root()):
        keys |= set(_flatten(data))
    return sorted(keys)


def _flatten(data: dict[str, Any], prefix: str = "") -> list[str]:
    keys = []
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        keys += _flatten(value, dotted + ".") if isinstance(value, dict) else [dotted]
    return keys


def run_ids(root: Path | None = None) -> list[str]:
    """The newest runs' ids, for `pivot show` (reads the state DB; imports no pipeline)."""
    from pivot.history import runs

    root = root or _root()
    return [] if root is None else [e.id for e in runs(50, root=root)]
