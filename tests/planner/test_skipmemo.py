"""The skip memo (pivot.skipmemo) answers exactly as the plain content check (DESIGN rule 3):
after every kind of edit, a plan that recalls earlier skips equals a plan that re-hashes and
re-parses everything, and a stage is only recalled when nothing it compared has changed."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest

from pivot.planner.decision import Action
from pivot.session import Session, open_session
from pivot.skipmemo import PREFIX
from pivot.state import LmdbState, StateNoop
from pivot.workspace import Workspace
from tests.e2e.scenarios import SCENARIOS
from tests.fixtures.project import run_cli

GRANULARITY = 50_000_000  # 50 ms: coarser than the kernel's timestamp tick, short for a test
ENV = {"PIVOT_MTIME_GRANULARITY_NS": str(GRANULARITY)}


def _settle() -> None:
    time.sleep(2 * GRANULARITY / 1e9)  # what was just written is older than one granularity


def _rows(s: Session) -> dict[str, tuple[Any, ...]]:
    plan = s.static_plan(s.scope(all_pipelines=True))
    return {d.stage: (d.action, d.stage_key, d.reason_text(), dict(d.outs), dict(d.dep_hashes)) for d in plan}


def _with_memo(root: Path) -> tuple[dict[str, tuple[Any, ...]], int]:
    """The plan as status makes it (load cache, memo), and how many stages it recalled."""
    s = open_session(root, root, cached=True)
    memo = s.ws.memo
    recalled = 0
    original = memo.recall

    def counting(stage: str, definition: str) -> Any:
        nonlocal recalled
        found = original(stage, definition)
        recalled += found is not None
        return found

    memo.recall = counting  # type: ignore[method-assign]
    try:
        return _rows(s), recalled
    finally:
        s.close()


def _plain(root: Path) -> dict[str, tuple[Any, ...]]:
    s = open_session(root, root)
    s.ws = Workspace(root, state=StateNoop())  # no stat cache, no parsed locks, no memo entries
    try:
        return _rows(s)
    finally:
        s.close()


def _memo_keys(root: Path, prefix: str = PREFIX) -> set[str]:
    state = LmdbState.open(root / ".pivot" / "state.lmdb")  # the process's one handle on it
    try:
        with state._env.begin() as txn:
            return {k.decode() for k, _ in txn.cursor() if k.startswith(prefix.encode())}
    finally:
        state.close()


def repro_and_settle(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Everything up to date, and old enough (one granularity) to be remembered."""
    monkeypatch.setenv("PIVOT_MTIME_GRANULARITY_NS", str(GRANULARITY))
    run_cli(project, "repro", "--all", env=ENV)
    _settle()


def _warm(project: Path, monkeypatch: pytest.MonkeyPatch) -> int:
    repro_and_settle(project, monkeypatch)
    learned, recalled = _with_memo(project)  # proves every skip in full and remembers it
    assert recalled == 0 and learned == _plain(project)
    assert all(row[0] == Action.SKIP for row in learned.values())
    return len(learned)


def test_a_noop_recalls_every_stage(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    n = _warm(project, monkeypatch)
    assert len(_memo_keys(project)) == n - _folder_stages(project)
    rows, recalled = _with_memo(project)
    assert rows == _plain(project)
    assert recalled == n - _folder_stages(project)


def _folder_stages(root: Path) -> int:
    """Stages with a folder output or dependency: always checked in full."""
    s = open_session(root, root)
    try:
        return sum(1 for spec in s.graph.stages.values()
                   if any(o.path.endswith("/") for o in spec.outs) or any(d.path.endswith("/") for d in spec.deps))
    finally:
        s.close()


# Every edit of tests/e2e/scenarios.py: test_planshot.py::test_every_edit_is_a_miss_or_the_plain_plan
# checks this memo and the remembered plan after one shared warm-up.


def test_same_size_same_mtime_output_edit_is_seen(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The classic stale skip: bytes replaced, size and mtime put back. The inode's change
    time still moves, and the memo compares it as the stat cache does."""
    _warm(project, monkeypatch)
    target = project / "prep" / "clean.txt"
    st = target.stat()
    target.chmod(0o644)
    data = target.read_bytes()
    target.write_bytes(bytes([data[0] ^ 1]) + data[1:])
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))
    rows, _ = _with_memo(project)
    assert rows == _plain(project)
    assert rows["prep:clean"][0] != Action.SKIP


def test_a_racy_file_is_not_remembered(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Planned within one granularity of an output's last write: proved, but not remembered."""
    monkeypatch.setenv("PIVOT_MTIME_GRANULARITY_NS", str(3_600 * 10**9))  # everything is "just written"
    run_cli(project, "repro", "--all")
    rows, _ = _with_memo(project)
    assert all(row[0] == Action.SKIP for row in rows.values())
    assert _memo_keys(project) == set()


def test_a_damaged_entry_is_only_a_lost_speed_up(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _warm(project, monkeypatch)
    state = LmdbState.open(project / ".pivot" / "state.lmdb")
    try:
        state.put_many({key: b'["x", 1, [1], {}, 7, null]' if "clean" in key else b"\xff not json"
                        for key in _memo_keys(project)})
    finally:
        state.close()
    rows, recalled = _with_memo(project)
    assert rows == _plain(project) and recalled == 0


def test_repro_after_an_input_edit_runs_what_changed_and_recalls_the_rest(
        project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _warm(project, monkeypatch)
    SCENARIOS["tracked_edit_without_track"](project)
    run_cli(project, "repro", "--all", env=ENV)
    assert _with_memo(project)[0] == _plain(project)
    second = run_cli(project, "repro", "--all", "--json", env=ENV).json()
    assert {o["status"] for o in second["stages"]} == {"skipped"}, second


def test_a_lock_file_from_elsewhere_is_seen(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A lock file replaced (a git checkout of another commit's) while the workspace stays:
    the recorded lock signature no longer matches, so the key is compared in full."""
    _warm(project, monkeypatch)
    lock = project / ".pivot" / "stages" / "prep" / "clean.lock"
    text = lock.read_text()
    key = next(line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("stage_key:"))
    lock.write_text(text.replace(key, "0" * len(key)))
    rows, _ = _with_memo(project)
    assert rows == _plain(project)
    assert rows["prep:clean"][0] != Action.SKIP


def test_a_shell_params_value_of_another_json_type_is_seen(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """1 -> 1.0 in a shell stage's params file: equal in Python, not in a stage key. The load
    cache refreshes the value without importing, and the definition digest must move with it."""
    from tests.fixtures.project import write
    from tests.project.test_params_refresh import SHELL

    root = project
    write(root / "shellp" / "pipeline.py", SHELL)
    write(root / "shellp" / "params.yaml", "scaled:\n  factor: 1\n")
    write(root / "shared.yaml", "scale:\n  x: 10\n  y: 20\n")
    _warm(root, monkeypatch)
    _settle()
    _with_memo(root)  # the load cache stored (racily clean now) and every skip remembered
    write(root / "shellp" / "params.yaml", "scaled:\n  factor: 1.0\n")
    rows, recalled = _with_memo(root)
    assert rows == _plain(root)
    assert rows["shellp:scaled"][0] != Action.SKIP and recalled > 0
