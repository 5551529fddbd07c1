"""The load cache's params refresh (pivot.params_refresh): editing a value a shell stage
reads from a params file re-resolves it without importing any pipeline, and the plan still
equals a fresh load's; whatever a fresh load would report makes it load afresh instead."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pivot import loadcache
from tests.fixtures.project import make_project, run_cli, write
from tests.project.test_loadcache import _context, _plan, _same, copy_of

SHELL = """
from pivot import Pipeline

pipeline = Pipeline("shellp")
pipeline.register_cmd("scaled", cmd=["echo scaled > scaled.txt"], deps=["../data/raw.txt"],
                      outs=["scaled.txt"], params=["scaled.factor", "../shared.yaml:scale.x"])
pipeline.register_cmd("other", cmd=["echo other > other.txt"], deps=[], outs=["other.txt"],
                      params=["../shared.yaml:scale.y"])
"""
CACHE = Path(".pivot") / loadcache.CACHE_FILE


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = make_project(tmp_path_factory.mktemp("refresh") / "proj")
    write(root / "shellp" / "pipeline.py", SHELL)
    write(root / "shellp" / "params.yaml", "scaled:\n  factor: 1\n")
    write(root / "shared.yaml", "scale:\n  x: 10\n  y: 20\n")
    run_cli(root, "repro", "--all")
    (root / CACHE).unlink(missing_ok=True)
    return root


@pytest.fixture
def ran(template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return copy_of(template, tmp_path, monkeypatch)


def _bump(path: Path, key: str) -> None:
    text = path.read_text()
    old = next(line for line in text.splitlines() if line.strip().startswith(f"{key}:"))
    value = int(old.split(":")[1]) + 1
    path.write_text(text.replace(old, f"{old.split(':')[0]}: {value}"))


def _own(root: Path) -> None:
    _bump(root / "shellp" / "params.yaml", "factor")


def _shared(root: Path) -> None:
    _bump(root / "shared.yaml", "x")


def _shared_by_rename(root: Path) -> None:
    """An editor that writes a new file and renames it over the old one (new inode)."""
    path = root / "shared.yaml"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(path.read_text().replace("y: ", "y: 1"))
    os.replace(tmp, path)


REFRESHED = {"own": _own, "shared": _shared, "rename": _shared_by_rename}


def _no_import(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail if the next load imports any pipeline: a refresh must not."""
    import pivot.project.discovery as discovery

    def refuse(*_a: object, **_k: object) -> None:
        raise AssertionError("a pipeline was imported")

    monkeypatch.setattr(discovery, "load_file", refuse)


@pytest.mark.parametrize("edit", sorted(REFRESHED))
def test_a_shell_params_edit_is_refreshed_not_reloaded(ran: Path, edit: str, monkeypatch: pytest.MonkeyPatch) -> None:
    before, _ = _plan(ran, cached=True)  # stores the cache
    REFRESHED[edit](ran)
    with monkeypatch.context() as m:
        _no_import(m)
        cached, _ = _plan(ran, cached=True)
    fresh, _ = _plan(ran, cached=False)
    assert cached == fresh
    assert cached != before  # the edit changed what runs
    stages = {"own": {"shellp:scaled"}, "shared": {"shellp:scaled"}, "rename": {"shellp:other"}}[edit]
    assert {s for s, (action, _k, _r) in cached.items() if action != "skip"} == stages
    written = os.stat(ran / CACHE).st_mtime_ns
    assert _same(ran)  # the refreshed entry was stored: a plain hit, not rewritten
    assert os.stat(ran / CACHE).st_mtime_ns == written


def test_the_refreshed_run_and_status_agree_through_the_cli(ran: Path) -> None:
    run_cli(ran, "status", "--all")
    _shared(ran)
    explained = run_cli(ran, "status", "--all", "--explain", "--json").json()
    ran_stages = run_cli(ran, "repro", "--all", "--json").json()
    will = {s["name"] for s in explained["stages"] if s["will_run"]}
    assert will == {"shellp:scaled"}
    assert {s["name"] for s in ran_stages["stages"] if s["status"] == "ran"} == will
    assert not any(s["will_run"] for s in run_cli(ran, "status", "--all", "--explain", "--json").json()["stages"])


def test_a_python_stages_params_file_still_misses(ran: Path) -> None:
    _plan(ran, cached=True)
    write(ran / "model" / "params.yaml", "train@large:\n  weight: 9\n")
    assert not _same(ran)


def test_a_params_file_the_pipeline_reads_itself_misses(ran: Path) -> None:
    pipeline = ran / "shellp" / "pipeline.py"
    pipeline.write_text(pipeline.read_text() + "\nEXTRA = open(__file__.replace('pipeline.py', '../shared.yaml')).read()\n")
    _plan(ran, cached=True)
    assert _same(ran)
    _shared(ran)
    assert not _same(ran), "the pipeline read shared.yaml itself: only a fresh import sees what it does with it"


def test_a_key_removed_gives_the_fresh_loads_error(ran: Path) -> None:
    run_cli(ran, "status", "--all")
    write(ran / "shared.yaml", "scale:\n  y: 20\n")
    cached = run_cli(ran, "status", "--all", check=False)
    fresh = run_cli(ran, "status", "--all", check=False, env={loadcache.SWITCH_ENV: "0"})
    assert cached.code == fresh.code == 2
    assert cached.err == fresh.err and "scale.x" in cached.err


def test_a_typo_key_warns_as_a_fresh_load_does(ran: Path) -> None:
    run_cli(ran, "status", "--all")
    write(ran / "shellp" / "params.yaml", "scaled:\n  factor: 1\nscaeld:\n  factor: 2\n")
    first = run_cli(ran, "status", "--all")
    second = run_cli(ran, "status", "--all")
    assert "scaeld" in first.err and "did you mean 'scaled'" in first.err
    assert second.err == first.err  # a load that warns is never cached: it warns every time


def test_a_crafted_params_entry_is_harmless(ran: Path) -> None:
    _plan(ran, cached=True)
    data = loadcache.read_file(ran / CACHE)
    data["params"]["/etc/passwd"] = None
    data["params"][str(ran / ".." / "outside.yaml")] = [1, 2, 3, 4]
    loadcache.write_file(ran / CACHE, data)
    assert loadcache.read(ran / CACHE, _context(ran), ran.absolute()) is None  # a miss, no error
    _same(ran)  # plans equal; the cache is rewritten whole
    assert "/etc/passwd" not in loadcache.read_file(ran / CACHE)["params"]
    assert not (ran.parent / "outside.yaml").exists()


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from([*sorted(REFRESHED), "python_params", "none"]), min_size=1, max_size=5))
def test_edit_sequences_keep_plans_equal(ran: Path, steps: list[str]) -> None:
    for step in steps:
        if step == "python_params":
            path = ran / "model" / "params.yaml"
            write(path, f"train@large:\n  weight: {3 if '5' in (path.read_text() if path.exists() else '') else 5}\n")
        elif step != "none":
            REFRESHED[step](ran)
        _same(ran)
