"""Output kinds and commands beyond the basic loop, through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path

from tests.fixtures.project import run_cli, write

FEATURES = '''
import pathlib
import random
import subprocess
from typing import Annotated
from pivot import Pipeline, Dep, Out, DirectoryOut, IncrementalOut, StageParams, loaders


def grow(seed: Annotated[str, Dep("seed.txt", loaders.Text())]) -> Annotated[str, IncrementalOut("log.txt", loaders.PathOnly())]:
    log = pathlib.Path("log.txt")
    previous = log.read_text() if log.exists() else ""
    log.write_text(previous + seed)
    return "log.txt"


def noisy(seed: Annotated[str, Dep("seed.txt", loaders.Text())]) -> Annotated[str, Out("noise.txt", loaders.Text())]:
    return str(random.random())


def chatty(seed: Annotated[str, Dep("seed.txt", loaders.Text())]) -> Annotated[str, DirectoryOut("tree/", loaders.PathOnly())]:
    print("from python")
    subprocess.run(["echo", "from a subprocess"], check=True)
    for name in ("a", "b/c", "build/x", "dist/y"):
        path = pathlib.Path("tree") / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(name + seed)
    if "fail" in seed:
        raise ValueError("seed says fail")
    return "tree/"


pipeline = Pipeline("features")
pipeline.register(grow)
pipeline.register(noisy, always_run=True)
pipeline.register(chatty)
'''


def _project(tmp_path: Path) -> Path:
    root = tmp_path / "p"
    root.mkdir()
    run_cli(root, "init")
    write(root / "seed.txt", "1\n")
    write(root / "pipeline.py", FEATURES)
    return root


def _statuses(report: dict[str, object]) -> dict[str, str]:
    return {s["name"]: s["status"] for s in report["stages"]}  # type: ignore[index,union-attr]


def test_incremental_output_is_restored_writable_and_grows(tmp_path: Path) -> None:
    root = _project(tmp_path)
    run_cli(root, "repro")
    (root / "seed.txt").write_text("2\n")
    run_cli(root, "repro")
    assert (root / "log.txt").read_text() == "1\n2\n"
    (root / "log.txt").unlink()  # missing: checked out again from the cache, not re-run
    report = run_cli(root, "repro", "--json").json()
    assert _statuses(report)["grow"] == "checked_out"
    assert (root / "log.txt").read_text() == "1\n2\n"


def test_always_run_never_skips_or_restores(tmp_path: Path) -> None:
    root = _project(tmp_path)
    run_cli(root, "repro")
    first = (root / "noise.txt").read_text()
    report = run_cli(root, "repro", "--json").json()
    assert _statuses(report)["noisy"] == "ran"
    assert (root / "noise.txt").read_text() != first
    status = run_cli(root, "status", "--explain", "--json").json()
    noisy = next(s for s in status["stages"] if s["name"] == "noisy")
    assert noisy["will_run"] and "always-run" in noisy["reason"]


def test_directory_output_keeps_build_and_dist(tmp_path: Path) -> None:
    root = _project(tmp_path)
    run_cli(root, "repro")
    lock = (root / ".pivot" / "stages" / "chatty.lock").read_text()
    assert "tree/" in lock
    (root / "tree" / "dist" / "y").unlink()
    report = run_cli(root, "repro", "--json").json()
    assert _statuses(report)["chatty"] == "checked_out"
    assert (root / "tree" / "dist" / "y").read_text() == "dist/y1\n"


def test_failure_shows_captured_output_and_leaves_nothing(tmp_path: Path) -> None:
    root = _project(tmp_path)
    (root / "seed.txt").write_text("fail\n")
    result = run_cli(root, "repro", "-k", check=False)
    assert result.code == 1
    assert "from python" in result.out and "from a subprocess" in result.out and "seed says fail" in result.out
    assert not (root / "tree").exists()
    assert not (root / ".pivot" / "stages" / "chatty.lock").exists()


def test_run_without_upstream_and_commit_and_checkout(tmp_path: Path) -> None:
    root = _project(tmp_path)
    run_cli(root, "repro")
    report = run_cli(root, "run", "chatty", "--force", "--json").json()
    assert list(_statuses(report)) == ["chatty"]
    # commit: record a hand-edited output as the stage's result
    noise = root / "noise.txt"
    noise.chmod(0o644)
    noise.write_text("hand made\n")
    run_cli(root, "commit", "noisy")
    assert json.loads(run_cli(root, "status", "--json").out)["stages"]
    # checkout: restore deleted outputs and tracked files from the cache
    write(root / "data.csv", "a,b\n1,2\n")
    run_cli(root, "track", "data.csv")
    (root / "data.csv").unlink()
    (root / "log.txt").unlink()
    run_cli(root, "checkout")
    assert (root / "data.csv").read_text() == "a,b\n1,2\n"
    assert (root / "log.txt").read_text() == "1\n"
    assert "/data.csv" in (root / ".gitignore").read_text()


def test_tracked_file_status_and_track_force(tmp_path: Path) -> None:
    root = _project(tmp_path)
    write(root / "data.csv", "1\n")
    run_cli(root, "track", "data.csv")
    (root / "data.csv").write_text("2\n")
    status = run_cli(root, "status", "--json").json()
    assert status["tracked_files"] == [{"path": "data.csv", "status": "modified"}]
    # As `dvc add`: tracking an already tracked path records its new bytes (issue 12);
    # --force is only for a real conflict (a file became a folder or the reverse).
    assert "tracked data.csv" in run_cli(root, "track", "data.csv").out
    assert run_cli(root, "status", "--json").json()["tracked_files"][0]["status"] == "clean"


def test_version_help_list_dag(tmp_path: Path) -> None:
    root = _project(tmp_path)
    assert "0.1.0" in run_cli(root, "--version").out
    assert "repro" in run_cli(root, "--help").out
    listing = run_cli(root, "list", "--json").json()["stages"]
    assert {s["name"] for s in listing} == {"grow", "noisy", "chatty"}
    assert "flowchart" in run_cli(root, "dag", "--mermaid").out
    assert "digraph" in run_cli(root, "dag", "--dot").out


MUTEX = '''
from pivot import Pipeline

pipeline = Pipeline("mx")
for name in ("a", "b", "c"):
    pipeline.register_cmd(name, cmd=f"date +%s.%N > {name}.start && sleep 0.6 && date +%s.%N > {name}.end",
                          outs=[f"{name}.start", f"{name}.end"], mutex=["gpu"] if name != "c" else None)
'''


def test_mutex_group_never_overlaps(tmp_path: Path) -> None:
    root = tmp_path / "m"
    root.mkdir()
    run_cli(root, "init")
    write(root / "pipeline.py", MUTEX)
    run_cli(root, "repro", "-j", "3")

    def span(name: str) -> tuple[float, float]:
        return float((root / f"{name}.start").read_text()), float((root / f"{name}.end").read_text())

    (a0, a1), (b0, b1) = span("a"), span("b")
    assert a1 <= b0 or b1 <= a0  # the two "gpu" stages ran one after the other


def test_downstream_runs_the_targets_and_what_depends_on_them(reproduced_project: Path) -> None:
    """`repro --downstream T` (as DVC's): T and every stage that depends on it, never T's upstream;
    `status --downstream` predicts exactly what it then runs."""
    root = reproduced_project
    (root / "data" / "raw.txt").write_text("new words here\n")  # the whole upstream goes stale...
    with open(root / "prep" / "split" / "train.txt", "a") as handle:
        handle.write("edited by hand\n")  # ...and train@small's own input changes
    clean_before = (root / "prep" / "clean.txt").read_bytes()

    predicted = run_cli(root, "status", "--downstream", "model:train@small", "--json").json()["stages"]
    assert [s["name"] for s in predicted] == ["model:train@small", "model:evaluate@small", "report:summary"]
    will_run = {s["name"] for s in predicted if s["decision"] != "skip"}
    report = run_cli(root, "repro", "--downstream", "model:train@small", "--json").json()
    assert {s["name"] for s in report["stages"] if s["status"] == "ran"} == will_run == {
        "model:train@small", "model:evaluate@small", "report:summary"}
    assert (root / "prep" / "clean.txt").read_bytes() == clean_before  # upstream left as it is
    again = run_cli(root, "repro", "--downstream", "model:train@small", "--json").json()
    assert again["ran"] == 0
    plain = run_cli(root, "status", "model:train@small", "--json").json()["stages"]
    assert {s["name"] for s in plain if s["decision"] != "skip"} >= {"prep:clean", "prep:split"}


def test_untrack_removes_the_pvt_and_ignore_line_and_keeps_the_data(tmp_path: Path) -> None:
    """`pivot untrack` (`dvc remove x.dvc`): the .pvt and its .gitignore line go, the data stays."""
    root = tmp_path / "p"
    root.mkdir()
    run_cli(root, "init")
    write(root / "data" / "a.csv", "x\n1\n")
    write(root / "data" / "b.csv", "x\n2\n")
    run_cli(root, "track", "data/a.csv")
    run_cli(root, "track", "data/b.csv")
    wrong = run_cli(root, "untrack", "data/nope.csv", "data/a.csv", check=False)
    assert wrong.code == 2 and wrong.err.count("\n") == 1 and "data/nope.csv: not tracked" in wrong.err
    assert (root / "data" / "a.csv.pvt").exists()  # nothing removed when one target is wrong
    out = run_cli(root, "untrack", "a.csv.pvt", cwd=root / "data").out
    assert "untracked data/a.csv" in out
    assert not (root / "data" / "a.csv.pvt").exists() and (root / "data" / "a.csv").read_text() == "x\n1\n"
    assert (root / "data" / ".gitignore").read_text().splitlines() == ["/b.csv"]
    run_cli(root, "untrack", "data/b.csv")
    assert not (root / "data" / ".gitignore").exists()
    assert "data/" not in run_cli(root, "status").out
