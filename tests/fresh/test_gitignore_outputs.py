"""Stage outputs are ignored by git, as `dvc` does (issue 12): `git status` after a repro shows
no output file; an output no longer declared leaves its .gitignore; metrics stay visible."""

from __future__ import annotations

from pathlib import Path

from tests.fixtures.project import HELPERS, MODEL, PREP, REPORT, run_cli, write
from tests.fresh import gitrepo


def _untracked(root: Path) -> list[str]:
    out = gitrepo.git(root, "status", "--porcelain", "--untracked-files=all")
    return sorted(line[3:] for line in out.splitlines())


def test_git_status_after_repro_shows_no_output(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    root.mkdir()
    gitrepo.init(root)
    run_cli(root, "init")
    write(root / "data" / "raw.txt", "a b\nc d\ne f\n")
    write(root / "prep" / "pipeline.py", PREP)
    write(root / "prep" / "helpers.py", HELPERS)
    write(root / "model" / "pipeline.py", MODEL)
    write(root / "report" / "pipeline.py", REPORT)
    write(root / "prep" / ".gitignore", "*.tmp\n")  # the user's own line is kept
    run_cli(root, "track", "data/raw.txt")
    gitrepo.commit_sources(root, "sources")
    run_cli(root, "repro", "--all")

    changed = _untracked(root)
    allowed = (".gitignore", ".lock", "metrics_small.json", "metrics_large.json")
    assert all(path.endswith(allowed) for path in changed), changed
    assert "model/metrics_small.json" in changed  # metrics belong in git
    assert "*.tmp" in (root / "prep" / ".gitignore").read_text()
    assert "/shards/" in (root / "prep" / ".gitignore").read_text()

    # The summary stage goes: its line goes, and its folder's .gitignore with it.
    write(root / "report" / "pipeline.py", "from pivot import Pipeline\npipeline = Pipeline('report')\n")
    run_cli(root, "repro", "--all")
    assert not (root / "report" / ".gitignore").exists()
    assert "report/summary.txt" in _untracked(root)


def test_no_gitignore_outside_git(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    root.mkdir()
    run_cli(root, "init")
    write(root / "pipeline.py", "from pivot import Pipeline\npipeline = Pipeline('p')\n"
          "pipeline.register_cmd('make', cmd='echo x > out.txt', outs=['out.txt'])\n")
    run_cli(root, "repro")
    assert not (root / ".gitignore").exists()


def test_commit_ignores_the_outputs_it_records(tmp_path: Path) -> None:
    """Outputs made by hand and recorded with `pivot commit` are ignored as a repro's are."""
    root = tmp_path / "proj"
    root.mkdir()
    gitrepo.init(root)
    run_cli(root, "init")
    write(root / "pipeline.py", "from pivot import Pipeline\npipeline = Pipeline('p')\n"
          "pipeline.register_cmd('make', cmd='echo x > out.txt', outs=['out.txt'])\n")
    write(root / "out.txt", "made by hand\n")
    run_cli(root, "commit")
    assert "/out.txt" in (root / ".gitignore").read_text()
    assert "out.txt" not in _untracked(root)
