"""A killed client's temp files are swept by the next repro; nothing else is touched (issue 13)."""

from __future__ import annotations

import os
from pathlib import Path

from pivot.leftovers import is_leftover
from tests.fixtures.project import make_project, run_cli, write

LEFTOVERS = ["prep/.clean.txt.pivot-0123456789ab", "prep/.shards.pivot-abcdefabcdef/part_aa",
             ".pivot/stages/prep/.clean.lock.ab_12xyz.tmp", "data/.raw.txt.pvt.a1b2c3d4.tmp"]
KEPT = ["prep/.keep", "prep/.env.tmp", "data/.raw.txt.pivot-notes", "prep/notes.pivot-0123456789ab"]


def test_repro_sweeps_what_a_killed_run_left(tmp_path: Path) -> None:
    root = make_project(tmp_path / "proj")
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
