"""A killed client leaves nothing: its temp files are swept by the next repro (nothing else is
touched), and its pool processes exit with it (issue 13)."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from pivot.leftovers import is_leftover
from tests.fixtures.project import PIVOT, run_cli, write

LEFTOVERS = ["prep/.clean.txt.pivot-0123456789ab", "prep/.shards.pivot-abcdefabcdef/part_aa",
             ".pivot/stages/prep/.clean.lock.ab_12xyz.tmp", "data/.raw.txt.pvt.a1b2c3d4.tmp"]
KEPT = ["prep/.keep", "prep/.env.tmp", "data/.raw.txt.pivot-notes", "prep/notes.pivot-0123456789ab"]


def test_repro_sweeps_what_a_killed_run_left(project: Path, tmp_path: Path) -> None:
    root = project
    run_cli(root, "repro")
    for rel in LEFTOVERS + KEPT:
        write(root / rel, "x\n")
    os.chmod(root / "prep/.shards.pivot-abcdefabcdef/part_aa", 0o444)  # as linked from the cache
    run_cli(root, "repro")
    assert [rel for rel in LEFTOVERS if (root / rel).exists()] == []
    assert not (root / "prep/.shards.pivot-abcdefabcdef").exists()
    assert all((root / rel).exists() for rel in KEPT)



def test_only_pivot_temp_names_count() -> None:
    assert all(is_leftover(name) for name in (".clean.txt.pivot-0123456789ab", ".shards.pivot-abcdefabcdef",
                                              ".clean.lock.ab_12xyz.tmp", ".raw.txt.pvt.a1b2c3d4.tmp"))
    assert not any(is_leftover(Path(rel).name) for rel in KEPT)


SLEEPER = '''
import os
import time
from typing import Annotated
from pivot import Pipeline, Out, loaders


def sleeper() -> Annotated[str, Out("slept.txt", loaders.Text())]:
    with open({pids!r}, "w") as pids:
        pids.write(str(os.getpid()))
    time.sleep(120)
    return "slept\\n"


pipeline = Pipeline("zz")
pipeline.register(sleeper)
'''


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] not in "ZX"
    except OSError:
        return False


def test_killed_client_leaves_no_pool_process(tmp_path: Path) -> None:
    """SIGKILL the planner mid-stage: its pool process (running the stage) exits too."""
    root = tmp_path / "proj"
    root.mkdir()
    run_cli(root, "init")
    pids = tmp_path / "pid.txt"
    write(root / "zz" / "pipeline.py", SLEEPER.format(pids=str(pids)))
    proc = subprocess.Popen([*PIVOT, "repro"], cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not pids.exists() or not pids.read_text():
        assert proc.poll() is None and time.monotonic() < deadline, "the stage never started"
        time.sleep(0.05)
    stage = int(pids.read_text())
    proc.kill()
    proc.wait(10)
    deadline = time.monotonic() + 15
    while _alive(stage):
        assert time.monotonic() < deadline, f"pool process {stage} outlived its planner"
        time.sleep(0.1)
