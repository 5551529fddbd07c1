"""Explain never lies; incremental equals scratch; minimal. Real CLI, real processes."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.scenarios import SCENARIOS, check_explain_agrees, scratch_outputs
from tests.fixtures.project import outputs_snapshot, run_cli


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_scenario(reproduced_project: Path, tmp_path: Path, scenario: str) -> None:
    project = reproduced_project  # after one full repro --all (a copy: see the fixture)
    SCENARIOS[scenario](project)
    executed = check_explain_agrees(project)
    assert outputs_snapshot(project) == scratch_outputs(project, tmp_path)
    again = run_cli(project, "repro", "--all", "--json").json()
    assert again["ran"] == 0 and again["restored"] == 0, again
    if scenario == "identical_upstream_output":
        assert executed["prep:clean"] == "ran"
        assert executed["prep:split"] == "skipped"  # early cutoff
    if scenario == "revert_input":
        assert executed["prep:clean"] == "restored"
    if scenario == "params_edit":
        assert {k for k, v in executed.items() if v == "ran"} == {"model:train@large", "model:evaluate@large", "report:summary"}


def test_force_reruns_everything(project: Path) -> None:
    run_cli(project, "repro", "--all")
    executed = check_explain_agrees(project, "--force")
    assert set(executed.values()) <= {"ran", "restored", "skipped"}


def test_minimal_second_repro_runs_nothing(project: Path) -> None:
    first = run_cli(project, "repro", "--all", "--json").json()
    assert first["ran"] == 8
    second = run_cli(project, "repro", "--all", "--json").json()
    assert second["ran"] == 0 and second["skipped"] == 8


def test_edit_reruns_only_descendants(project: Path) -> None:
    run_cli(project, "repro", "--all")
    (project / "model" / "params.yaml").write_text("train@small:\n  weight: 7\n")
    report = run_cli(project, "repro", "--all", "--json").json()
    ran = {s["name"] for s in report["stages"] if s["status"] == "ran"}
    assert ran == {"model:train@small", "model:evaluate@small", "report:summary"}


@pytest.mark.parametrize("where", ["root", "sub"])
def test_reference_bug_tracked_change_with_old_run_cache_entry(project: Path, where: str) -> None:
    """The stale-skip report: sub-pipelines, a tracked file changed without `track --force`,
    an older run-cache entry present. The changed stage and all consumers must be fresh."""
    raw = project / "data" / "raw.txt"
    original = raw.read_text()
    run_cli(project, "repro", "--all")
    raw.write_text(original + "new agent\n")
    run_cli(project, "repro", "--all")  # creates run-cache entries for the edited content
    raw.write_text(original)  # back to the content the .pvt still records
    run_cli(project, "repro", "--all")
    raw.write_text(original + "new agent\n")  # changed again, .pvt not updated
    cwd = project if where == "root" else project / "model"
    status = run_cli(project, "status", "--all", "--explain", "--json", cwd=cwd).json()
    assert {t["path"]: t["status"] for t in status["tracked_files"]} == {"data/raw.txt": "modified"}
    report = run_cli(project, "repro", "--all", "--json", cwd=cwd).json()
    by_name = {s["name"]: s["status"] for s in report["stages"]}
    assert by_name["prep:clean"] == "restored"
    assert by_name["prep:split"] in ("ran", "restored")
    assert "new agent" in (project / "prep" / "clean.txt").read_text()
    assert "new" in (project / "prep" / "split" / "test.txt").read_text() + (project / "prep" / "split" / "train.txt").read_text()


def test_failure_leaves_nothing_and_keep_going(project: Path) -> None:
    run_cli(project, "repro", "--all")
    pipeline = project / "model" / "pipeline.py"
    pipeline.write_text(pipeline.read_text().replace('words = data.split()', 'words = data.split()\n    raise RuntimeError("boom")'))
    lock = project / ".pivot" / "stages" / "model" / "train@small.lock"
    before = lock.read_text()
    result = run_cli(project, "repro", "--all", "--json", "-j", "1", check=False)
    assert result.code == 1
    statuses = {s["name"]: s["status"] for s in result.json()["stages"]}
    assert statuses["model:train@small"] == "failed" or statuses["model:train@large"] == "failed"
    assert "not_started" in statuses.values() or "blocked" in statuses.values()
    assert lock.read_text() == before  # no lock written for the failure
    kept = run_cli(project, "repro", "--all", "--json", "-k", check=False).json()
    statuses = {s["name"]: s["status"] for s in kept["stages"]}
    assert statuses["model:train@small"] == "failed" and statuses["model:train@large"] == "failed"
    assert statuses["model:evaluate@small"] == "blocked"
    assert not (project / "model" / "model_small.json").exists()  # no partial outputs
    status = run_cli(project, "status", "--all", "--explain", "--json").json()
    assert {s["name"]: s["will_run"] for s in status["stages"]}["model:train@small"]


def test_user_errors_are_one_line_exit_2(project: Path) -> None:
    bad = project / "report" / "pipeline.py"
    bad.write_text(bad.read_text() + "\npipeline.register_cmd('x', cmd='true', outs=['../../outside.txt'])\n")
    result = run_cli(project, "status", check=False)
    assert result.code == 2
    assert len(result.err.strip().splitlines()) == 1
    assert "report/pipeline.py" in result.err and "Traceback" not in result.err


def test_cycle_is_reported(project: Path) -> None:
    (project / "cyc").mkdir()
    (project / "cyc" / "pipeline.py").write_text(
        "from pivot import Pipeline\npipeline = Pipeline('cyc')\n"
        "pipeline.register_cmd('a', cmd='cp b.txt a.txt', deps=['b.txt'], outs=['a.txt'])\n"
        "pipeline.register_cmd('b', cmd='cp a.txt b.txt', deps=['a.txt'], outs=['b.txt'])\n"
    )
    result = run_cli(project, "status", "--all", check=False)
    assert result.code == 2 and "cycle" in result.err and "cyc:a" in result.err


CLUSTER_SCENARIOS = ["code_edit", "params_edit", "identical_upstream_output", "revert_input", "delete_output"]
# An embedded LocalCluster starts in every CLI run (~2 s each): two scenarios there, every one on
# the separate scheduler and worker processes (the same executor code, a cluster already up).
LOCAL_CLUSTER_SCENARIOS = ["code_edit", "identical_upstream_output"]
WHERE = [*((s, "cluster-local") for s in LOCAL_CLUSTER_SCENARIOS),
         *((s, "scheduler-and-workers") for s in CLUSTER_SCENARIOS)]


@pytest.mark.cluster
@pytest.mark.parametrize(("scenario", "where"), WHERE, ids=[f"{s}-{w}" for s, w in WHERE])
def test_scenario_on_dask(reproduced_project: Path, tmp_path: Path, scenario: str, where: str,
                          request: pytest.FixtureRequest) -> None:
    """The same three properties with stages on Dask: a LocalCluster, and separate
    `dask scheduler` / `dask worker` processes. The project starts fully reproduced (by the
    local executor: a whole first run on a cluster is tests/executor/test_dask_run.py's), so
    the cluster runs the incremental repro after the edit and the no-op after it."""
    project = reproduced_project
    address = "local" if where == "cluster-local" else request.getfixturevalue("dask_procs").address
    cluster = ("--cluster", address)
    SCENARIOS[scenario](project)
    executed = check_explain_agrees(project, *cluster)
    assert outputs_snapshot(project) == scratch_outputs(project, tmp_path)
    again = run_cli(project, "repro", "--all", "--json", *cluster).json()
    assert again["ran"] == 0 and again["restored"] == 0, again
    if scenario == "identical_upstream_output":
        assert executed["prep:split"] == "skipped"
