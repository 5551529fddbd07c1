"""Where a module comes from: the user's code, the standard library or a distribution.

Only user code is fingerprinted by its source; everything else contributes the
version of the distribution it belongs to. A user file wrongly classified as
third-party would silently drop out of the fingerprint (a stale skip), so
"third-party" means "inside one of the interpreter's library directories" and
nothing broader: sys.prefix itself is not a root, because a checkout can live
under it (Docker images often use /usr/local/app).
"""

from __future__ import annotations

import functools
import os
import site
import sys
import sysconfig
from dataclasses import dataclass
from importlib import metadata
from typing import Literal

STDLIB_KEY = "stdlib:python"
STDLIB_VERSION = f"{sys.version_info.major}.{sys.version_info.minor}"


@dataclass(frozen=True, slots=True)
class Origin:
    kind: Literal["user", "stdlib", "dist"]
    top: str = ""  # top-level import name, for kind == "dist"


USER = Origin("user")
STDLIB = Origin("stdlib")


def module_origin(modname: str | None, fallback_file: str | None = None) -> Origin:
    """Classify a module by the file it was loaded from (its name when it has none)."""
    if modname == "__main__":
        return USER
    top = (modname or "").partition(".")[0]
    if top == "pivot":  # Pivot is a dependency of the user's code, even when installed editable
        return Origin("dist", "pivot")
    module = sys.modules.get(modname) if modname else None
    path = getattr(module, "__file__", None) or fallback_file
    if isinstance(path, str) and not path.startswith("<"):
        return _path_origin(path, top)
    if top in sys.stdlib_module_names or top in sys.builtin_module_names:
        return STDLIB
    search = getattr(module, "__path__", None)  # namespace package: judge by its directories
    if search is not None:
        origins = {_path_origin(p, top) for p in search}
        return USER if USER in origins or not origins else sorted(origins, key=str)[0]
    return USER  # code without a file (exec, notebook cell) was written by the user


@functools.lru_cache(maxsize=4096)
def _path_origin(path: str, top: str) -> Origin:
    # Cached: realpath costs several lstat calls and a file's place never changes.
    path = os.path.realpath(path)
    third_party, stdlib = _roots()
    for root in third_party:
        if _under(path, root):
            first = os.path.relpath(path, root).split(os.sep)[0]
            return Origin("dist", first.partition(".")[0] or top)
    if any(_under(path, root) for root in stdlib):
        return STDLIB
    return USER


def _under(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


@functools.cache
def _roots() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(third-party library directories, stdlib directories), resolved."""
    here = sysconfig.get_paths()
    base = sysconfig.get_paths(vars={"base": sys.base_prefix, "platbase": sys.base_exec_prefix})
    third = {here["purelib"], here["platlib"], base["purelib"], base["platlib"]}
    third.update(site.getsitepackages())
    third.add(site.getusersitepackages())
    third.update(p for p in sys.path if os.path.basename(p) in ("site-packages", "dist-packages"))
    std = {here["stdlib"], here["platstdlib"], base["stdlib"], base["platstdlib"]}
    std.add(os.path.dirname(os.__file__))
    std.update(p for p in sys.path if p.endswith(".zip") and _under(p, sys.base_prefix))
    # Longest first, so a site-packages inside the stdlib directory wins.
    order = sorted({os.path.realpath(p) for p in third}, key=len, reverse=True)
    return tuple(order), tuple(sorted({os.path.realpath(p) for p in std}))


@functools.cache
def dist_versions(top: str) -> tuple[tuple[str, str], ...]:
    """(distribution name, version) pairs providing import name `top`.

    Cached for the process: the code already imported is what runs, whatever
    is installed later.
    """
    names = _fast_dist(top)
    if names is None:
        names = sorted(set(metadata.packages_distributions().get(top, [])))
    if not names:
        return ((top, "unknown"),)
    return tuple((name, metadata.version(name)) for name in names)


def _fast_dist(top: str) -> list[str] | None:
    # packages_distributions() reads every RECORD (~0.25 s); most distributions
    # are named after their package, so try that first and confirm it by RECORD.
    try:
        dist = metadata.distribution(top)
    except metadata.PackageNotFoundError:
        return None
    record = dist.read_text("RECORD") or ""
    if top == "pivot" or any(
        line.startswith((f"{top}/", f"{top}.py", f"{top}.")) for line in record.splitlines()
    ):
        return [str(dist.metadata["Name"])]
    return None
