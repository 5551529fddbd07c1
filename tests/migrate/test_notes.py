"""What import-dvc cannot convert is written to .pivot/migration-notes.md, never dropped silently."""

from __future__ import annotations

from pathlib import Path

from tests.fixtures.project import run_cli

DVC_YAML = """
stages:
  ok:
    cmd: echo ok > ok.txt
    outs: [ok.txt]
  broken:
    cmd: echo ${nowhere.value}
plots:
  - ok.txt
"""


def test_notes_list_remotes_imports_experiments_templates_and_unresolved(tmp_path: Path) -> None:
    (tmp_path / ".dvc" / "plots").mkdir(parents=True)
    (tmp_path / ".dvc" / "tmp" / "exps").mkdir(parents=True)
    (tmp_path / ".dvc" / "config").write_text("[core]\n    remote = store\n"
                                              "['remote \"store\"']\n    url = s3://bucket/dvc\n")
    (tmp_path / "dvc.yaml").write_text(DVC_YAML)
    (tmp_path / "model.pkl.dvc").write_text(
        "deps:\n- path: model.pkl\n  repo:\n    url: https://example.com/repo.git\n"
        "outs:\n- md5: 0123456789abcdef0123456789abcdef\n  path: model.pkl\n")
    report = run_cli(tmp_path, "import-dvc", "--json").json()
    notes = (tmp_path / ".pivot" / "migration-notes.md").read_text()
    assert "`pivot remote add store s3://bucket/dvc`" in notes
    assert "model.pkl.dvc: a `dvc import` of model.pkl" in notes
    assert "DVC experiments" in notes and ".dvc/plots/" in notes
    assert "stage 'broken' not converted" in notes and "nowhere.value" in notes
    assert "top-level `plots:` section" in notes
    assert "ok: not in dvc.lock (DVC never ran it)" in notes
    assert report["not_adopted"] == {"ok": "not in dvc.lock (DVC never ran it)"}
    assert 'pipeline.register_cmd("ok", cmd="echo ok > ok.txt", outs=["ok.txt"])' in (tmp_path / "pipeline.py").read_text()


def test_names_pivot_refuses_are_cleaned_and_external_paths_left_out(tmp_path: Path) -> None:
    (tmp_path / ".dvc").mkdir()
    (tmp_path / "dvc.yaml").write_text(
        "stages:\n  per_file:\n    foreach: [data/a.csv, data/b.csv]\n    do:\n"
        "      cmd: wc -l ${item} > ${item}.n\n      deps: [s3://bucket/ref.csv]\n      outs: ['${item}.n']\n")
    run_cli(tmp_path, "import-dvc")
    names = [s["name"] for s in run_cli(tmp_path, "list", "--json").json()["stages"]]
    assert sorted(names) == ["per_file@data_a.csv", "per_file@data_b.csv"]
    notes = (tmp_path / ".pivot" / "migration-notes.md").read_text()
    assert "'per_file@data/a.csv' is named 'per_file@data_a.csv'" in notes
    assert "external path 's3://bucket/ref.csv' left out" in notes


def test_invalid_dvc_yaml_is_one_line_user_error(tmp_path: Path) -> None:
    (tmp_path / ".dvc").mkdir()
    (tmp_path / "dvc.yaml").write_text("stages:\n  a:\n    outs: [x\n")
    result = run_cli(tmp_path, "import-dvc", check=False)
    assert result.code == 2 and "dvc.yaml: invalid YAML at line" in result.err and "Traceback" not in result.err
