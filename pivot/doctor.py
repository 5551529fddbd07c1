"""`pivot doctor`: check the installation, the project and (on request) the remote
and the cluster; each failed check says how to fix it.

Checks never change the project: the cache and hardlink probes write one temp
file under .pivot/tmp and remove it. A check is "ok", "warn" (works, but worth
knowing) or "fail" (something Pivot needs is broken); any fail means exit 1.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import os
import platform
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pivot

MIN_PYTHON = (3, 11)
CORE = ("click", "pydantic", "lmdb", "fsspec", "pyyaml", "rich", "cloudpickle", "watchfiles")
EXTRAS = {"dask": ("dask", "distributed"), "s3": ("s3fs",)}


@dataclass(frozen=True)
class Check:
    name: str
    status: str  # "ok" | "warn" | "fail"
    detail: str
    fix: str = ""

    def to_json(self) -> dict[str, str]:
        return asdict(self)


def ok(name: str, detail: str) -> Check:
    return Check(name, "ok", detail)


def warn(name: str, detail: str, fix: str) -> Check:
    return Check(name, "warn", detail, fix)


def fail(name: str, detail: str, fix: str) -> Check:
    return Check(name, "fail", detail, fix)


def run_checks(cwd: Path | None = None, *, remote: bool = False, cluster: str | None = None) -> list[Check]:
    """Every check, in order; a later check that needs a broken earlier one is skipped."""
    checks = [check_python(), *check_packages()]
    root = _root(cwd or Path.cwd(), checks)
    if root is None:
        return checks
    pipelines, specs = check_pipelines(root)
    from pivot.project.gitignore import ignores

    # the outputs `pivot repro` keeps out of git (metrics belong in git: never flagged)
    outputs = None if specs is None else sorted({o.path.rstrip("/") for s in specs for o in s.outs if ignores(o)})
    locks = [] if specs is None else [check_locks(root, specs)]
    checks += [check_state_dir(root), pipelines, *locks, check_state_db(root), *check_cache(root),
               *check_git(root, outputs)]
    if remote:
        checks.append(check_remote(root))
    if cluster:
        checks += check_cluster(cluster)
    return checks


def check_python() -> Check:
    here = platform.python_version()
    if sys.version_info[:2] < MIN_PYTHON:
        return fail("python", f"Python {here}", f"use Python {'.'.join(map(str, MIN_PYTHON))} or newer")
    return ok("python", f"Python {here}, pivot {pivot.__version__} ({sys.executable})")


def check_packages() -> list[Check]:
    checks = []
    missing = [name for name in CORE if _version(name) is None]
    if missing:
        checks.append(fail("packages", f"missing: {', '.join(missing)}", "pip install --force-reinstall pivot"))
    else:
        checks.append(ok("packages", ", ".join(f"{n} {_version(n)}" for n in CORE)))
    for extra, names in EXTRAS.items():
        absent = [n for n in names if _version(n) is None]
        if absent:
            checks.append(warn(f"extra {extra}", f"not installed ({', '.join(absent)})", f"pip install 'pivot[{extra}]'"))
        else:
            checks.append(ok(f"extra {extra}", ", ".join(f"{n} {_version(n)}" for n in names)))
    return checks


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def _root(cwd: Path, checks: list[Check]) -> Path | None:
    from pivot.errors import PivotError
    from pivot.project.root import find_root

    try:
        root = find_root(cwd)
    except PivotError as exc:
        checks.append(fail("project", str(exc), "cd into the project, or run `pivot init` to create one here"))
        return None
    checks.append(ok("project", f"root {root}"))
    return root


def check_state_dir(root: Path) -> Check:
    from pivot.errors import PivotError
    from pivot.project.config import Config
    from pivot.project.layout import Layout

    layout = Layout(root)
    if not os.access(layout.state_dir, os.W_OK | os.X_OK):
        return fail(".pivot", f"{layout.state_dir} is not writable", f"chmod u+rwx {layout.state_dir}")
    try:
        Config.load(layout.config_file)
    except PivotError as exc:
        return fail(".pivot", str(exc), f"fix or remove {layout.config_file} (`pivot config` edits it)")
    return ok(".pivot", f"{layout.state_dir} writable, config readable")


def check_pipelines(root: Path) -> tuple[Check, list[Any] | None]:
    """The check, and the stages when every pipeline.py loaded (None otherwise)."""
    from pivot.graph.build import build_graph
    from pivot.project.discovery import load_file
    from pivot.project.walk import discover

    files = discover(root)
    specs: list[Any] = []
    for file in files:
        shown = file.relative_to(root).as_posix()
        try:
            specs += load_file(root, file)
        except Exception as exc:  # any import-time error of user code: name the file
            detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            return fail("pipelines", f"{shown} does not load: {detail}",
                        f"fix {shown} (`python {shown}` shows the full traceback)"), None
    try:
        build_graph(specs)
    except Exception as exc:
        return fail("pipelines", str(exc), "fix the stage declarations named above"), None
    return ok("pipelines", f"{len(files)} pipeline.py file(s), {len(specs)} stage(s)"), specs


def check_locks(root: Path, specs: list[Any]) -> Check:
    """Lock files of no stage a pipeline.py defines. Removing a stage from its pipeline.py leaves
    its lock: committed with the project, and a root that keeps its outputs from `gc --workspace`.
    Only a warning, never deleted here: a stage defined in a notebook has a lock file too."""
    from pivot.project.layout import Layout

    layout = Layout(root)
    owned = {str(layout.lock_file(s.identity)) for s in specs}
    folder = layout.state_dir / "stages"
    found = sorted(str(p) for p in folder.rglob("*.lock")) if folder.is_dir() else []
    orphans = [Path(p).relative_to(root).as_posix() for p in found if p not in owned]
    if not orphans:
        return ok("lock files", f"{len(found)} lock file(s), each of a stage a pipeline.py defines")
    more = f" and {len(orphans) - 5} more" if len(orphans) > 5 else ""
    return warn("lock files", f"{len(orphans)} lock file(s) name no stage any pipeline.py defines: "
                f"{', '.join(orphans[:5])}{more} (`pivot gc --workspace` keeps what they name)",
                "delete them if those stages were removed; keep them if a notebook defines those stages")


def check_state_db(root: Path) -> Check:
    from pivot.project.layout import Layout
    from pivot.state import LmdbState

    path = Layout(root).state_db
    try:
        state = LmdbState.open(path)
        try:
            state.get("doctor:probe")
        finally:
            state.close()
    except Exception as exc:
        return fail("state db", f"{path}: {exc}", f"remove {path} (it is only a cache of hashes and history)")
    return ok("state db", f"{path} readable")


def check_cache(root: Path) -> list[Check]:
    from pivot.workspace import Workspace

    try:
        ws = Workspace(root)
    except Exception as exc:
        return [fail("cache", str(exc), "fix cache.dir / cache.type in .pivot/config.yaml")]
    url = ws.cache_url
    if "://" in url and not url.startswith("file://"):
        return [ok("cache", f"{url} (remote cache: workers read and write it there)")]
    cache = Path(url.removeprefix("file://"))
    with _probe_file(cache) as probe:
        if isinstance(probe, Exception):
            return [fail("cache", f"{cache} is not writable ({probe})",
                         f"chmod -R u+w {cache}, or point cache.dir in .pivot/config.yaml at a writable folder")]
        fs = filesystem_of(cache)
        return [ok("cache", f"{cache} writable, on {fs}"), _hardlink_check(probe, root, ws.link_modes)]


@contextlib.contextmanager
def _probe_file(folder: Path) -> Iterator[Path | Exception]:
    probe = folder / f".doctor-{uuid.uuid4().hex[:8]}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe.write_bytes(b"pivot doctor")
    except OSError as exc:
        yield exc
        return
    try:
        yield probe
    finally:
        probe.unlink(missing_ok=True)


def _hardlink_check(probe: Path, root: Path, modes: tuple[Any, ...]) -> Check:
    target = root / ".pivot" / "tmp" / f"{probe.name}-link"
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        os.link(probe, target)
    except OSError as exc:
        wanted = any(str(getattr(m, "value", m)) == "hardlink" for m in modes)
        check = fail if wanted else warn
        return check("hardlinks", f"cache and workspace cannot share hardlinks ({exc.strerror})",
                     "set cache.type to 'symlink,copy' or 'copy', or put cache.dir on the workspace's filesystem")
    target.unlink(missing_ok=True)
    return ok("hardlinks", "possible between cache and workspace (cache.type hardlink saves space)")


def filesystem_of(path: Path) -> str:
    """The mount's filesystem type from /proc/mounts (Linux); "unknown" elsewhere."""
    best, kind = "", "unknown"
    target = str(path.resolve())
    with contextlib.suppress(OSError), open("/proc/mounts", encoding="utf-8") as mounts:
        for line in mounts:
            parts = line.split()
            if len(parts) >= 3 and (target == parts[1] or target.startswith(parts[1].rstrip("/") + "/")) \
                    and len(parts[1]) > len(best):
                best, kind = parts[1], parts[2]
    return f"{kind} ({best})" if best else kind


def check_git(root: Path, outs: list[str] | None) -> list[Check]:
    """``outs``: every output path (None: the pipelines did not load, coverage is not checked)."""
    try:
        top = _git(root, "rev-parse", "--show-toplevel")
    except FileNotFoundError:
        return [fail("git", "git is not installed", "install git: pipeline code and lock files belong in git")]
    if top is None:
        return [fail("git", f"{root} is not inside a git repository",
                     "git init && git add . (lock files and .pvt files record what was run)")]
    if not outs:
        return [ok("git", f"repository {top}")]
    ignored = set((_git(root, "check-ignore", *outs) or "").splitlines())
    exposed = [o for o in outs if o not in ignored]
    if exposed:
        return [ok("git", f"repository {top}"),
                warn(".gitignore", f"{len(exposed)} output(s) not ignored, e.g. {exposed[0]}",
                     f"add them to .gitignore (echo '{exposed[0]}' >> .gitignore): outputs live in the cache")]
    return [ok("git", f"repository {top}"), ok(".gitignore", f"all {len(outs)} outputs ignored")]


def _git(root: Path, *args: str) -> str | None:
    proc = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, timeout=60, check=False)
    return proc.stdout.strip() if proc.returncode == 0 or args[0] == "check-ignore" else None


def check_remote(root: Path) -> Check:
    from pivot.remote.config import default_remote
    from pivot.remote.store import EPOCH_RECORD
    from pivot.workspace import Workspace

    try:
        remote = default_remote(Workspace(root))
    except Exception as exc:
        return fail("remote", str(exc), "fix `remotes` in .pivot/config.yaml (`pivot remote list`)")
    if remote is None:
        return warn("remote", "no remote configured", "pivot remote add NAME URL --default")
    try:
        remote.odb.get_record(EPOCH_RECORD)  # one small read: reachability and credentials
    except Exception as exc:
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return fail("remote", f"{remote.name} ({remote.url}) cannot be read: {detail}",
                    "check the credentials (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or the remote's key/secret "
                    "options), the endpoint and the bucket name: `pivot remote list`")
    return ok("remote", f"{remote.name} ({remote.url}) readable")


def worker_versions() -> dict[str, str]:
    """Runs on each Dask worker: what it would run stages with."""
    import pivot as installed

    return {"pivot": installed.__version__, "python": platform.python_version()}


def check_cluster(address: str) -> list[Check]:
    try:
        from distributed import Client
    except ImportError:
        return [fail("cluster", "dask.distributed is not installed", "pip install 'pivot[dask]'")]
    try:
        client = Client(address, timeout="5s")  # type: ignore[no-untyped-call]
    except Exception as exc:
        return [fail("cluster", f"cannot reach the Dask scheduler at {address} ({exc})",
                     "start the cluster (cluster/start.sh) or check the address and port")]
    try:
        seen: dict[str, dict[str, str]] = client.run(worker_versions)
    finally:
        client.close()  # type: ignore[no-untyped-call]
    here = worker_versions()
    if not seen:
        return [fail("cluster", f"{address}: no workers", "start workers: dask worker " + address)]
    skewed = {w: v for w, v in seen.items() if v != here}
    if skewed:
        worker, theirs = sorted(skewed.items())[0]
        return [fail("cluster", f"{len(skewed)} of {len(seen)} worker(s) differ, e.g. {worker}: pivot "
                                f"{theirs['pivot']} on Python {theirs['python']} (here: pivot {here['pivot']} "
                                f"on Python {here['python']})",
                     f"install pivot {here['pivot']} on Python {here['python']} on every worker "
                     "(rebuild the worker image, cluster/README.md)")]
    return [ok("cluster", f"{address}: {len(seen)} worker(s), pivot {here['pivot']}, Python {here['python']}")]
