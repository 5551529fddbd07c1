"""`pivot completion bash|zsh|fish`: click's completion script, plus the project's names.

Stage, remote and config-key arguments of the other commands get their
completers here, at registration, so their own modules stay as they are.
"""

from __future__ import annotations

from collections.abc import Callable

import click
from click.shell_completion import CompletionItem, get_completion_class

Completer = Callable[[click.Context, click.Parameter, str], list[CompletionItem]]


def _items(names: Callable[[], list[str]]) -> Completer:
    def complete(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
        try:
            return [CompletionItem(n) for n in names() if n.startswith(incomplete)]
        except Exception:  # completing must never print a traceback into the shell
            return []

    return complete


def _stages() -> list[str]:
    from pivot.completion import stage_names

    return stage_names()


def _remotes() -> list[str]:
    from pivot.completion import remote_names

    return remote_names()


def _keys() -> list[str]:
    from pivot.completion import config_keys

    return config_keys()


def _runs() -> list[str]:
    from pivot.completion import run_ids

    return run_ids()


# (command path, parameter name) -> what completes it
STAGE_ARGS = {("repro", "targets"), ("run", "stages"), ("status", "targets"), ("verify", "targets"),
              ("checkout", "targets"), ("commit", "stages"), ("push", "targets"), ("fetch", "targets"),
              ("pull", "targets")}
REMOTE_ARGS = {("remote remove", "name"), ("push", "remote"), ("fetch", "remote"), ("pull", "remote"),
               ("gc", "remote"), ("remote status", "remote")}
KEY_ARGS = {("config get", "key"), ("config set", "key"), ("config unset", "key")}


@click.command("completion")
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
@click.pass_context
def completion_cmd(ctx: click.Context, shell: str) -> None:
    """Print the shell completion script: eval "$(pivot completion bash)" in ~/.bashrc."""
    cls = get_completion_class(shell)
    assert cls is not None  # every choice above is one of click's shells
    # The root command from the context, not an import of pivot.cli.main (which imports us).
    click.echo(cls(ctx.find_root().command, {}, "pivot", "_PIVOT_COMPLETE").source())


def attach(group: click.Group, prefix: str = "") -> None:
    """Give the stage/remote/config-key parameters of every command their completer."""
    for name, command in group.commands.items():
        path = f"{prefix}{name}"
        if isinstance(command, click.Group):
            attach(command, path + " ")
        for param in command.params:
            key = (path, param.name or "")
            if key in STAGE_ARGS:
                param._custom_shell_complete = _items(_stages)
            elif key in REMOTE_ARGS:
                param._custom_shell_complete = _items(_remotes)
            elif key in KEY_ARGS:
                param._custom_shell_complete = _items(_keys)
            elif key == ("show", "run_id"):
                param._custom_shell_complete = _items(_runs)


def register(cli: click.Group) -> None:
    cli.add_command(completion_cmd)
    attach(cli)
