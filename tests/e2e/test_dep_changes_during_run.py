"""DESIGN rule 11: a dependency edited while its stage runs is never recorded as consumed."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from tests.fixtures.project import PIVOT, run_cli, write

SLOW_READER = '''
import time
from pathlib import Path
from typing import Annotated
from pivot import Pipeline, Dep, Out, loaders


def copy(src: Annotated[str, Dep("input.txt", loaders.Text())]) -> Annotated[str, Out("copy.txt", loaders.Text())]:
    Path("started.flag").write_text("read")  # the test edits input.txt only after this
    time.sleep(3)
    return src


pipeline = Pipeline("r")
pipeline.register(copy)
'''


def test_dependency_edited_mid_run_is_seen_by_the_next_plan(tmp_path: Path) -> None:
    root = tmp_path / "p"
    root.mkdir()
    run_cli(root, "init")
    write(root / "pipeline.py", SLOW_READER)
    (root / "input.txt").write_text("first\n")
    proc = subprocess.Popen([*PIVOT, "repro", "--json"], cwd=root, stdout=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60  # a loaded machine may take seconds to start the worker
    while not (root / "started.flag").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert (root / "started.flag").exists(), "the stage never started"
    (root / "input.txt").write_text("second\n")
    proc.communicate(timeout=120)
    assert proc.returncode == 0
    assert (root / "copy.txt").read_text() == "first\n"
    status = run_cli(root, "status", "--explain", "--json").json()
    (stage,) = status["stages"]
    assert stage["will_run"] and stage["dep_changes"][0]["path"] == "input.txt"
    report = run_cli(root, "repro", "--json").json()
    assert report["stages"][0]["status"] == "ran"  # not "restored": nothing recorded "first" under the new key
    assert (root / "copy.txt").read_text() == "second\n"
    (root / "input.txt").write_text("first\n")
    again = run_cli(root, "repro", "--json").json()
    # "first" was consumed by a run whose input changed under it: no run-cache entry for it exists
    assert again["stages"][0]["status"] == "ran"
