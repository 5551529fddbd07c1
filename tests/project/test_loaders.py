"""Built-in loaders round-trip real files; outputs are byte-stable."""

from __future__ import annotations

import dataclasses
import pickle
from pathlib import Path
from typing import Any

import pandas
import pytest

from pivot import loaders


def test_path_only(tmp_path: Path) -> None:
    target = tmp_path / "out.bin"
    loader = loaders.PathOnly()
    assert loader.load(target) == target
    with pytest.raises(FileNotFoundError, match="was not written"):
        loader.save(target, target)
    target.write_bytes(b"x")
    loader.save(target, target)
    loader.save(str(target), target)
    with pytest.raises(TypeError, match="not a path"):
        loader.save(42, target)  # type: ignore[arg-type]


def test_text(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "a.txt"
    loaders.Text().save("héllo\n", target)
    assert loaders.Text().load(target) == "héllo\n"


def test_json_is_canonical(tmp_path: Path) -> None:
    target = tmp_path / "m.json"
    loaders.JSON().save({"b": 1, "a": [1, 2]}, target)
    assert target.read_text() == '{\n  "a": [\n    1,\n    2\n  ],\n  "b": 1\n}\n'
    assert loaders.JSON().load(target) == {"a": [1, 2], "b": 1}


def test_yaml(tmp_path: Path) -> None:
    target = tmp_path / "p.yaml"
    loaders.YAML().save({"z": 1, "a": {"b": [1, 2]}}, target)
    assert target.read_text().startswith("a:")
    assert loaders.YAML().load(target) == {"z": 1, "a": {"b": [1, 2]}}


def test_pickle(tmp_path: Path) -> None:
    target = tmp_path / "obj.pkl"
    loaders.Pickle().save({"k": (1, 2.5)}, target)
    assert loaders.Pickle().load(target) == {"k": (1, 2.5)}
    assert target.read_bytes() == pickle.dumps({"k": (1, 2.5)}, protocol=5)


@pytest.mark.parametrize("index", [False, True])
def test_csv_round_trip(tmp_path: Path, index: bool) -> None:
    frame = pandas.DataFrame({"a": [1, 2], "b": ["x", "y"]}, index=pandas.Index([10, 20], name="id"))
    if not index:
        frame = frame.reset_index(drop=True)
    target = tmp_path / "d.csv"
    loaders.CSV(index=index).save(frame, target)
    pandas.testing.assert_frame_equal(loaders.CSV(index=index).load(target), frame)
    first_line = target.read_text().splitlines()[0]
    assert first_line == ("id,a,b" if index else "a,b")


def test_loaders_are_frozen_hashable_and_picklable() -> None:
    csv = loaders.CSV(index=True)
    with pytest.raises(dataclasses.FrozenInstanceError):
        csv.index = False  # type: ignore[misc]
    assert {loaders.JSON(), loaders.JSON()} == {loaders.JSON()}
    assert loaders.CSV() != loaders.CSV(index=True)
    assert pickle.loads(pickle.dumps(csv)) == csv


@dataclasses.dataclass(frozen=True)
class Upper(loaders.Loader[str]):
    """A custom loader: module level, frozen dataclass."""

    suffix: str = ""

    def load(self, path: Path) -> str:
        return path.read_text().upper()

    def save(self, value: str, path: Path) -> None:
        path.write_text(value + self.suffix)


def test_custom_loader(tmp_path: Path) -> None:
    target = tmp_path / "u.txt"
    Upper(suffix="!").save("abc", target)
    assert Upper().load(target) == "ABC!"


def test_base_loader_refuses() -> None:
    base: loaders.Loader[Any] = loaders.Loader()
    with pytest.raises(NotImplementedError):
        base.load(Path("x"))


def test_import_pivot_does_not_import_heavy_modules() -> None:
    import subprocess
    import sys

    code = (
        "import sys, time; t = time.perf_counter(); import pivot; from pivot import loaders, Out;"
        "print(time.perf_counter() - t);"
        "print(','.join(m for m in ('pandas', 'yaml', 'lmdb', 'rich', 'dask') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout.split("\n")
    assert out[1] == ""
    bare = subprocess.run([sys.executable, "-c", "import sys, pivot; print('pydantic' in sys.modules)"],
                          check=True, capture_output=True, text=True).stdout.strip()
    assert bare == "False"
