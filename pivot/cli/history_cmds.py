"""`pivot history` and `pivot show RUN_ID`: the run records kept in the state DB."""

from __future__ import annotations

import json
import time
from typing import Any

import click


def _emit(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=str))


def _when(seconds: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(seconds))


def _duration(entry: Any) -> str:
    return "-" if entry.finished is None else f"{entry.finished - entry.started:.1f}s"


def _summary(entry: Any) -> str:
    if entry.status != "finished":
        return str(entry.status)
    counts = entry.counts()
    return ", ".join(f"{n} {status.replace('_', ' ')}" for status, n in sorted(counts.items())) or "nothing to do"


@click.command("history")
@click.option("-n", "count", type=click.IntRange(min=0), default=20, show_default=True, help="How many runs (0: all kept).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON only.")
def history_cmd(count: int, as_json: bool) -> None:
    """List recent runs of this project, newest first."""
    from pivot import history

    entries = history.runs(count)
    if as_json:
        _emit({"runs": [e.to_json() for e in entries]})
        return
    if not entries:
        click.echo("no runs recorded yet")
        return
    # Plain aligned lines: a table squeezed to a narrow terminal would cut the run ids people copy.
    click.echo(f"{'run':<23}  {'when':<19}  {'exit':>4}  {'took':>7}  {'user@host':<20}  stages; targets")
    for e in entries:
        code = "-" if e.exit_code is None else str(e.exit_code)
        click.echo(f"{e.id:<23}  {_when(e.started):<19}  {code:>4}  {_duration(e):>7}  {e.user + '@' + e.host:<20}  "
                   f"{_summary(e)}; {' '.join(e.targets) or '(default)'}")


@click.command("show")
@click.argument("run_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON only.")
def show_cmd(run_id: str, as_json: bool) -> None:
    """Show one run (id or unique prefix from `pivot history`): each stage and why it ran."""
    from pivot import history

    entry = history.show(run_id)
    if as_json:
        _emit(entry.to_json())
        return
    from rich.console import Console
    from rich.table import Table

    console = Console(highlight=False)
    code = "-" if entry.exit_code is None else str(entry.exit_code)
    console.print(f"run {entry.id}  {entry.status}  exit {code}  {_duration(entry)}", markup=False)
    console.print(f"  when      {_when(entry.started)}\n  who       {entry.user}@{entry.host}\n"
                  f"  command   {entry.command}\n  targets   {' '.join(entry.targets) or '(default)'}\n"
                  f"  executor  {entry.executor}", markup=False)
    if entry.error:
        console.print(f"  error     {entry.error}", markup=False)
    table = Table("stage", "status", "took", "why", box=None)
    for s in entry.stages:
        table.add_row(s.stage, s.status, f"{s.duration_ms / 1000:.2f}s", s.reason)
    if entry.stages:
        console.print(table)


def register(cli: click.Group) -> None:
    cli.add_command(history_cmd)
    cli.add_command(show_cmd)
