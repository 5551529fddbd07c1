"""Checking a cache or remote URL before anything is stored there.

An unknown protocol (a typo such as ``s4://``) would otherwise surface as a
library ``ValueError`` deep inside the first transfer; a known protocol whose
package is missing (``gs://`` without gcsfs) names the package to install.
"""

from __future__ import annotations

from pivot.errors import ConfigError


def problem(url: str) -> str | None:
    """Why ``url`` cannot be used as a store, or None."""
    if not url.strip():
        return "empty URL"
    if "://" not in url:
        return None  # a local folder
    protocol = url.split("://", 1)[0].split("::")[-1]
    from fsspec.registry import get_filesystem_class, known_implementations, registry

    if protocol not in known_implementations and protocol not in registry:
        return f"unknown protocol {protocol!r} (use a folder, file://, s3://, gs://, az:// or another fsspec protocol)"
    try:
        get_filesystem_class(protocol)
    except ImportError as exc:
        from pivot.cache.fs_open import EXTRAS

        extra = EXTRAS.get(protocol)
        hint = f"pip install 'pivot[{extra}]'" if extra else str(exc)
        return f"protocol {protocol!r} needs a package that is not installed: {hint}"
    return None


def check(url: str, where: str) -> None:
    """Raise a ConfigError naming ``where`` (a config key or argument) when ``url`` is unusable."""
    reason = problem(url)
    if reason is not None:
        raise ConfigError(f"{where}: {url}: {reason}", path=where)
