"""`pivot repro --watch`: re-run what a change affects, after a quiet period.

The project root is watched by the OS (watchfiles: inotify, FSEvents, ...;
no polling loop here), and a change counts only if it touches what the plan
depends on: a dependency, a tracked file or its .pvt, a params.yaml beside a
pipeline, any pipeline.py (so new pipelines are found), or a project module
loaded with the pipelines (the user code in the stages' fingerprints). Stage
outputs and .pivot/ never count: Pivot's own writes cannot trigger a run.

One run at a time: the watcher thread only queues changes; the main thread
runs, then drains whatever queued meanwhile into a single follow-up run. Each
run goes through the ordinary `repro` (same planner, early cutoff, history).
"""

from __future__ import annotations

import os
import queue
import sys
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from pivot import paths
from pivot.errors import UserError
from pivot.session import Session

DEFAULT_DEBOUNCE_MS = 300
_NEVER = (".pivot/", ".git/", ".venv/", "__pycache__/", "node_modules/")
_SOURCE_SUFFIXES = (".py", "params.yaml")


@dataclass(frozen=True)
class WatchSet:
    """What a change must touch to matter: root-relative POSIX paths (folders end in "/")."""

    files: frozenset[str] = frozenset()
    folders: tuple[str, ...] = ()
    outputs: frozenset[str] = frozenset()
    output_folders: tuple[str, ...] = ()
    loaded: bool = False  # False: the project never loaded; any source file counts

    def wants(self, rel: str) -> bool:
        if any(rel.startswith(p) or f"/{p}" in rel for p in _NEVER):
            return False
        if rel in self.outputs or rel.startswith(self.output_folders):
            return False
        name = rel.rsplit("/", 1)[-1]
        if name == "pipeline.py" or name.endswith(".pvt"):
            return True
        if not self.loaded and name.endswith(_SOURCE_SUFFIXES):
            return True
        return rel in self.files or rel.startswith(self.folders)

    def __len__(self) -> int:
        return len(self.files) + len(self.folders)


def watch_set(session: Session, scope: Iterable[str]) -> WatchSet:
    """Everything the plan for ``scope`` reads, from a freshly loaded session."""
    graph, root = session.graph, session.root
    files: set[str] = set()
    folders: set[str] = set()
    for stage in scope:
        for dep in graph.stages[stage].deps:
            (folders if dep.path.endswith("/") else files).add(dep.path)
    for spec in graph.stages.values():
        files.add(spec.pipeline_file)
        files.add(f"{spec.pipeline_dir}/params.yaml" if spec.pipeline_dir else "params.yaml")
    files |= _project_modules(root)
    outs = [o.path for spec in graph.stages.values() for o in spec.outs]
    return WatchSet(frozenset(files), tuple(sorted(folders)), frozenset(o for o in outs if not o.endswith("/")),
                    tuple(sorted(o for o in outs if o.endswith("/"))), loaded=True)


def _project_modules(root: Path) -> set[str]:
    """Project source files imported while the pipelines loaded (helpers, shared modules)."""
    prefix = str(root) + os.sep
    found: set[str] = set()
    for module in list(sys.modules.values()):
        name = getattr(module, "__file__", None)
        if isinstance(name, str) and name.startswith(prefix) and "site-packages" not in name:
            rel = Path(name).relative_to(root).as_posix()
            if not rel.startswith(_NEVER):
                found.add(rel)
    return found


class Watcher:
    """The OS watcher in a thread; ``next_batch`` blocks until a wanted change has gone quiet."""

    def __init__(self, root: Path, debounce_ms: int) -> None:
        self.root = Path(os.path.realpath(root))
        self.debounce_s = max(debounce_ms, 1) / 1000
        self.current = WatchSet()
        self._changes: queue.Queue[str] = queue.Queue()
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="pivot-watch", daemon=True)

    def start(self) -> None:
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            raise self._error

    def _run(self) -> None:
        try:
            from watchfiles._rust_notify import RustNotify
        except ImportError as exc:  # pragma: no cover - a dependency of pivot
            self._error = exc
            self._ready.set()
            return
        step_ms = max(10, min(50, int(self.debounce_s * 1000)))
        try:
            notify = RustNotify([str(self.root)], False, False, 300, True, True)
        except OSError as exc:  # e.g. the inotify watch limit on a huge tree
            self._error = UserError(
                f"cannot watch {self.root} ({exc}); on Linux raise fs.inotify.max_user_watches "
                "(sysctl), or move large data folders out of the project", path=str(self.root))
            self._ready.set()
            return
        with notify:
            self._ready.set()  # the OS watches exist now: nothing written from here on is missed
            while not self._stop.is_set():
                raw = notify.watch(step_ms, step_ms, 1000, self._stop)
                if isinstance(raw, set):
                    self._accept(path for _change, path in raw)

    def _accept(self, changed: Iterable[str]) -> None:
        current = self.current
        for path in changed:
            try:
                rel = Path(path).relative_to(self.root).as_posix()
            except ValueError:
                continue
            if current.wants(rel) or current.wants(rel + "/"):
                self._changes.put(rel)

    def next_batch(self, wait: Callable[[], None] | None = None) -> set[str]:
        """Block for the first wanted change, then gather more until none came for the debounce time."""
        batch: set[str] = set()
        while not batch:
            try:
                batch.add(self._changes.get(timeout=0.5))  # a timeout so Ctrl-C is seen promptly
            except queue.Empty:
                if wait is not None:
                    wait()
        while True:
            try:
                batch.add(self._changes.get(timeout=self.debounce_s))
            except queue.Empty:
                return batch

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def describe(batch: set[str], limit: int = 3) -> str:
    shown = sorted(paths.strip_dir(p) for p in batch)
    more = f" and {len(shown) - limit} more" if len(shown) > limit else ""
    return ", ".join(shown[:limit]) + more

