"""Metrics and plots are outputs: their declaration is part of the stage key, their display options are not."""

from __future__ import annotations

from pathlib import Path

import pytest

from pivot import Metric, Pipeline, Plot, loaders
from pivot.errors import RegistrationError
from pivot.project.spec import OutKind
from tests.fixtures.project import run_cli


def _decisions(root: Path) -> dict[str, str]:
    return {s["name"]: s["decision"] for s in run_cli(root, "status", "--json").json()["stages"]}


def _edit(root: Path, old: str, new: str) -> None:
    text = (root / "pipeline.py").read_text()
    assert old in text
    (root / "pipeline.py").write_text(text.replace(old, new))


def test_declaration_changes_rerun_the_stage_and_display_options_do_not(project: Path) -> None:
    assert set(_decisions(project).values()) == {"skip"}
    # How a shell stage's chart is drawn is not part of its key. (In a Python stage the Plot
    # marker is part of the function's annotations, so editing it is a code change there.)
    _edit(project, '"template": "smooth"', '"template": "linear"')
    _edit(project, '"x": "step", "y": "loss"', '"x": "step", "y": "loss", "title": "Loss"')
    assert set(_decisions(project).values()) == {"skip"}
    _edit(project, '"scores.tsv"]', '{"scores.tsv": {"cache": False}}]')  # where the bytes live
    assert _decisions(project)["report"] == "run"
    _edit(project, '{"scores.tsv": {"cache": False}}]', '"scores.tsv"]')
    assert _decisions(project)["report"] == "skip"
    _edit(project, 'Metric("metrics.json")', 'Out("metrics.json", loaders.JSON())')  # no longer a metric
    assert _decisions(project)["train"] == "run"


def _stage(pipeline: Pipeline) -> dict[str, tuple[OutKind, bool, dict[str, str]]]:
    (spec,) = pipeline.resolve(pipeline.folder)
    return {o.path: (o.kind, o.cache, dict(o.props)) for o in spec.outs}


def test_shell_metrics_and_plots_entries(tmp_path: Path) -> None:
    p = Pipeline("t", root=tmp_path)
    p.register_cmd("s", cmd="true", outs=["out.bin"],
                   metrics=["m.json", Metric("m.yaml", cache=False), {"m.csv": {"cache": False}}, {"m.tsv": None}],
                   plots=["p.json", {"p.csv": {"x": "step", "y": "loss", "template": "smooth"}}, Plot("i.png")])
    outs = _stage(p)
    assert outs["out.bin"][:2] == (OutKind.FILE, True)
    assert outs["m.json"][:2] == (OutKind.METRIC, True) and outs["m.tsv"][:2] == (OutKind.METRIC, True)
    assert outs["m.yaml"][:2] == (OutKind.METRIC, False) and outs["m.csv"][:2] == (OutKind.METRIC, False)
    assert outs["p.csv"] == (OutKind.PLOT, True, {"x": "step", "y": "loss", "template": "smooth"})
    assert outs["i.png"][0] == OutKind.PLOT


def test_cache_true_keeps_the_old_declaration_so_existing_stage_keys_stay_valid(tmp_path: Path) -> None:
    p = Pipeline("t", root=tmp_path)
    p.register_cmd("s", cmd="true", metrics=["a.json", {"b.json": {"cache": False}}])
    (spec,) = p.resolve(tmp_path)
    decls = {o.path: o.declaration() for o in spec.outs}
    assert decls["a.json"] == {"path": "a.json", "kind": "metric", "key": ""}
    assert decls["b.json"] == {"path": "b.json", "kind": "metric", "key": "", "cache": "false"}


@pytest.mark.parametrize(("entry", "message"), [
    ({"m.json": {"colour": "red"}}, "unknown options ['colour']"),
    (42, "expected a path, Metric"),
    ({"m.json": {"cache": "no"}}, "cache must be true or false"),
])
def test_bad_metric_entries_name_the_problem(tmp_path: Path, entry: object, message: str) -> None:
    with pytest.raises(RegistrationError, match=message.replace("[", r"\[").replace("]", r"\]")):
        Pipeline("t", root=tmp_path).register_cmd("s", cmd="true", metrics=[entry])  # type: ignore[list-item]


def test_bad_plot_template(tmp_path: Path) -> None:
    with pytest.raises(RegistrationError, match="unknown template 'pie'"):
        Pipeline("t", root=tmp_path).register_cmd("s", cmd="true", plots=[Plot("p.json", template="pie")])


@pytest.mark.parametrize("name", ["m.json", "m.yaml", "m.csv", "m.tsv"])
def test_metric_files_round_trip_by_suffix(tmp_path: Path, name: str) -> None:
    from pivot.show.metrics import flatten, parse

    path = tmp_path / name
    value = {"acc": 0.75, "n": 3} if name.endswith(("csv", "tsv")) else {"acc": 0.75, "avg": {"test": 0.5}}
    loaders.BySuffix().save(value, path)
    loaded = loaders.BySuffix().load(path)
    assert flatten(loaded) == flatten(parse(name, path.read_bytes()))
    assert flatten(loaded)["acc"] == 0.75
    if name.endswith("tsv"):
        assert path.read_text() == "acc\tn\n0.75\t3\n"
