"""A remembered whole plan (pivot.planshot) answers exactly as the plain content check (DESIGN
rule 3): after every kind of edit it is either not used or equal to a plan that re-hashes and
re-parses everything; a no-op repro served from it records, sweeps and ignores as a planned one."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from pivot.planner.decision import Action
from pivot.planshot import Request
from pivot.session import Session, open_session
from pivot.state import LmdbState, StateNoop
from pivot.workspace import Workspace
from tests.e2e.scenarios import SCENARIOS
from tests.fixtures.project import run_cli
from tests.planner.test_skipmemo import ENV, _memo_keys, _settle, _with_memo, repro_and_settle
from tests.planner.test_skipmemo import _plain as _plain_all

# Every stage upstream of these is file-based (no folder output or dependency, which are always
# checked in full), so a no-op recalls the whole scope and the plan is remembered.
TARGETS = ("model:evaluate@small", "model:evaluate@large")
REQUEST = Request(TARGETS, False, "")


def _rows(plan: Any) -> dict[str, tuple[Any, ...]]:
    return {d.stage: (d.action, d.stage_key, d.reason_text(), dict(d.outs), dict(d.dep_hashes)) for d in plan}


def _planned(root: Path) -> dict[str, tuple[Any, ...]]:
    """Status's plan through the skip memo; remembered whole when every stage was recalled."""
    s = open_session(root, root, cached=True)
    try:
        return _rows(s.static_plan(s.scope(list(TARGETS)), request=REQUEST))
    finally:
        s.close()


def _remembered(root: Path, request: Request = REQUEST) -> dict[str, tuple[Any, ...]] | None:
    s = open_session(root, root, cached=True)
    try:
        shot = s.remembered(request)
        return None if shot is None else _rows(shot.plan)
    finally:
        s.close()


def _plain(root: Path) -> dict[str, tuple[Any, ...]]:
    s: Session = open_session(root, root)
    s.ws = Workspace(root, state=StateNoop())  # no stat cache, no parsed locks, no memo, no shots
    try:
        return _rows(s.static_plan(s.scope(list(TARGETS))))
    finally:
        s.close()


def _warm(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repro_and_settle(project, monkeypatch)
    _planned(project)  # learns every skip
    _planned(project)  # recalls every one: remembers the whole plan
    assert _remembered(project) == _plain(project)
    assert all(row[0] == Action.SKIP for row in _plain(project).values())


def test_a_noop_is_remembered_whole(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _warm(project, monkeypatch)
    assert len(_remembered(project) or {}) == 6
    # Another request (another scope) is another plan: not taken from this one.
    assert _remembered(project, Request(("model:train@small",), False, "")) is None
    assert _remembered(project, Request(TARGETS, False, "model")) is None
    assert _remembered(project, Request((), True, "")) is None  # --all has folder stages: never whole


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_every_edit_is_a_miss_or_the_plain_plan(project: Path, scenario: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """After every kind of edit, the skip memo plans every stage as the plain check does, and the
    remembered whole plan is either not used or equal to the plain one; after the next repro both
    are learnt again. One warm-up and one repro serve both checks."""
    repro_and_settle(project, monkeypatch)
    learned, recalled = _with_memo(project)  # proves every skip in full and remembers it
    assert recalled == 0 and learned == _plain_all(project)
    assert all(row[0] == Action.SKIP for row in learned.values())
    _planned(project)  # recalls every stage of the targets: the whole plan is remembered
    assert _remembered(project) == _plain(project)

    SCENARIOS[scenario](project)
    rows, _ = _with_memo(project)
    assert rows == _plain_all(project), scenario
    assert any(row[0] != Action.SKIP for row in rows.values()) or scenario == "revert_input"
    plain = _plain(project)
    shot = _remembered(project)
    assert shot is None or shot == plain, scenario
    if any(row[0] != Action.SKIP for row in plain.values()):
        assert shot is None, scenario

    run_cli(project, "repro", "--all", env=ENV)
    _settle()
    _with_memo(project)  # learns the new skips
    rows, recalled = _with_memo(project)
    assert rows == _plain_all(project) and recalled > 0
    assert all(row[0] == Action.SKIP for row in rows.values())
    _planned(project)
    assert _remembered(project) == _plain(project), scenario


def test_same_size_same_mtime_output_edit_is_seen(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _warm(project, monkeypatch)
    target = project / "model" / "model_large.json"
    before = os.stat(target)
    target.write_bytes(bytes(b ^ 1 for b in target.read_bytes()))  # same size
    os.utime(target, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert _remembered(project) is None
    assert _plain(project)["model:train@large"][0] != Action.SKIP


def test_a_lock_file_swapped_in_is_seen(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _warm(project, monkeypatch)
    lock = project / ".pivot" / "stages" / "model" / "train@small.lock"
    lock.write_bytes(lock.read_bytes())  # same bytes, new file times: the signature moves
    assert _remembered(project) is None


@pytest.mark.parametrize("damage", ["garbage", "other_load", "escape", "sweep_escape", "ignore_escape", "dep_hash"])
def test_a_damaged_or_hostile_record_is_a_silent_miss(project: Path, monkeypatch: pytest.MonkeyPatch,
                                                      damage: str) -> None:
    _warm(project, monkeypatch)
    state = LmdbState.open(project / ".pivot" / "state.lmdb")
    try:
        with state._env.begin() as txn:
            (key, raw), = [(k, bytes(v)) for k, v in txn.cursor() if k.startswith(b"plan:")]
        record = json.loads(raw)
        if damage == "garbage":
            changed = b"\x00not json"
        else:
            if damage == "other_load":
                record[0] = "0" * 32
            elif damage == "escape":
                record[1][0][0] = "../../outside"
            elif damage == "dep_hash":  # a consumer recorded with another hash than its producer's output
                consumer = next(e for e in record[1] if e[0] == "prep:split")
                consumer[3]["prep/clean.txt"] = "xxh3_128:" + "0" * 32
            elif damage == "sweep_escape":
                record[2].append("../..")
            else:
                record[3] = {"../elsewhere": ["/x"]}
            changed = json.dumps(record).encode()
        state.put_many({key.decode(): changed})
    finally:
        state.close()
    assert _remembered(project) is None
    assert _planned(project) == _plain(project)


def _drop(root: Path, prefix: bytes) -> None:
    state = LmdbState.open(root / ".pivot" / "state.lmdb")
    try:
        with state._env.begin(write=True) as txn:
            for k in [bytes(k) for k, _ in txn.cursor() if k.startswith(prefix)]:
                txn.delete(k)
    finally:
        state.close()


def test_status_and_repro_from_a_remembered_plan(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Through the CLI: the same answers as without any cache, and a no-op repro from the record
    still writes its history entry, sweeps a killed run's temp files and restores .gitignore."""
    subprocess.run(["git", "init", "-q", str(project)], check=True)
    repro_and_settle(project, monkeypatch)  # git: the .gitignore blocks now exist
    run_cli(project, "status", *TARGETS, env=ENV)  # learns every skip
    run_cli(project, "status", *TARGETS, env=ENV)  # recalls all: remembered whole
    assert len(_memo_keys(project, "plan:")) == 1
    off = {**ENV, "PIVOT_LOAD_CACHE": "0"}
    assert (run_cli(project, "status", *TARGETS, "--json", env=ENV).json()
            == run_cli(project, "status", *TARGETS, "--json", env=off).json())

    _drop(project, b"skip:")  # from here a planned no-op would learn them again; one from the record does not
    leftover = project / "model" / ".model_small.json.pivot-0123456789ab"
    leftover.write_text("half-written")
    ignore = project / "model" / ".gitignore"
    ignore.unlink()
    runs = len(run_cli(project, "history", "--json").json()["runs"])
    report = run_cli(project, "repro", *TARGETS, "--json", env=ENV).json()
    assert not _memo_keys(project, "skip:")  # served from the record
    assert [s["status"] for s in report["stages"]] == ["skipped"] * 6
    assert not leftover.exists()
    assert "/model_small.json" in ignore.read_text()
    assert len(run_cli(project, "history", "--json").json()["runs"]) == runs + 1
    planned = run_cli(project, "repro", *TARGETS, "--json", env=off).json()
    assert report["stages"] == planned["stages"]


def test_a_body_refused_field_by_field_names_no_load(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A body whose digest matches but whose stages are refused (a hostile path) is loaded afresh:
    its digest must then key nothing, or a record could be filed under a body no plan came from."""
    from pivot import loadcache

    _warm(project, monkeypatch)
    file = project / ".pivot" / loadcache.CACHE_FILE
    data = loadcache.read_file(file)
    data["specs"][0]["outs"][0][0] = "../../outside.txt"
    loadcache.write_file(file, data)  # the header's digest matches the tampered body
    pending = loadcache.Pending(project)
    assert pending.digest is not None
    assert not pending.get().from_cache
    assert pending.digest is None
