"""`pivot repro --jsonl`: every line of a real run validates against the shipped JSON Schema."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from pivot.report.jsonl import JsonlSink, schema
from pivot.results import Event, Outcome, StageOutcome
from tests.fixtures.project import run_cli, write


def _lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _validate_all(events: list[dict[str, Any]]) -> None:
    validator = jsonschema.Draft202012Validator(schema())
    for event in events:
        validator.validate(event)


def test_schema_file_is_a_valid_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(schema())


def test_real_run_events_validate(project: Path) -> None:
    result = run_cli(project, "repro", "--all", "--jsonl")
    events = _lines(result.out)
    _validate_all(events)
    kinds = [e["event"] for e in events]
    assert kinds[0] == "schema" and events[0]["version"] == 1
    assert kinds[1] == "run_start" and kinds[-1] == "run_end"
    started = [e["stage"] for e in events if e["event"] == "stage_start"]
    ended = {e["stage"]: e for e in events if e["event"] == "stage_end"}
    assert started and set(started) <= set(ended)
    assert [e["index"] for e in events if e["event"] == "stage_start"] == list(range(1, len(started) + 1))
    end = events[-1]
    assert end["exit_code"] == 0 and end["counts"]["ran"] == len(started) == len(ended)
    assert end["run_id"] == events[1]["run_id"]
    # the same id is the one the history keeps
    shown = run_cli(project, "show", end["run_id"], "--json").json()
    assert shown["id"] == end["run_id"] and shown["exit_code"] == 0

    again = _lines(run_cli(project, "repro", "--all", "--jsonl").out)
    _validate_all(again)
    assert {e["status"] for e in again if e["event"] == "stage_end"} == {"skipped"}


def test_failing_run_and_user_error_validate(tmp_path: Path) -> None:
    root = tmp_path / "p"
    root.mkdir()
    run_cli(root, "init")
    write(root / "pipeline.py", """
        from pivot import Pipeline
        pipeline = Pipeline("p")
        pipeline.register_cmd("bad", cmd=["echo nope >&2; exit 3"], outs=["x.txt"])
    """)
    failed = run_cli(root, "repro", "--jsonl", check=False)
    events = _lines(failed.out)
    _validate_all(events)
    assert failed.code == 1 and events[-1]["exit_code"] == 1 and events[-1]["counts"]["failed"] == 1

    unknown = run_cli(root, "repro", "nosuchstage", "--jsonl", check=False)
    events = _lines(unknown.out)
    _validate_all(events)
    assert unknown.code == 2 and events[-1]["exit_code"] == 2 and "nosuchstage" in events[-1]["error"]


@pytest.mark.parametrize("event", [
    Event("output", "prep:clean", None, 0, 3, stream="stdout", line="hello"),
    Event("output", "prep:clean", None, 0, 3, stream="stderr", line=""),
    Event("notice", "", None, 0, 3, message="worker lost; prep:clean retried"),
    Event("notice", "prep:clean", None, 0, 3, message="retried"),
    Event("finish", "a", StageOutcome("a", Outcome.BLOCKED, "upstream failed"), 1, 3),
])
def test_output_and_notice_events_map_to_the_schema(event: Event) -> None:
    out = io.StringIO()
    JsonlSink(out)(event)
    (line,) = _lines(out.getvalue())
    _validate_all([line])
    if event.kind == "output":
        assert line == {"event": "stage_output", "stage": "prep:clean", "stream": event.stream, "line": event.line}
    elif event.kind == "notice":
        assert line["event"] == "notice" and line["message"] == event.message


def test_readme_documents_every_event() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    section = readme.split("**`pivot repro --jsonl`**", 1)[1].split("**`pivot history", 1)[0]
    kinds = [ref["$ref"].rsplit("/", 1)[-1] for ref in schema()["oneOf"]]
    assert kinds and all(f"| `{kind}` |" in section for kind in kinds)


def test_a_printing_stage_streams_stage_output_events(tmp_path: Path) -> None:
    """The executors' live lines reach the stream as stage_output, before the stage ends."""
    root = tmp_path / "p"
    root.mkdir()
    run_cli(root, "init")
    write(root / "pipeline.py", """
        from pivot import Pipeline
        pipeline = Pipeline("p")
        pipeline.register_cmd("talk", cmd=["echo hello-out; echo hello-err >&2; echo done > out.txt"], outs=["out.txt"])
    """)
    events = _lines(run_cli(root, "repro", "--jsonl").out)
    _validate_all(events)
    lines = [(e["stream"], e["line"]) for e in events if e["event"] == "stage_output"]
    assert ("stdout", "hello-out") in lines and ("stderr", "hello-err") in lines
    kinds = [e["event"] for e in events]
    first_line = kinds.index("stage_output")
    assert first_line < kinds.index("stage_end")
