"""`pivot doctor`: check the setup; each problem comes with its fix. Exit 1 if any check fails."""

from __future__ import annotations

import json
import sys

import click

_MARK = {"ok": "[green]ok[/]  ", "warn": "[yellow]warn[/]", "fail": "[red]FAIL[/]"}


@click.command("doctor")
@click.option("--remote", is_flag=True, help="Also read from the default remote (credentials, endpoint).")
@click.option("--cluster", "cluster", default=None, metavar="ADDR",
              help="Also reach this Dask scheduler and compare its workers' Pivot and Python versions.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON only.")
def doctor_cmd(remote: bool, cluster: str | None, as_json: bool) -> None:
    """Check Python, packages, project, pipelines, cache, state DB, git, remote and cluster."""
    from pivot.doctor import run_checks

    checks = run_checks(remote=remote, cluster=cluster)
    failed = [c for c in checks if c.status == "fail"]
    if as_json:
        click.echo(json.dumps({"ok": not failed, "checks": [c.to_json() for c in checks]}, indent=2))
    else:
        from rich.console import Console
        from rich.markup import escape

        console = Console(highlight=False)
        for c in checks:
            console.print(f"{_MARK[c.status]}  {escape(c.name)}: {escape(c.detail)}")
            if c.fix:
                console.print(f"        fix: {escape(c.fix)}")
        console.print(f"{len(failed)} check(s) failed" if failed else "all checks passed")
    if failed:
        sys.exit(1)


def register(cli: click.Group) -> None:
    cli.add_command(doctor_cmd)
