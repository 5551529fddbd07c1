"""Registration: annotations -> StageSpec, every registration error names the pipeline file."""

from __future__ import annotations

import dataclasses
import pathlib
from pathlib import Path
from typing import Annotated, Any, TypedDict

import pytest

from pivot import Dep, DirectoryOut, IncrementalOut, Metric, Out, Pipeline, StageParams, loaders
from pivot.errors import RegistrationError
from pivot.project.root import init
from pivot.project.spec import DepSpec, OutKind, OutSpec


class TrainParams(StageParams):
    lr: float = 0.01
    epochs: int = 3


class TrainOutputs(TypedDict):
    model: Annotated[pathlib.Path, Out("model.pkl", loaders.PathOnly())]
    scores: Annotated[dict[str, float], Out("scores.json", loaders.JSON())]


def train(
    data: Annotated[pathlib.Path, Dep("data/clean.csv", loaders.PathOnly())], params: TrainParams
) -> TrainOutputs:
    raise NotImplementedError


def single(text: Annotated[str, Dep("../shared/in.txt", loaders.Text())]) -> Annotated[str, Out("out.txt", loaders.Text())]:
    raise NotImplementedError


def no_outputs(text: Annotated[str, Dep("in.txt", loaders.Text())], verbose: bool = False) -> None:
    raise NotImplementedError


class KindsOutputs(TypedDict):
    images: Annotated[pathlib.Path, DirectoryOut("images/")]
    log: Annotated[pathlib.Path, IncrementalOut("log.txt")]
    metrics: Annotated[dict[str, float], Metric("metrics.json")]


def kinds() -> KindsOutputs:
    raise NotImplementedError


def dir_without_slash() -> Annotated[pathlib.Path, DirectoryOut("images")]:
    raise NotImplementedError


def file_with_slash() -> Annotated[pathlib.Path, Out("images/")]:
    raise NotImplementedError


def escapes(data: Annotated[pathlib.Path, Dep("../../outside.csv")]) -> None:
    raise NotImplementedError


def into_state() -> Annotated[pathlib.Path, Out("../.pivot/x.pkl")]:
    raise NotImplementedError


def unknown_loader(data: Annotated[pathlib.Path, Dep("a.csv", "csv")]) -> None:
    raise NotImplementedError


def loader_class_not_instance(data: Annotated[pathlib.Path, Dep("a.csv", loaders.JSON)]) -> None:
    raise NotImplementedError


class NotFrozen(loaders.Loader[Any]):
    def __init__(self) -> None:
        pass


def non_frozen_loader(data: Annotated[Any, Dep("a.csv", NotFrozen())]) -> None:
    raise NotImplementedError


def _make_local_loader() -> loaders.Loader[Any]:
    @dataclasses.dataclass(frozen=True)
    class Local(loaders.Loader[Any]):
        pass

    return Local()


LOCAL_LOADER = _make_local_loader()


def local_loader(data: Annotated[Any, Dep("a.csv", LOCAL_LOADER)]) -> None:
    raise NotImplementedError


def returns_typeddict() -> None:  # the test swaps in a TypedDict defined inside a function
    raise NotImplementedError


def unsupplied(data: Annotated[pathlib.Path, Dep("a.csv")], threshold: float) -> None:
    raise NotImplementedError


def plain_return() -> int:
    raise NotImplementedError


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return init(tmp_path)


@pytest.fixture
def pipe(root: Path) -> Pipeline:
    return Pipeline("models", root=root / "models")


def test_user_example_resolves(pipe: Pipeline, root: Path) -> None:
    pipe.register(train)
    [spec] = pipe.resolve(root)
    assert spec.identity == "models:train"
    assert (spec.name, spec.pipeline, spec.pipeline_dir, spec.pipeline_file) == (
        "train", "models", "models", "models/pipeline.py")
    assert spec.deps == (DepSpec("models/data/clean.csv", "data/clean.csv", "data", loaders.PathOnly()),)
    assert spec.outs == (
        OutSpec("models/model.pkl", "model.pkl", OutKind.FILE, "model", loaders.PathOnly()),
        OutSpec("models/scores.json", "scores.json", OutKind.FILE, "scores", loaders.JSON()),
    )
    assert spec.func is train and spec.cmd is None
    assert spec.params == TrainParams() and spec.params_arg == "params"
    assert spec.param_values == {"lr": 0.01, "epochs": 3}


def test_single_output_and_written_vs_root_path(pipe: Pipeline, root: Path) -> None:
    pipe.register(single, out_path_overrides={"return": "renamed.txt"})
    [spec] = pipe.resolve(root)
    assert spec.deps[0].path == "shared/in.txt" and spec.deps[0].written == "../shared/in.txt"
    assert spec.outs == (OutSpec("models/renamed.txt", "renamed.txt", OutKind.FILE, None, loaders.Text()),)


def test_no_outputs_and_defaulted_parameter(pipe: Pipeline, root: Path) -> None:
    pipe.register(no_outputs, always_run=True, resources={"gpu": 1}, mutex="db")
    [spec] = pipe.resolve(root)
    assert spec.outs == () and spec.params is None and spec.param_values == {}
    assert spec.always_run and spec.resources == {"gpu": 1} and spec.mutex == ("db",)


def test_output_kinds(pipe: Pipeline, root: Path) -> None:
    pipe.register(kinds)
    [spec] = pipe.resolve(root)
    assert [(o.key, o.kind, o.path) for o in spec.outs] == [
        ("images", OutKind.DIRECTORY, "models/images/"),
        ("log", OutKind.INCREMENTAL, "models/log.txt"),
        ("metrics", OutKind.METRIC, "models/metrics.json"),
    ]
    assert spec.outs[2].loader == loaders.BySuffix()  # JSON, YAML or CSV/TSV by the file suffix


def test_dep_override(pipe: Pipeline, root: Path) -> None:
    pipe.register(train, name="train_raw", dep_path_overrides={"data": "data/raw.csv"})
    assert pipe.resolve(root)[0].deps[0].path == "models/data/raw.csv"


def test_identity_root_nested(root: Path) -> None:
    for folder, expected in (("", "train"), ("models", "models:train"), ("models/a", "models/a:train")):
        pipe = Pipeline("p", root=root / folder)
        pipe.register(train)
        assert pipe.resolve(root)[0].identity == expected


def test_stages_finds_project_root(pipe: Pipeline) -> None:
    pipe.register(train)
    assert [s.identity for s in pipe.stages()] == ["models:train"]


def test_register_is_a_decorator(pipe: Pipeline) -> None:
    assert pipe.register(train) is train


# --- matrix -----------------------------------------------------------------

VARIANTS: dict[str, dict[str, Any]] = {
    "small": {"params": {"lr": 0.1}},
    "gpt-4.1": {
        "params": TrainParams(lr=0.5, epochs=9),
        "dep_path_overrides": {"data": "data/big.csv"},
        "out_path_overrides": {"model": "big/model.pkl"},
    },
}


def test_matrix_equals_loop(root: Path) -> None:
    shorthand = Pipeline("m", root=root)
    shorthand.register(train, matrix=VARIANTS, out_path_overrides={"scores": "s.json"})
    loop = Pipeline("m", root=root)
    loop.register(train, name="train@small", params=TrainParams(lr=0.1), out_path_overrides={"scores": "s.json"})
    loop.register(
        train, name="train@gpt-4.1", params=TrainParams(lr=0.5, epochs=9),
        dep_path_overrides={"data": "data/big.csv"},
        out_path_overrides={"scores": "s.json", "model": "big/model.pkl"})
    specs = shorthand.resolve(root)
    assert specs == loop.resolve(root)
    assert [s.identity for s in specs] == ["train@small", "train@gpt-4.1"]
    assert specs[0].param_values == {"lr": 0.1, "epochs": 3}
    assert specs[1].outs[0].path == "big/model.pkl" and specs[1].deps[0].path == "data/big.csv"


def test_matrix_dict_params_apply_over_register_params(root: Path) -> None:
    pipe = Pipeline("m", root=root)
    pipe.register(train, params=TrainParams(epochs=7), matrix={"a": {"params": {"lr": 0.2}}, "b": None})
    a, b = pipe.resolve(root)
    assert a.param_values == {"lr": 0.2, "epochs": 7}
    assert b.param_values == {"lr": 0.01, "epochs": 7}


@pytest.mark.parametrize(
    "matrix, message",
    [
        ({"a": {"params": {"lr": "fast"}}}, "invalid matrix params"),
        ({"a": {"bogus": 1}}, "unknown matrix keys"),
        ({}, "at least one variant"),
        ({"a/b": {}}, "invalid stage name"),
        ({"ok": {}, "bad": {"out_path_overrides": {"nope": "x"}}}, "unknown output"),
    ],
)
def test_matrix_errors(pipe: Pipeline, matrix: dict[str, Any], message: str) -> None:
    with pytest.raises(RegistrationError, match=message) as err:
        pipe.register(train, matrix=matrix)
    assert str(pipe.file) in str(err.value)
    assert len(pipe) == 0  # all variants or none


# --- shell stages -----------------------------------------------------------


def test_register_cmd_with_list(pipe: Pipeline, root: Path) -> None:
    (root / "models" / "params.yaml").parent.mkdir()
    (root / "models" / "params.yaml").write_text("train:\n  lr: 0.3\n  layers: [1, 2]\n")
    pipe.register_cmd(
        "prep",
        cmd=["python fetch.py", "python clean.py --out data/"],
        deps=["fetch.py", Dep("clean.py")],
        outs=["data/", "report.txt", Metric("m.json")],
        params=["train.lr", "train.layers"],
    )
    [spec] = pipe.resolve(root)
    assert spec.is_shell and spec.cmd == ("python fetch.py", "python clean.py --out data/")
    assert spec.func is None and spec.params is None
    assert [d.path for d in spec.deps] == ["models/fetch.py", "models/clean.py"]
    assert all(d.arg is None and d.loader is None for d in spec.deps)
    assert [(o.path, o.kind) for o in spec.outs] == [
        ("models/data/", OutKind.DIRECTORY), ("models/report.txt", OutKind.FILE), ("models/m.json", OutKind.METRIC)]
    assert spec.param_keys == ("train.lr", "train.layers")
    assert spec.param_values == {"train.lr": 0.3, "train.layers": [1, 2]}


def test_register_cmd_single_string(pipe: Pipeline, root: Path) -> None:
    pipe.register_cmd("echo", cmd="echo hi > out.txt", outs=["out.txt"])
    assert pipe.resolve(root)[0].cmd == ("echo hi > out.txt",)


# --- errors: each names the pipeline file -------------------------------------


def _local_function() -> Any:
    def inner() -> None:
        raise NotImplementedError

    return inner


def _local_typeddict() -> Any:
    class LocalOutputs(TypedDict):
        x: Annotated[pathlib.Path, Out("x.txt")]

    return LocalOutputs


@pytest.mark.parametrize(
    "func, kwargs, message",
    [
        (_local_function(), {}, "defined inside a function"),
        (lambda: None, {}, "lambda"),
        (unknown_loader, {}, "unknown loader 'csv'"),
        (loader_class_not_instance, {}, r"did you mean JSON\(\)"),
        (non_frozen_loader, {}, r"must be decorated with @dataclass\(frozen=True\)"),
        (local_loader, {}, "loader class .* is defined inside a function"),
        (dir_without_slash, {}, "must end in '/'"),
        (file_with_slash, {}, "declare it as DirectoryOut"),
        (unsupplied, {}, "parameter 'threshold'"),
        (plain_return, {}, "declares no output"),
        (train, {"dep_path_overrides": {"nope": "x"}}, "unknown parameter"),
        (train, {"out_path_overrides": {"return": "x"}}, "unknown output"),
        (no_outputs, {"params": TrainParams()}, "no StageParams parameter"),
        (train, {"name": "a:b"}, "invalid stage name"),
    ],
)
def test_registration_errors(pipe: Pipeline, func: Any, kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(RegistrationError, match=message) as err:
        pipe.register(func, **kwargs)
    assert str(pipe.file) in str(err.value)
    assert err.value.path == str(pipe.file)


def test_typeddict_not_at_module_level(pipe: Pipeline, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(returns_typeddict.__annotations__, "return", _local_typeddict())
    with pytest.raises(RegistrationError, match=r"TypedDict .* is defined inside a function") as err:
        pipe.register(returns_typeddict)
    assert str(pipe.file) in str(err.value)


def test_duplicate_stage_name(pipe: Pipeline) -> None:
    pipe.register(train)
    with pytest.raises(RegistrationError, match="already registered") as err:
        pipe.register_cmd("train", cmd="true")
    assert str(pipe.file) in str(err.value) and err.value.stage == "train"


@pytest.mark.parametrize(
    "func, message",
    [(escapes, "leaves the project root"), (into_state, r"inside \.pivot/")],
)
def test_path_errors_at_resolve(pipe: Pipeline, root: Path, func: Any, message: str) -> None:
    pipe.register(func)
    with pytest.raises(RegistrationError, match=message) as err:
        pipe.resolve(root)
    assert "models/pipeline.py" in str(err.value)


def test_cmd_output_in_state_dir(root: Path) -> None:
    pipe = Pipeline("p", root=root)
    pipe.register_cmd("bad", cmd="true", outs=[".pivot/cache/x"])
    with pytest.raises(RegistrationError, match=r"pipeline\.py: stage 'bad'.*\.pivot/"):
        pipe.resolve(root)


def test_pipeline_outside_project(tmp_path: Path) -> None:
    root = init(tmp_path / "proj")
    pipe = Pipeline("p", root=tmp_path / "elsewhere")
    pipe.register(train)
    with pytest.raises(RegistrationError, match="outside the project"):
        pipe.resolve(root)


def test_specs_are_picklable(pipe: Pipeline, root: Path) -> None:
    import pickle

    pipe.register(train)
    [spec] = pipe.resolve(root)
    assert pickle.loads(pickle.dumps(spec)) == spec
