"""In a notebook, a stage's output appears in the cell under the progress display (issue 12)."""

from __future__ import annotations

from pathlib import Path

from tests.fixtures.project import run_cli, write
from tests.notebooks.kernel import Kernel

PIPELINE = '''
import sys
from typing import Annotated
from pivot import Pipeline, Out, loaders


def talk() -> Annotated[str, Out("talk.txt", loaders.Text())]:
    print("talk: hello from the stage")
    print("talk: a warning", file=sys.stderr)
    return "said\\n"


pipeline = Pipeline("chat")
pipeline.register(talk)
'''


def test_stage_output_shows_under_the_progress_display(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    root.mkdir()
    run_cli(root, "init")
    write(root / "chat" / "pipeline.py", PIPELINE)
    kernel = Kernel(root)
    try:
        cell = kernel.run("import pivot\nreport = pivot.repro(all=True)\nprint(report.ok)")
    finally:
        kernel.close()
    kinds = [kind for kind, _ in cell.messages]
    first_display = kinds.index("display_data")
    said = next(i for i, (kind, content) in enumerate(cell.messages)
                if kind == "stream" and "talk: hello from the stage" in content["text"])
    assert first_display < said, cell.messages
    assert any(kind == "stream" and content["name"] == "stderr" and "talk: a warning" in content["text"]
               for kind, content in cell.messages)
    assert cell.stdout.strip().endswith("True")
