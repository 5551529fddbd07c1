"""Shared pieces: config, result rows, how to call each tool, alternating repeats."""

from __future__ import annotations

import dataclasses
import os
import pathlib
import re
import subprocess
import sys
from collections.abc import Callable

from tests.benchmarks import dvc_env, measure
from tests.benchmarks.measure import Sample, Series

REPO = dvc_env.REPO
WORK = dvc_env.WORK
INNER_TIME = re.compile(r"^BENCH_SECONDS=([0-9.eE+-]+)$", re.M)


@dataclasses.dataclass
class Config:
    sizes: list[int]
    dvc_sizes: list[int]
    pivot_reps: int = 5
    dvc_reps: int = 3
    quick: bool = False
    dvc_fresh_max: int = 100  # DVC's real first run is measured up to this N
    cluster_sizes: list[int] = dataclasses.field(default_factory=lambda: [100, 500])
    jobs: int | None = None
    mixed: bool = True
    dask_n: int = 1000
    push_small: int = 1000
    push_big: int = 5
    big_mb: int = 50
    hash_mib: int = 1024
    timeout: float = 3600.0
    only: set[str] | None = None  # scenario groups to run (None = all)

    def wants(self, group: str) -> bool:
        return self.only is None or group in self.only


@dataclasses.dataclass
class Row:
    id: str
    title: str
    n: int | None
    pivot: Series
    base_label: str = ""
    base: Series | None = None
    unit: str = "s"
    extra: dict[str, object] = dataclasses.field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id, "title": self.title, "n": self.n, "pivot": self.pivot.to_json(),
            "base_label": self.base_label, "base": self.base.to_json() if self.base else None,
            "unit": self.unit, "extra": self.extra,
        }

    @classmethod
    def from_json(cls, d: dict[str, object]) -> Row:
        base = d.get("base")
        n = d.get("n")
        extra = d.get("extra")
        return cls(
            str(d["id"]), str(d["title"]), n if isinstance(n, int) else None,
            Series.from_json(d["pivot"]),  # type: ignore[arg-type]
            str(d.get("base_label") or ""), Series.from_json(base) if isinstance(base, dict) else None,
            str(d.get("unit") or "s"), extra if isinstance(extra, dict) else {},
        )


class SetupError(Exception):
    """An untimed preparation step failed; the scenario records it and moves on."""


def pivot_argv(*args: str) -> list[str]:
    script = pathlib.Path(sys.executable).parent / "pivot"
    base = [str(script)] if script.exists() else [sys.executable, "-m", "pivot.cli.main"]
    return [*base, *args]


def pivot_env() -> dict[str, str]:
    e = dict(os.environ)
    e.setdefault("NO_COLOR", "1")
    # This workplace sets PYTHONDONTWRITEBYTECODE: an editable install would then
    # compile every pivot module from source on each start (~50-100 ms) while DVC's
    # site-packages were byte-compiled by pip. Users have .pyc files; so do we.
    e.pop("PYTHONDONTWRITEBYTECODE", None)
    return e


def run_checked(argv: list[str], cwd: pathlib.Path, env: dict[str, str], what: str,
                timeout: float = 3600.0) -> Sample:
    s = measure.run(argv, cwd, env, timeout)
    if not s.ok:
        raise SetupError(f"{what}: {s.error_line()}")
    return s


def log(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


@dataclasses.dataclass
class Arm:
    """One tool's side of a scenario: prepare(i) makes the precondition (untimed), argv is timed."""

    tool: str
    reps: int
    prepare: Callable[[int], pathlib.Path]
    argv: list[str]
    env: dict[str, str]
    check: Callable[[pathlib.Path, Sample], str | None] | None = None
    warmup: bool = True  # False only where one run costs many minutes (DVC's first run at 500)


def alternate(label: str, arms: list[Arm], timeout: float, warmup: bool = True) -> dict[str, Series]:
    """A warm-up each, then the tools' repeats interleaved so drift hits both alike."""
    out = {a.tool: Series() for a in arms}
    if warmup:
        for a in arms:
            if a.warmup:
                _one(label, a, -1, out[a.tool], timeout)
    for i in range(max((a.reps for a in arms), default=0)):
        for a in arms:
            if i < a.reps and out[a.tool].error is None:
                _one(label, a, i, out[a.tool], timeout)
    return out


def _one(label: str, arm: Arm, i: int, series: Series, timeout: float) -> None:
    try:
        cwd = arm.prepare(i)
    except (SetupError, OSError, RuntimeError, subprocess.SubprocessError) as exc:
        series.error = f"setup: {exc}".splitlines()[0]
        log(f"{label} {arm.tool}: {series.error}")
        return
    s = measure.run(arm.argv, cwd, arm.env, timeout)
    problem = None if s.ok else s.error_line()
    if problem is None and arm.check is not None:
        problem = arm.check(cwd, s)
    if problem is not None:
        series.error = problem
        log(f"{label} {arm.tool}: error: {problem}")
        return
    m = INNER_TIME.search(s.stdout)
    if m:  # the child timed the interesting part itself (hashing): use that
        s = dataclasses.replace(s, wall_s=float(m.group(1)))
    tag = "warm-up" if i < 0 else f"#{i + 1}"
    log(f"{label} {arm.tool} {tag}: {s.wall_s:.3f} s, {s.peak_rss_mb:.0f} MB")
    if i >= 0:
        series.samples.append(dataclasses.replace(s, stdout=s.stdout[-2000:], stderr=s.stderr[-2000:]))
