"""The loaded project (stage specs and code fingerprints), cached in ``.pivot/load-cache.json``.

Importing every pipeline.py and fingerprinting its code is most of a no-op
status at thousands of stages. The cache holds the result of one load, keyed by
everything that load read: the stat signature (mtime_ns, size, inode, ctime_ns)
of every file it opened and of every module then imported (helpers, pivot
itself, libraries), the listing of every folder it listed, the pipeline.py files
discovery finds (walked afresh each time, so a new or deleted pipeline misses),
the interpreter, ``sys.path``, the working folder and the environment.

It is a pure speed-up (DESIGN rule 3): an entry is stored only when every file
was last changed more than the timestamp granularity before the load began (the
stat cache's racily-clean rule), when the load warned about nothing, and when
the specs survive the JSON round trip unchanged; it is used only when every
signature still matches. The file is checked field by field (rule 13): anything
unexpected is a miss, never an error. Specs from the cache carry no Python
objects (functions, loaders, params instances): only ``status`` and ``repro``
use it, whose planner side needs none (workers load stage functions themselves).
"""

from __future__ import annotations

import contextlib
import json
import linecache
import logging
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import xxhash

from pivot import lockfile, params_refresh
from pivot.loadcache_codec import spec_from_json, spec_to_json, stripped
from pivot.project import reads
from pivot.project.reads import Signature, signature
from pivot.project.root import absolute
from pivot.project.spec import StageSpec
from pivot.project.walk import discover
from pivot.safepath import UnsafePathError
from pivot.state import mtime_granularity_ns

FORMAT = 4  # 2: shell stages' params files kept apart and refreshed (pivot.params_refresh); 3: definitions;
# 4: a header line (checked alone) and a body line
CACHE_FILE = "load-cache.json"
SWITCH_ENV = "PIVOT_LOAD_CACHE"  # "0": never read or write the cache
# Set by the shell itself, never read by a pipeline in a way that matters.
_VOLATILE_ENV = frozenset({"PWD", "OLDPWD", "_", "SHLVL"})
log = logging.getLogger(__name__)

@dataclass(frozen=True)
class Loaded:
    specs: list[StageSpec]
    manifests: dict[str, dict[str, str]]  # identity -> code manifest
    from_cache: bool
    definitions: dict[str, str]  # identity -> definition digest (pivot.stage_inputs.definition_of)


def load(root: Path) -> Loaded:
    """The project's stages: from the cache when nothing they were built from changed."""
    return Pending(root).get()


class Pending:
    """A load whose cache header is checked but whose stages are decoded only when asked for."""

    def __init__(self, root: Path) -> None:
        self.root = absolute(root)
        self._header: Header | None = None
        self._loaded: Loaded | None = None
        self._path = self.root / ".pivot" / CACHE_FILE
        self._context: dict[str, Any] = {}
        if os.environ.get(SWITCH_ENV) != "0":
            self._context = _context(self.root, [p.relative_to(self.root).as_posix() for p in discover(self.root)])
            self._header = check_header(self._path, self._context)

    @property
    def digest(self) -> str | None:
        """Names the load ``get`` returns, when the cache holds it as is (no params refresh) and,
        once loaded, the body was the one used (a body refused field by field names nothing)."""
        if self._header is None or self._header.changed:
            return None
        if self._loaded is not None and not self._loaded.from_cache:
            return None
        return self._header.digest

    def get(self) -> Loaded:
        if self._loaded is None:
            self._loaded = self._load()
        return self._loaded

    def _load(self) -> Loaded:
        if not self._context:
            return _fresh(self.root)
        hit = None if self._header is None else decode(self._path, self._header, self.root)
        if hit is not None:
            return hit
        started = time.time_ns()
        with reads.recording() as rec, _warnings() as warned:
            loaded = _fresh(self.root)
        if not rec.unnamed and not warned and len(loaded.manifests) == len(loaded.specs):
            _store(self._path, self._context, rec, loaded, started)
        return loaded


def _fresh(root: Path) -> Loaded:
    # Imported here: a hit needs neither pydantic (pipelines) nor the code fingerprinter.
    from pivot.fingerprint.stage import stage_code_manifest
    from pivot.project.discovery import load_pipelines

    specs = load_pipelines(root)
    manifests: dict[str, dict[str, str]] = {}
    for spec in specs:
        try:
            manifests[spec.identity] = stage_code_manifest(spec)
        except Exception:  # raised again, as before, only if the stage is in scope (not stored)
            continue
    return Loaded(specs, manifests, False, _definitions(specs, manifests))


def _definitions(specs: list[StageSpec], manifests: dict[str, dict[str, str]]) -> dict[str, str]:
    from pivot.stage_inputs import definition_of

    return {s.identity: definition_of(s, manifests[s.identity]) for s in specs if s.identity in manifests}


def _context(root: Path, pipelines: list[str]) -> dict[str, Any]:
    env = sorted((k, v) for k, v in os.environ.items() if k not in _VOLATILE_ENV)
    return {
        "format": FORMAT, "python": sys.version, "executable": sys.executable, "root": str(root),
        "cwd": os.getcwd(), "sys_path": list(sys.path), "pipelines": pipelines,
        "env": xxhash.xxh3_128_hexdigest(json.dumps(env).encode("utf-8", "surrogatepass")),
    }


def listing(path: str) -> str | None:
    try:
        names = sorted(os.listdir(path))
    except OSError:
        return None
    return xxhash.xxh3_128_hexdigest("\0".join(names).encode("utf-8", "surrogatepass"))


@dataclass(frozen=True)
class Header:
    """A cache file whose header still matches the project: the body is not decoded yet."""

    data: dict[str, Any]  # header fields and, once decoded, the body's
    body: bytes
    digest: str  # of the body bytes: names exactly the load a hit returns
    changed: dict[str, Signature]  # refreshable params files edited since the load
    started: int


def check_header(path: Path, context: dict[str, Any]) -> Header | None:
    """The file's header when everything the load read is unchanged (the body unread), else None."""
    try:
        raw = path.read_bytes()
        head, sep, body = raw.partition(b"\n")
        data = json.loads(head)
        if not sep or not isinstance(data, dict) or data.get("context") != context:
            return None
        if data.get("body") != xxhash.xxh3_128_hexdigest(body):
            return None  # torn or edited body
        files, folders, params = data["files"], data["folders"], data["params"]
        if not isinstance(files, dict) or not isinstance(folders, dict) or not isinstance(params, dict):
            return None
        if any(not isinstance(f, str) or signature(f) != sig for f, sig in files.items()):
            return None
        if any(not isinstance(d, str) or signature(d) != sig or listing(d) != names
               for d, (sig, names) in folders.items()):
            return None
        if any(not isinstance(f, str) for f in params):
            return None
        started = time.time_ns()
        current = {f: signature(f) for f in params}
        changed = {f: sig for f, sig in current.items() if sig != params[f]}
        return Header(data, body, data["body"], changed, started)
    except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError):
        return None  # missing or damaged: load afresh (and rewrite it)


def read(path: Path, context: dict[str, Any], root: Path) -> Loaded | None:
    """The cached load, or None when absent, stale, damaged or hostile."""
    header = check_header(path, context)
    return None if header is None else decode(path, header, root)


def decode(path: Path, header: Header, root: Path) -> Loaded | None:
    """The body of a checked header, field by field (rule 13), refreshed for edited params."""
    try:
        body = json.loads(header.body)
        data = {**header.data, **body}
        specs = [spec_from_json(raw) for raw in data["specs"]]
        manifests = {str(k): _str_map(v) for k, v in data["manifests"].items()}
        definitions = _str_map(data["definitions"])
        if set(manifests) != {s.identity for s in specs} or set(definitions) != set(manifests):
            return None
        if header.changed:
            refreshed = params_refresh.refresh(root, specs, header.changed, header.started)
            if refreshed is None:
                return None
            # Every stage reading the file was re-resolved; only those whose values moved get a new digest.
            # Compared as JSON: 1, 1.0 and true are equal in Python but not in a stage key.
            moved = [refreshed.specs[i] for i in refreshed.changed
                     if _canonical(refreshed.specs[i].param_values) != _canonical(specs[i].param_values)]
            specs = refreshed.specs
            definitions.update(_definitions(moved, manifests))
            _store_refreshed(path, data, refreshed, definitions)
        return Loaded(specs, manifests, True, definitions)
    except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError, UnsafePathError):
        return None


def _canonical(values: Any) -> str:
    return json.dumps(values, sort_keys=True, separators=(",", ":"))


def _str_map(raw: object) -> dict[str, str]:
    if not isinstance(raw, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in raw.items()):
        raise TypeError("not a mapping of strings")
    return dict(raw)


def _store(path: Path, context: dict[str, Any], rec: reads.Recording, loaded: Loaded, started: int) -> None:
    specs = loaded.specs
    encoded = [spec_to_json(s) for s in specs]
    if encoded != json.loads(json.dumps(encoded)) or [spec_from_json(e) for e in encoded] != [stripped(s) for s in specs]:
        return  # a value JSON cannot carry exactly (a tuple, NaN): a cached load could differ
    refreshable = params_refresh.refreshable(Path(context["root"]), specs, rec.params - rec.files)
    names = (rec.files | (rec.params - refreshable) | _module_files()
             | {str(Path(context["root"]) / p) for p in context["pipelines"]})
    files = {f: signature(f) for f in sorted(names) if f"{os.sep}__pycache__{os.sep}" not in f}
    params = {f: signature(f) for f in sorted(refreshable)}
    folder_sigs = {d: signature(d) for d in sorted(rec.folders)}
    folders = {d: [sig, listing(d)] for d, sig in folder_sigs.items()}
    if not _racily_clean([*files.values(), *params.values(), *folder_sigs.values()], started):
        return
    data = {"context": context, "files": files, "params": params, "folders": folders, "specs": encoded,
            "manifests": loaded.manifests, "definitions": loaded.definitions}
    with contextlib.suppress(OSError):
        _keep_out_of_git(path)
        _write(path, data)


def _store_refreshed(path: Path, data: dict[str, Any], refreshed: params_refresh.Refreshed,
                     definitions: dict[str, str]) -> None:
    """The entry with refreshed params written back, so the next command is a plain hit."""
    if not _racily_clean(list(refreshed.signatures.values()), refreshed.started):
        return
    for i, values in refreshed.changed.items():
        data["specs"][i]["param_values"] = values
    data["params"].update(refreshed.signatures)
    data["definitions"] = definitions
    with contextlib.suppress(OSError, TypeError, ValueError):
        _write(path, data)


def _racily_clean(signatures: list[Signature], started: int) -> bool:
    # A file changed within one granularity of the load may have changed after it was
    # read without its signature showing it: such a load is not stored.
    gran = mtime_granularity_ns()
    return all(s is None or max(s[0], s[3]) + gran < started for s in signatures)


_BODY = ("specs", "manifests", "definitions")


def _write(path: Path, data: dict[str, Any]) -> None:
    """One header line (what the load read, and the body's digest), then the body line: a
    hit checks the header without decoding the stages (json.dumps writes no raw newline)."""
    body = json.dumps({k: data[k] for k in _BODY}, separators=(",", ":"))
    head = {k: v for k, v in data.items() if k not in _BODY and k != "body"}
    head["body"] = xxhash.xxh3_128_hexdigest(body.encode())
    lockfile.atomic_write_text(path, json.dumps(head, separators=(",", ":")) + "\n" + body)


def read_file(path: Path) -> dict[str, Any]:
    """The whole file as one mapping (tests edit it, then ``write_file``)."""
    head, _, body = path.read_bytes().partition(b"\n")
    data: dict[str, Any] = {**json.loads(head), **json.loads(body)}
    return data


def write_file(path: Path, data: dict[str, Any]) -> None:
    _write(path, data)


def _keep_out_of_git(path: Path) -> None:
    """Projects made before the cache existed: their ``.pivot/.gitignore`` gains its line once."""
    ignore = path.parent / ".gitignore"
    line = f"/{path.name}"
    if ignore.is_file() and line not in ignore.read_text(errors="replace").splitlines():
        with open(ignore, "a") as f:
            f.write(f"{line}\n")


def _module_files() -> set[str]:
    """Every module now imported, and every source file read for fingerprints."""
    found = {getattr(m, "__file__", None) for m in list(sys.modules.values())}
    found |= {name for name, entry in list(linecache.cache.items()) if len(entry) == 4}
    return {os.path.abspath(f) for f in found if isinstance(f, str) and not f.startswith("<")}


@contextlib.contextmanager
def _warnings() -> Iterator[list[logging.LogRecord]]:
    """Warnings logged during the load: such a load is not cached, so they show every time."""
    seen: list[logging.LogRecord] = []

    class _Seen(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record)

    handler = _Seen(logging.WARNING)
    logging.getLogger().addHandler(handler)
    try:
        with _python_warnings(seen):
            yield seen
    finally:
        logging.getLogger().removeHandler(handler)


@contextlib.contextmanager
def _python_warnings(seen: list[logging.LogRecord]) -> Iterator[None]:
    import warnings

    original = warnings.showwarning

    def show(*args: Any, **kwargs: Any) -> None:
        seen.append(logging.LogRecord("warnings", logging.WARNING, "", 0, "", None, None))
        original(*args, **kwargs)

    warnings.showwarning = show
    try:
        yield
    finally:
        warnings.showwarning = original
