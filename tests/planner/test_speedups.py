"""DESIGN rule 3: every speed-up (stat cache, parsed-lock cache) gives the same plan
as the plain content check that re-hashes and re-parses everything."""

from __future__ import annotations

from pathlib import Path

import pytest

from pivot.session import open_session
from pivot.state import StateNoop
from pivot.workspace import Workspace
from tests.e2e.scenarios import SCENARIOS
from tests.fixtures.project import run_cli


def _plans(root: Path) -> tuple[dict[str, str], dict[str, str]]:
    fast = open_session(root, root)
    scope = fast.scope(all_pipelines=True)
    with_cache = {d.stage: f"{d.action}:{d.stage_key}:{d.reason_text()}" for d in fast.static_plan(scope)}
    fast.ws.close()
    plain = open_session(root, root)
    plain.ws = Workspace(root, state=StateNoop())
    without = {d.stage: f"{d.action}:{d.stage_key}:{d.reason_text()}" for d in plain.static_plan(scope)}
    return with_cache, without


@pytest.mark.parametrize("scenario", ["code_edit", "dep_edit", "modify_output", "tracked_edit_without_track"])
def test_cached_plan_equals_plain_content_plan(project: Path, scenario: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIVOT_MTIME_GRANULARITY_NS", "0")  # trust every entry: the harshest case
    run_cli(project, "repro", "--all", env={"PIVOT_MTIME_GRANULARITY_NS": "0"})
    first, plain = _plans(project)  # warms both caches
    assert first == plain
    SCENARIOS[scenario](project)
    with_cache, without = _plans(project)
    assert with_cache == without
