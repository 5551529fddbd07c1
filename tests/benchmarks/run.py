"""Entry point: `make bench` == `python -m tests.benchmarks.run [options]`.

A full run takes most of an hour (DVC's no-op commands cost ~50 s each at 500 stages);
`--quick` (N=100, 3/3 repeats, no DVC first run) takes a few minutes. Every option also
reads an environment variable (PIVOT_BENCH_SIZES, PIVOT_BENCH_QUICK=1, ...).
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import json
import os
import platform
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tests.benchmarks import dvc_env, micro, profiling, rebuild, remote, report, scale, scenarios
from tests.benchmarks.common import REPO, WORK, Config, Row, log
from tests.benchmarks.scenarios import Projects

GROUPS = ("startup", "fresh", "noop_status", "noop_repro", "leaf_params", "root_input", "cluster",
          "mixed", "heavy_imports", "hash", "dask", "scale", "push_pull", "profile", "isolated_s3")
# The raw results of BENCHMARKS.md (DEFAULT_OUTPUT) only. Tracked beside the harness: in the
# untracked work folder they were missing on every fresh machine, where `--merge` then lost rows.
RESULTS = REPO / "tests" / "benchmarks" / "results.json"
DEFAULT_OUTPUT = REPO / "BENCHMARKS.md"


def results_for(output: Path) -> Path:
    """The raw results JSON that belongs to a report: RESULTS for BENCHMARKS.md, else beside it.

    A trial run rendered elsewhere (`--output /tmp/check.md`) once overwrote RESULTS with its one
    row, and the next `--merge` run built BENCHMARKS.md on that: every other row was lost.
    """
    if output.resolve() == DEFAULT_OUTPUT.resolve():
        return RESULTS
    return output.with_name(output.name + ".json")


def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def _env(name: str, default: str) -> str:
    return os.environ.get(f"PIVOT_BENCH_{name}", default)


def parse(argv: list[str]) -> tuple[Config, argparse.Namespace]:
    ap = argparse.ArgumentParser(prog="python -m tests.benchmarks.run", description=__doc__)
    ap.add_argument("--sizes", default=_env("SIZES", "100,500,1000,5000"))
    ap.add_argument("--dvc-sizes", default=_env("DVC_SIZES", "100,500"))
    ap.add_argument("--quick", action="store_true", default=_env("QUICK", "") == "1")
    ap.add_argument("--pivot-repeats", type=int, default=int(_env("PIVOT_REPEATS", "0")) or None)
    ap.add_argument("--dvc-repeats", type=int, default=int(_env("DVC_REPEATS", "0")) or None)
    ap.add_argument("--dvc-fresh-500", action="store_true", default=_env("DVC_FRESH_500", "") == "1",
                    help="measure DVC's real first run at 500 stages (~15 min each)")
    ap.add_argument("--cluster-sizes", default=_env("CLUSTER_SIZES", "100,500"))
    ap.add_argument("--dask-stages", type=int, default=int(_env("DASK_STAGES", "1000")))
    ap.add_argument("--push-small", type=int, default=int(_env("PUSH_SMALL", "1000")))
    ap.add_argument("--push-big", type=int, default=int(_env("PUSH_BIG", "5")))
    ap.add_argument("--hash-mib", type=int, default=int(_env("HASH_MIB", "1024")))
    ap.add_argument("--jobs", "-j", type=int, default=int(_env("JOBS", "0")) or None)
    ap.add_argument("--only", default=_env("ONLY", ""), help=f"comma list of: {','.join(GROUPS)}")
    ap.add_argument("--timeout", type=float, default=float(_env("TIMEOUT", "3600")))
    ap.add_argument("--output", default=_env("OUTPUT", str(DEFAULT_OUTPUT)),
                    help=f"the report; its raw results go to {RESULTS.name} in {WORK} for the default, "
                         "else to <output>.json beside it")
    ap.add_argument("--report-only", action="store_true", help="re-render from the output's raw results")
    ap.add_argument("--note", default=_env("NOTE", ""),
                    help="a sentence kept with this run's rows in the report (e.g. the machine was loaded)")
    ap.add_argument("--merge", action="store_true",
                    help="re-measure only the chosen scenarios; keep every other row of the output's raw results")
    a = ap.parse_args(argv)
    only = {g for g in a.only.split(",") if g} or None
    if only and not only <= set(GROUPS):
        ap.error(f"unknown groups: {sorted(only - set(GROUPS))}")
    cfg = Config(
        sizes=_ints(a.sizes), dvc_sizes=_ints(a.dvc_sizes), quick=a.quick,
        pivot_reps=a.pivot_repeats or (3 if a.quick else 5), dvc_reps=a.dvc_repeats or 3,
        dvc_fresh_max=500 if a.dvc_fresh_500 else 100, cluster_sizes=_ints(a.cluster_sizes),
        jobs=a.jobs, dask_n=a.dask_stages, push_small=a.push_small, push_big=a.push_big,
        hash_mib=a.hash_mib, timeout=a.timeout, only=only,
    )
    if a.quick:  # N=100 only, smaller Dask and push/pull loads; DVC's first run is not measured
        cfg.sizes, cfg.dvc_sizes, cfg.cluster_sizes = [100], [100], [100]
        cfg.dask_n = min(cfg.dask_n, 100)
        cfg.push_small, cfg.push_big = min(cfg.push_small, 200), min(cfg.push_big, 1)
    return cfg, a


def machine() -> dict[str, str]:
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), cpu)
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    pkgs = []
    for name in ("pivot", "click", "pydantic", "xxhash", "lmdb", "dask", "distributed", "s3fs",
                 "fsspec", "moto", "boto3"):
        try:
            pkgs.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            pkgs.append(f"{name} (not installed)")
    bench = subprocess.run(
        [str(dvc_env.BENCH_VENV / "bin" / "python"), "-c",
         "import importlib.metadata as m; print(', '.join(f'{p} {m.version(p)}' for p in "
         "('dvc', 'dvc-s3', 'dvc-data', 's3fs')))"], capture_output=True, text=True, env=dvc_env.env(),
    ) if (dvc_env.BENCH_VENV / "bin" / "python").exists() else None
    return {
        "cores": f"{os.cpu_count()} ({cpu})", "memory": f"{mem:.1f} GiB",
        "os": platform.platform(), "python": sys.version.split()[0],
        "packages (Pivot's .venv)": ", ".join(pkgs),
        "packages (.bench-venv)": bench.stdout.strip() if bench and bench.returncode == 0 else "not installed",
    }


def collect(cfg: Config) -> tuple[list[Row], list[dict[str, object]]]:
    rows: list[Row] = []
    projects = Projects(cfg)
    needs_dvc = bool(cfg.dvc_sizes) or cfg.wants("push_pull") or cfg.wants("startup")
    if needs_dvc:
        dvc_env.ensure_venv()
    if cfg.wants("startup"):
        rows += micro.startup(cfg)
    dvc_fresh: dict[int, float] = {}
    for n in sorted(cfg.sizes):
        log(f"==== N = {n} ====")
        rows += scenarios.run_size(cfg, projects, n, dvc_fresh)
        if n == min(cfg.sizes) and cfg.mixed and cfg.wants("mixed"):
            rows += scenarios.run_mixed(cfg, projects, n)
    if cfg.wants("heavy_imports") and cfg.sizes:
        probe_n = max([n for n in cfg.sizes if n in cfg.dvc_sizes] or cfg.sizes)
        rows.append(micro.heavy_imports(projects, probe_n))
    if cfg.wants("hash"):
        rows.append(micro.hashing(cfg))
    if cfg.wants("dask"):
        rows.append(micro.dask_overhead(cfg, projects))
    if cfg.wants("scale") and not cfg.quick:
        rows.append(scale.scale(cfg))
    if cfg.wants("push_pull"):
        rows += remote.push_pull(cfg)
    if cfg.wants("isolated_s3"):
        from tests.benchmarks import isolated_s3

        rows.append(isolated_s3.isolated_vs_shared(cfg, projects))
    profiles = _profiles(cfg, projects, rows) if cfg.wants("profile") else []
    return rows, profiles


_PROFILABLE = {"noop_status", "noop_repro", "leaf_params", "root_input", "fresh"}


def _profiles(cfg: Config, projects: Projects, rows: list[Row]) -> list[dict[str, object]]:
    """The slowest Pivot project scenario, and no-op status at the largest size."""
    done = [r for r in rows if r.id in _PROFILABLE and r.pivot.wall is not None and r.n]
    picks: list[Row] = []
    if done:
        picks.append(max(done, key=lambda r: r.pivot.wall.median))  # type: ignore[union-attr]
        status = [r for r in done if r.id == "noop_status"]
        if status and (big := max(status, key=lambda r: r.n or 0)) not in picks:
            picks.append(big)
    out: list[dict[str, object]] = []
    for r in picks:
        n = r.n or 0
        log(f"profiling {r.id} N={n} ...")
        try:
            if r.id == "fresh":
                cwd = projects.copy(projects.pivot_template(n), f"profile-fresh-n{n}")
            else:
                cwd = projects.pivot_ready(n)
                if r.id == "leaf_params":
                    scenarios.edit_leaf_params(cwd, n)
                elif r.id == "root_input":
                    scenarios.edit_root_input(cwd, n)
        except Exception as exc:  # report, never crash the run
            failed: dict[str, object] = {"title": f"{r.title} (N={n})", "argv": [], "error": str(exc)}
            out.append(failed)
            continue
        args = ["status", "--all"] if r.id == "noop_status" else scenarios.repro_args(cfg)
        out.append(profiling.profile_cli(f"{r.id} N={n}", args, cwd))
        out[-1]["title"] = f"{r.title} (N={n})"
    return out


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    cfg, a = parse(argv)
    meta_path = results_for(Path(a.output))
    if a.report_only:
        if not meta_path.exists():
            print(f"error: {meta_path}: no raw results for {a.output} (run the benchmark first)", file=sys.stderr)
            return 2
        data = json.loads(meta_path.read_text())
        rows = [Row.from_json(r) for r in data["rows"]]
        meta, profiles = data["meta"], data["profiles"]
    else:
        t0 = time.time()
        WORK.mkdir(parents=True, exist_ok=True)
        rows, profiles = collect(cfg)
        cmd = "make bench" if not argv else ".venv/bin/python -m tests.benchmarks.run " + shlex.join(argv)
        meta = {
            "command": cmd, "date": datetime.datetime.now().isoformat(timespec="seconds"),
            "elapsed_min": (time.time() - t0) / 60, "pivot_reps": cfg.pivot_reps, "dvc_reps": cfg.dvc_reps,
            "mode": ("quick (N=100, fewer repeats, DVC's first run not measured)" if cfg.quick
                     else f"sizes {cfg.sizes}, DVC at {cfg.dvc_sizes}"),
            "machine": machine(),
            "notes": [f"{datetime.date.today()}: {a.note}"] if a.note else [],
        }
        if a.merge and meta_path.exists():
            rows, meta, profiles = _merge(json.loads(meta_path.read_text()), rows, meta, profiles)
        elif a.merge and Path(a.output).exists():
            rows, meta, profiles = _merge(_rebuilt(Path(a.output)), rows, meta, profiles)
        elif a.merge:
            log(f"--merge: no {meta_path} and no {a.output} yet, so the report holds only this run's rows")
        meta_path.write_text(json.dumps(
            {"meta": meta, "rows": [r.to_json() for r in rows], "profiles": profiles}, indent=1))
    out = Path(a.output)
    text = _keep_other_sections(out.read_text() if out.exists() else "", report.render(meta, rows, profiles))
    out.write_text(text)
    log(f"wrote {a.output} (raw results: {meta_path})")
    return 0


def _rebuilt(report_path: Path) -> dict[str, Any]:
    """Raw results read back from the rendered report (tests/benchmarks/rebuild.py)."""
    text = report_path.read_text()
    meta = rebuild.meta_from_report(text)
    meta["notes"] = [*meta["notes"], f"{datetime.date.today()}: raw results were missing, so the rows not "
                     f"re-measured below were read back from {report_path.name} (three significant digits, "
                     "figures as min/median/max)"]
    log(f"--merge: no raw results; rows read back from {report_path}")
    return {"meta": meta, "rows": [r.to_json() for r in rebuild.rows_from_report(text)], "profiles": []}


def _keep_other_sections(old: str, new: str) -> str:
    """Sections another benchmark wrote into the report (e.g. the experiments grid) are kept, and so
    is the old text of a section this run left empty (a merge that profiled nothing)."""
    def title(section: str) -> str:
        return section.splitlines()[0]

    old_sections = {title(s): s.rstrip("\n") + "\n" for s in old.split("\n## ")[1:] if s.strip()}
    head, *parts = new.split("\n## ")
    out = [head]
    for part in parts:
        empty = not "".join(part.splitlines()[1:]).strip()
        out.append(old_sections.get(title(part), part) if empty else part)
    out += [s for t, s in old_sections.items() if t not in {title(p) for p in parts}]
    return ("\n## ".join(out)).rstrip("\n") + "\n"


def _merge(old: dict[str, Any], rows: list[Row], meta: dict[str, Any],
           profiles: list[dict[str, object]]) -> tuple[list[Row], dict[str, Any], list[dict[str, object]]]:
    """Rows measured now replace the same (scenario, N) rows of an earlier full run."""
    fresh = {(r.id, r.n): r for r in rows}
    merged = [fresh.pop((r.id, r.n), r) for r in (Row.from_json(x) for x in old["rows"])]
    merged += fresh.values()
    kept = dict(old["meta"])
    kept["command"] = f"{kept['command']}; then re-measured with: {meta['command']}"
    kept["date"] = meta["date"]
    kept["notes"] = [*kept.get("notes", []), *meta.get("notes", [])]
    return merged, kept, profiles or old["profiles"]


if __name__ == "__main__":
    sys.exit(main())
