"""Remote and config commands: `remote add/list/remove/status`, `config`, `push`, `fetch`, `pull`, `gc`.

Only wiring: options in, ``pivot.remote`` / ``pivot.project.config_edit`` called, results out.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click


def _emit(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=str))


def _root_or_none() -> Path | None:
    from pivot import api
    from pivot.errors import PivotError

    try:
        return api.find_root()
    except PivotError:
        return None


def _config_file(global_: bool) -> Path:
    from pivot.project import config_edit

    return config_edit.config_path(None if global_ else _root_or_none(), global_=global_)


def _print_transfer(report: Any, verb: str, as_json: bool) -> None:
    if as_json:
        _emit(report.to_json())
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
        _emit(report.to_json())
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


# -- remote ------------------------------------------------------------------------------------
@click.group("remote")
def remote_group() -> None:
    """Configure remote caches (S3 or any fsspec URL)."""


@remote_group.command("add")
@click.argument("name")
@click.argument("url")
@click.option("-d", "--default", "default", is_flag=True, help="Make it the default remote (core.remote).")
@click.option("--endpoint-url", default=None, help="S3-compatible endpoint (MinIO, Ceph, ...).")
@click.option("-f", "--force", is_flag=True, help="Replace an existing remote of that name.")
@click.option("--global", "global_", is_flag=True, help="In ~/.config/pivot/config.yaml.")
def remote_add(name: str, url: str, default: bool, endpoint_url: str | None, force: bool, global_: bool) -> None:
    from pivot.cache.url import check as check_url
    from pivot.errors import UserError
    from pivot.project import config_edit

    check_url(url, "URL")
    path = _config_file(global_)
    doc = config_edit.load(path)
    if config_edit.get_value(doc, f"remotes.{name}") is not None and not force:
        raise UserError(f"remote {name!r} already exists; use --force to replace it", path=str(path))
    entry: dict[str, str] = {"url": url, **({"endpoint_url": endpoint_url} if endpoint_url else {})}
    config_edit.set_value(doc, f"{config_edit.REMOTES}.{name}", entry)
    if default:
        config_edit.set_value(doc, config_edit.DEFAULT_REMOTE, name)
    config_edit.save(path, doc)
    click.echo(f"added remote {name}: {url}" + (" (default)" if default else ""))


@remote_group.command("list")
@click.option("--json", "as_json", is_flag=True)
def remote_list(as_json: bool) -> None:
    from pivot.project.config import Config

    root = _root_or_none()
    config = Config.load(root / ".pivot" / "config.yaml" if root else Path("/nonexistent"))
    default = config.get("core.remote")
    rows = []
    for name, entry in sorted((config.get("remotes") or {}).items()):
        url = entry if isinstance(entry, str) else (entry or {}).get("url", "")
        rows.append({"name": name, "url": url, "default": name == default})
    if as_json:
        _emit({"remotes": rows})
        return
    for row in rows:
        click.echo(f"{row['name']}\t{row['url']}" + ("\t(default)" if row["default"] else ""))


@remote_group.command("remove")
@click.argument("name")
@click.option("--global", "global_", is_flag=True)
def remote_remove(name: str, global_: bool) -> None:
    from pivot.errors import UserError
    from pivot.project import config_edit

    path = _config_file(global_)
    doc = config_edit.load(path)
    if not config_edit.unset_value(doc, f"{config_edit.REMOTES}.{name}"):
        raise UserError(f"no remote named {name!r} in {path}", path=str(path))
    if config_edit.get_value(doc, config_edit.DEFAULT_REMOTE) == name:
        config_edit.unset_value(doc, config_edit.DEFAULT_REMOTE)
    config_edit.save(path, doc)
    _forget_index(name)
    click.echo(f"removed remote {name}")


def _forget_index(name: str) -> None:
    root = _root_or_none()
    if root is None:
        return
    from pivot.remote.store import INDEX_PREFIX
    from pivot.state import LmdbState

    state = LmdbState.open(root / ".pivot" / "state.lmdb")
    try:
        state.delete_prefix(f"{INDEX_PREFIX}{name}:")
        state.delete_prefix(f"{INDEX_PREFIX}{name}")
    finally:
        state.close()


@remote_group.command("status")
@click.argument("targets", nargs=-1)
@click.option("-r", "--remote", default=None)
@click.option("-j", "--jobs", type=int, default=None)
@click.option("--json", "as_json", is_flag=True)
def remote_status(targets: tuple[str, ...], remote: str | None, jobs: int | None, as_json: bool) -> None:
    """How many objects push and pull would move."""
    from pivot.remote.status import status_remote

    report = status_remote(list(targets), remote=remote, jobs=jobs)
    if as_json:
        _emit(report.to_json())
        return
    click.echo(f"{report.remote} ({report.url}): {report.to_push} to push, {report.to_pull} to pull")
    for path in report.missing_everywhere:
        click.echo(f"missing everywhere: {path}")


# -- config --------------------------------------------------------------------------------------
@click.group("config")
def config_group() -> None:
    """Read or edit .pivot/config.yaml (comments are kept)."""


@config_group.command("get")
@click.argument("key")
@click.option("--global", "global_", is_flag=True)
def config_get(key: str, global_: bool) -> None:
    from pivot.project import config_edit

    value = config_edit.get_value(config_edit.load(_config_file(global_)), key)
    if value is None:
        sys.exit(1)
    click.echo(json.dumps(value, default=str) if isinstance(value, dict | list) else str(value))


@config_group.command("set")
@click.argument("key")
@click.argument("value")
@click.option("--global", "global_", is_flag=True)
def config_set(key: str, value: str, global_: bool) -> None:
    from pivot.project import config_edit

    config_edit.edit(_config_file(global_), key, config_edit.parse_scalar(value))


@config_group.command("unset")
@click.argument("key")
@click.option("--global", "global_", is_flag=True)
def config_unset(key: str, global_: bool) -> None:
    from pivot.project import config_edit

    if not config_edit.remove(_config_file(global_), key):
        click.echo(f"{key} was not set", err=True)
        sys.exit(1)


def register(cli: click.Group) -> None:
    for command in (push, fetch, pull, gc, remote_group, config_group):
        cli.add_command(command)
