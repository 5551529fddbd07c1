"""Notebook rendering: plans, status and run reports as small HTML tables (and plain text).

Every value is escaped: stage names, reasons and error text come from user code.
Only structure is produced here (rows and cells); there is no styling to rely on.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pivot.planner.decision import Plan
    from pivot.results import RunReport
    from pivot.status_report import StatusReport

Row = Sequence[str]

PLAN_HEADERS = ("stage", "decision", "reason", "duration")
RUN_HEADERS = ("stage", "status", "reason", "duration")
STATUS_HEADERS = ("stage", "status", "decision", "reason")


def table(caption: str, headers: Row, rows: Sequence[Row], *, footer: str = "") -> str:
    """An HTML table with a caption; every string escaped."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    tail = f"<p>{html.escape(footer)}</p>" if footer else ""
    return (f'<div class="pivot-report"><table><caption>{html.escape(caption)}</caption>'
            f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{tail}</div>")


def text(caption: str, headers: Row, rows: Sequence[Row], *, footer: str = "") -> str:
    """The same table as aligned plain text (``__repr__``)."""
    cells = [list(headers), *[list(r) for r in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = [caption, *("  " + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells)]
    if footer:
        lines.append(footer)
    return "\n".join(lines)


def _duration(seconds: float | None) -> str:
    return "" if seconds is None else f"{seconds:.2f}s"


def plan_rows(plan: Plan) -> list[Row]:
    return [(d.stage, str(d.action), d.reason_text(), "") for d in plan]


def plan_caption(plan: Plan) -> str:
    return plan.summary()


def run_rows(report: RunReport) -> list[Row]:
    rows: list[Row] = []
    for o in report.outcomes.values():
        reason = o.reason if o.error is None or o.error == o.reason else f"{o.reason}: {o.error}"
        rows.append((o.stage, str(o.status), reason, _duration(o.duration_s) if o.duration_s else ""))
    return rows


def run_caption(report: RunReport) -> str:
    counts = {k: v for k, v in report.to_json().items() if k != "stages" and v}
    summary = ", ".join(f"{v} {k}" for k, v in counts.items()) or "nothing run"
    return f"Run {'ok' if report.ok else 'FAILED'}: {summary}"


def run_footer(report: RunReport) -> str:
    return f"Dask dashboard: {report.dashboard}" if report.dashboard else ""


def status_rows(report: StatusReport) -> list[Row]:
    from pivot.planner.decision import stage_status

    return [(d.stage, stage_status(d), str(d.action), d.reason_text()) for d in report.plan]


def status_caption(report: StatusReport) -> str:
    return f"Status: {len(report.stale)} of {len(report.plan)} stages stale"


def plan_html(plan: Plan) -> str:
    return table(plan_caption(plan), PLAN_HEADERS, plan_rows(plan))


def plan_text(plan: Plan) -> str:
    return text(plan_caption(plan), PLAN_HEADERS[:3], [r[:3] for r in plan_rows(plan)])


def run_html(report: RunReport) -> str:
    return table(run_caption(report), RUN_HEADERS, run_rows(report), footer=run_footer(report))


def run_text(report: RunReport) -> str:
    return text(run_caption(report), RUN_HEADERS, run_rows(report), footer=run_footer(report))


def status_html(report: StatusReport) -> str:
    return table(status_caption(report), STATUS_HEADERS, status_rows(report), footer="; ".join(report.suggestions()))


def status_text(report: StatusReport) -> str:
    return text(status_caption(report), STATUS_HEADERS, status_rows(report), footer="\n".join(report.suggestions()))
