"""Canonical encoding of values that code references (constants, loaders, params).

The encoding is JSON-able and independent of memory layout and hash seeds:
numbers by their repr, containers with sets and dicts sorted by the canonical
bytes of their items, instances by their class and field values. Code inside
a value (a function in a list, a partial's func) is encoded by the key the
walker tracks it under. Anything else raises `Opaque`: the caller decides.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import pathlib
import sys
import types
from collections.abc import Callable

from pivot.digest import canonical_json
from pivot.fingerprint.code_origin import USER, module_origin

_PRIMITIVES = (type(None), bool, str, int, float, complex, bytes)
_CONTAINERS = (tuple, list, dict, set, frozenset)
_CODE_TYPES = (
    types.ModuleType,
    types.FunctionType,
    types.BuiltinFunctionType,
    types.MethodDescriptorType,
    types.WrapperDescriptorType,
    types.ClassMethodDescriptorType,
    type,
)


class Opaque(Exception):
    """A value with no canonical encoding; the message names its type."""


def is_code(obj: object) -> bool:
    if isinstance(obj, _CODE_TYPES):
        return True
    # Decorator objects such as functools.lru_cache wrappers.
    return callable(obj) and not isinstance(obj, type) and hasattr(obj, "__wrapped__")


_PLAIN_TAGS = frozenset({"int", "float", "complex", "bytes", "tuple", "list", "set", "frozenset"})


def is_plain(encoded: object) -> bool:
    """Whether an encoding is a constant in the issue's sense (primitives and containers)."""
    if encoded is None or isinstance(encoded, bool | str):
        return True
    assert isinstance(encoded, list)
    tag, body = encoded[0], encoded[1]
    if tag == "dict":
        return all(is_plain(k) and is_plain(v) for k, v in body)
    if tag not in _PLAIN_TAGS:
        return False
    return not isinstance(body, list) or all(is_plain(item) for item in body)


class ValueEncoder:
    def __init__(self, ref: Callable[[object], str]) -> None:
        self._ref = ref  # tracks code and returns its component key
        self._stack: list[int] = []  # ids of containers being encoded: cycle guard

    def encode(self, value: object) -> object:
        if id(value) in self._stack:
            raise Opaque(f"self-referencing {type(value).__qualname__}")
        self._stack.append(id(value))
        try:
            return self._encode(value)
        finally:
            self._stack.pop()

    def _encode(self, v: object) -> object:
        t = type(v)
        if v is None or t is bool or t is str:
            return v
        if t in (int, float, complex):
            return [t.__name__, repr(v)]
        if isinstance(v, bytes | bytearray):
            return ["bytes", bytes(v).hex()]
        if isinstance(v, tuple | list) and t in _CONTAINERS:
            return [t.__name__, [self.encode(item) for item in v]]
        if isinstance(v, dict) and t is dict:
            pairs = [[self.encode(k), self.encode(x)] for k, x in v.items()]
            return ["dict", sorted(pairs, key=canonical_json)]
        if isinstance(v, set | frozenset) and t in _CONTAINERS:
            return [t.__name__, sorted((self.encode(item) for item in v), key=canonical_json)]
        if isinstance(v, enum.Enum):
            return ["enum", self._ref(t), v.name]
        if isinstance(v, functools.partial):
            return ["partial", self._ref(v.func), self.encode(v.args), self.encode(v.keywords)]
        if is_code(v):
            return ["ref", self._ref(v)]
        if isinstance(v, types.MethodType):
            return ["method", self.encode(v.__self__), self._ref(v.__func__)]
        if isinstance(v, pathlib.PurePath):
            return ["path", t.__name__, v.as_posix()]
        return self._instance(v)

    def _instance(self, v: object) -> object:
        t = type(v)
        if dataclasses.is_dataclass(v):
            fields = {f.name: self.encode(getattr(v, f.name)) for f in dataclasses.fields(v)}
            return ["dataclass", self._ref(t), fields]
        pydantic = sys.modules.get("pydantic")
        if pydantic is not None and isinstance(v, pydantic.BaseModel):
            fields = {name: self.encode(getattr(v, name)) for name in t.model_fields}  # type: ignore[attr-defined]
            return ["model", self._ref(t), fields]
        if module_origin(t.__module__) == USER and hasattr(v, "__dict__"):
            attrs = {name: self.encode(x) for name, x in vars(v).items()}
            return ["object", self._ref(t), attrs]
        raise Opaque(f"{t.__module__}.{t.__qualname__}")

