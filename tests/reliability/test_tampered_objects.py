"""No unverified bytes reach the workspace (DESIGN rule 13): a cache object whose
bytes were altered is set aside, reported by path, and replaced from the remote
or by running its stage again; it is never placed."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
import yaml

from tests.reliability.sandbox import MAKE_LOCK, OUT, OUT_TEXT, Box, pivot

EVIL = b"evil bytes\n"


def _object(root: Path, digest: str) -> Path:
    algo, hexpart = digest.split(":")
    return root / ".pivot" / "cache" / "files" / algo / hexpart[:2] / hexpart[2:]


def _lock_outs(box: Box) -> dict[str, str]:
    data = yaml.safe_load((box.root / MAKE_LOCK).read_text())
    return {o["path"]: o["hash"] for o in data["outs"]}


def _tamper_file(box: Box, which: str) -> str:
    """Alter a file object in the local cache: ``out`` (a file output), ``entry`` (a file
    inside the folder output) or ``manifest`` (the folder's manifest). Returns the
    workspace path that must not receive the bad bytes (now deleted there)."""
    outs = _lock_outs(box)
    if which == "out":
        obj, rel = _object(box.root, outs[OUT]), OUT
    else:
        tree = _object(box.root, outs["p/outdir/"])
        if which == "manifest":
            obj, rel = tree, "p/outdir"
        else:
            entry = next(e for e in json.loads(tree.read_bytes())["entries"] if e["path"] == "b.txt")
            obj, rel = _object(box.root, entry["digest"]), "p/outdir/b.txt"
    os.chmod(obj, 0o644)
    obj.write_bytes(EVIL if which != "manifest" else b"{}")
    target = box.root / rel
    shutil.rmtree(target) if target.is_dir() else target.unlink()
    if which != "out":
        shutil.rmtree(box.root / "p" / "outdir", ignore_errors=True)
    return rel


def _no_evil(root: Path) -> None:
    for path in (root / "p").rglob("*"):
        if path.is_file():
            assert path.read_bytes() != EVIL, path


def _set_mode(box: Box, mode: str) -> None:
    (box.root / ".pivot" / "config.yaml").write_text(yaml.safe_dump({"cache": {"type": mode}}))


@pytest.mark.parametrize(("mode", "which"), [("copy", "out"), ("copy", "entry"), ("copy", "manifest"),
                                             ("hardlink", "out"), ("hardlink", "manifest"), ("symlink", "entry")])
def test_checkout_never_places_tampered_bytes(box: Box, mode: str, which: str) -> None:
    _set_mode(box, mode)
    rel = _tamper_file(box, which)
    result = box.run("checkout")
    box.assert_clean_failure(result, 1, rel, "corrupt", "quarantine")
    _no_evil(box.root)
    assert len(box.quarantined()) == 1
    assert box.run("repro").code == 0  # the stage runs again and stores sound bytes
    assert (box.root / OUT).read_text() == OUT_TEXT
    assert (box.root / "p" / "outdir" / "b.txt").read_text() == "b\n"


@pytest.mark.parametrize("which", ["out", "entry"])
def test_repro_runs_the_stage_instead_of_placing_tampered_bytes(box: Box, which: str) -> None:
    _tamper_file(box, which)
    result = box.run("repro", "--json")
    assert result.code == 0, result.text
    assert "Traceback" not in result.text and "corrupt" in result.err
    box.assert_outside_untouched()
    _no_evil(box.root)
    stages = {s["name"]: s["status"] for s in json.loads(result.out)["stages"]}
    assert stages["p:make"] == "ran", stages
    assert len(box.quarantined()) == 1
    again = json.loads(box.run("repro", "--json").out)
    assert again["ran"] == 0  # stale no more


def test_run_cache_restore_never_places_tampered_bytes(box: Box) -> None:
    _tamper_file(box, "out")
    (box.root / MAKE_LOCK).unlink()
    shutil.rmtree(box.root / "p" / "outdir")
    result = box.run("repro", "--json")
    assert result.code == 0 and "corrupt" in result.err, result.text
    _no_evil(box.root)
    assert {s["name"]: s["status"] for s in json.loads(result.out)["stages"]}["p:make"] == "ran"
    assert (box.root / OUT).read_text() == OUT_TEXT


def test_output_in_place_is_not_reread(box: Box) -> None:
    """The no-op path stays fast: an output matching its lock is left alone, so a
    damaged object behind it goes unnoticed until it is needed (or `verify --cache`)."""
    obj = _object(box.root, _lock_outs(box)[OUT])
    os.chmod(obj, 0o644)
    obj.write_bytes(EVIL)
    for command in ("checkout", "repro"):
        result = box.run(command)
        assert result.code == 0 and "corrupt" not in result.text, result.text
    assert not box.quarantined()
    check = box.run("verify", "--cache", "--json")
    assert check.code == 1, check.text
    report = json.loads(check.out)
    assert [b["path"] for b in report["bad"]] == [OUT]
    assert len(box.quarantined()) == 1
    moved = box.run("verify", "--cache")  # the object set aside now reads as missing, not bad
    assert moved.code == 0 and "1 not in the local cache" in moved.out, moved.text
    assert box.run("repro", "--force").code == 0
    assert json.loads(box.run("verify", "--cache", "--json").out)["passed"]


def test_verify_cache_passes_on_a_sound_cache(box: Box) -> None:
    result = box.run("verify", "--cache", "--json")
    assert result.code == 0, result.text
    report = json.loads(result.out)
    assert report["passed"] and report["checked"] >= 5 and not report["missing"]
    text = box.run("verify", "--cache")
    assert text.code == 0 and "cache verified" in text.out


def _push(box: Box, url: str) -> None:
    for args in (("remote", "add", "origin", url, "--default"), ("push",)):
        result = box.run(*args)
        assert result.code == 0, result.text


@pytest.mark.parametrize("where", ["file", pytest.param("s3", marks=pytest.mark.s3)])
def test_tampered_local_object_comes_back_from_the_remote(box: Box, where: str, request: pytest.FixtureRequest,
                                                          tmp_path: Path) -> None:
    url = f"{request.getfixturevalue('s3_bucket')}/c" if where == "s3" else f"file://{tmp_path / 'remote'}"
    _push(box, url)
    rel = _tamper_file(box, "entry")
    result = box.run("checkout")
    assert result.code == 0, result.text
    assert "corrupt" in result.err and rel in result.err and "fetched" in result.err
    box.assert_outside_untouched()
    _no_evil(box.root)
    assert (box.root / rel).read_text() == "b\n"


def test_repro_fetches_a_tampered_object_again_instead_of_running(box: Box, tmp_path: Path) -> None:
    _push(box, f"file://{tmp_path / 'remote'}")
    _tamper_file(box, "out")
    result = box.run("repro", "--json")
    assert result.code == 0 and "corrupt" in result.err and "fetched" in result.err, result.text
    assert json.loads(result.out)["ran"] == 0  # restored from the remote's sound copy
    _no_evil(box.root)
    assert (box.root / OUT).read_text() == OUT_TEXT
    box.assert_outside_untouched()


def _tamper_remote(url: str, key: str) -> None:
    import boto3  # type: ignore[import-untyped]

    bucket, _, prefix = url.removeprefix("s3://").partition("/")
    boto3.client("s3").put_object(Bucket=bucket, Key=f"{prefix}/{key}", Body=EVIL)


@pytest.mark.s3
def test_tampered_on_both_sides_is_never_placed(box: Box, s3_bucket: str) -> None:
    """Local copy altered, and the remote's copy too: nothing is placed; the stage reruns."""
    url = f"{s3_bucket}/c"
    _push(box, url)
    digest = _lock_outs(box)[OUT]
    algo, hexpart = digest.split(":")
    _tamper_remote(url, f"files/{algo}/{hexpart[:2]}/{hexpart[2:]}")
    _tamper_file(box, "out")
    result = box.run("checkout")
    box.assert_clean_failure(result, 1, OUT, "corrupt")
    _no_evil(box.root)
    assert not (box.root / OUT).exists()
    result = box.run("repro")
    assert result.code == 0, result.text
    assert (box.root / OUT).read_text() == OUT_TEXT


@pytest.mark.s3
def test_hostile_record_on_the_remote_is_ignored_by_pull(box: Box, s3_bucket: str, tmp_path: Path) -> None:
    """A run record on the shared remote naming ../outside.txt: reported, never stored or applied."""
    import boto3

    url = f"{s3_bucket}/c"
    _push(box, url)
    bucket, _, prefix = url.removeprefix("s3://").partition("/")
    s3 = boto3.client("s3")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=f"{prefix}/runs/")["Contents"]]
    for key in keys:
        doc = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
        for out in doc["outs"]:
            out["path"] = "../outside.txt"
        s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(doc).encode())
    shutil.rmtree(box.root / ".pivot" / "cache")  # a fresh machine: everything comes from the remote
    for lock in (box.root / ".pivot" / "stages").rglob("*.lock"):
        lock.unlink()
    for out in ("res", "outdir", "final.txt"):
        target = box.root / "p" / out
        shutil.rmtree(target) if target.is_dir() else target.unlink()
    result = box.run("pull", "--all-history")  # every record on the remote, the hostile ones included
    assert "Traceback" not in result.text and "outside.txt" in result.err, result.text
    assert not list((box.root / ".pivot" / "cache" / "runs").rglob("*")) if (box.root / ".pivot/cache/runs").exists() else True
    result = box.run("repro", "--json")
    assert result.code == 0, result.text
    assert json.loads(result.out)["ran"] == 2  # nothing was restored from the hostile records
    box.assert_outside_untouched()


GROW = '''
import pathlib
from typing import Annotated
from pivot import Pipeline, Dep, IncrementalOut, loaders


def grow(seed: Annotated[str, Dep("seed.txt", loaders.Text())]) -> Annotated[str, IncrementalOut("log.txt", loaders.PathOnly())]:
    log = pathlib.Path("log.txt")
    log.write_text((log.read_text() if log.exists() else "") + seed)
    return "log.txt"


pipeline = Pipeline("grow")
pipeline.register(grow)
'''


def test_incremental_restore_never_hands_tampered_bytes_to_the_stage(tmp_path: Path) -> None:
    root, home = tmp_path / "g", tmp_path / "home"
    root.mkdir()
    home.mkdir()
    (root / "seed.txt").write_text("1\n")
    (root / "pipeline.py").write_text(GROW)
    assert pivot(root, home, "init").code == 0
    assert pivot(root, home, "repro").code == 0
    digest = yaml.safe_load((root / ".pivot" / "stages" / "grow.lock").read_text())["outs"][0]["hash"]
    obj = _object(root, digest)
    os.chmod(obj, 0o644)
    obj.write_bytes(EVIL)
    (root / "seed.txt").write_text("2\n")
    result = pivot(root, home, "repro")
    assert result.code == 0 and "Traceback" not in result.text, result.text
    assert "corrupt" in result.err, result.err
    assert (root / "log.txt").read_text() == "2\n"  # started over instead of growing evil bytes
    assert pivot(root, home, "repro").code == 0
