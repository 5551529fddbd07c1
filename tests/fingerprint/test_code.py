"""Code fingerprints: what must, and must not, change a stage's manifest.

The matrix copies the fixture project (tests/fingerprint/fixtures/proj) into
tmp dirs, applies one source edit per variant, and fingerprints each variant
in a fresh interpreter with its own hash seed: equal manifests across variants
therefore also prove determinism across interpreters and checkout paths.
"""

from __future__ import annotations

import importlib.util
import json
import linecache
import os
import pathlib
import shutil
import subprocess
import sys
import textwrap
import time
import types
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest

from pivot.errors import RegistrationError
from pivot.fingerprint.code import code_manifest, diff_manifests, manifest_digest

FIXTURES = pathlib.Path(__file__).parent / "fixtures"
MAIN = FIXTURES / "manifest_main.py"
STAGES = "pivot_pipelines.stages"

Edit = tuple[str, str, str]  # (file, old text, new text)
Manifests = dict[str, dict[str, str]]  # "stage" | "loader" | "params" -> manifest
Loader = Callable[[str, dict[str, str]], types.ModuleType]


@dataclass(frozen=True)
class Variant:
    name: str
    edits: tuple[Edit, ...]
    changed: dict[str, set[str]]  # manifest name -> keys that must differ (others equal)


MUST_CHANGE = [
    Variant("body", (("stages.py", "params.alpha + size", "params.alpha - size"),),
            {"stage": {"self"}}),
    Variant("private_helper", (("stages.py", "return x + 1", "return x + 10"),),
            {"stage": {f"func:{STAGES}._private"}}),
    Variant("other_module_helper", (("helpers.py", "round(x, 2)", "round(x, 3)"),),
            {"stage": {"func:helpers.clean"}}),
    Variant("imported_constant", (("config.py", "THRESHOLD = 0.5", "THRESHOLD = 0.6"),),
            {"stage": {f"const:{STAGES}.THRESHOLD"}}),
    Variant("helper_module_constant", (("helpers.py", "SCALE = 3", "SCALE = 4"),),
            {"stage": {"const:helpers.SCALE"}}),
    Variant("constant_collection", (("config.py", '"b": 2.0', '"b": 2.5'),),
            {"stage": {f"const:{STAGES}.WEIGHTS"}}),
    Variant("loader_class_code", (("stages.py", "split(self.sep)", "split(self.sep, 1)"),),
            {"stage": {f"class:{STAGES}.CsvLoader"}, "loader": {f"class:{STAGES}.CsvLoader"}}),
    Variant("loader_field_value", (("stages.py", 'CsvLoader(sep=",")', 'CsvLoader(sep=";")'),),
            {"stage": {f"obj:{STAGES}.LOADER"}, "loader": {"self"}}),
    Variant("params_default", (("stages.py", "alpha: float = 0.1", "alpha: float = 0.2"),),
            {"stage": {f"class:{STAGES}.Params"}, "params": {"self"}}),
    Variant("decorated_body", (("stages.py", "return x * 2", "return x * 3"),),
            {"stage": {f"func:{STAGES}._decorated"}}),
    Variant("decorator_body",
            (("helpers.py", "return fn(*args, **kwargs)", "return fn(*args, **kwargs) or 0"),),
            {"stage": {"func:helpers.log_calls", "func:helpers.log_calls.<locals>.wrapper"}}),
    Variant("partial_arg", (("stages.py", "partial(_private, 1)", "partial(_private, 2)"),),
            {"stage": {f"partial:{STAGES}._scaled"}}),
    Variant("mutually_recursive_helper", (("stages.py", "else 1", "else 2"),),
            {"stage": {f"func:{STAGES}._pong"}}),
]

MUST_NOT_CHANGE = [
    Variant("comment", (("stages.py", "# a comment", "# other words\n    # and a new line"),), {}),
    Variant("docstring", (
        ("stages.py", '"""Docstring of the stage."""', '"""Reworded, longer docstring."""'),
        ("helpers.py", '"""Helpers shared', '"""Utilities shared'),
    ), {}),
    Variant("whitespace", (
        ("stages.py", "def _private(x: int) -> int:\n    return x + 1",
         "\n\ndef _private(x: int)->int:\n\n    return (x+1)"),
        ("config.py", "THRESHOLD = 0.5", "THRESHOLD   =   0.50"),
    ), {}),
    Variant("unrelated_function_same_module", (("stages.py", "return 42", "return 43"),), {}),
    Variant("unrelated_function_helper_module",
            (("helpers.py", "def unrelated_helper() -> int:\n    return 1",
              "def unrelated_helper() -> int:\n    return 2"),), {}),
]


def _make_project(root: pathlib.Path, edits: tuple[Edit, ...]) -> pathlib.Path:
    shutil.copytree(FIXTURES / "proj", root)
    for name, old, new in edits:
        path = root / name
        text = path.read_text()
        assert text.count(old) == 1, f"{old!r} must occur once in {name}"
        path.write_text(text.replace(old, new))
    return root


def _run(project: pathlib.Path, seed: int) -> Manifests:
    env = {**os.environ, "PYTHONHASHSEED": str(seed)}
    out = subprocess.run(
        [sys.executable, str(MAIN), str(project)],
        env=env, cwd=project, capture_output=True, text=True, check=False, timeout=60,
    )
    assert out.returncode == 0, out.stderr
    result: Manifests = json.loads(out.stdout)
    return result


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Manifests]:
    """Manifests of every variant, each from its own interpreter and hash seed."""
    base = tmp_path_factory.mktemp("fp")
    projects = {
        "baseline": _make_project(base / "checkout_a" / "proj", ()),
        "baseline_elsewhere": _make_project(base / "b" / "deeper" / "clone", ()),
    }
    for variant in MUST_CHANGE + MUST_NOT_CHANGE:
        projects[variant.name] = _make_project(base / variant.name, variant.edits)
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {
            name: pool.submit(_run, path, seed) for seed, (name, path) in enumerate(projects.items())
        }
        return {name: future.result() for name, future in futures.items()}


def _changed(old: dict[str, str], new: dict[str, str]) -> set[str]:
    return {key for key, _, _ in diff_manifests(old, new)}


@pytest.mark.parametrize("variant", MUST_CHANGE, ids=lambda v: v.name)
def test_edit_changes_exactly_the_component(
    results: dict[str, Manifests], variant: Variant
) -> None:
    base, new = results["baseline"], results[variant.name]
    for manifest in ("stage", "loader", "params"):
        assert _changed(base[manifest], new[manifest]) == variant.changed.get(manifest, set())


@pytest.mark.parametrize("variant", MUST_NOT_CHANGE, ids=lambda v: v.name)
def test_edit_leaves_fingerprint_alone(results: dict[str, Manifests], variant: Variant) -> None:
    assert results[variant.name] == results["baseline"]


def test_same_stage_in_two_checkouts_fingerprints_identically(
    results: dict[str, Manifests],
) -> None:
    assert results["baseline_elsewhere"] == results["baseline"]


def test_manifest_lists_the_references(results: dict[str, Manifests]) -> None:
    stage = results["baseline"]["stage"]
    expected = {
        "self", "func:helpers.clean", f"func:{STAGES}._private", f"func:{STAGES}._ping",
        f"func:{STAGES}._pong", f"func:{STAGES}._decorated", "func:helpers.log_calls",
        f"class:{STAGES}.Params", f"class:{STAGES}.CsvLoader", f"obj:{STAGES}.LOADER",
        f"partial:{STAGES}._scaled", f"const:{STAGES}.THRESHOLD", "const:helpers.SCALE",
        f"const:{STAGES}.TAGS", "dist:pydantic", "stdlib:python",
    }
    assert expected <= set(stage)
    assert f"func:{STAGES}.unrelated_in_module" not in stage
    assert "func:helpers.unrelated_helper" not in stage
    assert stage["dist:pydantic"] == _version("pydantic")


def test_diff_names_the_changed_helper(results: dict[str, Manifests]) -> None:
    old, new = results["baseline"]["stage"], results["private_helper"]["stage"]
    key = f"func:{STAGES}._private"
    assert diff_manifests(old, new) == [(key, old[key], new[key])]


def _version(dist: str) -> str:
    from importlib import metadata

    return metadata.version(dist)


# -- in-process behaviour ---------------------------------------------------


@pytest.fixture
def load(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> Loader:
    """Write modules into tmp_path and import one under a fixed, test-unique name."""
    monkeypatch.syspath_prepend(str(tmp_path))

    def _load(name: str, files: dict[str, str]) -> types.ModuleType:
        for filename, text in files.items():
            (tmp_path / filename).write_text(textwrap.dedent(text))
        spec = importlib.util.spec_from_file_location(name, tmp_path / f"{name}.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        monkeypatch.setitem(sys.modules, name, module)
        spec.loader.exec_module(module)
        return module

    return _load


def _cell(monkeypatch: pytest.MonkeyPatch, name: str, src: str, ns: dict[str, Any]) -> None:
    """Run `src` the way IPython runs a cell: source only in linecache."""
    monkeypatch.setitem(linecache.cache, name, (len(src), None, src.splitlines(True), name))
    exec(compile(src, name, "exec"), ns)


def test_notebook_cell_function_fingerprints_from_its_source(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ns: dict[str, Any] = {"__name__": "__main__"}
    _cell(monkeypatch, "<cell-1>", "def cell_stage(x):\n    return x + 1\n", ns)
    first = code_manifest(ns["cell_stage"])
    _cell(monkeypatch, "<cell-1>", "def cell_stage(x):\n    # note\n    return x + 1\n", ns)
    assert code_manifest(ns["cell_stage"]) == first
    # Redefined under the same cell name: nothing cached may replay the old source.
    _cell(monkeypatch, "<cell-1>", "def cell_stage(x):\n    return x + 2\n", ns)
    assert diff_manifests(first, code_manifest(ns["cell_stage"]))[0][0] == "self"


def test_notebook_params_class_without_methods(monkeypatch: pytest.MonkeyPatch) -> None:
    ns: dict[str, Any] = {"__name__": "__main__"}
    model = "import pydantic\nclass P(pydantic.BaseModel):\n    a: int = {}\n"
    _cell(monkeypatch, "<cell-2>", model.format(1), ns)
    _cell(monkeypatch, "<cell-3>", "def uses_p(p: P) -> int:\n    return p.a\n", ns)
    first = code_manifest(ns["uses_p"])
    assert "class:__main__.P" in first
    _cell(monkeypatch, "<cell-4>", model.format(2), ns)
    assert _changed(first, code_manifest(ns["uses_p"])) == {"class:__main__.P"}


def test_lambdas_fingerprint_by_source_or_refuse(load: Loader) -> None:
    mod = load("fp_lambdas", {"fp_lambdas.py": """
        inc = lambda x: x + 1  # noqa: E731
        dec = lambda x: x - 1  # noqa: E731
    """})
    assert code_manifest(mod.inc)["self"] != code_manifest(mod.dec)["self"]
    no_source = eval("lambda x: x * 2")
    with pytest.raises(RegistrationError, match="lambda"):
        code_manifest(no_source)


def test_closure_values_are_tracked(load: Loader) -> None:
    mod = load("fp_closure", {"fp_closure.py": """
        def make(threshold):
            def stage(x):
                return x > threshold
            return stage

        low, high = make(0.1), make(0.9)
    """})
    low, high = code_manifest(mod.low), code_manifest(mod.high)
    assert _changed(low, high) == {"const:fp_closure.make.<locals>.stage.<closure>.threshold"}


def test_third_party_and_pivot_contribute_versions_only(load: Loader) -> None:
    mod = load("fp_ext", {"fp_ext.py": """
        import json
        import numpy as np
        from pivot.digest import hash_bytes

        def stage(x):
            return hash_bytes(json.dumps(np.mean(x)).encode())
    """})
    manifest = code_manifest(mod.stage)
    assert manifest["dist:numpy"] == _version("numpy")
    assert manifest["dist:pivot"] == _version("pivot")
    assert manifest["stdlib:python"] == f"{sys.version_info.major}.{sys.version_info.minor}"
    assert not [key for key in manifest if "numpy." in key or "pivot." in key]


def test_opaque_global_is_fingerprinted_by_its_binding(load: Loader) -> None:
    src = """
        import decimal
        RATE = decimal.Decimal("{}")

        def stage(x):
            return x * RATE
    """
    first = code_manifest(load("fp_opaque_a", {"fp_opaque_a.py": src.format("1.5")}).stage)
    second = code_manifest(load("fp_opaque_b", {"fp_opaque_b.py": src.format("2.5")}).stage)
    assert first["obj:fp_opaque_a.RATE"] != second["obj:fp_opaque_b.RATE"]


def test_decorator_applied_by_call_and_self_referencing_values(
    load: Loader, tmp_path: pathlib.Path
) -> None:
    src = """
        def deco(fn):
            tag = "{}"
            def inner(*args):
                return fn(*args), tag
            return inner

        def raw(x):
            return x + 1

        wrapped = deco(raw)
        LOOP = []
        LOOP.append(LOOP)

        def stage(x):
            return wrapped(x), len(LOOP)
    """
    mod = load("fp_deco", {"fp_deco.py": src.format("a")})
    first = code_manifest(mod.stage)
    assert {"func:fp_deco.raw", "obj:fp_deco.LOOP"} <= set(first)
    (tmp_path / "fp_deco.py").write_text(textwrap.dedent(src.format("b")))
    assert _changed(first, code_manifest(mod.stage)) == {"func:fp_deco.deco.<locals>.inner"}


def test_bare_user_module_reference_tracks_the_module(
    load: Loader, tmp_path: pathlib.Path
) -> None:
    mod = load("fp_bare", {
        "fp_bare_helpers.py": "def clean(x):\n    return x + 1\n",
        "fp_bare.py": """
            import fp_bare_helpers

            def stage(name, x):
                return getattr(fp_bare_helpers, name)(x)
        """,
    })
    first = code_manifest(mod.stage)
    assert "mod:fp_bare_helpers" in first
    # Same size, same mtime tick: the parse cache must still notice the edit.
    (tmp_path / "fp_bare_helpers.py").write_text("def clean(x):\n    return x + 2\n")
    assert _changed(first, code_manifest(mod.stage)) == {"mod:fp_bare_helpers"}


def test_manifest_digest_is_order_free_and_content_bound() -> None:
    one = {"self": "a", "func:m.f": "b"}
    assert manifest_digest(one) == manifest_digest(dict(reversed(list(one.items()))))
    assert manifest_digest(one) != manifest_digest({**one, "func:m.f": "c"})
    assert diff_manifests(one, {"self": "a", "const:m.X": "d"}) == [
        ("const:m.X", None, "d"), ("func:m.f", "b", None),
    ]


def test_500_stages_sharing_a_helper_module_are_fast(load: Loader) -> None:
    stages = "\n".join(
        f"def stage_{i}(x):\n    return fp_perf_helpers.clean(x) + _local(x) + {i}\n"
        for i in range(500)
    )
    helpers = """
        import functools
        SCALE = {"a": 1, "b": (2, 3)}

        def _inner(x):
            return x * SCALE["a"]

        def clean(x):
            return functools.reduce(lambda a, b: a + b, [_inner(x), 1])
    """
    mod = load("fp_perf", {
        "fp_perf_helpers.py": helpers,
        "fp_perf.py": f"import fp_perf_helpers\n\ndef _local(x):\n    return x\n\n{stages}",
    })
    funcs = [getattr(mod, f"stage_{i}") for i in range(500)]
    start = time.process_time()  # CPU time: other jobs on the machine must not fail this
    manifests = [code_manifest(f) for f in funcs]
    elapsed = time.process_time() - start
    assert len({m["self"] for m in manifests}) == 500
    assert all(m["func:fp_perf_helpers._inner"] for m in manifests)
    assert elapsed < 1.5, f"500 manifests took {elapsed:.3f}s"  # ~0.12 s here: catches a quadratic walk, not noise
