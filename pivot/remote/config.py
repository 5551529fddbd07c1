"""Which remote a command means: `remotes.NAME` entries, `core.remote`, the only one."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pivot.cache.url import check as check_url
from pivot.errors import ConfigError
from pivot.remote.store import Remote

if TYPE_CHECKING:
    from pivot.workspace import Workspace


def remote_names(ws: Workspace) -> dict[str, Any]:
    raw = ws.config.get("remotes") or {}
    if not isinstance(raw, Mapping):
        raise ConfigError("config `remotes` must map names to URLs", path=str(ws.layout.config_file))
    return dict(raw)


def _parse_entry(name: str, entry: Any) -> tuple[str, dict[str, Any], bool]:
    """URL, storage options (for fsspec) and whether pushes may pack small objects (``pack``)."""
    if isinstance(entry, str):
        return entry, {}, True
    if isinstance(entry, Mapping) and isinstance(entry.get("url"), str):
        pack = entry.get("pack", True)
        if not isinstance(pack, bool):
            raise ConfigError(f"remote {name!r}: `pack` must be true or false, not {pack!r}",
                              path=f"remotes.{name}.pack")
        options = {str(k): v for k, v in entry.items() if k not in ("url", "pack") and v is not None}
        return str(entry["url"]), options, pack
    raise ConfigError(f"remote {name!r}: expected a URL or a mapping with `url`", path=f"remotes.{name}")


def get_remote(ws: Workspace, name: str) -> Remote:
    entries = remote_names(ws)
    if name not in entries:
        known = ", ".join(sorted(entries)) or "none configured"
        raise ConfigError(f"no remote named {name!r} ({known}); add one with `pivot remote add NAME URL`",
                          path=f"remotes.{name}")
    url, options, pack = _parse_entry(name, entries[name])
    check_url(url, f"remote {name!r} (remotes.{name} in the config)")
    return Remote(name, url, ws.state, storage_options=options, pack=pack)


def default_remote(ws: Workspace) -> Remote | None:
    """``core.remote``, else the only remote configured, else the legacy ``cache.remote`` URL."""
    chosen = ws.config.get("core.remote")
    if chosen:
        return get_remote(ws, str(chosen))
    entries = remote_names(ws)
    if len(entries) == 1:
        return get_remote(ws, next(iter(entries)))
    if len(entries) > 1:
        raise ConfigError(f"several remotes ({', '.join(sorted(entries))}) and no default: "
                          "use -r NAME or `pivot config set core.remote NAME`", path="core.remote")
    legacy = ws.config.get("cache.remote")
    if isinstance(legacy, str) and legacy:
        check_url(legacy, "cache.remote in the config")
        return Remote("default", legacy, ws.state)
    return None


def resolve(ws: Workspace, name: str | None) -> Remote:
    remote = get_remote(ws, name) if name else default_remote(ws)
    if remote is None:
        raise ConfigError("no remote configured: `pivot remote add NAME URL --default`", path="core.remote")
    return remote


def resolve_or_cache(ws: Workspace, name: str | None) -> Remote | None:
    """None when no remote is named or configured and the cache itself is a URL
    (``cache.dir: s3://...``): that cache is what a remote would be, nothing to move."""
    if name is None and "://" in ws.cache_url and default_remote(ws) is None:
        return None
    return resolve(ws, name)
