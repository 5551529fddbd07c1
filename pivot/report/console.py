"""Human output: tables with rich on a terminal, plain lines otherwise."""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

from pivot.planner.decision import stage_status
from pivot.project.spec import StageSpec
from pivot.results import Outcome, RunReport
from pivot.status_report import StatusReport, VerifyReport


def _console() -> Any:
    from rich.console import Console

    return Console(highlight=False)


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def spec_json(spec: StageSpec) -> dict[str, Any]:
    return {
        "name": spec.identity,
        "pipeline": spec.pipeline,
        "file": spec.pipeline_file,
        "kind": "shell" if spec.is_shell else "python",
        "deps": [d.path for d in spec.deps],
        "outs": [o.path for o in spec.outs],
    }


def print_stage_list(specs: list[StageSpec]) -> None:
    from rich.table import Table

    table = Table("stage", "deps", "outs", box=None)
    for spec in specs:
        table.add_row(spec.identity, ", ".join(d.path for d in spec.deps), ", ".join(o.path for o in spec.outs))
    _console().print(table)


_STYLE = {"run": "yellow", "restore": "cyan", "checkout": "cyan", "skip": "green", "blocked": "red",
          "upstream_stale": "magenta", "ran": "yellow", "restored": "cyan", "checked_out": "cyan",
          "skipped": "green", "failed": "red", "not_started": "dim"}


def print_status(report: StatusReport, *, dry_run: bool = False) -> None:
    stale = report.stale
    if not stale and not dry_run and not any(t.status != "clean" for t in report.tracked):
        # The common no-op answer: plain text, without paying for rich's import (~0.1 s).
        print(f"all {len(report.plan)} stages up to date")
        return
    from rich.table import Table

    console = _console()
    _print_tracked(console, report)
    if not stale and not dry_run:
        console.print(f"all {len(report.plan)} stages up to date")
    else:
        table = Table("stage", "status", "decision", "why", box=None)
        for d in report.plan:
            if d.action == "skip" and not report.explain:
                continue
            style = _STYLE.get(str(d.action), "")
            label = "will run" if d.will_run else str(d.action).replace("_", " ")
            table.add_row(d.stage, stage_status(d), f"[{style}]{label}[/]", d.reason_text())
        console.print(table)
        console.print(f"{len(stale)} of {len(report.plan)} stages stale")
    for tip in report.suggestions()[sum(1 for t in report.tracked if t.status != "clean" and t.fix):]:
        console.print(f"[dim]{tip}[/]")


def _print_tracked(console: Any, report: StatusReport) -> None:
    """Tracked data first: a modified file nobody re-tracked never reaches teammates."""
    for item in report.tracked:
        if item.status != "clean":
            style = "bold yellow" if item.status == "modified" else "bold red"
            console.print(f"[{style}]tracked data {item.status}: {item.path}[/]", markup=True)
            if item.fix:
                console.print(f"  fix: {item.fix}", markup=False)


def print_run(report: RunReport) -> None:
    counts = ", ".join(f"{report.count(o)} {o.value.replace('_', ' ')}" for o in Outcome if report.count(o))
    if not report.failed and not report.dashboard:
        print(counts or "nothing to do")  # no rich import on the common path
        return
    console = _console()
    for outcome in report.outcomes.values():
        if outcome.status == Outcome.FAILED:
            console.rule(f"[red]{outcome.stage} failed")
            if outcome.stdout.strip():
                console.print(outcome.stdout.rstrip(), markup=False)
            if outcome.stderr.strip():
                console.print(outcome.stderr.rstrip(), markup=False)
            console.print(outcome.error or "", markup=False)
    console.print(counts or "nothing to do")
    if report.dashboard:
        console.print(f"dask dashboard: {report.dashboard}")


def print_verify(report: VerifyReport) -> None:
    console = _console()
    for stage in report.stages:
        if stage.passed and stage.reason.startswith("always runs"):
            console.print(f"[green]ok[/] {stage.name}: {stage.reason}")
        if not stage.passed:
            extra = f": {', '.join(stage.missing_files)}" if stage.missing_files else ""
            console.print(f"[red]FAIL[/] {stage.name}: {stage.reason}{extra}")
    for path in report.tracked_modified:
        console.print(f"[red]FAIL[/] tracked data {path}: its bytes differ from its .pvt; "
                      f"`pivot track {path}`, commit the .pvt and `pivot push`")
    console.print("verify passed" if report.passed else "verify failed")


@contextlib.contextmanager
def progress_display(*, enabled: bool) -> Iterator[Callable[[Any], None] | None]:
    """A live display on a terminal, plain lines otherwise, nothing with --json."""
    if not enabled:
        yield None
        return
    if not sys.stderr.isatty():
        yield _plain_progress
        return
    from rich.console import Console
    from rich.live import Live
    from rich.text import Text

    started = time.monotonic()
    state: dict[str, Any] = {"text": Text("planning...")}
    with Live(state["text"], console=Console(stderr=True), refresh_per_second=8, transient=True) as live:
        def update(event: Any) -> None:
            running = ", ".join(event.running[:4]) + (" ..." if len(event.running) > 4 else "")
            live.update(Text(f"{event.done}/{event.total} stages  {time.monotonic() - started:5.1f}s  running: {running}"))
            if event.kind == "finish" and event.outcome is not None and event.outcome.status not in (Outcome.SKIPPED,):
                live.console.print(f"{event.outcome.status.value:>11}  {event.stage}")

        yield update


def _plain_progress(event: Any) -> None:
    if event.kind == "finish" and event.outcome is not None and event.outcome.status != Outcome.SKIPPED:
        print(f"[{event.done}/{event.total}] {event.outcome.status.value:>11}  {event.stage}", file=sys.stderr, flush=True)
