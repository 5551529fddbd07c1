"""Graph errors: exit 2, one line naming the stages and files."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fixtures.project import run_cli, write

CASES = {
    "two_writers": (
        "pipeline.register_cmd('a', cmd='echo > x.txt', outs=['x.txt'])\n"
        "pipeline.register_cmd('b', cmd='echo > x.txt', outs=['x.txt'])\n",
        "both write",
    ),
    "overlap": (
        "pipeline.register_cmd('a', cmd='mkdir -p d', outs=['d/'])\n"
        "pipeline.register_cmd('b', cmd='echo > d/x.txt', outs=['d/x.txt'])\n",
        "overlaps",
    ),
    "inside_state_dir": (
        "pipeline.register_cmd('a', cmd='echo > ../.pivot/x', outs=['../.pivot/x'])\n",
        ".pivot",
    ),
    "cycle": (
        "pipeline.register_cmd('a', cmd='cp b a', deps=['b'], outs=['a'])\n"
        "pipeline.register_cmd('b', cmd='cp a b', deps=['a'], outs=['b'])\n",
        "cycle",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_graph_error_is_one_line_exit_2(tmp_path: Path, case: str) -> None:
    body, needle = CASES[case]
    run_cli(tmp_path, "init")
    write(tmp_path / "sub" / "pipeline.py", "from pivot import Pipeline\npipeline = Pipeline('sub')\n" + body)
    result = run_cli(tmp_path, "status", "--all", check=False)
    assert result.code == 2, result
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in result.err
    assert "sub:a" in lines[0] or "sub/pipeline.py" in lines[0]


def test_path_component_overlap_only(tmp_path: Path) -> None:
    """data/ overlaps data/x.csv but not data-backup/."""
    run_cli(tmp_path, "init")
    write(tmp_path / "pipeline.py", "from pivot import Pipeline\npipeline = Pipeline('p')\n"
          "pipeline.register_cmd('a', cmd='mkdir -p data && echo 1 > data/x', outs=['data/'])\n"
          "pipeline.register_cmd('b', cmd='mkdir -p data-backup && echo 2 > data-backup/y', outs=['data-backup/'])\n"
          "pipeline.register_cmd('c', cmd='cat data/x > c.txt', deps=['data/x'], outs=['c.txt'])\n")
    dag = run_cli(tmp_path, "dag", "--json").json()
    assert {(e["from"], e["to"]) for e in dag["edges"]} == {("a", "c")}
    report = run_cli(tmp_path, "repro", "--json").json()
    assert report["ran"] == 3
