"""`pivot move`: tracked data renamed with its .pvt and .gitignore line; anything doubtful refused
before a byte moves. Real CLI runs on a real project; the move survives a fresh checkout."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.fixtures.project import run_cli, write


@pytest.fixture
def tracked(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    root.mkdir()
    run_cli(root, "init")
    write(root / "data" / "raw.csv", "a,b\n1,2\n")
    write(root / "data" / "images" / "one.txt", "1\n")
    run_cli(root, "track", "data/raw.csv", "data/images")
    write(root / "pipeline.py", "from pivot import Pipeline\npipeline = Pipeline('p')\n"
          "pipeline.register_cmd('count', cmd='wc -l < data/raw.csv > n.txt', deps=['data/raw.csv'], outs=['n.txt'])\n")
    run_cli(root, "repro")
    return root


def test_move_a_file_and_a_folder(tracked: Path) -> None:
    moved = run_cli(tracked, "move", "data/raw.csv", "inputs/table.csv")
    assert "moved data/raw.csv -> inputs/table.csv" in moved.out
    assert "dependency: count" in moved.err and "update their pipeline.py" in moved.err  # its dep is gone
    assert (tracked / "inputs" / "table.csv").read_text() == "a,b\n1,2\n"
    assert not (tracked / "data" / "raw.csv").exists() and not (tracked / "data" / "raw.csv.pvt").exists()
    assert "path: table.csv" in (tracked / "inputs" / "table.csv.pvt").read_text()
    assert "/table.csv" in (tracked / "inputs" / ".gitignore").read_text()
    assert "/raw.csv" not in (tracked / "data" / ".gitignore").read_text()
    (tracked / "inputs").mkdir(exist_ok=True)
    run_cli(tracked, "move", "data/images.pvt", "inputs")  # into a folder, naming the .pvt, as mv does
    assert (tracked / "inputs" / "images" / "one.txt").read_text() == "1\n"
    assert "path: images/" in (tracked / "inputs" / "images.pvt").read_text()
    status = run_cli(tracked, "status", "--json").json()
    assert {t["path"]: t["status"] for t in status["tracked_files"]} == {"inputs/images/": "clean", "inputs/table.csv": "clean"}
    # The record alone moves data that is not checked out; checkout then places it at its new path.
    os.remove(tracked / "inputs" / "table.csv")
    run_cli(tracked, "move", "inputs/table.csv", "table.csv")
    run_cli(tracked, "checkout", "table.csv")
    assert (tracked / "table.csv").read_text() == "a,b\n1,2\n"


REFUSED = [
    ("n.txt", "m.txt", "not tracked"),                       # a stage output moves in pipeline.py
    ("data/raw.csv", "../outside.csv", "leaves the project root"),
    ("data/raw.csv", ".pivot/raw.csv", "inside .pivot/"),
    ("data/raw.csv", "pipeline.py", "already exists"),
    ("data/raw.csv", "n.txt", "already exists"),
    ("data/images", "data/images/sub", "into itself"),
]


def test_refused_moves_change_nothing(tracked: Path) -> None:
    def files() -> dict[Path, bytes]:
        return {p: p.read_bytes() for p in tracked.rglob("*") if p.is_file() and ".pivot" not in p.parts}

    before = files()
    for source, destination, says in REFUSED:  # one project: a refusal leaves it as it was
        bad = run_cli(tracked, "move", source, destination, check=False)
        assert bad.code == 2 and says in bad.err and "Traceback" not in bad.err, (source, destination, bad.err)
        assert files() == before, (source, destination)


def test_a_link_leading_outside_is_refused(tracked: Path, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (tracked / "out-link").symlink_to(outside)
    bad = run_cli(tracked, "move", "data/raw.csv", "out-link/raw.csv", check=False)
    assert bad.code == 2 and "Traceback" not in bad.err
    assert not any(outside.iterdir()) and (tracked / "data" / "raw.csv").exists()
