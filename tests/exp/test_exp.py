"""Experiments: a grid runs shared upstream stages once, leaves the workspace alone,
and its results can be shown, applied and re-run from the run cache.

Real git repositories, real subprocess CLI runs, a real LocalCluster.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import shutil
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.project import outputs_snapshot, run_cli, write

PIPELINE = '''
from typing import Annotated
from pivot import Pipeline, Dep, Out, Metric, StageParams, loaders


class TrainParams(StageParams):
    lr: float = 0.1
    depth: int = 3


def prepare(raw: Annotated[str, Dep("data.txt", loaders.Text())]) -> Annotated[str, Out("prepared.txt", loaders.Text())]:
    return raw.upper()


def featurize(text: Annotated[str, Dep("prepared.txt", loaders.Text())]) -> Annotated[dict, Out("features.json", loaders.JSON())]:
    return {"n": len(text)}


def train(features: Annotated[dict, Dep("features.json", loaders.JSON())],
          params: TrainParams) -> Annotated[dict, Out("model.json", loaders.JSON())]:
    return {"w": features["n"] * params.lr + params.depth}


def evaluate(model: Annotated[dict, Dep("model.json", loaders.JSON())]) -> Annotated[dict, Metric("metrics.json")]:
    return {"score": round(model["w"] / 10, 4), "detail": {"w": model["w"]}}


pipeline = Pipeline("exp")
for stage in (prepare, featurize, train, evaluate):
    pipeline.register(stage)
'''

GRID = ["-S", "train.lr=0.01,0.1,1", "-S", "train.depth=3,5"]


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


def make_repo(root: Path) -> Path:
    root.mkdir(parents=True)
    _git(root, "init", "-q")
    _git(root, "config", "user.email", "t@example.com")
    _git(root, "config", "user.name", "t")
    run_cli(root, "init")
    write(root / "pipeline.py", PIPELINE)
    write(root / "params.yaml", "# tuned by hand\ntrain:\n  lr: 0.1\n  depth: 3\n")
    (root / "data.txt").write_text("some words to learn from\n")
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "project")
    return root


def _everything(root: Path) -> dict[str, bytes]:
    """The user's files and Pivot's lock files: all an experiment must leave alone."""
    snap = outputs_snapshot(root)
    for lock in sorted((root / ".pivot" / "stages").rglob("*.lock")):
        snap[lock.relative_to(root).as_posix()] = lock.read_bytes()
    return snap


def _stage_runs(experiments: list[dict[str, Any]]) -> Counter[str]:
    return Counter(stage for e in experiments for stage in e["ran"])


def test_grid_runs_shared_stages_once_and_leaves_the_workspace(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "p")
    before = _everything(root)
    out = run_cli(root, "exp", "run", *GRID, "--json").json()["experiments"]
    assert len(out) == 6 and all(e["status"] == "success" for e in out)
    runs = _stage_runs(out)
    assert runs["prepare"] == 1 and runs["featurize"] == 1  # shared by all six: computed once
    assert runs["train"] == 6 and runs["evaluate"] == 6
    assert _everything(root) == before  # byte for byte, locks included

    shown = run_cli(root, "exp", "show", "--json").json()["experiments"]
    exps = [e for e in shown if e["name"] != "workspace"]
    assert len(exps) == 6
    assert len({(e["params"]["train.lr"], e["params"]["train.depth"]) for e in exps}) == 6
    for e in exps:
        expected = round(((len("some words to learn from\n")) * e["params"]["train.lr"] + e["params"]["train.depth"]) / 10, 4)
        assert e["metrics"]["metrics.json:score"] == expected
    md = run_cli(root, "exp", "show", "--md", "--only-changed").out.splitlines()
    assert md[0].startswith("| name |") and set(md[1]) <= {"|", "-"} and len(md) == 2 + 7
    table = list(csv.reader(io.StringIO(run_cli(root, "exp", "show", "--csv", "--only-changed").out)))
    assert table[0][0] == "name" and len(table) == 1 + 7 and len({len(r) for r in table}) == 1
    _compare_two(root, exps)

    again = run_cli(root, "exp", "run", *GRID, "--json").json()["experiments"]
    assert sum(_stage_runs(again).values()) == 0  # everything restored from the run cache


def _compare_two(root: Path, exps: list[dict[str, Any]]) -> None:
    """`exp diff A B` (and `metrics diff`/`params diff` given experiment names) shows exactly what
    differs between two experiments' records: here lr, and the metrics it moved."""
    by = {(e["params"]["train.lr"], e["params"]["train.depth"]): e for e in exps}
    a, b = by[(0.01, 3)], by[(1, 3)]
    both = run_cli(root, "exp", "diff", a["name"], b["name"], "--json").json()
    assert (both["a"], both["b"]) == (a["name"], b["name"])
    assert [(c["stage"], c["key"], c["old"], c["new"]) for c in both["params"]] == [("train", "lr", 0.01, 1)]
    metrics = {c["key"]: (c["old"], c["new"]) for c in both["metrics"]}
    assert metrics["score"] == (a["metrics"]["metrics.json:score"], b["metrics"]["metrics.json:score"])
    assert set(metrics) == {"score", "detail.w"}
    assert run_cli(root, "metrics", "diff", f"exp:{a['name']}", b["name"], "--json").json()["diff"] == both["metrics"]
    assert run_cli(root, "params", "diff", a["name"], b["name"], "--json").json()["diff"] == both["params"]
    run_cli(root, "get", "--rev", b["name"], "metrics.json", "-o", str(root.parent / "b.json"))
    assert json.loads((root.parent / "b.json").read_text())["score"] == b["metrics"]["metrics.json:score"]
    text = run_cli(root, "exp", "diff", a["name"], a["name"]).out
    assert "Params diff" in text and "no changes" in text


def test_apply_then_repro_runs_nothing_and_equals_a_plain_repro(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "p")
    out = run_cli(root, "exp", "run", "-S", "train.lr=0.5", "-n", "half", "--json").json()["experiments"]
    assert [e["name"] for e in out] == ["half"]
    run_cli(root, "exp", "apply", "half")
    assert "# tuned by hand" in (root / "params.yaml").read_text()  # comments kept
    report = run_cli(root, "repro", "--json").json()
    assert report["ran"] == 0 and report["restored"] == 0
    assert {s["status"] for s in report["stages"]} == {"skipped"}

    plain = make_repo(tmp_path / "plain")
    write(plain / "params.yaml", "train:\n  lr: 0.5\n  depth: 3\n")
    run_cli(plain, "repro")
    ours = {k: v for k, v in outputs_snapshot(root).items() if k != "params.yaml" and not k.startswith(".git/")}
    theirs = {k: v for k, v in outputs_snapshot(plain).items() if k != "params.yaml" and not k.startswith(".git/")}
    assert ours == theirs

    run_cli(root, "exp", "remove", "half")
    assert [e["name"] for e in run_cli(root, "exp", "show", "--json").json()["experiments"]] == ["workspace"]


@pytest.mark.cluster
def test_the_grid_on_a_cluster_gives_the_same_records(tmp_path: Path, dask_client: Any) -> None:
    import pivot

    local_root = make_repo(tmp_path / "local")
    local = {o.record.name: o.record for o in pivot.exp_run(GRID[1::2], name="g", root=local_root, cwd=local_root)}
    cluster_root = make_repo(tmp_path / "cluster")
    on_cluster = pivot.exp_run(GRID[1::2], name="g", cluster=dask_client, root=cluster_root, cwd=cluster_root)
    assert Counter(s for o in on_cluster for s in o.record.ran) == Counter(s for r in local.values() for s in r.ran)
    for o in on_cluster:
        mine = local[o.record.name]
        assert (o.record.params, o.record.metrics, o.record.status) == (mine.params, mine.metrics, mine.status)


def test_save_records_the_workspace_and_apply_brings_it_back(tmp_path: Path) -> None:
    """`exp save` (dvc exp save): the workspace's up-to-date results become an experiment whose
    params are what differs from HEAD; stale stages are refused; apply restores it exactly."""
    root = make_repo(tmp_path / "p")
    write(root / "params.yaml", "# tuned by hand\ntrain:\n  lr: 0.7\n  depth: 3\n")
    stale = run_cli(root, "exp", "save", "-n", "manual", check=False)
    assert stale.code == 2 and "not up to date" in stale.err and "pivot repro" in stale.err
    run_cli(root, "repro")
    saved = run_cli(root, "exp", "save", "-n", "manual", "--json").json()
    assert saved["params"] == {"train.lr": 0.7}
    score = json.loads((root / "metrics.json").read_text())["score"]
    assert saved["metrics"]["metrics.json:score"] == score
    shown = {e["name"]: e for e in run_cli(root, "exp", "show", "--json").json()["experiments"]}
    assert shown["manual"]["params"] == {"train.lr": 0.7}

    write(root / "params.yaml", "train:\n  lr: 0.1\n  depth: 3\n")
    run_cli(root, "repro")
    assert json.loads((root / "metrics.json").read_text())["score"] != score
    run_cli(root, "exp", "apply", "manual")
    assert "lr: 0.7" in (root / "params.yaml").read_text()
    assert run_cli(root, "repro", "--json").json()["ran"] == 0
    assert json.loads((root / "metrics.json").read_text())["score"] == score


def test_queue_then_run_all(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "p")
    run_cli(root, "exp", "run", "--queue", "-S", "train.depth=4,6")
    assert [e["name"] for e in run_cli(root, "exp", "show", "--json").json()["experiments"]] == ["workspace"]
    out = run_cli(root, "exp", "run", "--run-all", "--json").json()["experiments"]
    assert sorted(e["params"]["train.depth"] for e in out) == [4, 6]
    assert not (root / ".pivot" / "exp-queue.json").exists()
    (entry,) = run_cli(root, "history", "--json").json()["runs"]  # an exp run is recorded like a repro
    assert sorted(entry["targets"]) == sorted(f"exp:{e['name']}" for e in out) and entry["exit_code"] == 0
    assert sum(s["status"] == "ran" for s in entry["stages"]) == 6  # prepare, featurize once; train, evaluate twice


def test_user_errors_are_one_line(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "p")
    bad = run_cli(root, "exp", "run", "-S", "train.lr", check=False)
    assert bad.code == 2 and "Traceback" not in bad.err and "-S 'train.lr'" in bad.err
    missing = run_cli(root, "exp", "apply", "nope", check=False)
    assert missing.code == 2 and "no experiment named 'nope'" in missing.err
    for args, says in [(("exp", "diff", "nope"), "'nope' is neither a git revision nor an experiment"),
                       (("metrics", "diff", "exp:nope"), "no experiment named 'nope'")]:
        unknown = run_cli(root, *args, check=False)
        assert unknown.code == 2 and unknown.err.count("\n") == 1 and says in unknown.err, unknown.err
    shutil.rmtree(root / ".git")
    nogit = run_cli(root, "exp", "run", "-S", "train.lr=1", check=False)
    assert nogit.code == 2 and "git" in nogit.err


def test_a_record_naming_paths_outside_is_never_followed(tmp_path: Path) -> None:
    """An experiment record may come from a remote (`exp pull`): a lock in it whose output leaves
    the project is ignored by every command that reads experiments (DESIGN rule 13)."""
    from pivot.api import session
    from pivot.exp import records

    root = make_repo(tmp_path / "p")
    run_cli(root, "exp", "run", "-S", "train.lr=0.5", "-n", "good")
    with session(root) as s:
        good = records.load(s.ws.odb, "good")
        evil_lock = dict(good.locks["evaluate"])
        evil_lock["outs"] = [dict(o, path="../outside.json") for o in evil_lock["outs"]]
        records.save(s.ws.odb, dataclasses.replace(good, name="evil", locks={**good.locks, "evaluate": evil_lock}))
    shown = run_cli(root, "metrics", "show", "--rev", "evil", "--json")
    assert shown.json()["metrics"] == [] and "experiment evil" in shown.err  # warned, nothing followed
    assert run_cli(root, "exp", "diff", "good", "evil", "--json").json()["params"] == []
    assert not (tmp_path / "outside.json").exists()


def test_apply_checks_everything_before_writing_anything(tmp_path: Path) -> None:
    """`exp apply` never replaces an output holding changes no cache has (as checkout), and never
    applies a record naming a path inside .pivot/ (a record may come from a remote: rule 13)."""
    from pivot.api import session
    from pivot.exp import records

    root = make_repo(tmp_path / "p")
    run_cli(root, "exp", "run", "-S", "train.lr=0.5", "-n", "half")
    run_cli(root, "repro")
    (root / "model.json").write_text('{"w": "edited by hand"}')
    params = (root / "params.yaml").read_text()
    kept = run_cli(root, "exp", "apply", "half", check=False)
    assert kept.code == 2 and "model.json" in kept.err and "--force" in kept.err, kept.err
    assert (root / "params.yaml").read_text() == params and "edited by hand" in (root / "model.json").read_text()

    with session(root) as s:
        good = records.load(s.ws.odb, "half")
        lock = dict(good.locks["train"])
        lock["outs"] = [dict(o, path=".pivot/config.yaml") for o in lock["outs"]]
        records.save(s.ws.odb, dataclasses.replace(good, name="evil", locks={**good.locks, "train": lock}))
    config = (root / ".pivot" / "config.yaml").read_bytes()
    evil = run_cli(root, "exp", "apply", "evil", "--force", check=False)
    assert evil.code == 2 and "refusing" in evil.err and (root / ".pivot" / "config.yaml").read_bytes() == config
    assert (root / "params.yaml").read_text() == params

    run_cli(root, "exp", "apply", "--force", "half")
    assert "lr: 0.5" in (root / "params.yaml").read_text()
    assert run_cli(root, "repro", "--json").json()["ran"] == 0


def test_gc_keeps_what_a_kept_experiment_needs(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "p")
    run_cli(root, "exp", "run", "-S", "train.depth=9", "-n", "keep")
    run_cli(root, "config", "set", "gc.grace", "0")  # nothing is protected by age here
    removed = run_cli(root, "gc", "--workspace", "-f", "--json").json()
    assert removed is not None
    run_cli(root, "exp", "apply", "keep")  # every object it names is still in the cache
    assert run_cli(root, "repro", "--json").json()["ran"] == 0
    run_cli(root, "exp", "remove", "keep")
    run_cli(root, "gc", "--workspace", "-f")
    assert run_cli(root, "exp", "show", "--json").json()["experiments"][-1]["name"] == "workspace"


def test_a_record_whose_stage_name_leaves_the_project_is_refused(tmp_path: Path) -> None:
    """A lock's stage name becomes a lock file's path (`.pivot/stages/<stage>.lock`): one from a
    pulled record naming `../../..` wrote a file outside the project on `exp apply` (rule 13)."""
    from pivot.api import session
    from pivot.exp import records

    root = make_repo(tmp_path / "p")
    run_cli(root, "exp", "run", "-S", "train.lr=0.5", "-n", "half")
    with session(root) as s:
        good = records.load(s.ws.odb, "half")
        lock = dict(good.locks["train"], stage="../../../escaped")
        records.save(s.ws.odb, dataclasses.replace(good, name="evil", locks={**good.locks, "train": lock}))
    params = (root / "params.yaml").read_text()
    evil = run_cli(root, "exp", "apply", "evil", "--force", check=False)
    assert evil.code == 2 and "refusing" in evil.err and "Traceback" not in evil.err, evil.err
    assert not list(tmp_path.rglob("escaped.lock")) and (root / "params.yaml").read_text() == params


def test_a_record_cannot_rewrite_pivots_own_config(tmp_path: Path) -> None:
    """A record's params name the file they live in: one from a remote naming
    `.pivot/config.yaml:core.remote` would have pointed the user's pushes at another remote."""
    from pivot.api import session
    from pivot.exp import records

    root = make_repo(tmp_path / "p")
    run_cli(root, "exp", "run", "-S", "train.lr=0.5", "-n", "half")
    with session(root) as s:
        good = records.load(s.ws.odb, "half")
        records.save(s.ws.odb, dataclasses.replace(good, name="evil", params={".pivot/config.yaml:core.remote": "x"}))
    config = (root / ".pivot" / "config.yaml").read_bytes()
    evil = run_cli(root, "exp", "apply", "evil", "--force", check=False)
    assert evil.code == 2 and ".pivot" in evil.err and "Traceback" not in evil.err, evil.err
    assert (root / ".pivot" / "config.yaml").read_bytes() == config
    typed = run_cli(root, "exp", "run", "-S", ".pivot/config.yaml:core.remote=x", check=False)
    assert typed.code == 2 and (root / ".pivot" / "config.yaml").read_bytes() == config


def test_branch_holds_the_experiment_and_leaves_the_workspace(tmp_path: Path) -> None:
    """`exp branch` (as `dvc exp branch`): a git branch whose checkout, after `pivot checkout`,
    has nothing to run and equals what `exp apply` gives; the current branch is untouched."""
    root = make_repo(tmp_path / "p")
    run_cli(root, "repro")
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "reproduced")
    run_cli(root, "exp", "run", "-S", "train.lr=0.5", "-n", "half")
    def mine() -> dict[str, bytes]:
        return {k: v for k, v in _everything(root).items() if not k.startswith(".git/")}

    before = mine()
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True).stdout
    out = run_cli(root, "exp", "branch", "half", "tuned").out
    assert "branch tuned" in out
    assert mine() == before  # workspace, params and locks untouched
    assert subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True).stdout == head
    assert subprocess.run(["git", "status", "--porcelain"], cwd=root, capture_output=True, text=True).stdout == ""
    _git(root, "checkout", "-q", "tuned")
    assert "lr: 0.5" in (root / "params.yaml").read_text() and "# tuned by hand" in (root / "params.yaml").read_text()
    run_cli(root, "checkout")
    assert run_cli(root, "repro", "--json").json()["ran"] == 0
    run_cli(root, "verify")
    on_branch = outputs_snapshot(root)
    _git(root, "checkout", "-q", "-")
    run_cli(root, "checkout")
    run_cli(root, "exp", "apply", "half")
    assert {k: v for k, v in outputs_snapshot(root).items() if not k.startswith(".git/")} == \
        {k: v for k, v in on_branch.items() if not k.startswith(".git/")}
    for args, says in ((("half", "tuned"), "already exists"), (("half", "bad..name"), "not a valid git branch"),
                       (("nope", "b2"), "nope")):
        bad = run_cli(root, "exp", "branch", *args, check=False)
        assert bad.code == 2 and says in bad.err and "Traceback" not in bad.err, bad.err
