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
