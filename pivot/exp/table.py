"""`exp show`: one row per experiment plus the workspace baseline, as text,
Markdown, JSON, HTML (notebooks) or a pandas DataFrame."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any


@dataclass
class ExpRow:
    name: str
    base: str
    created: str
    status: str
    params: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "base": self.base, "created": self.created, "status": self.status,
                "params": self.params, "metrics": self.metrics}


@dataclass
class ExpTable:
    rows: list[ExpRow]
    param_keys: list[str] = field(default_factory=list)
    metric_keys: list[str] = field(default_factory=list)

    @classmethod
    def build(cls, rows: list[ExpRow], *, sort_by: str | None = None, only_changed: bool = False) -> ExpTable:
        params = sorted({k for r in rows for k in r.params})
        metrics = sorted({k for r in rows for k in r.metrics})
        if only_changed:
            params = [k for k in params if len({repr(r.params.get(k)) for r in rows}) > 1]
            metrics = [k for k in metrics if len({repr(r.metrics.get(k)) for r in rows}) > 1]
        if sort_by:
            def key(r: ExpRow) -> tuple[int, Any]:
                value = r.metrics.get(sort_by, r.params.get(sort_by))
                return (0, value) if isinstance(value, int | float) else (1, str(value))
            rows = sorted(rows, key=key)
        return cls(rows, params, metrics)

    def to_json(self) -> dict[str, Any]:
        return {"experiments": [r.to_json() for r in self.rows]}

    def header(self) -> list[str]:
        return ["name", "base", "created", "status", *self.param_keys, *self.metric_keys]

    def cells(self) -> list[list[str]]:
        out = []
        for r in self.rows:
            values = [r.params.get(k, "-") for k in self.param_keys] + [r.metrics.get(k, "-") for k in self.metric_keys]
            out.append([r.name, r.base[:7], r.created, r.status, *(_fmt(v) for v in values)])
        return out

    def markdown(self) -> str:
        head = self.header()
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in self.cells()]
        return "\n".join(lines)

    def csv(self) -> str:
        from pivot.show.tables import csv_text

        return csv_text(self.header(), self.cells())

    def text(self) -> str:
        rows = [self.header(), *self.cells()]
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows)

    def __repr__(self) -> str:
        return self.text()

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{html.escape(h)}</th>" for h in self.header())
        body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in self.cells())
        return f'<table class="pivot-exp"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'

    def to_pandas(self) -> Any:
        import pandas as pd

        return pd.DataFrame([[*row[:4], *(r.params.get(k) for k in self.param_keys),
                              *(r.metrics.get(k) for k in self.metric_keys)]
                             for row, r in zip(self.cells(), self.rows, strict=True)], columns=self.header())


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)
