"""How a stage's argument or return value becomes a file, and back.

A loader is a frozen dataclass defined at module level: frozen so that it is
hashable and comparable (its fields are part of what a stage declares), module
level so that a worker in another process can unpickle it. Subclass ``Loader``
and override ``load`` and ``save``; heavy libraries (pandas) are imported only
inside those methods so that importing a pipeline stays fast.

File conditions raise builtin ``OSError`` subclasses; the executor reports them
as a failed stage.
"""

from __future__ import annotations

import json
import os
import pickle
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Loader(Generic[T]):
    """Base class: ``load`` reads ``path``, ``save`` writes ``value`` to ``path``."""

    def load(self, path: Path) -> T:
        raise NotImplementedError(f"{type(self).__name__} cannot load")

    def save(self, value: T, path: Path) -> None:
        raise NotImplementedError(f"{type(self).__name__} cannot save")


def _parent(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


@dataclass(frozen=True)
class PathOnly(Loader[Path]):
    """The stage gets the path and reads or writes the file itself.

    ``save`` only checks that the stage returned a path and that the file (or
    directory) it declared exists: the stage has already written it.
    """

    def load(self, path: Path) -> Path:
        return path

    def save(self, value: str | os.PathLike[str], path: Path) -> None:
        if not isinstance(value, str | os.PathLike):
            raise TypeError(f"PathOnly output {str(path)!r}: the stage returned {type(value).__name__}, not a path")
        if not path.exists():
            raise FileNotFoundError(f"output {str(path)!r} was not written by the stage")


@dataclass(frozen=True)
class Text(Loader[str]):
    encoding: str = "utf-8"

    def load(self, path: Path) -> str:
        return path.read_text(encoding=self.encoding)

    def save(self, value: str, path: Path) -> None:
        _parent(path).write_text(value, encoding=self.encoding)


@dataclass(frozen=True)
class JSON(Loader[Any]):
    """Sorted keys, indent 2, trailing newline: identical values give identical bytes."""

    def load(self, path: Path) -> Any:
        with path.open(encoding="utf-8") as f:
            return json.load(f)

    def save(self, value: Any, path: Path) -> None:
        text = json.dumps(value, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
        _parent(path).write_text(text, encoding="utf-8")


@dataclass(frozen=True)
class YAML(Loader[Any]):
    """PyYAML safe load/dump, keys sorted."""

    def load(self, path: Path) -> Any:
        import yaml

        with path.open(encoding="utf-8") as f:
            return yaml.safe_load(f)

    def save(self, value: Any, path: Path) -> None:
        import yaml

        text = yaml.safe_dump(value, sort_keys=True, default_flow_style=False, allow_unicode=True)
        _parent(path).write_text(text, encoding="utf-8")


@dataclass(frozen=True)
class Pickle(Loader[Any]):
    # A fixed protocol: the bytes (and so the output hash) must not depend on the Python default.
    protocol: int = 5

    def load(self, path: Path) -> Any:
        with path.open("rb") as f:
            return pickle.load(f)

    def save(self, value: Any, path: Path) -> None:
        with _parent(path).open("wb") as f:
            pickle.dump(value, f, protocol=self.protocol)


@dataclass(frozen=True)
class CSV(Loader[Any]):
    """A pandas DataFrame; with ``index=True`` the first column is read back as the index."""

    index: bool = False

    def load(self, path: Path) -> Any:
        import pandas

        return pandas.read_csv(path, index_col=0 if self.index else None)

    def save(self, value: Any, path: Path) -> None:
        value.to_csv(_parent(path), index=self.index)


@dataclass(frozen=True)
class Table(Loader[list[dict[str, Any]]]):
    """Rows as a list of dicts, with the standard library's csv (no pandas needed).

    The format of CSV/TSV metrics and plot data. Numbers are read back as int or
    float; ``save`` also takes a single dict (one row). Columns keep first-seen order.
    """

    delimiter: str = ","

    def load(self, path: Path) -> list[dict[str, Any]]:
        import csv

        with path.open(encoding="utf-8", newline="") as f:
            return [{k: number(v) for k, v in row.items()} for row in csv.DictReader(f, delimiter=self.delimiter)]

    def save(self, value: Mapping[str, Any] | Sequence[Mapping[str, Any]], path: Path) -> None:
        import csv

        rows = [value] if isinstance(value, Mapping) else list(value)
        columns = list(dict.fromkeys(k for row in rows for k in row))
        with _parent(path).open("w", encoding="utf-8", newline="") as f:
            writer = csv.DictWriter(f, columns, delimiter=self.delimiter, lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)


@dataclass(frozen=True)
class Figure(Loader[Any]):
    """A Matplotlib figure saved as PNG, SVG or JPEG (by the file's suffix); ``load`` gives the bytes.

    Metadata that embeds the date or the library version is left out, so the same
    figure gives the same bytes on every run (and the output hash is stable).
    """

    dpi: int = 100

    def load(self, path: Path) -> bytes:
        return path.read_bytes()

    def save(self, value: Any, path: Path) -> None:
        import matplotlib

        suffix = path.suffix.lower().lstrip(".")
        metadata: dict[str, Any] = {"svg": {"Date": None, "Creator": None}, "png": {"Software": None}}.get(suffix, {})
        with matplotlib.rc_context({"svg.hashsalt": "pivot"}):
            value.savefig(_parent(path), dpi=self.dpi, metadata=metadata or None)


@dataclass(frozen=True)
class BySuffix(Loader[Any]):
    """The default of ``Metric`` and ``Plot``: JSON, YAML, CSV/TSV or an image, chosen by the path's suffix."""

    def load(self, path: Path) -> Any:
        return for_path(path.name).load(path)

    def save(self, value: Any, path: Path) -> None:
        for_path(path.name).save(value, path)


def for_path(path: str) -> Loader[Any]:
    """The loader a metric or plot file gets by default, from its suffix."""
    suffix = path.rsplit(".", 1)[-1].lower() if "." in path else ""
    if suffix in ("yaml", "yml"):
        return YAML()
    if suffix in ("csv", "tsv"):
        return Table("\t" if suffix == "tsv" else ",")
    if suffix in ("png", "svg", "jpg", "jpeg"):
        return Figure()
    return JSON()


def number(text: str | None) -> Any:
    if text is None:
        return None
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


__all__ = ["CSV", "JSON", "YAML", "BySuffix", "Figure", "Loader", "PathOnly", "Pickle", "Table", "Text", "for_path"]
