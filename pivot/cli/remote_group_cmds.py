"""The `remote` group: add, list, modify, default, rename, remove, status.

Only wiring: options in, ``pivot.project.config_edit`` or ``pivot.remote`` called, results out.
An edit that can change which store a remote name reaches (its URL, endpoint or any storage
option, its name) forgets what this project remembers being on that remote (the push index):
the next push lists the store again instead of trusting the old one's contents.
"""

from __future__ import annotations

from pathlib import Path

import click

from pivot.cli.common import config_file, emit, project_config, root_or_none


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
    """Add a remote cache at URL (S3 or any fsspec URL, or a folder)."""
    from pivot.cache.url import check as check_url
    from pivot.errors import UserError
    from pivot.project import config_edit

    check_url(url, "URL")
    _check_name(name)
    path = config_file(global_)
    doc = config_edit.load(path)
    if config_edit.get_value(doc, f"remotes.{name}") is not None and not force:
        raise UserError(f"remote {name!r} already exists; use --force to replace it", path=str(path))
    entry: dict[str, str] = {"url": url, **({"endpoint_url": endpoint_url} if endpoint_url else {})}
    config_edit.set_value(doc, f"{config_edit.REMOTES}.{name}", entry)
    if default:
        config_edit.set_value(doc, config_edit.DEFAULT_REMOTE, name)
    config_edit.save(path, doc)
    if force:
        _forget_index(name)  # the name may now reach another store
    click.echo(f"added remote {name}: {url}" + (" (default)" if default else ""))


@remote_group.command("list")
@click.option("--json", "as_json", is_flag=True)
def remote_list(as_json: bool) -> None:
    """Every remote, its URL and which one is the default."""

    config = project_config()
    default = config.get("core.remote")
    rows = []
    for name, entry in sorted((config.get("remotes") or {}).items()):
        url = entry if isinstance(entry, str) else (entry or {}).get("url", "")
        rows.append({"name": name, "url": url, "default": name == default})
    if as_json:
        emit({"remotes": rows})
        return
    for row in rows:
        click.echo(f"{row['name']}\t{row['url']}" + ("\t(default)" if row["default"] else ""))


# DVC's option names for an S3 remote (`dvc remote modify`), spelled as s3fs takes them.
DVC_OPTIONS = {"endpointurl": "endpoint_url", "access_key_id": "key", "secret_access_key": "secret",
               "session_token": "token", "region": "client_kwargs.region_name"}


@remote_group.command("modify")
@click.argument("name")
@click.argument("option")
@click.argument("value", required=False)
@click.option("-u", "--unset", is_flag=True, help="Remove the option instead of setting it.")
@click.option("--global", "global_", is_flag=True, help="In ~/.config/pivot/config.yaml.")
def remote_modify(name: str, option: str, value: str | None, unset: bool, global_: bool) -> None:
    """Set one option of a remote: `url`, `pack` (true/false) or any storage option its filesystem
    takes (dotted for nested ones: client_kwargs.region_name); DVC's S3 names work too
    (endpointurl, region, access_key_id, secret_access_key, session_token)."""
    from pivot.errors import UserError
    from pivot.project import config_edit

    if (value is None) != unset:
        raise UserError("give a VALUE, or --unset to remove the option")
    key = DVC_OPTIONS.get(option, option)
    path = config_file(global_)
    doc = config_edit.load(path)
    entry = _entry(doc, name, path)
    if unset:
        if key == "url":
            raise UserError(f"remote {name!r}: url cannot be unset (`pivot remote remove {name}`)")
        if not isinstance(entry, dict) or not config_edit.unset_value(doc, f"{config_edit.REMOTES}.{name}.{key}"):
            raise UserError(f"remote {name!r} has no option {key!r} in {path}", path=str(path))
        shown = "unset"
    else:
        assert value is not None
        parsed = _checked(name, key, config_edit.parse_scalar(value))
        if not isinstance(entry, dict):  # the short form, `NAME: URL`, becomes a mapping
            config_edit.set_value(doc, f"{config_edit.REMOTES}.{name}", {"url": entry})
        config_edit.set_value(doc, f"{config_edit.REMOTES}.{name}.{key}", parsed)
        shown = f"= {parsed}"
    config_edit.save(path, doc)
    _forget_index(name)
    click.echo(f"remote {name}: {key} {shown}")


def _check_name(name: str) -> None:
    """A remote's name is a config key (`remotes.NAME.url`): a dot or slash in it would nest it."""
    import re

    from pivot.errors import UserError

    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]*", name):
        raise UserError(f"remote name {name!r}: use letters, digits, '-' or '_'", path=name)


def _entry(doc: object, name: str, path: Path) -> object:
    from pivot.errors import UserError
    from pivot.project import config_edit

    entry = config_edit.get_value(doc, f"{config_edit.REMOTES}.{name}")
    if entry is None:
        raise UserError(f"no remote named {name!r} in {path} (`pivot remote list`)", path=str(path))
    if not isinstance(entry, str | dict):
        raise UserError(f"remote {name!r} in {path}: expected a URL or a mapping with `url`", path=str(path))
    return dict(entry) if isinstance(entry, dict) else entry


def _checked(name: str, key: str, value: object) -> object:
    from pivot.cache.url import check as check_url
    from pivot.errors import UserError

    if key == "url":
        check_url(str(value), f"remote {name!r} url")
        return str(value)
    if key == "pack" and not isinstance(value, bool):
        raise UserError(f"remote {name!r}: pack must be true or false, not {value!r}")
    return value


@remote_group.command("default")
@click.argument("name", required=False)
@click.option("-u", "--unset", is_flag=True, help="Have no default remote.")
@click.option("--global", "global_", is_flag=True, help="In ~/.config/pivot/config.yaml.")
def remote_default(name: str | None, unset: bool, global_: bool) -> None:
    """Print the default remote, or make NAME the default (core.remote)."""
    import sys

    from pivot.errors import UserError
    from pivot.project import config_edit

    path = config_file(global_)
    merged = project_config()
    if name is None and not unset:
        chosen = merged.get("core.remote")
        if not chosen:
            click.echo("no default remote", err=True)
            sys.exit(1)
        click.echo(str(chosen))
        return
    doc = config_edit.load(path)
    if unset:
        config_edit.unset_value(doc, config_edit.DEFAULT_REMOTE)
    else:
        assert name is not None
        if name not in (merged.get("remotes") or {}) and config_edit.get_value(doc, f"{config_edit.REMOTES}.{name}") is None:
            raise UserError(f"no remote named {name!r} (`pivot remote add {name} URL` first)")
        config_edit.set_value(doc, config_edit.DEFAULT_REMOTE, name)
    config_edit.save(path, doc)
    click.echo("no default remote" if unset else f"default remote: {name}")


@remote_group.command("rename")
@click.argument("old")
@click.argument("new")
@click.option("--global", "global_", is_flag=True, help="In ~/.config/pivot/config.yaml.")
def remote_rename(old: str, new: str, global_: bool) -> None:
    """Rename a remote (and the default, when it was this one)."""
    from pivot.errors import UserError
    from pivot.project import config_edit

    _check_name(new)
    path = config_file(global_)
    doc = config_edit.load(path)
    entry = _entry(doc, old, path)
    if config_edit.get_value(doc, f"{config_edit.REMOTES}.{new}") is not None:
        raise UserError(f"remote {new!r} already exists in {path}", path=str(path))
    config_edit.set_value(doc, f"{config_edit.REMOTES}.{new}", entry)
    config_edit.unset_value(doc, f"{config_edit.REMOTES}.{old}")
    if config_edit.get_value(doc, config_edit.DEFAULT_REMOTE) == old:
        config_edit.set_value(doc, config_edit.DEFAULT_REMOTE, new)
    config_edit.save(path, doc)
    _forget_index(old)  # kept by name: the next push under the new name lists the store once
    click.echo(f"renamed remote {old} to {new}")


@remote_group.command("remove")
@click.argument("name")
@click.option("--global", "global_", is_flag=True)
def remote_remove(name: str, global_: bool) -> None:
    """Remove a remote from the config (nothing on it is deleted)."""
    from pivot.errors import UserError
    from pivot.project import config_edit

    path = config_file(global_)
    doc = config_edit.load(path)
    if not config_edit.unset_value(doc, f"{config_edit.REMOTES}.{name}"):
        raise UserError(f"no remote named {name!r} in {path}", path=str(path))
    if config_edit.get_value(doc, config_edit.DEFAULT_REMOTE) == name:
        config_edit.unset_value(doc, config_edit.DEFAULT_REMOTE)
    config_edit.save(path, doc)
    _forget_index(name)
    click.echo(f"removed remote {name}")


def _forget_index(name: str) -> None:
    root = root_or_none()
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
        emit(report.to_json())
        return
    click.echo(f"{report.remote} ({report.url}): {report.to_push} to push, {report.to_pull} to pull")
    for path in report.missing_everywhere:
        click.echo(f"missing everywhere: {path}")
