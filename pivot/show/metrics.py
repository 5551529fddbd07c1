"""Metric files to flat ``{dotted.key: value}`` maps, and the difference of two such sets.

Pure: bytes and views in, typed results out. JSON, YAML, CSV and TSV are read
by the file's suffix; nested keys are joined with "." (``avg_prec.test``), list
items by index, CSV/TSV columns by name (row index first when several rows).
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pivot.errors import UserError
from pivot.show.tables import Row, TableResult, cell
from pivot.show.views import OutputRef, View

Flat = dict[str, Any]


def parse(path: str, data: bytes) -> Any:
    """The structured content of a metric or plot data file, by suffix."""
    suffix = path.rsplit(".", 1)[-1].lower()
    text = data.decode("utf-8")
    try:
        if suffix in ("yaml", "yml"):
            from pivot import yamlio

            return yamlio.load(text)
        if suffix in ("csv", "tsv"):
            from pivot.loaders import number

            reader = csv.DictReader(io.StringIO(text), delimiter="\t" if suffix == "tsv" else ",")
            return [{k: number(v) for k, v in row.items()} for row in reader]
        return json.loads(text)
    except (ValueError, UnicodeDecodeError, csv.Error) as exc:
        raise UserError(f"{path}: cannot read as {suffix.upper()}: {exc}", path=path) from exc
    except Exception as exc:  # yaml's own errors
        raise UserError(f"{path}: cannot read as YAML: {exc}", path=path) from exc


def flatten(value: Any, prefix: str = "") -> Flat:
    """Scalars of a nested structure by dotted key; a single CSV row is its columns."""
    if isinstance(value, list) and len(value) == 1 and isinstance(value[0], Mapping):
        value = value[0]
    out: Flat = {}
    items: Any = value.items() if isinstance(value, Mapping) else enumerate(value) if isinstance(value, list) else None
    if items is None:
        return {prefix: value} if prefix else {}
    for key, item in items:
        out.update(flatten(item, f"{prefix}.{key}" if prefix else str(key)))
    return out


def collect(view: View, targets: list[str]) -> list[tuple[OutputRef, Flat | None]]:
    """Each metric output of ``view`` (limited to stages or paths in ``targets``) with its values."""
    found = []
    for ref in view.outputs(frozenset({"metric"})):
        if ref.kind != "metric" or (targets and not _wanted(ref, targets)):
            continue
        data = view.read(ref) if ref.digest is not None else None
        found.append((ref, None if data is None else flatten(parse(ref.path, data))))
    return found


def _wanted(ref: OutputRef, targets: list[str]) -> bool:
    return any(t in (ref.stage, ref.path) or ref.stage.endswith(f":{t}") for t in targets)


class MetricsShow(TableResult):
    headers = ("path", "stage", "key", "value")
    empty = "no metrics"

    def __init__(self, found: list[tuple[OutputRef, Flat | None]], precision: int | None, label: str) -> None:
        self.found, self.precision = found, precision
        self.caption = f"Metrics ({label})"

    def rows(self) -> list[Row]:
        rows: list[Row] = []
        for ref, values in self.found:
            if values is None:
                rows.append((ref.path, ref.stage, "", "(missing)"))
            for key, value in (values or {}).items():
                rows.append((ref.path, ref.stage, key, cell(value, self.precision)))
        return rows

    def to_json(self) -> dict[str, Any]:
        return {"metrics": [{"path": r.path, "stage": r.stage, "values": v} for r, v in self.found]}

    def values(self) -> dict[str, Flat]:
        """``{path: {key: value}}``: the notebook's plain form."""
        return {r.path: dict(v or {}) for r, v in self.found}


@dataclass(frozen=True)
class Change:
    where: str  # a metric file's path, or a stage (params)
    key: str
    old: Any
    new: Any

    @property
    def change(self) -> float | None:
        if _number(self.old) and _number(self.new):
            return round(float(self.new - self.old), 12)  # 0.7 - 0.6 is 0.1, not 0.09999999999999998
        return None

    @property
    def percent(self) -> float | None:
        delta = self.change
        return None if delta is None or self.old == 0 else 100.0 * delta / abs(self.old)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def diff(old: Mapping[str, Flat], new: Mapping[str, Flat], *, all_: bool = False) -> list[Change]:
    """Every key whose value differs (``all_``: every key) between two ``{where: {key: value}}`` maps."""
    changes = []
    for where in sorted(set(old) | set(new)):
        a, b = old.get(where, {}), new.get(where, {})
        for key in sorted(set(a) | set(b)):
            if all_ or a.get(key) != b.get(key) or (key in a) != (key in b):
                changes.append(Change(where, key, a.get(key), b.get(key)))
    return changes


class DiffResult(TableResult):
    """A metrics or params diff; ``where`` is "path" for metrics, "stage" for params."""

    empty = "no changes"

    def __init__(self, changes: list[Change], where: str, a: str, b: str, precision: int | None) -> None:
        self.changes, self.where, self.a, self.b, self.precision = changes, where, a, b, precision
        self.caption = f"{'Metrics' if where == 'path' else 'Params'} diff: {a} -> {b}"
        self.headers = (where, "key", a, b, "change", "%")

    def rows(self) -> list[Row]:
        return [(c.where, c.key, cell(c.old, self.precision), cell(c.new, self.precision),
                 cell(c.change, self.precision), "" if c.percent is None else f"{c.percent:+.1f}%")
                for c in self.changes]

    def to_json(self) -> dict[str, Any]:
        return {"a": self.a, "b": self.b, "diff": [
            {self.where: c.where, "key": c.key, "old": c.old, "new": c.new, "change": c.change, "percent": c.percent}
            for c in self.changes]}


class ParamsAndMetricsDiff:
    """`exp diff`: a params diff and a metrics diff between the same two points, shown together."""

    def __init__(self, params: DiffResult, metrics: DiffResult) -> None:
        self.params, self.metrics = params, metrics

    def to_json(self) -> dict[str, Any]:
        return {"a": self.params.a, "b": self.params.b, "params": self.params.to_json()["diff"],
                "metrics": self.metrics.to_json()["diff"]}

    def to_text(self) -> str:
        return "\n\n".join(part.to_text() if part.rows() else f"{part.caption}: no changes"
                            for part in (self.params, self.metrics))

    def to_markdown(self) -> str:
        return "\n\n".join(f"**{part.caption}**\n\n{part.to_markdown()}" for part in (self.params, self.metrics))

    def __repr__(self) -> str:
        return self.to_text()

    def _repr_html_(self) -> str:
        return self.params._repr_html_() + self.metrics._repr_html_()


__all__ = ["Change", "DiffResult", "MetricsShow", "ParamsAndMetricsDiff", "collect", "diff", "flatten", "parse"]
