"""Open an fsspec filesystem for a cache URL, with one clear line when its extra is missing."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pivot.errors import ConfigError

# URL scheme -> the pivot extra that installs its filesystem
EXTRAS = {"s3": "s3", "s3a": "s3"}
# Stores where one PUT is atomic: objects are written in place, not to a temp name + move.
ATOMIC_PUT = {"s3", "s3a", "gs", "gcs", "az", "abfs", "abfss", "memory"}


def url_to_fs(url: str, **options: Any) -> tuple[Any, str]:
    from fsspec.core import url_to_fs as _open

    try:
        fs, path = _open(url, **options)
    except ImportError as exc:
        scheme = url.split("://", 1)[0]
        extra = EXTRAS.get(scheme)
        hint = f"pip install 'pivot[{extra}]'" if extra else f"install the fsspec backend for {scheme}://"
        raise ConfigError(f"{url}: {scheme}:// needs a package that is not installed: {hint}", path=url) from exc
    return fs, str(path)


def open_store_fs(url: str, options: dict[str, Any]) -> tuple[Any, str, bool, bool]:
    """(filesystem, base path, is local, one PUT is atomic) for an object store's URL."""
    from fsspec.implementations.local import LocalFileSystem

    try:  # url_to_fs names the extra to install when s3fs is missing
        fs, path = url_to_fs(url, **options)
    except (ValueError, ImportError, TypeError) as exc:  # unknown protocol, bad option
        raise ConfigError(f"cannot open the store {url}: {exc}", path=url) from exc
    base = path.rstrip("/") if path != "/" else path
    protocols = fs.protocol if isinstance(fs.protocol, tuple) else (fs.protocol,)
    return fs, base, isinstance(fs, LocalFileSystem), bool(ATOMIC_PUT.intersection(protocols))


def local_path(url: str) -> Path | None:
    """The folder a local cache URL (a path or file://) names; None for any other store."""
    if url.startswith("file://"):
        return Path(url[len("file://"):]).absolute()
    if "://" in url or "::" in url:
        return None
    return Path(url).expanduser().absolute()


def lazy_s3_base(url: str, options: Mapping[str, Any]) -> str | None:
    """The "bucket/prefix" of a plain s3:// URL, else None. Opening s3fs costs ~0.6 s of CPU
    (imports, a botocore session), and an isolated worker whose deps ride in its task and whose
    small outputs go back inline never touches S3: such a store opens its filesystem on first use."""
    scheme, _, rest = url.partition("://")
    if scheme not in EXTRAS or "::" in url or options:
        return None
    return rest.strip("/")  # what s3fs's own parsing yields
