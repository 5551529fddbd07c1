"""Paths read from lock files, run records, tree manifests and .pvt files never reach
outside the project (DESIGN rule 13): refused with one line and exit 2, or, for a
record that may come from a shared remote, reported and ignored."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
import yaml

from pivot.digest import hash_bytes
from tests.reliability.sandbox import MAKE_LOCK, OUT, OUT_TEXT, Box


def _hostile(box: Box, kind: str) -> str:
    return {
        "parent": "../outside.txt",
        "deep-parent": "p/../../sentinel/keep.txt",
        "absolute": str(box.box / "absolute.txt"),
        "empty": "",
        "nul": "p/out\x00.txt",
        "state-dir": ".pivot/config.yaml",
    }[kind]


def _edit_lock(box: Box, new_path: str) -> str:
    lock = box.root / MAKE_LOCK
    original = lock.read_text()
    data = yaml.safe_load(original)
    for out in data["outs"]:
        if out["path"] == OUT:
            out["path"] = new_path
    lock.write_text(yaml.safe_dump(data))
    (box.root / OUT).unlink()
    return original


KINDS = ["parent", "deep-parent", "absolute", "empty", "nul", "state-dir"]


@pytest.mark.parametrize("command", ["checkout", "repro"])
@pytest.mark.parametrize("kind", KINDS)
def test_lock_with_hostile_output_path_is_refused(box: Box, kind: str, command: str) -> None:
    before = box.objects()
    config = (box.root / ".pivot" / "config.yaml").read_bytes()
    original = _edit_lock(box, _hostile(box, kind))
    result = box.run(command)
    box.assert_clean_failure(result, 2, "make.lock", "refusing path")
    assert (box.root / ".pivot" / "config.yaml").read_bytes() == config
    assert not (box.root / OUT).exists()  # nothing written, not even inside
    assert box.objects() == before
    (box.root / MAKE_LOCK).write_text(original)  # repaired
    assert box.run(command).code == 0
    assert (box.root / OUT).read_text() == OUT_TEXT


def _record_file(box: Box) -> Path:
    runs = box.root / ".pivot" / "cache" / "runs"
    lock = yaml.safe_load((box.root / MAKE_LOCK).read_text())
    hexpart = lock["stage_key"].rpartition(":")[2]
    return runs / hexpart[:2] / hexpart[2:]


def _forge_record(path: Path, new_path: str) -> None:
    doc = json.loads(path.read_bytes())
    for out in doc["outs"]:
        if out["path"] == OUT:
            out["path"] = new_path
    os.chmod(path, 0o644)
    path.write_text(json.dumps(doc))


def _forget_run(box: Box) -> None:
    """No lock and no outputs: the next repro restores from the run cache."""
    (box.root / MAKE_LOCK).unlink()
    (box.root / OUT).unlink()
    shutil.rmtree(box.root / "p" / "outdir")


@pytest.mark.parametrize("kind", ["parent", "absolute", "state-dir", "undeclared"])
def test_run_record_with_hostile_path_is_ignored(box: Box, kind: str) -> None:
    target = "p/pipeline.py" if kind == "undeclared" else _hostile(box, kind)
    pipeline = (box.root / "p" / "pipeline.py").read_bytes()
    _forge_record(_record_file(box), target)
    _forget_run(box)
    result = box.run("repro")
    assert result.code == 0, result.text
    assert "Traceback" not in result.text
    assert "run record" in result.text or "does not declare" in result.text, result.text
    box.assert_outside_untouched()
    assert (box.root / "p" / "pipeline.py").read_bytes() == pipeline
    assert (box.root / OUT).read_text() == OUT_TEXT  # the stage ran instead
    assert box.run("status").code == 0


def _forge_tree(box: Box, entry: str) -> str:
    """A manifest (stored under its true hash) whose entry leaves its folder; the lock names it."""
    lock_file = box.root / MAKE_LOCK
    original = lock_file.read_text()
    data = yaml.safe_load(original)
    digest = next(o["hash"] for o in data["outs"] if o["is_dir"])
    algo, hexpart = digest.split(":")
    good = json.loads((box.root / ".pivot/cache/files" / algo / hexpart[:2] / hexpart[2:]).read_bytes())
    good["entries"][0]["path"] = entry
    raw = json.dumps(good, sort_keys=True, separators=(",", ":")).encode()
    forged = hash_bytes(raw)
    obj = box.root / ".pivot/cache/files" / forged.algo / forged.hex[:2] / forged.hex[2:]
    obj.parent.mkdir(parents=True, exist_ok=True)
    obj.write_bytes(raw)
    for out in data["outs"]:
        if out["is_dir"]:
            out["hash"] = str(forged)
    lock_file.write_text(yaml.safe_dump(data))
    shutil.rmtree(box.root / "p" / "outdir")
    return original


@pytest.mark.parametrize("entry", ["../../../outside.txt", "/tmp/pivot-absolute.txt", "a/../../b.txt"])
def test_tree_manifest_entry_outside_its_folder_is_refused(box: Box, entry: str) -> None:
    original = _forge_tree(box, entry)
    result = box.run("checkout")
    box.assert_clean_failure(result, 2, "refusing path", entry)
    assert not Path("/tmp/pivot-absolute.txt").exists()
    assert not (box.root / "p" / "outdir").exists()
    (box.root / MAKE_LOCK).write_text(original)
    assert box.run("checkout").code == 0
    assert (box.root / "p" / "outdir" / "b.txt").exists()


@pytest.mark.parametrize("name", ["../outside.txt", "../../outside.txt", "../p/pipeline.py", "/etc/hostname"])
def test_pvt_naming_another_path_is_refused(box: Box, name: str) -> None:
    pvt = box.root / "data" / "in.txt.pvt"
    original = pvt.read_text()
    pvt.write_text(original.replace("path: in.txt", f"path: {name}"))
    pipeline = (box.root / "p" / "pipeline.py").read_bytes()
    (box.root / "data" / "in.txt").unlink()
    result = box.run("checkout")
    assert result.code == 2, result.text
    assert "Traceback" not in result.text and "in.txt.pvt" in result.err and name in result.err
    box.assert_outside_untouched()
    assert (box.root / "p" / "pipeline.py").read_bytes() == pipeline
    assert not (box.root / "outside.txt").exists()
    pvt.write_text(original)
    assert box.run("checkout").code == 0
    assert (box.root / "data" / "in.txt").read_text() == "alpha\nbeta\n"


@pytest.mark.parametrize("command", ["checkout", "repro"])
def test_symlink_leading_outside_is_never_written_through(box: Box, command: str) -> None:
    res = box.root / "p" / "res"
    shutil.rmtree(res)
    os.symlink(box.box / "sentinel", res)  # p/res/ now leads outside the project
    box._outside = box.outside()
    result = box.run(command)
    box.assert_clean_failure(result, 2, "symlink", "p/res/out.txt")
    assert not (box.box / "sentinel" / "out.txt").exists()
    res.unlink()  # repaired: a real folder again
    assert box.run(command).code == 0
    assert (box.root / OUT).read_text() == OUT_TEXT


@pytest.mark.parametrize("claimed", ["../outside.txt", "p/pipeline.py"])
def test_task_result_naming_an_undeclared_path_is_refused(box: Box, claimed: str) -> None:
    """A StageResult crossed a process (or host) boundary: it may only name declared outputs."""
    from pivot.api import session
    from pivot.commit import commit_run
    from pivot.executor.task import StageResult
    from pivot.outrecord import OutRecord
    from pivot.safepath import SafePath, UnsafePathError

    pipeline = (box.root / "p" / "pipeline.py").read_bytes()
    with session(box.root, box.root) as s:
        spec = s.graph.stages["p:make"]
        inputs = s.inputs(["p:make"])["p:make"]
        decision = s.static_plan(["p:make"]).decisions["p:make"]
        good = s.ws.lock("p:make")
        assert good is not None
        forged = StageResult("p:make", True, (OutRecord(SafePath(claimed), good.outs[0].digest, 1),))
        with pytest.raises(UnsafePathError, match="does not declare"):
            commit_run(s.ws, spec, inputs, decision, forged, isolated=True)
    box.assert_outside_untouched()
    assert (box.root / "p" / "pipeline.py").read_bytes() == pipeline
    assert box.run("repro").code == 0
