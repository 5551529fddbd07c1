"""`pivot get --rev` (local cache, then the moto S3 remote; always verified) and `pivot diff`."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pivot.digest import Digest
from pivot.lockfile import read as read_lock
from tests.fixtures.project import run_cli
from tests.show.conftest import git

OLD_MODEL = "model lr=0.1 epochs=3\n"


def test_get_rev_returns_the_old_bytes_from_the_cache(project: Path) -> None:
    assert (project / "model.txt").read_text() == "model lr=0.2 epochs=3\n"
    assert "model.txt" not in run_cli(project, "diff", "--json").out  # git-ignored: only the cache has it
    run_cli(project, "get", "--rev", "HEAD~1", "model.txt", "-o", "old-model.txt")
    assert (project / "old-model.txt").read_text() == OLD_MODEL
    # a folder (tracked data) and a plain git file
    run_cli(project, "get", "--rev", "HEAD~1", "data", "-o", "old-data")
    assert (project / "old-data" / "b.txt").read_text() == "beta 0.1\n"
    assert (project / "old-data" / "a.txt").read_text() == "alpha\n"
    run_cli(project, "get", "--rev", "HEAD~1", "params.yaml", "-o", "old-params.yaml")
    assert "0.1" in (project / "old-params.yaml").read_text()


def test_get_refuses_to_overwrite_and_names_unknown_paths(project: Path) -> None:
    result = run_cli(project, "get", "--rev", "HEAD~1", "model.txt", "-o", "params.yaml", check=False)
    assert result.code == 2 and "already exists" in result.err
    run_cli(project, "get", "--rev", "HEAD~1", "model.txt", "-o", "params.yaml", "--force")
    assert (project / "params.yaml").read_text() == OLD_MODEL
    result = run_cli(project, "get", "--rev", "HEAD~1", "nope.bin", check=False)
    assert result.code == 2 and "nope.bin" in result.err and result.err.count("\n") == 1


def _cached_object(root: Path, digest: Digest) -> Path:
    return root / ".pivot" / "cache" / "files" / digest.algo / digest.hex[:2] / digest.hex[2:]


def _old_model_object(root: Path) -> Path:
    import subprocess

    old_lock = subprocess.run(["git", "show", "HEAD~1:.pivot/stages/train.lock"], cwd=root,
                              capture_output=True, text=True, check=True).stdout
    lock_file = root / "old.lock"
    lock_file.write_text(old_lock)
    record = read_lock(lock_file)
    lock_file.unlink()
    assert record is not None
    return _cached_object(root, next(o.digest for o in record.outs if o.path == "model.txt"))


def test_get_never_writes_bytes_that_fail_their_hash(project: Path) -> None:
    obj = _old_model_object(project)
    obj.chmod(0o644)
    obj.write_text("model lr=9.9 epochs=3\n")  # same size, wrong bytes
    result = run_cli(project, "get", "--rev", "HEAD~1", "model.txt", "-o", "bad.txt", check=False)
    assert result.code != 0 and "Traceback" not in result.err
    assert "is corrupt" in result.err and result.err.count("\n") == 1
    assert not (project / "bad.txt").exists()


@pytest.mark.s3
def test_get_rev_falls_back_to_the_s3_remote(project: Path, s3_bucket: str) -> None:
    root = project
    run_cli(root, "remote", "add", "store", f"{s3_bucket}/cache", "--default")
    for rev in ("HEAD~1", "main"):  # push what each commit's lock files and .pvt record
        git(root, "checkout", "-q", rev)
        run_cli(root, "push", "--allow-modified")  # the workspace data is the newest, not this commit's
    obj = _old_model_object(root)
    obj.chmod(0o644)
    obj.write_text("model lr=9.9 epochs=3\n")  # a corrupt local copy: replaced by the remote's verified one
    run_cli(root, "get", "--rev", "HEAD~1", "model.txt", "-o", "fixed.txt")
    assert (root / "fixed.txt").read_text() == OLD_MODEL
    shutil.rmtree(root / ".pivot" / "cache")
    run_cli(root, "get", "--rev", "HEAD~1", "model.txt", "-o", "old-model.txt")
    assert (root / "old-model.txt").read_text() == OLD_MODEL
    run_cli(root, "get", "--rev", "HEAD~1", "data/", "-o", "old-data")
    assert (root / "old-data" / "b.txt").read_text() == "beta 0.1\n"
    # metrics of a revision whose cached metric files are only on the remote
    pairs = {(d["path"], d["key"]): (d["old"], d["new"])
             for d in run_cli(root, "metrics", "diff", "HEAD~1", "HEAD", "--json").json()["diff"]}
    assert pairs[("metrics.json", "acc")] == pytest.approx((0.6, 0.7))


def test_diff_lists_modified_outputs_and_tracked_data(project: Path) -> None:
    data = run_cli(project, "diff", "HEAD~1", "HEAD", "--json").json()
    assert set(data) >= {"added", "deleted", "modified"}
    modified = {m["path"]: m for m in data["modified"]}
    assert {"model.txt", "metrics.json", "roc.json", "report.yaml", "data/"} <= set(modified)
    assert "curve.png" not in modified  # its stage's params did not change: same bytes
    assert modified["data/"]["old"] != modified["data/"]["new"]
    assert modified["data/"]["old"].startswith("xxh3_128:") and modified["data/"]["new_size"] == 15
    assert data["added"] == [] and data["deleted"] == []
    assert run_cli(project, "diff", "--json").json()["modified"] == []  # HEAD vs an unchanged workspace
    (project / "pipeline.py").write_text((project / "pipeline.py").read_text().replace(
        '"scores.tsv"', '"scores2.tsv"'))
    now = run_cli(project, "diff", "--json").json()
    assert [d["path"] for d in now["deleted"]] == ["scores.tsv"]  # no longer an output; scores2 not made yet
    md = run_cli(project, "diff", "HEAD~1", "HEAD", "--md").out.splitlines()
    assert md[0] == "| change | path | old size | new size |" and md[1] == "|---|---|---|---|"
