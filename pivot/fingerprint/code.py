"""Code fingerprints: a flat manifest of everything a stage's code depends on.

`code_manifest(func)` maps component keys to hashes: "self" is the function's
normalised AST; "func:mod.qualname", "class:mod.qualname", "mod:name",
"const:mod.NAME", "partial:mod.NAME" and "obj:mod.NAME" are the user code and
values it reaches, recursively; "dist:name" is the version of each
distribution it touches and "stdlib:python" the Python version. A manifest is
flat so that `diff_manifests` can name exactly what changed.

Every hash input is content: AST dumps without line numbers, canonical
values, module-qualified names. Object identities are used only as memo keys
inside one call, so a notebook that redefines a function is always re-read.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

from pivot.digest import hash_json
from pivot.errors import RegistrationError
from pivot.fingerprint.code_walk import Walker


def code_manifest(func: Callable[..., Any]) -> dict[str, str]:
    """Fingerprint a stage function and everything it references in user code."""
    return object_manifest(func)


def object_manifest(obj: object) -> dict[str, str]:
    """Fingerprint any referenced object: a function, a class or an instance.

    Decorated callables are unwrapped through `__wrapped__`; "self" describes
    the innermost one and every wrapper layer is tracked as a component too.
    """
    walker = Walker()
    layers = _wrapper_layers(obj)
    inner = layers[-1]
    if inspect.isfunction(inner) or isinstance(inner, type):
        walker.root(inner)
    else:
        walker.root_value(inner)
    for layer in layers[:-1]:
        walker.ref(layer)
    return walker.result()


def manifest_digest(manifest: Mapping[str, str]) -> str:
    """One hex hash over a manifest (canonical JSON, so key order is irrelevant)."""
    return hash_json({"code_manifest": dict(manifest)}).hex


def diff_manifests(
    old: Mapping[str, str], new: Mapping[str, str]
) -> list[tuple[str, str | None, str | None]]:
    """(key, old value, new value) for every changed, added or removed component."""
    keys = sorted(set(old) | set(new))
    return [(k, old.get(k), new.get(k)) for k in keys if old.get(k) != new.get(k)]


def _wrapper_layers(obj: object) -> list[object]:
    layers = [obj]
    while not isinstance(layers[-1], type) and hasattr(layers[-1], "__wrapped__"):
        inner = layers[-1].__wrapped__
        if any(inner is seen for seen in layers):
            raise RegistrationError(f"cycle in __wrapped__ chain of {obj!r}")
        layers.append(inner)
    return layers
