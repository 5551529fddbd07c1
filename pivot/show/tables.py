"""Rows to text, Markdown, CSV and HTML: the faces of every show/diff result."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from pivot.report import html

Row = Sequence[str]


def cell(value: Any, precision: int | None = None) -> str:
    """One value as shown in a table: floats to ``precision`` significant digits, None as '-'."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and precision is not None and math.isfinite(value):
        return f"{value:.{precision}g}"
    return str(value)


def markdown(headers: Row, rows: Sequence[Row]) -> str:
    """A GitHub-flavoured Markdown table; '|' in a cell is escaped so columns stay aligned."""
    def line(cells: Row) -> str:
        return "| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in cells) + " |"

    return "\n".join([line(headers), "|" + "|".join("---" for _ in headers) + "|", *(line(r) for r in rows)])


def csv_text(headers: Row, rows: Sequence[Row]) -> str:
    """A header row then the rows, as Python's csv module writes them (quoted where needed)."""
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(headers)
    writer.writerows(rows)
    return out.getvalue()


class TableResult:
    """Base of the typed results: subclasses give ``caption``, ``headers``, ``rows`` and ``to_json``."""

    caption = ""
    headers: tuple[str, ...] = ()
    empty = "nothing to show"

    def rows(self) -> list[Row]:
        raise NotImplementedError

    def to_json(self) -> dict[str, Any]:
        raise NotImplementedError

    def to_markdown(self) -> str:
        return markdown(self.headers, self.rows())

    def to_csv(self) -> str:
        return csv_text(self.headers, self.rows())

    def to_text(self) -> str:
        rows = self.rows()
        return html.text(self.caption, self.headers, rows) if rows else self.empty

    def __repr__(self) -> str:
        return self.to_text()

    def _repr_html_(self) -> str:
        return html.table(self.caption, self.headers, self.rows())


__all__ = ["Row", "TableResult", "cell", "csv_text", "markdown"]
