"""Find every pipeline.py of a project and load its stages.

Each pipeline.py is executed afresh on every load, under the module name
``pivot_pipelines.<folder, dotted>`` (``pivot_pipelines._root`` for the root),
with its folder first on ``sys.path`` so it can import helper modules beside
it. Project modules (files under the root, outside virtualenvs) are dropped
from ``sys.modules`` first, so a notebook that edits a pipeline or a helper and
loads again sees the edit, and two folders' ``helpers.py`` never mix.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import linecache
import os
import re
import sys
import types
from collections.abc import Iterator
from pathlib import Path

import pivot
from pivot.errors import PivotError, RegistrationError, UserError
from pivot.project import params as _params
from pivot.project.pipeline import Pipeline, loading
from pivot.project.root import absolute
from pivot.project.spec import StageSpec
from pivot.project.walk import IGNORE_FILE as IGNORE_FILE  # re-exported: the walk moved to walk.py
from pivot.project.walk import PIPELINE_FILE as PIPELINE_FILE
from pivot.project.walk import SKIP_DIRS as SKIP_DIRS
from pivot.project.walk import IgnoreRules as IgnoreRules
from pivot.project.walk import discover as discover

PACKAGE = "pivot_pipelines"

# pipeline file -> (its specs, stat of every project source file loaded with it)
_loaded: dict[str, tuple[list[StageSpec], dict[str, tuple[int, int]]]] = {}
# Folders this process has put on sys.path: modules imported from them are project code
# even when a notebook has since moved on to another project root.
_used_folders: set[str] = set()


def load_pipelines(root: Path) -> list[StageSpec]:
    """Execute every pipeline.py of the project and return all its stages, resolved."""
    root = absolute(root)
    _forget_project_modules(root, keep_pipelines=False)
    linecache.checkcache()  # inspect.getsource (code fingerprints) must see edited files
    specs: list[StageSpec] = []
    owner: dict[str, str] = {}
    with _params.one_load():  # a params file shared by many pipelines is parsed once
        loaded = [spec for file in discover(root) for spec in load_file(root, file)]
        _params.warn_unknown_keys(root, loaded)
    for spec in loaded:
        if spec.identity in owner:
            raise RegistrationError(
                f"stage {spec.identity!r} is registered by both {owner[spec.identity]} and {spec.pipeline_file}",
                path=spec.pipeline_file, stage=spec.identity)
        owner[spec.identity] = spec.pipeline_file
        specs.append(spec)
    return specs


def load_file(root: Path, file: Path) -> list[StageSpec]:
    """Execute one pipeline.py and return its stages, resolved against ``root``."""
    root, file = absolute(root), absolute(file)
    _forget_project_modules(root, keep_pipelines=True)
    shown = file.relative_to(root).as_posix()
    module = _execute(module_name(root, file), file, shown, root)
    pipeline = getattr(module, "pipeline", None)
    if pipeline is None:
        raise UserError(f"{shown}: defines no module-level `pipeline = Pipeline(...)`", path=shown)
    if not isinstance(pipeline, Pipeline):
        raise UserError(f"{shown}: `pipeline` is a {type(pipeline).__name__}, not a pivot.Pipeline", path=shown)
    return pipeline.resolve(root)


def load_stage_function(root: Path, pipeline_file: str, stage_name: str, *, fresh: bool = False) -> StageSpec:
    """One stage's spec, for a worker process; each file is loaded once per (mtime, size).

    ``stage_name`` is the name given at registration or the identity. A helper
    edited without touching pipeline.py is not noticed by that key: a worker whose
    code fingerprint differs from the planner's asks again with ``fresh=True``.
    """
    root = absolute(root)
    file = root / pipeline_file
    entry = _loaded.get(str(file))
    if entry is None or fresh or _sources_changed(entry[1]):
        specs = load_file(root, file)
        entry = _loaded[str(file)] = (specs, _project_sources(root, file))
    for spec in entry[0]:
        if stage_name in (spec.name, spec.identity):
            return spec
    raise UserError(f"{pipeline_file}: no stage named {stage_name!r}", path=pipeline_file, stage=stage_name)


def _project_sources(root: Path, file: Path) -> dict[str, tuple[int, int]]:
    """Stat of the pipeline file and every project module now imported: a long-lived
    worker must reload when any of them changes, not only pipeline.py (the code
    fingerprint reads sources from disk, so it cannot see a stale import)."""
    prefix = str(root) + os.sep
    spared = str(root / ".venv") + os.sep
    files = {str(file)}
    for module in list(sys.modules.values()):
        name = getattr(module, "__file__", None)
        if isinstance(name, str) and name.startswith(prefix) and not name.startswith(spared) and "site-packages" not in name:
            files.add(name)
    stats: dict[str, tuple[int, int]] = {}
    for name in files:
        with contextlib.suppress(OSError):
            st = os.stat(name)
            stats[name] = (st.st_mtime_ns, st.st_size)
    return stats


def _sources_changed(stats: dict[str, tuple[int, int]]) -> bool:
    for name, seen in stats.items():
        try:
            st = os.stat(name)
        except OSError:
            return True
        if (st.st_mtime_ns, st.st_size) != seen:
            return True
    return False


def module_name(root: Path, file: Path) -> str:
    """``pivot_pipelines.models.a`` for models/a/pipeline.py; odd characters escaped, never merged."""
    parts = file.parent.relative_to(root).parts
    if not parts:
        return f"{PACKAGE}._root"
    safe = (re.sub(r"[^0-9A-Za-z_]", lambda m: f"_{ord(m.group()):x}_", p) for p in parts)
    return ".".join((PACKAGE, *safe))


@contextlib.contextmanager
def import_path(root: Path, folder: Path) -> Iterator[None]:
    """What a pipeline's code imports from: its own folder, then the project root (so a
    sub-pipeline can `from src.train import train`). The planner loads pipelines with it and
    a worker calls stage functions with it, so both resolve imports the same way, whatever
    their working directory (issue 12)."""
    entries = list(dict.fromkeys([str(folder), str(root)]))
    _used_folders.update(e + os.sep for e in entries)
    sys.path[:0] = entries
    try:
        yield
    finally:
        for entry in entries:
            _remove_path(entry)


def _execute(name: str, file: Path, shown: str, root: Path) -> types.ModuleType:
    if PACKAGE not in sys.modules:
        # A bare parent package so that pickle's __import__ of "pivot_pipelines.x" succeeds.
        package = types.ModuleType(PACKAGE)
        package.__path__ = []
        sys.modules[PACKAGE] = package
    sys.modules.pop(name, None)
    importlib.invalidate_caches()
    spec = importlib.util.spec_from_file_location(name, file)
    assert spec is not None  # a .py path always has a spec
    module = importlib.util.module_from_spec(spec)
    # Registered before executing: dataclasses and get_type_hints look the module up by name.
    sys.modules[name] = module
    try:
        # Compiled from source, not through __pycache__: a .pyc is trusted on
        # (whole-second mtime, size), so a quick same-size edit would be missed.
        code = compile(file.read_bytes(), str(file), "exec")
        with loading(file), import_path(root, file.parent):
            exec(code, module.__dict__)
    except PivotError:
        sys.modules.pop(name, None)
        raise
    except Exception as exc:
        sys.modules.pop(name, None)
        message = " ".join(str(exc).split()) or "(no message)"
        raise UserError(f"{shown}: {type(exc).__name__}: {message}", path=shown) from exc
    return module


def _remove_path(folder: str) -> None:
    if sys.path and sys.path[0] == folder:
        del sys.path[0]
    elif folder in sys.path:
        sys.path.remove(folder)


_NORMAL: dict[str, str] = {}  # absolute module file -> normalised: a kernel holds ~1,400 modules, asked per load


def _normal(file: str) -> str:
    if not os.path.isabs(file):
        return os.path.normpath(os.path.abspath(file))  # relative to the working folder: never cached
    found = _NORMAL.get(file)
    if found is None:
        found = _NORMAL[file] = os.path.normpath(file)
    return found


def _forget_project_modules(root: Path, *, keep_pipelines: bool) -> None:
    """Drop modules loaded from the project's own files so the next import re-executes them."""
    prefixes = (str(root) + os.sep, *_used_folders)
    spared = (str(root / ".venv") + os.sep, str(Path(pivot.__file__).parent) + os.sep)
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        if not isinstance(file, str) or (keep_pipelines and name.startswith(PACKAGE + ".")):
            continue
        file = _normal(file)
        if file.startswith(prefixes) and not file.startswith(spared) and "site-packages" not in file:
            del sys.modules[name]
            # Same reason as in _execute: force the next import to read the source.
            cached = getattr(module, "__cached__", None)
            if isinstance(cached, str):
                Path(cached).unlink(missing_ok=True)
