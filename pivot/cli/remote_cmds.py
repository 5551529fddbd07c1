"""Transfer and config commands: `push`, `fetch`, `pull`, `gc`, `config` (the `remote` group: remote_group_cmds).

Only wiring: options in, ``pivot.remote`` / ``pivot.project.config_edit`` called, results out.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from pivot.cli.common import config_file, emit


def _print_transfer(report: Any, verb: str, as_json: bool) -> None:
    if as_json:
        emit(report.to_json())
    else:
        click.echo(f"{verb} {report.transferred} object(s), {report.nbytes} bytes, "
                   f"{report.records} run record(s) ({report.remote}: {report.url})")
        for path in report.missing:
            click.echo(f"missing: {path} (not in the local cache nor on the remote)", err=True)
        for line in report.errors:
            click.echo(f"error: {line}", err=True)
        if getattr(report, "checked_out", None):
            click.echo(f"checked out {len(report.checked_out)} path(s)")
    if report.errors or report.missing:
        sys.exit(1)


def _transfer_options(func: Any) -> Any:
    func = click.option("--json", "as_json", is_flag=True, help="Print JSON only.")(func)
    func = click.option("-j", "--jobs", type=int, default=None, help="Transfers in flight (default 32).")(func)
    func = click.option("-r", "--remote", default=None, help="Remote name (default: core.remote).")(func)
    return click.argument("targets", nargs=-1)(func)


@click.command()
@_transfer_options
@click.option("--verify", is_flag=True, help="Ask the remote about every object; ignore the local index.")
@click.option("--allow-modified", is_flag=True,
              help="Exit 0 although tracked files differ from their .pvt (their new bytes stay unpushed).")
def push(targets: tuple[str, ...], remote: str | None, jobs: int | None, as_json: bool, verify: bool,
         allow_modified: bool) -> None:
    """Upload outputs, tracked data and run-cache records the remote lacks."""
    from pivot.remote import transfer
    from pivot.report.transfer_progress import transfer_progress

    with transfer_progress("push", enabled=not as_json) as bar:
        report = transfer.push(list(targets), remote=remote, jobs=jobs, verify=verify, progress=bar)
    for path in report.modified:
        if not as_json:
            click.echo(f"modified: {path} differs from {path.rstrip('/')}.pvt, its new bytes were not pushed; "
                       f"`pivot track {path}` then `pivot push`", err=True)
    _print_transfer(report, "pushed", as_json)
    if report.modified and not allow_modified:
        sys.exit(1)


_ALL_HISTORY = "Also every run record on the remote and what it names (not only this workspace's)."


@click.command()
@_transfer_options
@click.option("--all-history", is_flag=True, help=_ALL_HISTORY)
def fetch(targets: tuple[str, ...], remote: str | None, jobs: int | None, as_json: bool, all_history: bool) -> None:
    """Download into the local cache (verified) without touching the workspace."""
    from pivot.remote import transfer
    from pivot.report.transfer_progress import transfer_progress

    with transfer_progress("fetch", enabled=not as_json) as bar:
        report = transfer.fetch(list(targets), all=all_history, remote=remote, jobs=jobs, progress=bar,
                                place_missing_inputs=False)
    _print_transfer(report, "fetched", as_json)


@click.command()
@_transfer_options
@click.option("--all-history", is_flag=True, help=_ALL_HISTORY)
@click.option("-f", "--force", is_flag=True, help="Also overwrite workspace changes whose bytes are in no cache.")
def pull(targets: tuple[str, ...], remote: str | None, jobs: int | None, as_json: bool, all_history: bool,
         force: bool) -> None:
    """fetch what this workspace's locks and .pvt files use, then check it out into the workspace."""
    from pivot.remote import transfer
    from pivot.report.transfer_progress import transfer_progress

    with transfer_progress("pull", enabled=not as_json) as bar:
        report = transfer.pull(list(targets), all_history=all_history, remote=remote, jobs=jobs, progress=bar,
                               force=force)
    _print_transfer(report, "fetched", as_json)


@click.command()
@click.option("-w", "--workspace", is_flag=True, help="Keep what this checkout's lock and .pvt files use.")
@click.option("-A", "--all-commits", is_flag=True, help="Also keep what any commit of any branch or tag uses (from git).")
@click.option("--rev", "revs", multiple=True, metavar="REV", help="Also keep what commit REV uses (repeatable).")
@click.option("-r", "--remote", "remote", default=None, help="Collect this remote instead of the local cache.")
@click.option("-n", "--dry-run", is_flag=True, help="List what would be removed, and its size; remove nothing.")
@click.option("-f", "--force", is_flag=True, help="Do not ask before collecting a remote.")
@click.option("--json", "as_json", is_flag=True)
def gc(workspace: bool, all_commits: bool, revs: tuple[str, ...], remote: str | None, dry_run: bool,
       force: bool, as_json: bool) -> None:
    """Remove cached objects nothing in the scope uses and older than gc.grace (default 14d).

    The workspace is always kept. Run records go with the objects they name.
    """
    from pivot.remote.gc import Scope, gc

    ask = remote is not None and not force and not dry_run and not as_json and sys.stdin.isatty()
    report = gc(scope=Scope(workspace, all_commits, tuple(revs)), remote=remote, dry_run=dry_run,
                confirm=_confirm if ask else None)
    if as_json:
        emit(report.to_json())
        return
    if dry_run:
        for d in report.removed:
            click.echo(f"would remove {d}  {report.sizes.get(d, 0)} bytes")
    verb = "would remove" if report.dry_run else "removed"
    click.echo(f"{verb} {len(report.removed)} object(s), {report.nbytes} bytes, and "
               f"{len(report.records_removed)} run record(s) from {report.where} (kept: {report.scope}; "
               f"{report.kept} object(s) kept, {report.young} of them only for being younger than gc.grace)")


def _confirm(report: Any) -> bool:
    return click.confirm(f"remove {len(report.removed)} object(s), {report.nbytes} bytes, and "
                         f"{len(report.records_removed)} run record(s) from {report.where}?", default=False)


# -- config --------------------------------------------------------------------------------------
@click.group("config")
def config_group() -> None:
    """Read or edit .pivot/config.yaml (comments are kept)."""


@config_group.command("get")
@click.argument("key")
@click.option("--global", "global_", is_flag=True)
def config_get(key: str, global_: bool) -> None:
    from pivot.project import config_edit

    value = config_edit.get_value(config_edit.load(config_file(global_)), key)
    if value is None:
        sys.exit(1)
    click.echo(json.dumps(value, default=str) if isinstance(value, dict | list) else str(value))


@config_group.command("set")
@click.argument("key")
@click.argument("value")
@click.option("--global", "global_", is_flag=True)
def config_set(key: str, value: str, global_: bool) -> None:
    from pivot.project import config_edit

    config_edit.edit(config_file(global_), key, config_edit.parse_scalar(value))


@config_group.command("unset")
@click.argument("key")
@click.option("--global", "global_", is_flag=True)
def config_unset(key: str, global_: bool) -> None:
    from pivot.project import config_edit

    if not config_edit.remove(config_file(global_), key):
        click.echo(f"{key} was not set", err=True)
        sys.exit(1)


def register(cli: click.Group) -> None:
    for command in (push, fetch, pull, gc, config_group):
        cli.add_command(command)
