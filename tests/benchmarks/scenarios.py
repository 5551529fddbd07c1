"""Pipeline scenarios on generated projects: fresh, no-op, one edit, --cluster local."""

from __future__ import annotations

import itertools
import os
import pathlib
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

import yaml

from tests.benchmarks import dvc_env, generator
from tests.benchmarks.common import (
    REPO,
    WORK,
    Arm,
    Config,
    Row,
    SetupError,
    alternate,
    log,
    pivot_argv,
    pivot_env,
    run_checked,
)
from tests.benchmarks.measure import Sample, Series

RUN = WORK / "run"
# DVC's first run grows like N^1.86 here (45 s at 100 stages, ~15 min at 500, from the issue).
DVC_FRESH_EXPONENT = 1.861
_edits = itertools.count(1)


class Projects:
    """Working copies for one harness run; Pivot's are rebuilt every run (its format moves)."""

    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self._ready: dict[tuple[str, int, str], pathlib.Path] = {}
        self._templates: dict[tuple[int, str], pathlib.Path | SetupError] = {}

    def pivot_template(self, n: int, style: str = "shell") -> pathlib.Path:
        key = (n, style)
        if key not in self._templates:
            try:
                self._templates[key] = self._make_pivot_template(n, style)
            except SetupError as exc:
                self._templates[key] = exc
        got = self._templates[key]
        if isinstance(got, SetupError):
            raise got
        return got

    def _make_pivot_template(self, n: int, style: str) -> pathlib.Path:
        dest = WORK / "templates" / f"pivot-n{n}-{style}-g{generator.GENERATOR_VERSION}"
        shutil.rmtree(dest, ignore_errors=True)
        dest.mkdir(parents=True)
        stages = generator.plan(n, style)
        generator.write_pivot(dest, stages)
        generator.dump_plan(dest.parent / f"{dest.name}.plan.json", stages)
        run_checked(pivot_argv("init"), dest, pivot_env(), "pivot init")
        run_checked(pivot_argv("track", generator.TRACKED_INPUT), dest, pivot_env(), "pivot track")
        return dest

    def copy(self, src: pathlib.Path, name: str) -> pathlib.Path:
        return dvc_env.copy_project(src, RUN / name)

    def pivot_ready(self, n: int, style: str = "shell") -> pathlib.Path:
        """An up-to-date Pivot project (one untimed `pivot repro --all`)."""
        key = ("pivot", n, style)
        if key not in self._ready:
            dest = self.copy(self.pivot_template(n, style), f"pivot-n{n}-{style}")
            log(f"preparing Pivot project N={n} ({style}) ...")
            run_checked(repro_argv(self.cfg), dest, pivot_env(), "pivot repro (prepare)", self.cfg.timeout)
            self._ready[key] = dest
        return self._ready[key]

    def ready_or_none(self, tool: str, n: int) -> pathlib.Path | None:
        return self._ready.get((tool, n, "shell"))

    def dvc_ready(self, n: int) -> pathlib.Path:
        key = ("dvc", n, "shell")
        if key not in self._ready:
            self._ready[key] = self.copy(dvc_env.prepared(n), f"dvc-n{n}")
        return self._ready[key]


def repro_args(cfg: Config, *extra: str) -> list[str]:
    jobs = ["-j", str(cfg.jobs)] if cfg.jobs else []
    return ["repro", "--all", *jobs, *extra]


def repro_argv(cfg: Config, *extra: str) -> list[str]:
    return pivot_argv(*repro_args(cfg, *extra))


def _leaf_exists(n: int) -> Callable[[pathlib.Path, Sample], str | None]:
    leaf = generator.leaf_stage(generator.plan(n))
    rel = pathlib.Path(leaf.pipeline) / leaf.out

    def check(cwd: pathlib.Path, _s: Sample) -> str | None:
        return None if (cwd / rel).exists() else f"ran, but {rel} was not produced"

    return check


def edit_leaf_params(root: pathlib.Path, n: int) -> None:
    leaf = generator.leaf_stage(generator.plan(n))
    path = root / generator.PARAMS_FILE
    data = yaml.safe_load(path.read_text())
    data[leaf.pkey]["factor"] = 1000 + next(_edits)
    path.write_text(yaml.safe_dump(data, sort_keys=True))


def edit_root_input(root: pathlib.Path, n: int) -> None:
    with open(root / generator.root_input(generator.plan(n)), "a") as f:
        f.write(f"edit {next(_edits)}\n")


def _ready_prep(get: Callable[[], pathlib.Path], edit: Callable[[pathlib.Path], None] | None = None
                ) -> Callable[[int], pathlib.Path]:
    def prep(_i: int) -> pathlib.Path:
        root = get()
        if edit is not None:
            edit(root)
        return root
    return prep


def _catching(get: Callable[[], pathlib.Path]) -> Callable[[], pathlib.Path]:
    def wrapped() -> pathlib.Path:
        try:
            return get()
        except RuntimeError as exc:
            raise SetupError(str(exc).splitlines()[0]) from exc
    return wrapped


def run_size(cfg: Config, projects: Projects, n: int, dvc_fresh: dict[int, float]) -> list[Row]:
    with_dvc = n in cfg.dvc_sizes
    rows: list[Row] = []
    pe, de = pivot_env(), dvc_env.env()
    dvc = dvc_env.dvc_cmd()
    label = f"dvc {dvc_env.dvc_version()}" if with_dvc else ""

    def compare(sid: str, title: str, p: Arm, d: Arm | None) -> Row:
        arms = [p] + ([d] if d is not None else [])
        res = alternate(f"{sid} N={n}", arms, cfg.timeout)
        return Row(sid, title, n, res["pivot"], label if d else "", res.get("dvc"))

    if cfg.wants("fresh"):
        limit: list[Row] = []
        rows.append(_fresh(cfg, projects, n, dvc_fresh, label if with_dvc else "", limit))
        rows += limit
    pready = _catching(lambda: projects.pivot_ready(n))
    dready = _catching(lambda: projects.dvc_ready(n))
    cases: list[tuple[str, str, list[str], list[str], Callable[[pathlib.Path], None] | None]] = [
        ("noop_status", "no-op status", pivot_argv("status", "--all"), [*dvc, "status"], None),
        ("noop_repro", "no-op repro", repro_argv(cfg), [*dvc, "repro", "-P"], None),
        ("leaf_params", "one leaf's params edited", repro_argv(cfg), [*dvc, "repro", "-P"],
         lambda r: edit_leaf_params(r, n)),
        ("root_input", "one root input edited (p0 + p9 fan-in rerun)", repro_argv(cfg),
         [*dvc, "repro", "-P"], lambda r: edit_root_input(r, n)),
    ]
    for sid, title, pargv, dargv, edit in cases:
        if not cfg.wants(sid):
            continue
        p = Arm("pivot", cfg.pivot_reps, _ready_prep(pready, edit), pargv, pe)
        d = Arm("dvc", cfg.dvc_reps, _ready_prep(dready, edit), dargv, de) if with_dvc else None
        row = compare(sid, title, p, d)
        if sid == "leaf_params":
            done = [projects.ready_or_none(k, n) for k in ("dvc", "pivot")]
            row.extra["stage_work_s"] = _stage_work(next((r for r in done if r), None), n)
            row.extra["params_read_s"] = _params_read(projects.ready_or_none("pivot", n))
        rows.append(row)
    if n in cfg.cluster_sizes and cfg.wants("cluster"):
        rows.extend(_cluster(cfg, projects, n))
    return rows


def _limit_arm(cfg: Config, n: int) -> Arm:
    """The same commands, same dependency order, same worker count, in a plain process pool."""
    plan = WORK / "templates" / f"raw-pool-n{n}.plan.json"
    src = WORK / "templates" / f"raw-n{n}-g{generator.GENERATOR_VERSION}"

    def prep(_i: int) -> pathlib.Path:
        generator.dump_plan(plan, generator.plan(n))
        if not src.exists():
            generator.write_pivot(src, generator.plan(n))
        return dvc_env.copy_project(src, RUN / f"fresh-limit-n{n}")

    env = pivot_env()
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    argv = [sys.executable, "-m", "tests.benchmarks.raw_pool", str(RUN / f"fresh-limit-n{n}"), str(plan),
            str(cfg.jobs or os.cpu_count() or 1)]
    return Arm("limit", cfg.pivot_reps, prep, argv, env, _leaf_exists(n))


def _fresh(cfg: Config, projects: Projects, n: int, dvc_fresh: dict[int, float], label: str,
           limit_rows: list[Row]) -> Row:
    def pprep(i: int) -> pathlib.Path:
        return projects.copy(projects.pivot_template(n), f"fresh-pivot-n{n}")

    def dprep(i: int) -> pathlib.Path:
        return projects.copy(_catching(lambda: dvc_env.template(n))(), f"fresh-dvc-n{n}")

    arms = [Arm("pivot", cfg.pivot_reps, pprep, repro_argv(cfg), pivot_env(), _leaf_exists(n)),
            _limit_arm(cfg, n)]
    measure_dvc = bool(label) and not cfg.quick and n <= cfg.dvc_fresh_max
    if measure_dvc:
        arms.append(Arm("dvc", cfg.dvc_reps, dprep, [*dvc_env.dvc_cmd(), "repro", "-P"],
                        dvc_env.env(), _leaf_exists(n), warmup=n <= 100))
    res = alternate(f"fresh N={n}", arms, cfg.timeout)
    limit_rows.append(Row("fresh_limit", "fresh run vs the same commands in a plain process pool (limit)", n,
                          res["pivot"], "concurrent.futures pool, no bookkeeping", res["limit"]))
    row = Row("fresh", "fresh run (first repro)", n, res["pivot"], label, res.get("dvc"))
    if measure_dvc and row.base is not None and row.base.wall is not None:
        dvc_fresh[n] = row.base.wall.median
    elif label:
        row.base = _extrapolated_dvc_fresh(n, dvc_fresh)
    return row


def _extrapolated_dvc_fresh(n: int, measured: dict[int, float]) -> Series:
    if measured:
        n0 = min(measured, key=lambda k: abs(k - n))
        value = measured[n0] * (n / n0) ** DVC_FRESH_EXPONENT
        note = f"extrapolated from the measured {n0}-stage run x ({n}/{n0})^{DVC_FRESH_EXPONENT}"
    else:
        value = 45.0 * (n / 100) ** DVC_FRESH_EXPONENT
        note = "not measured: from the issue's figures (45 s at 100 stages, ~N^1.86)"
    return Series(note=note, fixed=value)


def _stage_work(root: pathlib.Path | None, n: int) -> float | None:
    """What the edited leaf's own command costs in a plain shell (median of 5).

    Runs in an up-to-date project, writing a scratch file so nothing tracked changes.
    """
    if root is None:
        return None
    leaf = generator.leaf_stage(generator.plan(n))
    scratch = "out/_bench_stage_work.txt"
    cmd = generator.shell_cmd(leaf.deps, scratch, leaf.pkey)
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        res = subprocess.run(["sh", "-c", cmd], cwd=root / leaf.pipeline, capture_output=True)
        times.append(time.perf_counter() - t0)
        if res.returncode != 0:
            return None
    (root / leaf.pipeline / scratch).unlink(missing_ok=True)
    return statistics.median(times)


def _params_read(root: pathlib.Path | None) -> float | None:
    """What reading the edited params file costs by itself (median of 5): PyYAML's C loader, as
    Pivot reads it. Any tool must parse the file again after an edit to know which values moved,
    so a leaf edit cannot cost less than the no-op plus this (the leaf row's floor)."""
    if root is None or not (root / generator.PARAMS_FILE).exists():
        return None
    text = (root / generator.PARAMS_FILE).read_text()
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        yaml.load(text, Loader=loader)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _cluster(cfg: Config, projects: Projects, n: int) -> list[Row]:
    argv = repro_argv(cfg, "--cluster", "local")

    def fresh(i: int) -> pathlib.Path:
        return projects.copy(projects.pivot_template(n), f"cluster-pivot-n{n}")

    rows = []
    res = alternate(f"cluster_fresh N={n}", [Arm("pivot", cfg.pivot_reps, fresh, argv, pivot_env(),
                                                 _leaf_exists(n))], cfg.timeout)
    rows.append(Row("cluster_fresh", "fresh run, --cluster local", n, res["pivot"]))
    # The no-op runs on the copy the last fresh run left up to date.
    last = RUN / f"cluster-pivot-n{n}"
    res = alternate(f"cluster_noop N={n}", [Arm("pivot", cfg.pivot_reps, lambda i: last, argv,
                                                pivot_env())], cfg.timeout)
    rows.append(Row("cluster_noop", "no-op repro, --cluster local", n, res["pivot"]))
    return rows


def run_mixed(cfg: Config, projects: Projects, n: int) -> list[Row]:
    """Pivot alone on the mixed project (Python-function stages next to shell ones)."""
    def fresh(i: int) -> pathlib.Path:
        return projects.copy(projects.pivot_template(n, "mixed"), f"fresh-pivot-n{n}-mixed")

    ready = _catching(lambda: projects.pivot_ready(n, "mixed"))
    rows = []
    res = alternate(f"mixed_fresh N={n}", [Arm("pivot", cfg.pivot_reps, fresh, repro_argv(cfg),
                                               pivot_env(), _leaf_exists(n))], cfg.timeout)
    rows.append(Row("mixed_fresh", "fresh run, mixed Python/shell stages", n, res["pivot"]))
    res = alternate(f"mixed_status N={n}", [Arm("pivot", cfg.pivot_reps, _ready_prep(ready),
                                                pivot_argv("status", "--all"), pivot_env())], cfg.timeout)
    rows.append(Row("mixed_status", "no-op status, mixed Python/shell stages", n, res["pivot"]))
    return rows
