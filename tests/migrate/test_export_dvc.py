"""`pivot export-dvc` round trip: DVC runs the exported dvc.yaml with the same commands and outputs."""

from __future__ import annotations

import shutil
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from pivot.migrate.export import _group_variants
from tests.fixtures.dvc import Dvc
from tests.fixtures.project import run_cli
from tests.migrate.test_import_dvc import dvc_ran

ROOT_PIPELINE = '''
from typing import Annotated

from pivot import Dep, IncrementalOut, Metric, Out, Pipeline, StageParams, loaders


class Scale(StageParams):
    factor: int = 2


def scale(text: Annotated[str, Dep("data/in.txt", loaders.Text())],
          params: Scale) -> Annotated[str, Out("scaled.txt", loaders.Text())]:
    return text * params.factor


pipeline = Pipeline("root")
pipeline.register_cmd("count", cmd="mkdir -p out && wc -l < data/in.txt > out/count.txt", deps=["data/in.txt"],
                      outs=["out/count.txt"], params=["count.mode", "conf/other.yaml:level"])
pipeline.register_cmd("shard", cmd=["mkdir -p shards", "cd shards && split -l 2 ../data/in.txt part_"],
                      deps=["data/in.txt"], outs=["shards/"])
pipeline.register_cmd(
    "summary",
    cmd=["ls shards | wc -l | tr -d ' ' > summary.json", "cat out/count.txt scaled.txt > all.txt"],
    deps=["shards/", "out/count.txt", "scaled.txt"], outs=[Metric("summary.json"), "all.txt"])
pipeline.register_cmd("log", cmd="cat all.txt >> log.txt", deps=["all.txt"], outs=[IncrementalOut("log.txt")])
pipeline.register(scale)
pipeline.register(scale, name="double", out_path_overrides={"return": "double.txt"})  # no params.yaml section
'''

SUB_PIPELINE = '''
from pivot import Pipeline

pipeline = Pipeline("sub")
for v in ("a", "b"):  # variants: a DVC foreach group; the shell's ${...} must reach the shell
    pipeline.register_cmd(f"echo@{v}", cmd=f"echo {v} ${{HOME:+home}} > echo_{v}.txt", outs=[f"echo_{v}.txt"])
pipeline.register_cmd("wrap", cmd="echo wrapped $(cat ../out/count.txt) > wrapped.txt", deps=["../out/count.txt"],
                      outs=["wrapped.txt"], params=["wrap.tag"])
'''

INPUTS = {
    "data/in.txt": "".join(f"line {i}\n" for i in range(7)),
    "params.yaml": "count: {mode: lines}\nscale: {factor: 3}\n",
    "conf/other.yaml": "level: 2\n",
    "sub/params.yaml": "wrap: {tag: x}\n",
}
OUTPUTS = ("out/count.txt", "scaled.txt", "double.txt", "summary.json", "all.txt", "log.txt", "sub/wrapped.txt", "sub/echo_a.txt", "sub/echo_b.txt",
           "shards/part_aa", "shards/part_ab", "shards/part_ac", "shards/part_ad")


def _write_inputs(root: Path) -> None:
    files = {**INPUTS, "pipeline.py": textwrap.dedent(ROOT_PIPELINE).lstrip(),
             "sub/pipeline.py": textwrap.dedent(SUB_PIPELINE).lstrip()}
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)


@pytest.mark.dvc
def test_export_then_dvc_repro_runs_the_same_commands_and_outputs(tmp_path: Path, dvc: Dvc) -> None:
    src, dst = tmp_path / "src", tmp_path / "dst"
    for root in (src, dst):
        root.mkdir()
        _write_inputs(root)
        run_cli(root, "init")
    run_cli(src, "repro", "--all")
    written = run_cli(src, "export-dvc", "-o", str(dst), "--json").json()["written"]
    assert sorted(written) == ["dvc.yaml", "sub/dvc.yaml"]

    dvc.init(dst)
    ran = dvc_ran(dvc(dst, "repro", "-P", path_first=Path(sys.executable).parent).stdout)
    assert ran == {"count", "shard", "summary", "log", "scale", "double", "sub:wrap", "sub:echo@a", "sub:echo@b"}
    assert (dst / "sub" / "echo_a.txt").read_text() == "a home\n"
    for rel in OUTPUTS:
        assert (dst / rel).read_bytes() == (src / rel).read_bytes(), rel

    lock = yaml.safe_load((dst / "dvc.lock").read_text())["stages"]
    assert lock["count"]["cmd"] == "mkdir -p out && wc -l < data/in.txt > out/count.txt"
    assert lock["shard"]["cmd"] == ["mkdir -p shards", "cd shards && split -l 2 ../data/in.txt part_"]
    assert lock["count"]["params"] == {"params.yaml": {"count.mode": "lines"}, "conf/other.yaml": {"level": 2}}
    assert lock["scale"]["cmd"] == "python -m pivot.migrate.run_stage scale"
    assert lock["scale"]["params"] == {"params.yaml": {"scale": {"factor": 3}}} and "params" not in lock["double"]
    # DVC now sees the exported project as up to date.
    assert dvc_ran(dvc(dst, "repro", "-P", path_first=Path(sys.executable).parent).stdout) == set()


def test_export_refuses_to_overwrite(tmp_path: Path) -> None:
    _write_inputs(tmp_path)
    run_cli(tmp_path, "init")
    run_cli(tmp_path, "export-dvc")
    again = run_cli(tmp_path, "export-dvc", check=False)
    assert again.code == 2 and "dvc.yaml already exists; use --force" in again.err
    run_cli(tmp_path, "export-dvc", "--force")
    shutil.rmtree(tmp_path / ".pivot")


def test_variants_become_one_foreach_group_or_separate_stages() -> None:
    stages = {"t@a": {"cmd": "echo a", "deps": ["x"], "outs": [{"a.txt": {"persist": True}}]},
              "t@b": {"cmd": "echo b", "deps": ["x"], "outs": [{"b.txt": {"persist": True}}]},
              "m@1": {"cmd": ["one", "two"]}, "m@2": {"cmd": "three"}, "plain": {"cmd": "x"}}
    assert _group_variants(stages) == {
        "t": {"foreach": {"a": {"cmd": "echo a", "outs_0_path": "a.txt"}, "b": {"cmd": "echo b", "outs_0_path": "b.txt"}},
              "do": {"cmd": "${item.cmd}", "deps": ["x"], "outs": [{"${item.outs_0_path}": {"persist": True}}]}},
        "m-1": {"cmd": ["one", "two"]}, "m-2": {"cmd": "three"}, "plain": {"cmd": "x"},
    }
