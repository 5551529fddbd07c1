"""Charts to one self-contained HTML page (and to notebook HTML).

Vega-Lite specs are rendered to SVG by vl-convert (the Vega engine compiled
into a Python wheel), so the page holds finished vector graphics: no script,
no CDN, nothing to fetch. Images are embedded as data URIs.
"""

from __future__ import annotations

import base64
import html
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pivot.errors import UserError
from pivot.show.plots import IMAGE_TYPES, Chart
from pivot.show.tables import Row, TableResult

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
section.plot { margin-bottom: 2.5em; }
section.plot h2 { font-size: 1.05em; font-family: monospace; }
.revisions { display: flex; flex-wrap: wrap; gap: 1em; }
figure { margin: 0; } figcaption { font-family: monospace; font-size: 0.9em; }
img { max-width: 640px; }
"""


def render_svg(spec: Any) -> str:
    """One Vega-Lite spec as SVG text; a spec Vega cannot draw is a user error naming the problem."""
    import vl_convert

    try:
        return str(vl_convert.vegalite_to_svg(json.dumps(spec), vl_version="5.20"))
    except (ValueError, RuntimeError) as exc:
        raise UserError(f"cannot draw chart {spec.get('title')!r}: {str(exc).splitlines()[0]}") from exc


def chart_html(chart: Chart) -> str:
    head = f"<h2>{html.escape(chart.path)} <small>({html.escape(chart.stage)}, {html.escape(chart.template)})</small></h2>"
    if chart.spec is not None:
        body = f'<div class="chart">{render_svg(chart.spec)}</div>'
    else:
        figures = []
        mime = IMAGE_TYPES[chart.path.rsplit(".", 1)[-1].lower()]
        for rev, data in chart.images.items():
            uri = f"data:{mime};base64,{base64.b64encode(data).decode()}"
            figures.append(f'<figure><img src="{uri}" alt="{html.escape(chart.path)} at {html.escape(rev)}">'
                           f"<figcaption>{html.escape(rev)}</figcaption></figure>")
        body = f'<div class="revisions">{"".join(figures)}</div>'
    return f'<section class="plot" data-path="{html.escape(chart.path)}">{head}{body}</section>'


def page(charts: Sequence[Chart], title: str) -> str:
    sections = "\n".join(chart_html(c) for c in charts) or "<p>No plots.</p>"
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f"<style>{_STYLE}</style></head><body><h1>{html.escape(title)}</h1>\n{sections}\n</body></html>\n")


class PlotsResult(TableResult):
    """The charts of ``pivot plots show/diff``; in a notebook they display inline."""

    headers = ("path", "stage", "template", "revisions")
    empty = "no plots"

    def __init__(self, charts: list[Chart], revisions: Sequence[str]) -> None:
        self.charts, self.revisions = charts, tuple(revisions)
        self.caption = f"Plots ({', '.join(self.revisions)})"
        self.written: Path | None = None

    def rows(self) -> list[Row]:
        return [(c.path, c.stage, c.template, ", ".join(c.revisions)) for c in self.charts]

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"revisions": list(self.revisions), "plots": [c.to_json() for c in self.charts]}
        if self.written is not None:
            data["html"] = str(self.written)
        return data

    def html(self) -> str:
        return page(self.charts, self.caption)

    def write(self, folder: Path) -> Path:
        """Write ``folder/index.html`` (through a temp name) and remember where."""
        from pivot.lockfile import atomic_write_text

        target = folder / "index.html"
        atomic_write_text(target, self.html())
        self.written = target
        return target

    def _repr_html_(self) -> str:
        return "".join(chart_html(c) for c in self.charts) or "<p>No plots.</p>"


__all__ = ["PlotsResult", "chart_html", "page", "render_svg"]
