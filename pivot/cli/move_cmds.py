"""`pivot move SRC DST`: rename tracked data (pivot.api.move)."""

from __future__ import annotations

import click


@click.command("move")
@click.argument("source")
@click.argument("destination")
def move_cmd(source: str, destination: str) -> None:
    """Rename tracked data: the file or folder, its .pvt and its .gitignore line (as `dvc move`)."""
    from pivot.api.move import move

    moved = move(source, destination)
    click.echo(f"moved {moved.source} -> {moved.destination}")
    if moved.readers:
        click.echo(f"note: stages still declaring {moved.source} as a dependency: {', '.join(moved.readers)} "
                   "(update their pipeline.py)", err=True)


def register(cli: click.Group) -> None:
    cli.add_command(move_cmd)
