"""DVC's templating, resolved by Pivot, compared with what the real DVC resolves (oracle.py)."""

from __future__ import annotations

import json
import subprocess
import textwrap
from pathlib import Path

import pytest

from pivot.migrate import dvcfiles
from pivot.migrate import resolve as tpl
from tests.fixtures.dvc import VENV, Dvc, dvc_env

ORACLE = Path(__file__).with_name("oracle.py")

PARAMS = """
seed: 7
flag: true
regions: [us, eu]
train:
  lr: 0.01
  layers: [16, 32]
  opts: {dropout: 0.5, name: "a b", verbose: true, quiet: false}
"""

ROOT_DVC = r"""
vars:
  - vars/extra.yaml:model
  - vars/more.json
  - local: {x: 1}
stages:
  plain:
    cmd: echo ${seed} ${train.lr} ${train.layers[1]} ${flag} ${model.kind} ${local.x} ${size} \${not}
    deps: ["in-${model.depth}.txt"]
    outs: [out/plain.txt]
    params: [seed, train.lr]
  flags:
    cmd: python t.py ${train.opts}
    outs: [{out/flags.txt: {cache: false}}]
  list_cmd:
    cmd: ["echo ${seed}", "echo two"]
    frozen: true
  loop:
    foreach: ${regions}
    do:
      cmd: echo ${item}
      outs: ["out/${item}.txt"]
  dict_loop:
    foreach:
      small: {depth: 1, file: s.txt}
      large: {depth: 3, file: l.txt}
    do:
      cmd: echo ${key} ${item.depth}
      deps: ["data/${item.file}"]
      outs: ["out/${key}-${item.file}"]
  list_of_dicts:
    foreach:
      - {a: 1}
      - {a: 2}
    do:
      cmd: echo ${item.a}
      always_changed: true
  grid:
    matrix:
      opt: [adam, sgd]
      lr: [0.1, 1]
      cfg: [{k: 1}]
    cmd: echo ${item.opt} ${item.lr} ${item.cfg.k} ${key}
    outs: ["grid/${key}.txt"]
  staged:
    vars: [{local2: {y: 2}}]
    wdir: sub
    cmd: echo ${local2.y} ${seed}
    deps: [../in-3.txt]
    params: [{../vars/extra.yaml: [other]}, {whole.yaml: }, lr]
"""

SUB_DVC = """
stages:
  sub_loop:
    foreach: ${sizes}
    do:
      cmd: echo ${item} ${name}
      outs: ["m_${item}.txt"]
      params: [name]
"""


def write_project(root: Path) -> None:
    files = {
        "params.yaml": PARAMS, "dvc.yaml": ROOT_DVC,
        "vars/extra.yaml": "model: {depth: 3, kind: cnn}\nother: 1\n", "vars/more.json": '{"size": 5}',
        "sub/whole.yaml": "a: 1\n", "sub/params.yaml": "lr: 3\n",
        "p1/dvc.yaml": SUB_DVC, "p1/params.yaml": "sizes: [1, 2.5]\nname: x\n",
    }
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(textwrap.dedent(text).lstrip())


def _ours(root: Path) -> list[dict[str, object]]:
    found = []
    for folder in dvcfiles.find_dvc_yamls(root):
        parsed = dvcfiles.read_dvc_file(root, folder)
        assert parsed.problems == []
        for st in parsed.stages:
            found.append({
                "folder": folder, "name": st.name, "cmd": st.cmd, "wdir": st.wdir,
                "deps": sorted(st.deps), "outs": sorted(o.path for o in st.outs),
                "params": _params(st.params),
                "frozen": st.frozen, "always_changed": st.always_changed,
            })
    return found


def _params(items: tuple[tuple[str, tuple[str, ...] | None], ...]) -> dict[str, list[str] | None]:
    merged: dict[str, list[str] | None] = {}
    for file, keys in items:
        merged[file] = None if keys is None else [*(merged.get(file) or []), *keys]
    return merged


@pytest.mark.dvc
def test_resolution_matches_real_dvc(tmp_path: Path, dvc: Dvc) -> None:
    write_project(tmp_path)
    dvc.init(tmp_path)
    proc = subprocess.run([str(VENV / "bin" / "python"), str(ORACLE), str(tmp_path)], capture_output=True,
                          text=True, env=dvc_env(), check=True, cwd=tmp_path)
    theirs = json.loads(proc.stdout)
    for stage in theirs:  # DVC lists whole-file params as an empty key list
        stage["params"] = {f: (k or None) for f, k in stage["params"].items()}
    ours = _ours(tmp_path)
    key = lambda s: (s["folder"], s["name"])  # noqa: E731
    assert sorted(ours, key=key) == sorted(theirs, key=key)
    names = {s["name"] for s in ours}
    assert {"grid@adam-0.1-cfg0", "dict_loop@large", "list_of_dicts@1", "sub_loop@2.5"} <= names


def test_exact_expression_keeps_type_and_strings_render_like_dvc() -> None:
    ctx = tpl.Context({"n": 3, "b": False, "d": {"k": "v w", "on": True}, "l": [1, 2]}, {})
    assert tpl.resolve("${n}", ctx) == 3
    assert tpl.resolve("n=${n} b=${b}", ctx) == "n=3 b=false"
    assert tpl.resolve("run ${d}", ctx, "cmd") == "run --k 'v w' --on"
    assert tpl.resolve(r"keep \${n}", ctx) == "keep ${n}"
    assert tpl.resolve({"${n}": "${l[1]}"}, ctx) == {3: 2}
    with pytest.raises(tpl.TemplateError):
        tpl.resolve("${missing.key}", ctx)
    with pytest.raises(tpl.TemplateError):
        tpl.resolve("x ${l}", ctx, "cmd")


def test_vars_redefinition_is_an_error_like_dvc(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("x: {y: 1}\n")
    with pytest.raises(tpl.TemplateError, match=r"redefine 'x\.y'"):
        tpl.Context.for_file(tmp_path, ["a.yaml", {"x": {"y": 2}}], "dvc.yaml")
    ctx = tpl.Context.for_file(tmp_path, ["a.yaml", {"x": {"z": 2}}, "a.yaml"], "dvc.yaml")
    assert ctx.data == {"x": {"y": 1, "z": 2}}


def test_unresolvable_stage_is_reported_not_fatal(tmp_path: Path) -> None:
    (tmp_path / "dvc.yaml").write_text("stages:\n  a:\n    cmd: echo ${nope}\n  b:\n    cmd: echo ok\n")
    parsed = dvcfiles.read_dvc_file(tmp_path, "")
    assert [s.name for s in parsed.stages] == ["b"]
    assert "stage 'a' not converted" in parsed.problems[0] and "nope" in parsed.problems[0]
