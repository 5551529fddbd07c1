"""StageParams resolution: class defaults <- register(params=) <- params.yaml[base] <- params.yaml[name@variant]."""

from __future__ import annotations

import pathlib
from pathlib import Path
from typing import Annotated, Any

import pydantic
import pytest

from pivot import Dep, Pipeline, StageParams
from pivot.errors import ConfigError
from pivot.project.root import init


class Optimizer(StageParams):
    name: str = "sgd"
    momentum: float = 0.9


class FitParams(StageParams):
    lr: float = 0.01
    epochs: int = 3
    opt: Optimizer = Optimizer()
    out_dir: pathlib.Path = pathlib.Path("out")


def fit(data: Annotated[pathlib.Path, Dep("data.csv")], params: FitParams) -> None:
    raise NotImplementedError


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return init(tmp_path)


def _resolve(root: Path, yaml_text: str | None, **register: Any) -> dict[str, dict[str, object]]:
    if yaml_text is not None:
        (root / "params.yaml").write_text(yaml_text)
    pipe = Pipeline("p", root=root)
    pipe.register(fit, **register)
    return {s.name: dict(s.param_values) for s in pipe.resolve(root)}


def test_stage_params_are_frozen_and_strict() -> None:
    params = FitParams()
    with pytest.raises(pydantic.ValidationError):
        params.lr = 1.0
    with pytest.raises(pydantic.ValidationError):
        FitParams(learning_rate=1.0)  # type: ignore[call-arg]


def test_class_defaults_without_yaml(root: Path) -> None:
    assert _resolve(root, None)["fit"] == {
        "lr": 0.01, "epochs": 3, "opt": {"name": "sgd", "momentum": 0.9}, "out_dir": "out"}


def test_yaml_overrides_defaults_deeply(root: Path) -> None:
    values = _resolve(root, "fit:\n  lr: 0.5\n  opt:\n    momentum: 0.5\nother:\n  x: 1\n")["fit"]
    assert values["lr"] == 0.5 and values["epochs"] == 3
    assert values["opt"] == {"name": "sgd", "momentum": 0.5}


def test_explicit_instance_is_the_base_and_yaml_wins(root: Path) -> None:
    values = _resolve(root, "fit:\n  lr: 0.5\n", params=FitParams(lr=0.2, epochs=10))["fit"]
    assert values["lr"] == 0.5 and values["epochs"] == 10


def test_params_class_given(root: Path) -> None:
    assert _resolve(root, None, params=FitParams)["fit"]["lr"] == 0.01


def test_variant_key_overrides_base_key(root: Path) -> None:
    yaml_text = "fit:\n  lr: 0.5\n  epochs: 4\nfit@big:\n  epochs: 40\n'fit@gpt-4.1':\n  lr: 0.9\n"
    values = _resolve(root, yaml_text, matrix={"small": None, "big": None, "gpt-4.1": {"params": {"epochs": 2}}})
    assert (values["fit@small"]["lr"], values["fit@small"]["epochs"]) == (0.5, 4)
    assert (values["fit@big"]["lr"], values["fit@big"]["epochs"]) == (0.5, 40)
    assert (values["fit@gpt-4.1"]["lr"], values["fit@gpt-4.1"]["epochs"]) == (0.9, 4)


def test_resolved_instance_is_injected_value(root: Path) -> None:
    (root / "params.yaml").write_text("fit:\n  out_dir: results\n")
    pipe = Pipeline("p", root=root)
    pipe.register(fit)
    [spec] = pipe.resolve(root)
    assert spec.params == FitParams(out_dir=pathlib.Path("results"))
    assert spec.param_values["out_dir"] == "results"


def test_params_yaml_beside_nested_pipeline(root: Path) -> None:
    (root / "params.yaml").write_text("fit:\n  lr: 1.0\n")
    (root / "sub").mkdir()
    (root / "sub" / "params.yaml").write_text("fit:\n  lr: 2.0\n")
    pipe = Pipeline("p", root=root / "sub")
    pipe.register(fit)
    assert pipe.resolve(root)[0].param_values["lr"] == 2.0


@pytest.mark.parametrize(
    "yaml_text, message",
    [
        ("fit: [unclosed\n", r"params\.yaml: invalid YAML"),
        ("- a\n- b\n", r"params\.yaml: expected a mapping"),
        ("fit:\n  lr: fast\n", r"params\.yaml: key 'fit': lr: "),
        ("fit:\n  learning_rate: 1\n", r"params\.yaml: key 'fit': learning_rate: Extra inputs"),
        ("fit: 3\n", r"params\.yaml: key 'fit' must be a mapping"),
        ("fit@a:\n  opt:\n    momentum: x\n", r"params\.yaml: key 'fit@a': opt\.momentum"),
    ],
)
def test_bad_params_yaml(root: Path, yaml_text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as err:
        _resolve(root, yaml_text, matrix={"a": None})
    assert err.value.path == "params.yaml"


def test_shell_param_keys_missing(root: Path) -> None:
    (root / "sub").mkdir()
    (root / "sub" / "params.yaml").write_text("train:\n  lr: 1\n")
    pipe = Pipeline("p", root=root / "sub")
    pipe.register_cmd("s", cmd="true", params=["train.epochs"])
    with pytest.raises(ConfigError, match=r"sub/params\.yaml: stage 's' reads param 'train\.epochs'"):
        pipe.resolve(root)


def test_bad_yaml_ignored_when_no_stage_reads_params(root: Path) -> None:
    (root / "params.yaml").write_text("[unclosed\n")
    pipe = Pipeline("p", root=root)
    pipe.register_cmd("s", cmd="true")
    assert pipe.resolve(root)[0].param_values == {}


def test_shell_stage_reads_keys_of_a_shared_params_file(tmp_path: Path) -> None:
    """`FILE:key` names a key of another YAML file (DVC's `- ../params.yaml: [key]`)."""
    from pivot.project.discovery import load_pipelines
    from pivot.project.root import init

    init(tmp_path)
    (tmp_path / "params.yaml").write_text("shared:\n  lr: 0.5\nother: 1\n")
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "params.yaml").write_text("local: 3\n")
    (sub / "pipeline.py").write_text(
        "from pivot import Pipeline\npipeline = Pipeline('sub')\n"
        "pipeline.register_cmd('a', cmd='true', params=['../params.yaml:shared.lr', 'local'])\n")
    (spec,) = load_pipelines(tmp_path)
    assert dict(spec.param_values) == {"../params.yaml:shared.lr": 0.5, "local": 3}
    (tmp_path / "params.yaml").write_text("shared:\n  lr: 0.7\n")
    (spec,) = load_pipelines(tmp_path)
    assert spec.param_values["../params.yaml:shared.lr"] == 0.7
