"""Checking a cache or remote URL before anything is stored there.

An unknown protocol (a typo such as ``s4://``) would otherwise surface as a
library ``ValueError`` deep inside the first transfer; a known protocol whose
package is missing (``gs://`` without gcsfs) names the package to install.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from typing import Any

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
        _installed(protocol, get_filesystem_class)
    except ImportError as exc:
        from pivot.cache.fs_open import EXTRAS

        extra = EXTRAS.get(protocol)
        hint = f"pip install 'pivot[{extra}]'" if extra else str(exc)
        return f"protocol {protocol!r} needs a package that is not installed: {hint}"
    return None


def _installed(protocol: str, load: Callable[[str], Any]) -> None:
    """Raise ImportError when the protocol's package is absent. Only looks for the top-level
    package (importing s3fs costs ~0.4 s, more than a whole no-op pull that never contacts
    the remote); a package that is present but broken fails at the first transfer anyway."""
    from fsspec.registry import known_implementations, registry

    if protocol in registry:  # already imported
        return
    module = str(known_implementations[protocol]["class"]).split(".", 1)[0]
    if module == "fsspec":
        return
    if importlib.util.find_spec(module) is None:
        load(protocol)  # raises fsspec's ImportError with its own hint


def check(url: str, where: str) -> None:
    """Raise a ConfigError naming ``where`` (a config key or argument) when ``url`` is unusable."""
    reason = problem(url)
    if reason is not None:
        raise ConfigError(f"{where}: {url}: {reason}", path=where)
