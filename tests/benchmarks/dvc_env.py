"""DVC lives in its own venv (.bench-venv), never in Pivot's: install, init, fast-prepare, cache."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import pathlib
import shutil
import subprocess
import sys

from tests.benchmarks import generator

REPO = pathlib.Path(__file__).resolve().parents[2]
WORK = REPO / "tests" / "benchmarks" / ".work"
BENCH_VENV = REPO / ".bench-venv"
REQUIREMENTS = ("dvc==3.67.1", "dvc-s3")
READY = ".bench-ready"


def ensure_venv(log: bool = True) -> pathlib.Path:
    """Create .bench-venv with pinned DVC if missing; returns the dvc executable."""
    stamp = BENCH_VENV / f".installed-{hashlib.sha1(' '.join(REQUIREMENTS).encode()).hexdigest()[:10]}"
    dvc = BENCH_VENV / "bin" / "dvc"
    if stamp.exists() and dvc.exists():
        return dvc
    if log:
        print(f"[bench] installing {' '.join(REQUIREMENTS)} into {BENCH_VENV} ...", flush=True)
    if not (BENCH_VENV / "bin" / "python").exists():
        subprocess.run([sys.executable, "-m", "venv", str(BENCH_VENV)], check=True)
    pip = [str(BENCH_VENV / "bin" / "python"), "-m", "pip", "install", "-q"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    subprocess.run([*pip, *REQUIREMENTS], check=True)
    stamp.touch()
    return dvc


def dvc_cmd() -> list[str]:
    return [str(BENCH_VENV / "bin" / "dvc")]


def dvc_version() -> str:
    out = subprocess.run([*dvc_cmd(), "--version"], capture_output=True, text=True, env=env())
    return out.stdout.strip() or "unknown"


def env() -> dict[str, str]:
    e = dict(os.environ)
    e.update(DVC_NO_ANALYTICS="1", DVC_IGNORE_ISATTY="true")
    # The harness runs inside Pivot's venv; DVC must not see its site-packages.
    e.pop("VIRTUAL_ENV", None)
    e.pop("PYTHONPATH", None)
    e.pop("PYTHONDONTWRITEBYTECODE", None)  # the same conditions as Pivot's runs
    return e


def run(args: list[str], cwd: pathlib.Path, timeout: float = 7200) -> str:
    res = subprocess.run(
        [*dvc_cmd(), *args], cwd=cwd, env=env(), capture_output=True, text=True, timeout=timeout
    )
    if res.returncode != 0:
        raise RuntimeError(f"dvc {' '.join(args)} failed in {cwd}:\n{res.stdout}\n{res.stderr}")
    return res.stdout


def init_project_plain(root: pathlib.Path) -> None:
    """`dvc init --no-scm`: no git, so git's overhead never shows in DVC's figures."""
    run(["init", "--no-scm", "-q"], root)
    run(["config", "core.analytics", "false"], root)
    run(["config", "core.check_update", "false"], root)


def init_project(root: pathlib.Path) -> None:
    init_project_plain(root)
    run(["add", "-q", generator.TRACKED_INPUT], root)


# Bump when write_common / write_dvc / init_project change what DVC sees beyond the plan.
DVC_LAYOUT_VERSION = 1


def _key(n: int) -> str:
    """N plus a digest of the generated stages: a generator change DVC can't see (the Pivot
    side) keeps the slow-to-build DVC cache, any change DVC can see rebuilds it."""
    plan = json.dumps([[dataclasses.asdict(s), s.cmd] for s in generator.plan(n)])
    digest = hashlib.sha1(f"{DVC_LAYOUT_VERSION}:{plan}".encode()).hexdigest()[:10]
    return f"dvc-n{n}-{digest}"


def template(n: int) -> pathlib.Path:
    """A never-run DVC project (init + add done): the starting point of every fresh run."""
    dest = WORK / "templates" / _key(n)
    if (dest / READY).exists():
        return dest
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    generator.write_dvc(dest, generator.plan(n))
    init_project(dest)
    (dest / READY).touch()
    return dest


def prepared(n: int, log: bool = True) -> pathlib.Path:
    """An up-to-date DVC project, cached in .work/cache/ keyed by N and generator version.

    DVC's own first run costs ~15 min at 500 stages, so the commands run from a plain
    script and one `dvc commit -f` records them; `dvc status` must then be clean.
    """
    dest = WORK / "cache" / _key(n)
    if (dest / READY).exists():
        return dest
    if log:
        print(f"[bench] fast-preparing DVC project N={n} in {dest} ...", flush=True)
    shutil.rmtree(dest, ignore_errors=True)
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(template(n), dest, symlinks=True)
    (dest / READY).unlink()
    script = dest.parent / f"{_key(n)}.prepare.sh"
    script.write_text(generator.prepare_script(generator.plan(n)))
    subprocess.run(["sh", str(script)], cwd=dest, check=True)
    run(["commit", "-f", "-q"], dest)
    problems = status_json(dest)
    if problems:
        raise RuntimeError(f"dvc status not clean after fast-prepare of N={n}: {problems!r:.500}")
    (dest / READY).touch()
    return dest


def status_json(root: pathlib.Path) -> str:
    """'' when DVC reports everything up to date, else its JSON report."""
    out = run(["status", "--json"], root).strip()
    return "" if out in ("{}", "") else out


def copy_project(src: pathlib.Path, dest: pathlib.Path) -> pathlib.Path:
    shutil.rmtree(dest, ignore_errors=True)
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(src, dest, symlinks=True)
    return dest
