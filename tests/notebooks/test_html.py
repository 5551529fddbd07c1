"""HTML and text rendering of plans and run reports: structure and escaping, no styling."""

from __future__ import annotations

from pivot.planner.decision import Action, Decision, Plan, Reason, ReasonKind
from pivot.report.html import plan_html, plan_text
from pivot.results import Outcome, RunReport, StageOutcome
from tests.notebooks.test_kernel_reruns import parse


def _plan() -> Plan:
    plan = Plan()
    plan.add(Decision("<script>x</script>", Action.RUN, (Reason(ReasonKind.NEVER_RAN),)))
    plan.add(Decision("b&c", Action.SKIP, ()))
    return plan


def test_plan_html_escapes_every_cell() -> None:
    html = plan_html(_plan())
    assert "<script>" not in html
    rows = parse(html)
    assert rows == [["stage", "decision", "reason", "duration"],
                    ["<script>x</script>", "run", "never ran", ""],
                    ["b&c", "skip", "up to date", ""]]


def test_run_report_html_and_repr() -> None:
    report = RunReport(plan=_plan(), dashboard="http://127.0.0.1:8787/status")
    report.outcomes["a"] = StageOutcome("a", Outcome.RAN, "never ran", 1.5)
    report.outcomes["b"] = StageOutcome("b", Outcome.FAILED, "failed", 0.25, error="ValueError: <bad>")
    rows = parse(report._repr_html_())
    assert rows[1] == ["a", "ran", "never ran", "1.50s"]
    assert rows[2] == ["b", "failed", "failed: ValueError: <bad>", "0.25s"]
    assert "&lt;bad&gt;" in report._repr_html_()
    text = repr(report)
    assert text.startswith("Run FAILED: 1 ran, 1 failed") and "http://127.0.0.1:8787/status" in text
    assert "\x1b" not in text and repr(_plan()).startswith("Plan: 2 stages (1 run, 1 skip)")
    assert plan_text(_plan()).startswith("Plan: 2 stages (1 run, 1 skip)")
