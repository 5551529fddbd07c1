"""Shell completion driven through a real bash: stage names of a multi-pipeline project,
remote names and config keys; pipelines are imported only when a pipeline.py changed."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

from tests.fixtures.project import run_cli, write

BIN = str(Path(sys.executable).parent)  # where the `pivot` script is installed


def complete(root: Path, line: str) -> list[str]:
    """What bash offers for the last word of ``line`` (after `eval "$(pivot completion bash)"`)."""
    words = line.split(" ")
    script = f"""
        set -e
        eval "$(pivot completion bash)"
        complete -p pivot >/dev/null   # the script registered its completer
        COMP_WORDS=({' '.join(shlex.quote(w) for w in words)})
        COMP_CWORD={len(words) - 1}
        _pivot_completion pivot
        printf '%s\\n' "${{COMPREPLY[@]}}"
    """
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    proc = subprocess.run(["bash", "--norc", "--noprofile", "-c", script], cwd=root, env=env, capture_output=True,
                          text=True, timeout=60, check=True)
    return sorted(w for w in proc.stdout.splitlines() if w)


def test_stage_names_complete_in_bash(project: Path) -> None:
    assert complete(project, "pivot repro prep:") == ["prep:clean", "prep:shards", "prep:split"]
    assert complete(project, "pivot repro train") == ["train", "train@large", "train@small"]
    assert complete(project, "pivot run report:s") == ["report:summary"]
    assert complete(project, "pivot status sp") == ["split"]
    assert complete(project, "pivot rep") == ["repro"]  # click's own command completion still works


def test_stage_cache_refreshes_only_when_a_pipeline_changes(project: Path) -> None:
    marker = project / "imported.log"
    log_import = f"\nopen({str(marker)!r}, 'a').write('x')\n"
    pipeline = project / "report" / "pipeline.py"
    pipeline.write_text(pipeline.read_text() + log_import)
    assert complete(project, "pivot repro report:") == ["report:summary"]
    loads = marker.read_text()
    assert (project / ".pivot" / "completion.json").exists()
    for _ in range(2):
        assert complete(project, "pivot repro report:") == ["report:summary"]
    assert marker.read_text() == loads, "completing imported the pipelines although none changed"

    pipeline.write_text(pipeline.read_text() + 'pipeline.register_cmd("again", cmd=["true"])\n')
    assert complete(project, "pivot repro report:") == ["report:again", "report:summary"]
    write(project / "extra" / "pipeline.py", 'from pivot import Pipeline\npipeline = Pipeline("extra")\n'
                                               'pipeline.register_cmd("fresh", cmd=["true"])\n')
    assert complete(project, "pivot repro extra:") == ["extra:fresh"]


def test_remote_names_and_config_keys(project: Path) -> None:
    run_cli(project, "remote", "add", "team", "s3://bucket-a")
    run_cli(project, "remote", "add", "backup", "s3://bucket-b")
    assert complete(project, "pivot push -r t") == ["team"]
    assert complete(project, "pivot remote remove ") == ["backup", "team"]
    assert complete(project, "pivot config get hist") == ["history.keep"]
    assert "remotes.team.url" in complete(project, "pivot config set remotes.")
    run_cli(project, "repro", "prep:clean")
    (run_id,) = [r["id"] for r in run_cli(project, "history", "--json").json()["runs"]]
    assert complete(project, f"pivot show {run_id[:9]}") == [run_id]


def test_scripts_for_each_shell(project: Path) -> None:
    assert "_PIVOT_COMPLETE" in run_cli(project, "completion", "bash").out
    assert "compdef" in run_cli(project, "completion", "zsh").out
    assert "complete --no-files --command pivot" in run_cli(project, "completion", "fish").out
    assert run_cli(project, "completion", "tcsh", check=False).code == 2
