"""cProfile one pivot CLI invocation and keep the top costs for BENCHMARKS.md."""

from __future__ import annotations

import pathlib
import pstats
import sys

from tests.benchmarks.common import WORK, pivot_env
from tests.benchmarks.measure import run

# Imports happen inside the profile on purpose: start-up is part of what a user waits for.
_WRAPPER = """
import cProfile, sys
out, args = sys.argv[1], sys.argv[2:]
sys.argv = ["pivot", *args]
prof = cProfile.Profile()
prof.enable()
try:
    from pivot.cli.main import main
    main()
except SystemExit as exc:
    code = exc.code
else:
    code = 0
finally:
    prof.disable()
    prof.dump_stats(out)
sys.exit(code)
"""


def profile_cli(title: str, args: list[str], cwd: pathlib.Path, top: int = 10) -> dict[str, object]:
    out = WORK / "profiles" / f"{title.replace(' ', '_').replace('=', '')}.prof"
    out.parent.mkdir(parents=True, exist_ok=True)
    s = run([sys.executable, "-c", _WRAPPER, str(out), *args], cwd, pivot_env())
    result: dict[str, object] = {"title": title, "argv": ["pivot", *args], "prof": str(out),
                                 "wall_s": s.wall_s}
    if not s.ok or not out.exists():
        result["error"] = s.error_line()
        return result
    stats = pstats.Stats(str(out))
    raw = stats.stats  # type: ignore[attr-defined]
    total = max((v[3] for v in raw.values()), default=0.0) or 1e-9
    rows = [(_label(k), v[1], v[2], v[3]) for k, v in raw.items()]
    result["total_s"] = total
    # The entry-point chain (main -> click -> command) spans the whole run and says nothing.
    inner = [r for r in rows if r[3] < 0.97 * total]
    result["cumulative"] = [list(r) for r in sorted(inner, key=lambda r: -r[3])[:top]]
    result["tottime"] = [list(r) for r in sorted(rows, key=lambda r: -r[2])[:top]]
    result["imports_s"] = max((v[3] for k, v in raw.items() if k[2] == "_find_and_load"), default=0.0)
    areas: dict[str, float] = {}
    for k, v in raw.items():
        areas[_area(k)] = areas.get(_area(k), 0.0) + v[2]
    result["areas"] = sorted(areas.items(), key=lambda kv: -kv[1])[:8]
    return result


_BUILTIN_AREAS = {
    "acquire": "waiting on workers (lock acquire)", "fsync": "fsync", "poll": "waiting (poll/select)",
    "select": "waiting (poll/select)", "waitpid": "waiting on child processes",
    "fork_exec": "starting processes", "compile": "compiling source", "loads": "unmarshalling .pyc",
    "exec": "module bodies (exec)", "read": "file reads", "write": "file writes",
    "open": "file opens", "stat": "stat calls", "__build_class__": "class creation",
}


def _area(key: tuple[str, int, str]) -> str:
    """Group own time: builtins by what they do, code by package (pivot by sub-package)."""
    path, _line, func = key
    if path == "~":
        for word, area in _BUILTIN_AREAS.items():
            if word in func:
                return area
        return "other builtins"
    if "importlib" in path:
        return "import machinery"
    label = _label(key)
    if label.startswith("pivot/"):
        parts = label.split("/")
        return "/".join(parts[:2]) if len(parts) > 2 else parts[0] + "/" + parts[1].split(":")[0]
    head = label.split("/", 1)[0].split(":", 1)[0]
    return f"stdlib {head}" if head.endswith(".py") else head


def _label(key: tuple[str, int, str]) -> str:
    path, line, func = key
    if path == "~":
        return func  # builtins such as <method 'read' of ...>
    for marker in ("site-packages/", "lib/python3.11/", str(pathlib.Path.cwd()) + "/"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    if "/pivot/" in path:
        path = "pivot/" + path.split("/pivot/", 1)[1]
    return f"{path}:{line}({func})"
