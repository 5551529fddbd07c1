"""The load cache (issue 18) is a pure speed-up (DESIGN rule 3): whatever was edited, a plan
built from a cached load equals the plan from a fresh import of every pipeline.py."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pivot import loadcache
from pivot.loadcache_codec import stripped
from pivot.session import open_session
from tests.fixtures.project import make_project, run_cli, write

Plan = dict[str, tuple[str, str | None, str]]


def _plan(root: Path, *, cached: bool) -> tuple[Plan, bool]:
    s = open_session(root, root, cached=cached)
    try:
        scope = s.scope(all_pipelines=True)
        plan = {d.stage: (str(d.action), d.stage_key, d.reason_text()) for d in s.static_plan(scope)}
        return plan, bool(s.manifests)
    finally:
        s.close()


def _same(root: Path) -> bool:
    """Plans agree; returns whether the cached one came from the cache."""
    hit = loadcache.read(root / ".pivot" / loadcache.CACHE_FILE, _context(root), root.absolute()) is not None
    cached, _ = _plan(root, cached=True)
    fresh, _ = _plan(root, cached=False)
    assert cached == fresh
    loaded = loadcache.load(root)  # the specs themselves, not only the decisions
    from pivot.project.discovery import load_pipelines

    assert loaded.specs == [stripped(s) for s in load_pipelines(root)]
    return hit


def _context(root: Path) -> dict[str, object]:
    from pivot.project.discovery import discover

    return loadcache._context(root, [p.relative_to(root).as_posix() for p in discover(root)])


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = make_project(tmp_path_factory.mktemp("loadcache") / "proj")
    run_cli(root, "repro", "--all")
    (root / ".pivot" / loadcache.CACHE_FILE).unlink(missing_ok=True)
    return root


@pytest.fixture
def ran(template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return copy_of(template, tmp_path, monkeypatch)


def copy_of(template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of a run project (new inodes and ctimes: nothing cached carries over)."""
    monkeypatch.setenv("PIVOT_MTIME_GRANULARITY_NS", "0")  # store every load: the harshest case
    root = tmp_path / "proj"
    shutil.copytree(template, root, symlinks=True)
    return root  # the cache is written by each test's first load (pytest's own env differs per phase)


def _edit_pipeline(root: Path) -> None:
    path = root / "model" / "pipeline.py"
    path.write_text(path.read_text().replace("len(words) * params.weight", "len(words) * params.weight + 1"))


def _edit_helper(root: Path) -> None:
    path = root / "prep" / "helpers.py"
    path.write_text(path.read_text().replace('" ".join(line.split())', '" ".join(line.split()).strip(".")'))


def _add_pipeline(root: Path) -> None:
    write(root / "extra" / "pipeline.py", """
        from pivot import Pipeline
        pipeline = Pipeline("extra")
        pipeline.register_cmd("echo", cmd=["echo hi > hi.txt"], deps=[], outs=["hi.txt"])
    """)


def _delete_pipeline(root: Path) -> None:
    shutil.rmtree(root / "report", ignore_errors=True)


def _params(root: Path) -> None:
    path = root / "model" / "params.yaml"
    weight = 5 if not path.exists() or "5" not in path.read_text() else 7
    write(path, f"train@large:\n  weight: {weight}\n")


def _touch(root: Path) -> None:
    path = root / "prep" / "pipeline.py"
    path.write_text(path.read_text())


def _same_size_same_mtime(root: Path) -> None:
    """The racy case: same size, mtime set back to the old value (only ctime tells)."""
    path = root / "prep" / "helpers.py"
    st = os.stat(path)
    text = path.read_text()
    flipped = text.replace("line.split()", "line.strip()") if "line.split()" in text else text.replace("line.strip()", "line.split()")
    assert len(flipped) == len(text) and flipped != text
    path.write_text(flipped)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert os.stat(path).st_mtime_ns == st.st_mtime_ns and os.stat(path).st_size == st.st_size


EDITS = {"pipeline": _edit_pipeline, "helper": _edit_helper, "add": _add_pipeline, "delete": _delete_pipeline,
         "params": _params, "touch": _touch, "racy": _same_size_same_mtime}


def test_unchanged_project_is_a_hit(ran: Path) -> None:
    assert not _same(ran)
    assert _same(ran)


@pytest.mark.parametrize("edit", sorted(EDITS))
def test_each_edit_misses_and_plans_agree(ran: Path, edit: str) -> None:
    _plan(ran, cached=True)
    assert _same(ran)
    EDITS[edit](ran)
    assert not _same(ran), f"{edit}: the cache must not be used after this edit"
    assert _same(ran)  # rebuilt, then used


def test_helper_edit_seen_by_status_cli(ran: Path) -> None:
    file = ran / ".pivot" / loadcache.CACHE_FILE
    run_cli(ran, "status", "--all", "--json")
    written = os.stat(file).st_mtime_ns
    run_cli(ran, "status", "--all", "--json")
    assert os.stat(file).st_mtime_ns == written  # a hit: not rewritten
    _same_size_same_mtime(ran)
    out = run_cli(ran, "status", "--all", "--json", check=False).out
    print(out)
    assert "prep:clean" in out and "code" in out.lower()


@pytest.mark.parametrize("damage", ["garbage", "truncated", "shape", "hostile_path", "extra_stage"])
def test_damaged_cache_is_a_silent_miss(ran: Path, damage: str) -> None:
    _plan(ran, cached=True)
    file = ran / ".pivot" / loadcache.CACHE_FILE
    data = loadcache.read_file(file)
    if damage == "garbage":
        file.write_bytes(b"\x00\xff not json")
    elif damage == "truncated":
        file.write_text(file.read_text()[:200])
    elif damage == "shape":
        data["specs"][0]["deps"] = {"not": "a list"}
        loadcache.write_file(file, data)
    elif damage == "hostile_path":
        data["specs"][0]["outs"][0][0] = "../../outside.txt"
        loadcache.write_file(file, data)
    else:
        data["specs"].append(dict(data["specs"][0], identity="ghost"))
        loadcache.write_file(file, data)
    assert not _same(ran)
    assert _same(ran)  # rewritten whole
    result = run_cli(ran, "status", "--all")
    assert "ghost" not in result.out + result.err


def test_recent_files_are_not_cached(ran: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With the default 2 s granularity, a load right after an edit stores nothing."""
    monkeypatch.setenv("PIVOT_MTIME_GRANULARITY_NS", str(3_600 * 10**9))
    (ran / ".pivot" / loadcache.CACHE_FILE).unlink(missing_ok=True)
    _plan(ran, cached=True)
    assert not (ran / ".pivot" / loadcache.CACHE_FILE).exists()


def test_switch_off(ran: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (ran / ".pivot" / loadcache.CACHE_FILE).unlink(missing_ok=True)
    monkeypatch.setenv(loadcache.SWITCH_ENV, "0")
    assert _plan(ran, cached=True)[0] == _plan(ran, cached=False)[0]
    assert not (ran / ".pivot" / loadcache.CACHE_FILE).exists()


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from([*sorted(EDITS), "none"]), min_size=1, max_size=5))
def test_edit_sequences_keep_plans_equal(ran: Path, steps: list[str]) -> None:
    for step in steps:
        if step != "none":
            EDITS[step](ran)
        _same(ran)


def test_name_rule_matches_registration() -> None:
    from pivot.loadcache_codec import NAME
    from pivot.project.pipeline import _NAME

    assert NAME.pattern == _NAME.pattern


@pytest.mark.parametrize("field,value", [("identity", "../../../escape"), ("name", "../x"),
                                         ("pipeline_dir", "../up"), ("pipeline_file", "other/pipeline.py")])
def test_crafted_identity_is_a_miss(ran: Path, field: str, value: str) -> None:
    """An identity names a lock file: one not derived from folder and name is refused."""
    _plan(ran, cached=True)
    file = ran / ".pivot" / loadcache.CACHE_FILE
    data = loadcache.read_file(file)
    data["specs"][0][field] = value
    loadcache.write_file(file, data)
    assert not _same(ran)


def test_repro_runs_python_and_shell_stages_from_a_cached_load(ran: Path) -> None:
    """Cached specs carry no functions: the stages that must run still run (workers load
    them), with the same outputs as a run from a fresh load."""
    file = ran / ".pivot" / loadcache.CACHE_FILE
    run_cli(ran, "status", "--all")
    written = os.stat(file).st_mtime_ns
    raw = ran / "data" / "raw.txt"
    raw.write_text(raw.read_text() + "lambda mu\n")
    result = run_cli(ran, "repro", "--all", "--json").json()
    assert os.stat(file).st_mtime_ns == written  # the run planned from the cache
    assert '"ran"' in json.dumps(result)
    assert "lambda mu" in (ran / "prep" / "clean.txt").read_text()
    again = run_cli(ran, "status", "--all", "--json").out
    assert _plan(ran, cached=False)[0] == _plan(ran, cached=True)[0]
    assert "will_run\": true" not in again


def test_a_project_from_before_the_cache_ignores_it_in_git(ran: Path) -> None:
    ignore = ran / ".pivot" / ".gitignore"
    ignore.write_text("".join(f"{line}\n" for line in ignore.read_text().splitlines() if "load-cache" not in line))
    _same(ran)
    _same(ran)
    lines = ignore.read_text().splitlines()
    assert lines.count(f"/{loadcache.CACHE_FILE}") == 1, lines


def test_a_live_dask_client_does_not_defeat_the_cache(ran: Path, dask_client: object) -> None:
    """distributed's monitor thread reads /proc every few hundred ms in a process with a client
    (a notebook kernel): those reads are not the load's, or every load would be a miss."""
    assert not _same(ran)
    assert _same(ran)
