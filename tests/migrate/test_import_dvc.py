"""`pivot import-dvc` on a real DVC project: nothing re-runs, then both tools agree edit by edit."""

from __future__ import annotations

import random
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.fixtures.dvc import Dvc
from tests.fixtures.project import run_cli
from tests.migrate import dvc_project

ALWAYS = {"stamp"}  # always_changed: both tools run it every time
_IGNORED_DIRS = {".dvc", ".pivot"}
_IGNORED_FILES = {"dvc.lock", "dvc.yaml", "pipeline.py", ".gitignore", ".dvcignore"}


def dvc_ran(output: str) -> set[str]:
    """Pivot identities of the stages `dvc repro` ran ("p1/dvc.yaml:grid@x" -> "p1:grid@x")."""
    found = set()
    for address in re.findall(r"Running stage '([^']+)':", output):  # progress bars may share the line
        folder, _, name = address.rpartition(":")
        found.add(f"{folder.removesuffix('/dvc.yaml')}:{name}" if folder else name)
    return found


def pivot_ran(root: Path) -> set[str]:
    stages = run_cli(root, "repro", "--all", "--json").json()["stages"]
    return {s["name"] for s in stages if s["status"] == "ran"}


def outputs(root: Path) -> dict[str, bytes]:
    """Every workspace file both tools produce or read (not their own bookkeeping files)."""
    found = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if rel.parts[0] in _IGNORED_DIRS or path.name in _IGNORED_FILES or path.suffix in (".dvc", ".pvt"):
            continue
        if path.is_file():
            found[rel.as_posix()] = path.read_bytes()
    return found


def _replace(rel: str, pattern: str, new: str) -> Callable[[Path, int], None]:
    def edit(root: Path, n: int) -> None:
        path = root / rel
        path.write_text(re.sub(pattern, new.format(n=n), path.read_text()))
    return edit


def _append(rel: str) -> Callable[[Path, int], None]:
    def edit(root: Path, n: int) -> None:
        with open(root / rel, "a") as handle:
            handle.write(f"edit {n}\n")
    return edit


def _cmd_edit(root: Path, n: int) -> None:
    # The same command text appears in p1/dvc.yaml and in the generated p1/pipeline.py.
    old = "cat ../models/small.txt ../grid/adam-1.txt > eval.txt"
    for name in ("dvc.yaml", "pipeline.py"):
        path = root / "p1" / name
        if path.exists():
            path.write_text(path.read_text().replace(old, f"{old} && echo edit {n} >> eval.txt"))


EDITS: dict[str, Callable[[Path, int], None]] = {
    "tracked file": _append("data/raw.txt"),
    "tracked folder": _append("data/images/a.txt"),
    "plain input": _append("p2/in.txt"),
    "variant input, persistent output": _append("out/large.txt"),  # models@large, then history appends
    "param lr": _replace("params.yaml", r"lr: [0-9.]+", "lr: 0.{n}"),
    "unused param": _replace("params.yaml", r"seed: \d+", "seed: {n}"),  # prepare re-runs, same output
    "second params file": _replace("config/extra.yaml", r"threshold: [0-9.]+", "threshold: 0.{n}"),
    "command": _cmd_edit,
}


@pytest.fixture(scope="module")
def dvc_done(tmp_path_factory: pytest.TempPathFactory, dvc: Dvc) -> Path:
    """The generated project after `dvc add` and a full `dvc repro`: DVC's results exist."""
    root = tmp_path_factory.mktemp("dvc-project")
    dvc_project.write(root)
    dvc.init(root)
    dvc(root, "add", "-q", "data/raw.txt", "data/images")
    dvc(root, "repro", "-P", "-q")
    return root


@pytest.mark.dvc
def test_import_adopts_dvc_results_then_both_tools_agree(dvc_done: Path, tmp_path: Path, dvc: Dvc) -> None:
    dvc_root = shutil.copytree(dvc_done, tmp_path / "dvc", symlinks=True)
    pivot_root = shutil.copytree(dvc_done, tmp_path / "pivot", symlinks=True)
    run_cli(pivot_root, "import-dvc")

    # Adopted: only the always-run stage runs, and every other stage verifies.
    assert pivot_ran(pivot_root) == ALWAYS
    stages = [s["name"] for s in run_cli(pivot_root, "list", "--json").json()["stages"]]
    assert len(stages) == 16 and "p1:grid@sgd-2" in stages and "frozen_copy" not in stages
    run_cli(pivot_root, "verify", *[s for s in stages if s not in ALWAYS])
    status = run_cli(pivot_root, "status", "--all", "--json").json()["stages"]
    assert {s["name"] for s in status if s["status"] != "cached"} == ALWAYS
    assert outputs(pivot_root) == outputs(dvc_root)

    order = sorted(EDITS)
    random.Random(16).shuffle(order)  # every edit once, two per round, in a seeded random order
    for n in range(1, len(order) // 2 + 1):
        chosen = order[2 * n - 2:2 * n]
        for name in chosen:
            EDITS[name](dvc_root, n)
            EDITS[name](pivot_root, n)
        ran_dvc = dvc_ran(dvc(dvc_root, "repro", "-P").stdout)
        ran_pivot = pivot_ran(pivot_root)
        assert ran_pivot == ran_dvc, f"round {n}, edits {chosen}"
        assert ran_pivot - ALWAYS, f"round {n}: edits {chosen} ran nothing"
        assert outputs(pivot_root) == outputs(dvc_root), f"round {n}, edits {chosen}"


@pytest.mark.dvc
def test_tracked_data_comes_from_dvc_cache_and_checks_out(dvc_done: Path, tmp_path: Path) -> None:
    root = shutil.copytree(dvc_done, tmp_path / "p", symlinks=True)
    before = {rel: (root / rel).read_bytes() for rel in ("data/raw.txt", "data/images/a.txt", "data/images/b.txt")}
    shutil.rmtree(root / "data" / "images")  # imported from DVC's cache, not from the workspace
    run_cli(root, "import-dvc")
    assert (root / "data" / "raw.txt.pvt").is_file() and (root / "data" / "images.pvt").is_file()
    (root / "data" / "raw.txt").unlink()
    run_cli(root, "checkout")
    assert {rel: (root / rel).read_bytes() for rel in before} == before
    # The frozen stage's output became tracked data too.
    assert (root / "out" / "frozen.txt.pvt").is_file()
    notes = (root / ".pivot" / "migration-notes.md").read_text()
    assert "frozen" in notes and "cache: false" in notes and "whole file" in notes


@pytest.mark.dvc
def test_changed_stage_runs_first_as_in_dvc_and_dry_run_writes_nothing(dvc_done: Path, tmp_path: Path,
                                                                       dvc: Dvc) -> None:
    root = shutil.copytree(dvc_done, tmp_path / "p", symlinks=True)
    (root / "p1" / "models" / "large.txt").write_text("edited by hand\n")  # DVC restores it from its cache
    _cmd_edit(root, 0)  # DVC runs `evaluate` again
    twin = shutil.copytree(root, tmp_path / "dvc", symlinks=True)
    dry = run_cli(root, "import-dvc", "--dry-run")
    assert "--- p1/pipeline.py (would write)" in dry.out and not (root / "p1" / "pipeline.py").exists()
    report = run_cli(root, "import-dvc", "--json").json()
    assert report["not_adopted"] == {"p1:evaluate": "its command differs from the one dvc.lock records"}
    # Adopted with what dvc.lock records (the objects come from DVC's cache): the changed
    # output is restored, and its consumer sees the bytes it ran with, as in DVC.
    assert {"p1:models@large", "p1:history"} <= set(report["adopted"])
    again = run_cli(root, "import-dvc", check=False)
    assert again.code == 2 and "pipeline.py already exists; use --force" in again.err
    run_cli(root, "import-dvc", "--force")
    assert pivot_ran(root) == dvc_ran(dvc(twin, "repro", "-P").stdout) == {"p1:evaluate", "p2:collect", "p2:count", *ALWAYS}
    assert outputs(root) == outputs(twin)
    assert (root / "p1" / "models" / "large.txt").read_text() != "edited by hand\n"
    # Adopted results are in the run cache, as in DVC's: an edit reverted is restored, not re-run.
    for new, expect in (("0.5", {"split@us", "split@eu", "report", "p2:collect", "p2:count"}), ("0.1", set())):
        for project in (root, twin):
            _replace("params.yaml", r"lr: [0-9.]+", f"lr: {new}")(project, 0)
        assert pivot_ran(root) == dvc_ran(dvc(twin, "repro", "-P").stdout) == expect | ALWAYS, new
        assert outputs(root) == outputs(twin)
