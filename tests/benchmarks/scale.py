"""Scale: 5,000 stages in 50 sub-pipelines on a real cluster, against the local executor.

The cluster is a separate `dask scheduler` and two single-threaded `dask worker` processes
(cluster/start.sh, the same script users run), so the peak RSS measured for the Pivot arm is
the client's alone: the planner, its bounded window of tasks and every result it has settled.
Both arms start from a copy of the same fresh project; the cluster run's outputs must be
byte-identical to the local run's, or the row records an error instead of a time.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import pathlib
import shutil
import subprocess
import sys
from collections.abc import Iterator

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
    run_checked,
)
from tests.benchmarks.measure import Sample, Series
from tests.benchmarks.scenarios import RUN, repro_argv

N, PIPELINES, WORKERS = 5000, 50, 2
CLUSTER = REPO / "cluster"


def _template() -> pathlib.Path:
    dest = WORK / "templates" / f"scale-n{N}-p{PIPELINES}-g{generator.GENERATOR_VERSION}"
    if (dest / ".pivot").exists():
        return dest
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    generator.write_pivot(dest, generator.plan(N, pipelines=PIPELINES))
    run_checked(pivot_argv("init"), dest, pivot_env(), "pivot init")
    run_checked(pivot_argv("track", generator.TRACKED_INPUT), dest, pivot_env(), "pivot track")
    return dest


def _outputs(root: pathlib.Path) -> dict[str, str]:
    """Digest of every declared stage output (what the two executors must agree on)."""
    declared = (root / st.pipeline / st.out for st in generator.plan(N, pipelines=PIPELINES))
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in declared if p.is_file()}


@contextlib.contextmanager
def _cluster() -> Iterator[str]:
    run_dir = WORK / "scale-cluster"
    shutil.rmtree(run_dir, ignore_errors=True)
    env = {**pivot_env(), "PYTHONPATH": str(REPO)}
    started = subprocess.run(
        [str(CLUSTER / "start.sh"), "--workers", str(WORKERS), "--dir", str(run_dir), "--python", sys.executable,
         "--timeout", "120"], cwd=WORK, env=env, capture_output=True, text=True, timeout=180, check=False)
    try:
        if started.returncode != 0:
            raise RuntimeError(f"cluster/start.sh failed: {started.stderr.strip()[-300:]}")
        yield started.stdout.strip().splitlines()[-1]
    finally:
        subprocess.run([str(CLUSTER / "stop.sh"), "--dir", str(run_dir), "--grace", "5"],
                       capture_output=True, timeout=60, check=False)


def scale(cfg: Config) -> Row:
    row_id, title = "scale", f"{N:,} stages in {PIPELINES} sub-pipelines: `repro --cluster` ({WORKERS} workers)"
    expected: dict[str, str] = {}
    window: dict[str, object] = {}

    def prep(tool: str):  # type: ignore[no-untyped-def]
        def copy(_i: int) -> pathlib.Path:
            return dvc_env.copy_project(_template(), RUN / f"scale-{tool}")
        return copy

    def remember(cwd: pathlib.Path, _s: Sample) -> str | None:
        expected.clear()
        expected.update(_outputs(cwd))
        return None if len(expected) == N else f"local run produced {len(expected)} outputs, not {N}"

    def same(cwd: pathlib.Path, s: Sample) -> str | None:
        with contextlib.suppress(ValueError):
            window.update(json.loads(s.stdout).get("cluster") or {})
        got = _outputs(cwd)
        if got != expected:
            differ = sorted(k for k in set(got) | set(expected) if got.get(k) != expected.get(k))
            return f"{len(differ)} output(s) differ from the local executor's, e.g. {differ[:3]}"
        return None

    try:
        with _cluster() as address:
            log(f"scale: cluster at {address}")
            res = alternate(f"scale N={N}", [
                Arm("local", cfg.pivot_reps, prep("local"), repro_argv(cfg, "-q"), pivot_env(), remember, warmup=False),
                Arm("pivot", cfg.pivot_reps, prep("cluster"), repro_argv(cfg, "--json", "--cluster", address),
                    pivot_env(), same, warmup=False),
            ], cfg.timeout, warmup=False)
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:  # report, never crash the run
        row = Row(row_id, title, N, Series())
        row.pivot.error = f"setup: {exc}".splitlines()[0]
        return row
    row = Row(row_id, title, N, res["pivot"], "local executor (process pool), same project", res["local"])
    row.extra["note"] = (f"outputs byte-identical to the local executor's; window {window.get('window', '?')} tasks "
                         f"on {window.get('threads', '?')} threads; Pivot peak RSS is the client process alone")
    return row
