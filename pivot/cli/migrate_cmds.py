"""`pivot import-dvc` and `pivot export-dvc`: wire options to pivot.migrate."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from pivot.cli.common import emit as emit_json

F = TypeVar("F", bound=Callable[..., Any])


def json_option(func: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON only.")(func)


@click.command("import-dvc")
@click.argument("path", required=False, type=click.Path(file_okay=False, exists=True))
@click.option("--dry-run", is_flag=True, help="Print the pipeline.py files and notes; write nothing.")
@click.option("--force", is_flag=True, help="Overwrite existing pipeline.py files.")
@json_option
def import_dvc(path: str | None, dry_run: bool, force: bool, as_json: bool) -> None:
    """Convert the DVC project at PATH (default: here) and adopt the results DVC already computed."""
    from pivot.migrate import notes
    from pivot.migrate.importer import import_dvc as run

    say = None if as_json or dry_run else (lambda m: click.echo(m, err=True))
    report = run(Path(path or "."), dry_run=dry_run, force=force, progress=say)
    if as_json:
        emit_json(report.to_json() | ({"files": report.pipelines} if dry_run else {}))
        return
    if dry_run:
        for rel, text in report.pipelines.items():
            click.echo(f"--- {rel} (would write)\n{text}")
        click.echo(notes.render(report.notes))
        click.echo(f"would adopt {len(report.adopted)} stage result(s); {len(report.not_adopted)} stage(s) would run")
        return
    click.echo(f"converted {len(report.pipelines)} dvc.yaml file(s); tracked {len(report.tracked)} path(s); "
               f"adopted {len(report.adopted)} stage(s)")
    for identity, reason in report.not_adopted.items():
        click.echo(f"  will run: {identity} ({reason})")
    click.echo("notes: .pivot/migration-notes.md")


@click.command("export-dvc")
@click.option("-o", "--out", "out", type=click.Path(file_okay=False), help="Write into DIR instead of the project.")
@click.option("--force", is_flag=True, help="Overwrite existing dvc.yaml files.")
@json_option
def export_dvc(out: str | None, force: bool, as_json: bool) -> None:
    """Write dvc.yaml files (and params where needed) for this project's stages."""
    from pivot.migrate.export import export_dvc as run

    written = run(Path(out) if out else None, force=force)
    if as_json:
        emit_json({"written": written})
        return
    for rel in written:
        click.echo(f"wrote {rel}")


def register(cli: click.Group) -> None:
    for command in (import_dvc, export_dvc):
        cli.add_command(command)
