"""Single-process scenarios: CLI start-up, import cost, heavy imports, hashing, Dask overhead."""

from __future__ import annotations

import json
import os
import pathlib
import sys

from tests.benchmarks import dvc_env, generator
from tests.benchmarks.common import (
    REPO,
    WORK,
    Arm,
    Config,
    Row,
    alternate,
    log,
    pivot_argv,
    pivot_env,
)
from tests.benchmarks.measure import Sample, Series, run
from tests.benchmarks.scenarios import RUN, Projects, _leaf_exists, repro_argv

HEAVY = ("dask", "distributed", "s3fs")
_NOOP_STATUS_PROBE = """
import atexit, json, sys
atexit.register(lambda: print("BENCH_MODULES=" + json.dumps(
    [m for m in {heavy!r} if m in sys.modules]), file=sys.stderr))
sys.argv = ["pivot", "status", "--all"]
from pivot.cli.main import main
main()
"""
_HASH_PIVOT = """
import pathlib, sys, time
from pivot.fingerprint.trees import hash_file
t = time.perf_counter(); d = hash_file(pathlib.Path(sys.argv[1])); t = time.perf_counter() - t
print(f"BENCH_SECONDS={{t!r}}"); print(f"BENCH_DIGEST={{d}}")
"""
_HASH_RAW = """
import sys, time, xxhash
buf = bytearray(8 << 20); view = memoryview(buf)
t = time.perf_counter(); h = xxhash.xxh3_128()
with open(sys.argv[1], "rb", buffering=0) as f:
    while n := f.readinto(buf):
        h.update(view[:n])
t = time.perf_counter() - t
print(f"BENCH_SECONDS={{t!r}}"); print(f"BENCH_DIGEST=xxh3_128:{{h.hexdigest()}}")
"""


def _fixed(i: int) -> pathlib.Path:
    return REPO


def startup(cfg: Config) -> list[Row]:
    py = sys.executable
    rows = []
    res = alternate("help", [
        Arm("pivot", cfg.pivot_reps, _fixed, pivot_argv("--help"), pivot_env()),
        Arm("dvc", cfg.dvc_reps, _fixed, [*dvc_env.dvc_cmd(), "--help"], dvc_env.env()),
    ], cfg.timeout)
    rows.append(Row("help", "`pivot --help` (vs `dvc --help`)", None, res["pivot"],
                    f"dvc {dvc_env.dvc_version()}", res["dvc"]))
    res = alternate("import", [
        Arm("pivot", cfg.pivot_reps, _fixed, [py, "-c", "import pivot"], pivot_env()),
        Arm("python", cfg.pivot_reps, _fixed, [py, "-c", "pass"], pivot_env()),
    ], cfg.timeout)
    rows.append(Row("import", "`python -c 'import pivot'` (vs `python -c pass`)", None,
                    res["pivot"], "bare interpreter", res["python"]))
    return rows


def heavy_imports(projects: Projects, n: int) -> Row:
    """Which of dask/distributed/s3fs a no-op local `status --all` pulls in (should be none)."""
    row = Row("heavy_imports", "modules imported by no-op `status --all`", n, Series())
    try:
        root = projects.pivot_ready(n)
    except Exception as exc:  # the harness reports any failure as a row, never crashes
        row.pivot.error = f"setup: {exc}".splitlines()[0]
        return row
    s = run([sys.executable, "-c", _NOOP_STATUS_PROBE.format(heavy=HEAVY)], root, pivot_env())
    found = [ln for ln in s.stderr.splitlines() if ln.startswith("BENCH_MODULES=")]
    if not s.ok or not found:
        row.pivot.error = s.error_line() if not s.ok else "probe printed nothing"
        return row
    row.pivot.samples.append(s)
    row.extra["heavy_modules"] = json.loads(found[-1].split("=", 1)[1])
    return row


def _hash_input(mib: int) -> pathlib.Path:
    path = WORK / "hash" / f"random-{mib}mib.bin"
    if path.exists() and path.stat().st_size == mib << 20:
        return path
    log(f"writing {mib} MiB of random bytes to {path} ...")
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        for _ in range(mib):
            f.write(os.urandom(1 << 20))
    return path


def hashing(cfg: Config) -> Row:
    path = _hash_input(cfg.hash_mib)
    py = sys.executable
    digests: dict[str, str] = {}

    def keep(tool: str):  # type: ignore[no-untyped-def]
        def check(_cwd: pathlib.Path, s: Sample) -> str | None:
            for ln in s.stdout.splitlines():
                if ln.startswith("BENCH_DIGEST="):
                    digests[tool] = ln.split("=", 1)[1]
            return None
        return check

    res = alternate("hash", [
        Arm("pivot", cfg.pivot_reps, _fixed, [py, "-c", _HASH_PIVOT.format(), str(path)],
            pivot_env(), keep("pivot")),
        Arm("raw", cfg.pivot_reps, _fixed, [py, "-c", _HASH_RAW.format(), str(path)],
            pivot_env(), keep("raw")),
    ], cfg.timeout)
    row = Row("hash", f"hash a {cfg.hash_mib} MiB file (hash time only)", None, res["pivot"],
              "raw xxh3_128, 8 MiB readinto", res["raw"])
    row.extra.update(size_mib=cfg.hash_mib, digests=digests,
                     digest_match=bool(digests) and digests.get("pivot") == digests.get("raw"))
    return row


def dask_overhead(cfg: Config, projects: Projects) -> Row:
    """`repro --cluster local` on n trivial stages vs raw client.submit of the same commands."""
    n = cfg.dask_n
    plan = WORK / "templates" / f"raw-dask-n{n}.plan.json"

    def fresh(tool: str):  # type: ignore[no-untyped-def]
        def prep(_i: int) -> pathlib.Path:
            return projects.copy(projects.pivot_template(n), f"dask-{tool}-n{n}")
        return prep

    def raw_prep(_i: int) -> pathlib.Path:
        generator.dump_plan(plan, generator.plan(n))
        root = RUN / f"dask-raw-n{n}"
        src = WORK / "templates" / f"raw-n{n}-g{generator.GENERATOR_VERSION}"
        if not src.exists():
            generator.write_pivot(src, generator.plan(n))
        return projects.copy(src, root.name)

    raw_argv = [sys.executable, "-m", "tests.benchmarks.raw_dask", str(RUN / f"dask-raw-n{n}"),
                str(plan)]
    res = alternate(f"dask N={n}", [
        Arm("pivot", cfg.pivot_reps, fresh("pivot"), repro_argv(cfg, "--cluster", "local"),
            pivot_env(), _leaf_exists(n)),
        Arm("raw", cfg.pivot_reps, raw_prep, raw_argv, _env_in_repo(), _leaf_exists(n)),
    ], cfg.timeout)
    row = Row("dask", "Dask: fresh `repro --cluster local` vs raw client.submit", n, res["pivot"],
              "raw client.submit (same commands, LocalCluster)", res["raw"])
    pw, rw = row.pivot.wall, row.base.wall if row.base else None
    if pw and rw:
        row.extra["per_stage_overhead_ms"] = (pw.median - rw.median) / n * 1000
    return row


def _env_in_repo() -> dict[str, str]:
    e = pivot_env()
    e["PYTHONPATH"] = str(REPO) + os.pathsep + e.get("PYTHONPATH", "")
    return e
