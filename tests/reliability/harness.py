"""A reusable runner for malformed-input and fault cases (issue 11's catalogue).

A case copies a small project built once per session, applies its fault,
runs the real CLI as a subprocess (HOME set to a temp folder, a sentinel
folder beside the project) and checks what every case must hold:

- the exit code, and no Python traceback in the output;
- a message naming the problem (a regex over stdout + stderr); for exit 2,
  the ``error:`` is exactly one line;
- nothing created or changed outside the project (HOME and the sentinel, in
  fact the whole folder around the project, compared before and after);
- no tracked data and no cache object lost;
- after ``repair`` (the user fixing the input), the next normal command
  (``then``) succeeds.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

PIVOT = [sys.executable, "-m", "pivot.cli.main"]

PIPELINE = '''
from typing import Annotated
from pivot import Pipeline, Dep, Out, StageParams, loaders


class ShoutParams(StageParams):
    times: int = 2


def shout(words: Annotated[str, Dep("words.txt", loaders.Text())],
          params: ShoutParams) -> Annotated[str, Out("out/shout.txt", loaders.Text())]:
    return words.upper() * params.times


pipeline = Pipeline("hello")
pipeline.register(shout)
pipeline.register_cmd("count", cmd="wc -c < out/shout.txt > out/count.txt",
                      deps=["out/shout.txt"], outs=["out/count.txt"])
pipeline.register_cmd("parts", cmd=["mkdir -p out/parts", "cp out/count.txt out/parts/a.txt"],
                      deps=["out/count.txt"], outs=["out/parts/"])
'''


def build_template(folder: Path) -> Path:
    """A project that has run once: locks, run records, cache objects, state DB, a .pvt."""
    root = folder / "project"
    root.mkdir(parents=True)
    env = case_env(folder / "home")
    run(root, env, "init", check=True)
    (root / "words.txt").write_text("hello world\n")
    run(root, env, "track", "words.txt", check=True)
    (root / "pipeline.py").write_text(PIPELINE.lstrip())
    (root / "params.yaml").write_text("shout:\n  times: 2\n")
    run(root, env, "repro", check=True)
    return root


def case_env(home: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    home.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIVOT_", "XDG_"))}
    env.update({"HOME": str(home), "PYTHONDONTWRITEBYTECODE": "1", "COLUMNS": "200"})
    env.update(extra or {})
    return env


@dataclass
class Output:
    code: int
    out: str
    err: str
    seconds: float

    @property
    def text(self) -> str:
        return self.out + self.err


def run(root: Path, env: Mapping[str, str], *args: str, check: bool = False, timeout: float = 120,
        preexec: Callable[[], None] | None = None) -> Output:
    started = time.perf_counter()
    proc = subprocess.run([*PIVOT, *args], cwd=root, env=dict(env), capture_output=True, text=True,
                          timeout=timeout, preexec_fn=preexec)
    result = Output(proc.returncode, proc.stdout, proc.stderr, time.perf_counter() - started)
    if check and result.code != 0:
        raise AssertionError(f"pivot {' '.join(args)} exited {result.code}:\n{result.text}")
    return result


@dataclass
class Project:
    """What a fault or repair function gets: the case's folders and its environment."""

    root: Path
    home: Path
    template: Path
    env: dict[str, str]
    preexec: Callable[[], None] | None = None
    cleanups: list[Callable[[], None]] = field(default_factory=list)

    def write(self, rel: str, content: str | bytes) -> Path:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(textwrap.dedent(content).lstrip())
        return path

    def append(self, rel: str, content: str) -> None:
        with (self.root / rel).open("a") as handle:
            handle.write(textwrap.dedent(content))

    def restore(self, rel: str) -> None:
        """The user's repair: put the file back as it was in the template."""
        shutil.copy2(self.template / rel, self.root / rel)

    def lock(self, stage: str) -> Path:
        return self.root / ".pivot" / "stages" / f"{stage}.lock"


Step = Callable[[Project], None]


def _nothing(_p: Project) -> None:
    return None


@dataclass(frozen=True)
class Case:
    id: str
    fault: Step
    args: tuple[str, ...]
    code: int
    message: str  # regex searched in stdout + stderr
    repair: Step = _nothing
    then: tuple[str, ...] = ("repro",)
    check: Step = _nothing  # extra assertions after the faulty command
    max_seconds: float | None = None


def snapshot(folder: Path, skip: Path | None = None) -> dict[str, str]:
    """path -> kind and content hash of everything under ``folder`` (``skip`` excluded)."""
    found: dict[str, str] = {}
    for dirpath, dirs, files in os.walk(folder):
        here = Path(dirpath)
        if skip is not None and here == skip.parent:
            dirs[:] = [d for d in dirs if here / d != skip]
        for name in [*dirs, *files]:
            path = here / name
            rel = path.relative_to(folder).as_posix()
            if path.is_symlink():
                found[rel] = "link:" + os.readlink(path)
            elif path.is_file():
                found[rel] = "file:" + hashlib.sha256(path.read_bytes()).hexdigest()
            else:
                found[rel] = "dir"
    return found


def _cache_objects(root: Path) -> dict[str, str]:
    cache = root / ".pivot" / "cache" / "files"
    return snapshot(cache) if cache.is_dir() else {}


def _tracked(root: Path) -> dict[str, str]:
    out = {}
    for pvt in root.rglob("*.pvt"):
        data = pvt.with_suffix("")
        if data.is_file():
            out[str(data.relative_to(root))] = hashlib.sha256(data.read_bytes()).hexdigest()
    return out


def _assert_clean(result: Output, args: tuple[str, ...]) -> None:
    """No traceback of Pivot's own; a failed stage (exit 1) may show its user code's traceback."""
    shown = f"pivot {' '.join(args)} printed a traceback:\n{result.text}"
    assert not re.search(r'File "[^"]*[/\\]pivot[/\\]', result.text), shown
    assert result.code == 1 or "Traceback" not in result.text, shown


def run_case(case: Case, template: Path, folder: Path) -> Output:
    """Carry out one case in ``folder`` (empty); returns the faulty command's output."""
    root = folder / "project"
    shutil.copytree(template, root, symlinks=True)
    (folder / "sentinel").mkdir()
    (folder / "sentinel" / "keep.txt").write_text("outside the project\n")
    project = Project(root, folder / "home", template, case_env(folder / "home"))
    try:
        return _run_case(case, project, folder)
    finally:
        for cleanup in reversed(project.cleanups):
            cleanup()


def _run_case(case: Case, project: Project, folder: Path) -> Output:
    root = project.root
    case.fault(project)
    outside = snapshot(folder, skip=root)
    objects, tracked = _cache_objects(root), _tracked(root)
    result = run(root, project.env, *case.args, preexec=project.preexec)
    shown = f"pivot {' '.join(case.args)} -> {result.code}:\n{result.text}"
    assert result.code == case.code, shown
    _assert_clean(result, case.args)
    assert re.search(case.message, result.text, re.MULTILINE), f"expected /{case.message}/ in\n{shown}"
    if case.code == 2:
        errors = [line for line in result.err.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and re.search(case.message, errors[0]), f"one error line expected:\n{shown}"
    if case.max_seconds is not None:
        assert result.seconds < case.max_seconds, f"took {result.seconds:.1f}s:\n{shown}"
    case.check(project)
    assert snapshot(folder, skip=root) == outside, f"something outside the project changed:\n{shown}"
    lost = set(objects.items()) - set(_cache_objects(root).items())
    assert not lost, f"cache objects lost or changed: {sorted(lost)[:3]}"
    assert set(tracked.items()) <= set(_tracked(root).items()), "tracked data lost or changed"
    for cleanup in reversed(project.cleanups):
        cleanup()
    project.cleanups.clear()
    project.preexec = None
    case.repair(project)
    outside = snapshot(folder, skip=root)  # a repair may fix HOME's config
    after = run(root, project.env, *case.then)
    assert after.code == 0, f"after repair, pivot {' '.join(case.then)} -> {after.code}:\n{after.text}"
    _assert_clean(after, case.then)
    assert snapshot(folder, skip=root) == outside, "the command after repair changed something outside"
    return result
