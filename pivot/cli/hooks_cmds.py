"""`pivot install`: the git hooks of pivot.githooks (post-checkout, pre-push)."""

from __future__ import annotations

import click


@click.command("install")
@click.option("--uninstall", is_flag=True, help="Remove the hooks `pivot install` wrote.")
def install_cmd(uninstall: bool) -> None:
    """Git hooks: after a branch checkout, `pivot checkout`; before a git push, `pivot push`."""
    from pivot import api, githooks

    root = api.find_root()
    if uninstall:
        removed = githooks.uninstall(root)
        click.echo("\n".join(f"removed {p}" for p in removed) or "no hook of Pivot's to remove")
        return
    for path in githooks.install(root):
        click.echo(f"installed {path}")


def register(cli: click.Group) -> None:
    cli.add_command(install_cmd)
