"""Stages as DVC users expect (issue 12): always_run stages pass verify; shell stages whose
deps/outs are folders written without a trailing "/"; declared kind mismatches."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.fixtures.project import run_cli, write

ALWAYS = '''
from pivot import Pipeline

pipeline = Pipeline("p")
pipeline.register_cmd("fetch", cmd="echo fetched > fetched.txt", outs=["fetched.txt"], always_run=True)
pipeline.register_cmd("use", cmd="cat fetched.txt fetched.txt > used.txt", deps=["fetched.txt"], outs=["used.txt"])
'''


def test_verify_passes_always_run_stages_and_their_consumers(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    root.mkdir()
    run_cli(root, "init")
    write(root / "pipeline.py", ALWAYS)
    run_cli(root, "repro")
    result = run_cli(root, "verify", check=False)
    assert result.code == 0, result.out + result.err
    assert "always runs" in result.out
    stages = {s["name"]: s for s in run_cli(root, "verify", "--json").json()["stages"]}
    assert stages["fetch"]["status"] == "passed" and "always runs" in stages["fetch"]["reason"]
    assert stages["use"]["status"] == "passed"
    (root / "fetched.txt").unlink()  # its recorded output must still be there
    assert run_cli(root, "verify", check=False).code == 1


FOLDERS = '''
from pivot import Pipeline

pipeline = Pipeline("p")
pipeline.register_cmd("prepare", cmd="mkdir -p data/prepared && cp raw/x.txt data/prepared/x.txt",
                      deps=["raw"], outs=["data/prepared"])
pipeline.register_cmd("train", cmd="ls data/prepared > model.txt", deps=["data/prepared"], outs=["model.txt"])
pipeline.register_cmd("other", cmd="mkdir -p other && echo o > other/o.txt", outs=["other/"])
pipeline.register_cmd("use_other", cmd="cat other/o.txt > used.txt", deps=["other"], outs=["used.txt"])
'''


def _project(tmp_path: Path, text: str) -> Path:
    root = tmp_path / "proj"
    root.mkdir()
    run_cli(root, "init")
    write(root / "raw" / "x.txt", "x\n")
    write(root / "pipeline.py", text)
    return root


def test_shell_folder_outs_and_deps_without_trailing_slash(tmp_path: Path) -> None:
    root = _project(tmp_path, FOLDERS)
    first = run_cli(root, "repro", "--json").json()  # was IsADirectoryError, then "dependency missing"
    assert first["ran"] == 4 and first["failed"] == 0, first
    assert (root / "model.txt").read_text() == "x.txt\n"
    assert (root / "used.txt").read_text() == "o\n"
    assert run_cli(root, "repro", "--json").json()["ran"] == 0
    shutil.rmtree(root / "data")
    again = run_cli(root, "repro", "--json").json()
    assert again["ran"] == 0 and (root / "data" / "prepared" / "x.txt").read_text() == "x\n"
    run_cli(root, "verify")


def test_folder_declared_as_file_or_reverse_is_one_clear_error(tmp_path: Path) -> None:
    bad = '''
from pivot import Pipeline

pipeline = Pipeline("p")
pipeline.register_cmd("wrong", cmd="echo hi > result", outs=["result/"])
'''
    root = _project(tmp_path, bad)
    result = run_cli(root, "repro", check=False)
    assert result.code == 1
    assert "wrong" in result.out + result.err and "'result/'" in result.out + result.err
    assert "Traceback" not in result.out + result.err
    assert not (root / "result").exists(), "nothing is left behind"
