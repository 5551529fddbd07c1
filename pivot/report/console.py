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
    for outcome in report.outcomes.values():
        if outcome.status == Outcome.BLOCKED:  # never silent: what is missing and how to get it
            print(f"blocked {outcome.stage}: {outcome.reason}")
    if not report.failed:
        print(counts or "nothing to do")  # no rich import on the common path
        return
    from rich.text import Text

    console = _console()
    for outcome in report.outcomes.values():
        if outcome.status == Outcome.FAILED:
            console.rule(Text(f"{outcome.stage} failed", style="red"))  # a name is never markup
            if outcome.stdout.strip():
                console.print(outcome.stdout.rstrip(), markup=False)
            if outcome.stderr.strip():
                console.print(outcome.stderr.rstrip(), markup=False)
            console.print(outcome.error or "", markup=False)
    console.print(counts or "nothing to do")


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
def progress_display(*, enabled: bool, quiet: bool = False) -> Iterator[Callable[[Any], None] | None]:
    """A live display on a terminal, plain lines otherwise; with --json only notices, on stderr.

    Stage output lines are shown as they arrive (``quiet`` hides them), prefixed
    with the stage's name while more than one stage runs.
    """
    if not enabled:
        yield _notices_only
        return
    if not sys.stderr.isatty():
        yield lambda event: _plain_progress(event, quiet)
        return
    from rich.console import Console
    from rich.live import Live
    from rich.text import Text

    started = time.monotonic()
    with Live(Text("planning..."), console=progress_console(Console), refresh_per_second=8, transient=True) as live:
        def update(event: Any) -> None:
            if event.kind in ("output", "notice"):
                if event.kind == "notice" or not quiet:
                    live.console.print(_line_text(event), markup=False, highlight=False, soft_wrap=True)
                return
            live.update(_status_text(event, time.monotonic() - started))
            if _shown(event):
                live.console.print(finish_text(event))

        yield update


def progress_console(console_type: Any, **options: Any) -> Any:
    """No highlighting, no markup: a stage name like "train@v2" or "fit[small]" prints as one piece."""
    return console_type(stderr=True, highlight=False, **options)


def _status_text(event: Any, elapsed: float) -> Any:
    from rich.text import Text

    running = ", ".join(event.running[:4]) + (" ..." if len(event.running) > 4 else "")
    return Text(f"{event.done}/{event.total} stages  {elapsed:5.1f}s  running: {running}")


def finish_text(event: Any) -> Any:
    """The status word coloured, the stage name whole and plain (never split by styles)."""
    from rich.text import Text

    status = event.outcome.status.value
    return Text.assemble((f"{status:>11}", _STYLE.get(status, "")), "  ", event.stage)


def _shown(event: Any) -> bool:
    return (event.kind == "finish" and event.outcome is not None
            and event.outcome.status not in (Outcome.SKIPPED, Outcome.INTERRUPTED))


def _line_text(event: Any) -> str:
    if event.kind == "notice":
        return f"pivot: {event.message}"
    return f"{event.stage} | {event.line}" if len(event.running) > 1 else event.line


def _notices_only(event: Any) -> None:
    """--json: stdout stays the report; what the user must know still reaches stderr."""
    if event.kind == "notice":
        print(_line_text(event), file=sys.stderr, flush=True)


def _plain_progress(event: Any, quiet: bool = False) -> None:
    if event.kind == "output":
        if not quiet:
            print(_line_text(event), file=sys.stdout if event.stream == "stdout" else sys.stderr, flush=True)
    elif event.kind == "notice":
        print(_line_text(event), file=sys.stderr, flush=True)
    elif _shown(event):
        print(f"[{event.done}/{event.total}] {event.outcome.status.value:>11}  {event.stage}", file=sys.stderr, flush=True)
