"""Plot outputs at one or more points, turned into Vega-Lite specs (data) or kept as images.

Pure: views in, ``Chart`` values out; ``show.plots_html`` renders them. Each
revision's rows get a ``rev`` column, so a diff is the same chart with one
series (colour) per revision, as ``dvc plots diff`` draws it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pivot.errors import UserError
from pivot.show.metrics import parse
from pivot.show.views import OutputRef, View

IMAGE_TYPES = {"png": "image/png", "svg": "image/svg+xml", "jpg": "image/jpeg", "jpeg": "image/jpeg"}
REV = "rev"  # the column that names the revision of each row


@dataclass(frozen=True)
class Chart:
    """One plot path: a Vega-Lite ``spec`` for data, or ``images`` (revision -> bytes) for pictures."""

    path: str
    stage: str
    template: str
    revisions: tuple[str, ...]
    spec: Mapping[str, Any] | None = None
    images: Mapping[str, bytes] = field(default_factory=dict)

    @property
    def is_image(self) -> bool:
        return self.spec is None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"path": self.path, "stage": self.stage, "template": self.template,
                                "revisions": list(self.revisions)}
        if self.spec is not None:
            data["spec"] = self.spec
        return data


def is_image(path: str) -> bool:
    return path.rsplit(".", 1)[-1].lower() in IMAGE_TYPES


def records(path: str, data: bytes) -> list[dict[str, Any]]:
    """Rows of a plot data file: a JSON list of records, ``{"name": [records]}``, CSV or TSV."""
    value = parse(path, data)
    if isinstance(value, Mapping) and len(value) == 1:
        value = next(iter(value.values()))
    if not isinstance(value, list) or not all(isinstance(r, Mapping) for r in value):
        raise UserError(f"{path}: plot data must be a list of records (JSON list of objects, CSV or TSV)", path=path)
    return [dict(r) for r in value]


def collect(views: Sequence[View], targets: list[str]) -> list[Chart]:
    """One chart per plot path found in any of ``views``, in path order."""
    found: dict[str, dict[str, tuple[OutputRef, bytes]]] = {}
    for view in views:
        for ref in view.outputs(frozenset({"plot"})):
            if ref.kind != "plot" or ref.digest is None:
                continue
            if targets and not any(t in (ref.stage, ref.path) or ref.stage.endswith(f":{t}") for t in targets):
                continue
            data = view.read(ref)
            if data is not None:
                found.setdefault(ref.path, {})[view.label] = (ref, data)
    return [_chart(path, by_rev) for path, by_rev in sorted(found.items())]


def _chart(path: str, by_rev: Mapping[str, tuple[OutputRef, bytes]]) -> Chart:
    first = next(iter(by_rev.values()))[0]
    props = dict(first.props or {})
    template = str(props.get("template", "linear"))
    revs = tuple(by_rev)
    if is_image(path):
        return Chart(path, first.stage, "image", revs, images={rev: data for rev, (_, data) in by_rev.items()})
    rows = [{**row, REV: rev} for rev, (_, data) in by_rev.items() for row in records(path, data)]
    return Chart(path, first.stage, template, revs, spec=spec(path, rows, props, template, len(revs) > 1))


def _axes(rows: list[dict[str, Any]], props: Mapping[str, Any]) -> tuple[str, str]:
    columns = [c for c in dict.fromkeys(k for r in rows for k in r) if c != REV]
    x = str(props.get("x") or (columns[0] if len(columns) > 1 else "step"))
    y = str(props.get("y") or next((c for c in reversed(columns) if c != x), x))
    return x, y


def spec(path: str, rows: list[dict[str, Any]], props: Mapping[str, Any], template: str,
         several: bool) -> dict[str, Any]:
    """A Vega-Lite v5 spec for one plot: linear, scatter, smooth or confusion."""
    if rows and "step" not in rows[0] and not props.get("x") and len(rows[0]) <= 2:
        for i, row in enumerate(rows):  # a single column: plot it against its row number
            row.setdefault("step", i)
    x, y = _axes(rows, props)
    for row in rows:
        if x not in row or y not in row:
            raise UserError(f"{path}: plot columns {x!r} and {y!r} are not in every row", path=path)
    base: dict[str, Any] = {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "title": str(props.get("title") or path), "width": 480, "height": 300,
        "data": {"values": rows},
    }
    color = {"field": REV, "type": "nominal", "title": "revision"}
    if template == "confusion":
        if several:  # a faceted chart sizes each panel instead
            base = {k: v for k, v in base.items() if k not in ("width", "height")}
        return {**base, **_confusion(x, y, several)}
    enc = {"x": {"field": x, "type": "quantitative"}, "y": {"field": y, "type": "quantitative"}, "color": color}
    if template == "scatter":
        return {**base, "mark": {"type": "point", "filled": True}, "encoding": enc}
    if template == "smooth":
        smooth = {"mark": {"type": "line"}, "encoding": enc,
                  "transform": [{"loess": y, "on": x, "groupby": [REV], "bandwidth": 0.3}]}
        raw = {"mark": {"type": "line", "opacity": 0.2}, "encoding": enc}
        return {**base, "layer": [raw, smooth]}
    return {**base, "mark": {"type": "line", "point": len(rows) <= 50}, "encoding": enc}


def _confusion(x: str, y: str, several: bool) -> dict[str, Any]:
    """Counts of (actual, predicted) pairs as a heat map with the count in each cell; a panel per revision."""
    cells = {
        "encoding": {"x": {"field": x, "type": "nominal"}, "y": {"field": y, "type": "nominal"}},
        "layer": [
            {"mark": "rect", "encoding": {"color": {"aggregate": "count", "type": "quantitative", "title": "count"}}},
            {"mark": {"type": "text", "color": "black"},
             "encoding": {"text": {"aggregate": "count", "type": "quantitative"}}},
        ],
    }
    if not several:
        return cells
    return {"facet": {"column": {"field": REV, "type": "nominal", "title": "revision"}},
            "spec": {**cells, "width": 240, "height": 240}}


__all__ = ["IMAGE_TYPES", "REV", "Chart", "collect", "is_image", "records", "spec"]
