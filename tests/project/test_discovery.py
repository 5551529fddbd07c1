"""Finding the project root and every pipeline.py, and (re)loading them."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from pivot import Pipeline
from pivot.errors import RegistrationError, UserError
from pivot.project import discovery
from pivot.project.discovery import discover, load_pipelines, load_stage_function, module_name
from pivot.project.root import find_root, init

TRAIN_PIPELINE = """\
from typing import Annotated
import pathlib
from pivot import Pipeline, Dep, Out, StageParams, loaders

class TrainParams(StageParams):
    lr: float = 0.01

def train(data: Annotated[pathlib.Path, Dep("data.csv", loaders.PathOnly())],
          params: TrainParams) -> Annotated[dict, Out("scores.json", loaders.JSON())]:
    return {"lr": params.lr}

pipeline = Pipeline("{name}")
pipeline.register(train)
"""


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return init(tmp_path / "proj")


@pytest.fixture
def bytecode(monkeypatch: pytest.MonkeyPatch) -> None:
    """Write .pyc files as a user's interpreter would: a stale one must never be used."""
    monkeypatch.setattr(sys, "dont_write_bytecode", False)


# --- root ---------------------------------------------------------------------


def test_find_root_from_nested_folder(root: Path) -> None:
    (root / "a" / "b").mkdir(parents=True)
    assert find_root(root / "a" / "b") == root
    assert find_root(root) == root


def test_find_root_outside_project(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"not inside a Pivot project .*run `pivot init`"):
        find_root(tmp_path)


def test_init_layout_and_idempotence(root: Path) -> None:
    ignore = (root / ".pivot" / ".gitignore").read_text()
    for entry in ("/cache/", "/state.lmdb/", "/tmp/", "/repro.lock"):
        assert entry in ignore.splitlines()
    rules = [line for line in ignore.splitlines() if not line.startswith("#")]
    assert not any("stages" in r or "*" in r for r in rules)  # stage lock files are kept in git
    config = root / ".pivot" / "config.yaml"
    assert yaml.safe_load(config.read_text()) == {}
    config.write_text("cache: {}\n")
    assert init(root) == root
    assert config.read_text() == "cache: {}\n"


# --- discover -----------------------------------------------------------------


def test_discover_skips_and_orders(root: Path) -> None:
    wanted = ["pipeline.py", "a/pipeline.py", "a/b/pipeline.py", "b/pipeline.py", "data/keep/pipeline.py"]
    skipped = [
        ".venv/lib/pipeline.py", ".git/pipeline.py", ".pivot/pipeline.py", "node_modules/x/pipeline.py",
        "__pycache__/pipeline.py", "venv2/lib/pipeline.py", "scratch/pipeline.py", "a/scratch/pipeline.py",
        "data/raw/pipeline.py", "tmp_1/pipeline.py",
    ]
    for rel in wanted + skipped:
        _write(root / rel, "")
    (root / "venv2" / "pyvenv.cfg").write_text("home = /usr\n")
    (root / "a" / "b" / "notes_pipeline.py").write_text("")
    _write(root / ".pivotignore", "# comment\nscratch/\n/data/raw\ntmp_*\n\n")
    found = [p.relative_to(root).as_posix() for p in discover(root)]
    assert found == wanted


def test_ignore_rules_folder_only_pattern(root: Path) -> None:
    rules = discovery.IgnoreRules(names=(("build", True),))
    assert rules.ignores("build", "x/build", is_dir=True)
    assert not rules.ignores("build", "x/build", is_dir=False)


# --- load_pipelines -------------------------------------------------------------


def test_same_stage_name_in_nested_folders(root: Path) -> None:
    for folder, name in (("", "top"), ("models", "models"), ("models/a", "nested")):
        _write(root / folder / "pipeline.py", TRAIN_PIPELINE.replace("{name}", name))
    specs = load_pipelines(root)
    assert [(s.identity, s.pipeline, s.pipeline_file) for s in specs] == [
        ("train", "top", "pipeline.py"),
        ("models:train", "models", "models/pipeline.py"),
        ("models/a:train", "nested", "models/a/pipeline.py"),
    ]
    assert [s.deps[0].path for s in specs] == ["data.csv", "models/data.csv", "models/a/data.csv"]
    assert {s.func.__module__ for s in specs if s.func} == {
        "pivot_pipelines._root", "pivot_pipelines.models", "pivot_pipelines.models.a"}


def test_module_names(root: Path) -> None:
    assert module_name(root, root / "pipeline.py") == "pivot_pipelines._root"
    assert module_name(root, root / "models" / "a" / "pipeline.py") == "pivot_pipelines.models.a"
    assert module_name(root, root / "gpt-4.1" / "pipeline.py") == "pivot_pipelines.gpt_2d_4_2e_1"


def test_reload_after_editing_pipeline(root: Path, bytecode: None) -> None:
    file = _write(root / "pipeline.py", TRAIN_PIPELINE.replace("{name}", "p"))
    assert load_pipelines(root)[0].param_values == {"lr": 0.01}
    file.write_text(file.read_text().replace("lr: float = 0.01", "lr: float = 0.02"))  # same size, same second
    specs = load_pipelines(root)
    assert specs[0].param_values == {"lr": 0.02}
    assert specs[0].func is not None and specs[0].func(None, specs[0].params) == {"lr": 0.02}


HELPER_PIPELINE = """\
from typing import Annotated
import pathlib
from pivot import Pipeline, Out
from helpers import VALUE, compute

def stage() -> Annotated[pathlib.Path, Out("out.txt")]:
    return compute()

pipeline = Pipeline("h")
pipeline.register(stage, name=f"stage_{VALUE}")
"""


def test_reload_after_editing_helper_and_helpers_per_folder(root: Path, bytecode: None) -> None:
    for folder, value in (("a", 1), ("b", 2)):
        _write(root / folder / "pipeline.py", HELPER_PIPELINE)
        _write(root / folder / "helpers.py", f"VALUE = {value}\ndef compute():\n    return {value}\n")
    path_before = list(sys.path)
    assert [s.identity for s in load_pipelines(root)] == ["a:stage_1", "b:stage_2"]
    assert sys.path == path_before
    assert list((root / "b" / "__pycache__").glob("helpers.*.pyc"))
    helper = root / "a" / "helpers.py"
    helper.write_text(helper.read_text().replace("1", "3"))  # same size, same second
    specs = load_pipelines(root)
    assert [s.identity for s in specs] == ["a:stage_3", "b:stage_2"]
    assert specs[0].func is not None and specs[0].func() == 3


def test_pipeline_that_raises(root: Path) -> None:
    _write(root / "bad" / "pipeline.py", "import json\njson.loads('{not json')\n")
    path_before = list(sys.path)
    with pytest.raises(UserError, match=r"^bad/pipeline\.py: JSONDecodeError: Expecting property name") as err:
        load_pipelines(root)
    assert isinstance(err.value.__cause__, ValueError)
    assert err.value.path == "bad/pipeline.py"
    assert sys.path == path_before
    assert "pivot_pipelines.bad" not in sys.modules


def test_syntax_error(root: Path) -> None:
    _write(root / "pipeline.py", "def broken(:\n")
    with pytest.raises(UserError, match=r"^pipeline\.py: SyntaxError"):
        load_pipelines(root)


def test_registration_error_inside_pipeline_names_file(root: Path) -> None:
    _write(root / "m" / "pipeline.py", "from pivot import Pipeline\npipeline = Pipeline('x')\npipeline.register(lambda: None)\n")
    with pytest.raises(RegistrationError, match="lambda") as err:
        load_pipelines(root)
    assert str(root / "m" / "pipeline.py") in str(err.value)


@pytest.mark.parametrize(
    "text, message",
    [("x = 1\n", "defines no module-level `pipeline"), ("pipeline = 3\n", "`pipeline` is a int")],
)
def test_pipeline_variable_missing_or_wrong(root: Path, text: str, message: str) -> None:
    _write(root / "pipeline.py", text)
    with pytest.raises(UserError, match=message):
        load_pipelines(root)


def test_duplicate_identity_across_files(root: Path) -> None:
    _write(root / "pipeline.py", TRAIN_PIPELINE.replace("{name}", "a"))
    # A sub-pipeline that declares itself rooted at the project root collides with the root one.
    text = TRAIN_PIPELINE.replace('Pipeline("{name}")', "Pipeline('b', root=pathlib.Path(__file__).parent.parent)")
    _write(root / "sub" / "pipeline.py", text)
    with pytest.raises(RegistrationError, match="'train' is registered by both"):
        load_pipelines(root)


def test_pipeline_folder_defaults_to_callers_file(root: Path) -> None:
    pipe = Pipeline("here")
    assert pipe.folder == Path(os.path.abspath(__file__)).parent
    assert pipe.file == Path(os.path.abspath(__file__))


# --- load_stage_function -------------------------------------------------------------


def test_load_stage_function_caches_per_mtime(root: Path) -> None:
    file = _write(root / "models" / "pipeline.py", TRAIN_PIPELINE.replace("{name}", "m"))
    first = load_stage_function(root, "models/pipeline.py", "train")
    assert first.identity == "models:train"
    assert load_stage_function(root, "models/pipeline.py", "models:train") is first
    file.write_text(file.read_text() + "\n# edited\n")
    assert load_stage_function(root, "models/pipeline.py", "train") is not first
    with pytest.raises(UserError, match="no stage named 'nope'"):
        load_stage_function(root, "models/pipeline.py", "nope")


WORKER = """\
import pickle, sys
from pathlib import Path
from pivot.project.discovery import load_stage_function
spec = load_stage_function(Path(sys.argv[1]), "models/pipeline.py", "train")
func = pickle.loads(bytes.fromhex(sys.argv[2]))  # by reference: needs the module loaded above
print(func is spec.func, func(None, spec.params))
"""


def test_worker_process_reloads_stage(root: Path) -> None:
    import pickle

    _write(root / "models" / "pipeline.py", TRAIN_PIPELINE.replace("{name}", "m"))
    [spec] = load_pipelines(root)
    payload = pickle.dumps(spec.func).hex()
    result = subprocess.run([sys.executable, "-c", WORKER, str(root), payload],
                            check=True, capture_output=True, text=True, cwd=root)
    assert result.stdout.strip() == "True {'lr': 0.01}"


def test_helpers_do_not_leak_between_projects(tmp_path: Path) -> None:
    roots = [init(tmp_path / name) for name in ("one", "two")]
    for value, project in enumerate(roots, start=1):
        _write(project / "pipeline.py", HELPER_PIPELINE)
        _write(project / "helpers.py", f"VALUE = {value}\ndef compute():\n    return {value}\n")
    assert [s.name for s in load_pipelines(roots[0])] == ["stage_1"]
    assert [s.name for s in load_pipelines(roots[1])] == ["stage_2"]
