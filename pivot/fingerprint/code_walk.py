"""The walk behind a code manifest: resolve names, recurse into user code.

One `Walker` serves one `code_manifest` call. Its memo is keyed by object
identity, which is never hashed and never outlives the call.
"""

from __future__ import annotations

import builtins
import functools
import inspect
import sys
import types
from typing import Any

from pivot.digest import hash_json
from pivot.errors import RegistrationError
from pivot.fingerprint.code_origin import (
    STDLIB_KEY,
    STDLIB_VERSION,
    USER,
    Origin,
    dist_versions,
    module_origin,
)
from pivot.fingerprint.code_source import (
    ModuleIndex,
    Ref,
    Unit,
    injected_defs,
    make_unit,
    module_index,
)
from pivot.fingerprint.code_value import Opaque, ValueEncoder, is_code, is_plain

Namespace = dict[str, Any]


class Walker:
    def __init__(self) -> None:
        self.manifest: dict[str, str] = {}
        self._seen: dict[int, str] = {}
        self._alive: list[object] = []  # keeps memoised objects alive: ids stay unique
        self._indexes: dict[str, ModuleIndex | None] = {}
        self._locations: set[str] = set()  # value names already tracked
        self._values = ValueEncoder(self.ref)

    def result(self) -> dict[str, str]:
        return dict(sorted(self.manifest.items()))

    # -- roots ---------------------------------------------------------------

    def root(self, obj: types.FunctionType | type) -> None:
        key = self._function(obj, "self") if inspect.isfunction(obj) else self._class(obj, "self")
        if key != "self":  # not user code: "self" names it, its distribution versions it
            self.manifest["self"] = hash_json(["ext", key]).hex

    def root_value(self, obj: object) -> None:
        try:
            value = self._values.encode(obj)
        except Opaque as exc:
            raise RegistrationError(
                f"cannot fingerprint a {type(obj).__qualname__} object: it holds a "
                f"{exc} value; use constants, dataclasses or pydantic models"
            ) from exc
        self.manifest["self"] = hash_json(["value", value]).hex

    # -- code ----------------------------------------------------------------

    def ref(self, obj: object) -> str:
        """Track a piece of code and return the key (or "ext:" name) it is known by."""
        seen = self._seen.get(id(obj))
        if seen is not None:
            return seen
        wrapped = None if isinstance(obj, type) else getattr(obj, "__wrapped__", None)
        if wrapped is not None:
            self.ref(wrapped)  # the decorated function; the wrapper is tracked below
        if isinstance(obj, types.ModuleType):
            return self._module(obj)
        if inspect.isfunction(obj):
            return self._function(obj, None)
        if isinstance(obj, type):
            return self._class(obj, None)
        return self._external(obj, _module_of(obj))

    def track(self, obj: object, location: str) -> None:
        """Record a value that user code reaches by the name `location` (mod.NAME)."""
        if is_code(obj):
            self.ref(obj)
            return
        if location in self._locations:
            return  # reached before, or a value reaching its own name again
        self._locations.add(location)
        try:
            encoded = self._values.encode(obj)
            value: object = ["value", encoded]
            kind = "const" if is_plain(encoded) else "obj"
        except Opaque:
            value, kind = self._binding(obj, location), "obj"
        if isinstance(obj, functools.partial):
            kind = "partial"
        self.manifest[f"{kind}:{location}"] = hash_json(value).hex

    def _function(self, fn: types.FunctionType, key: str | None) -> str:
        code = fn.__code__
        modname = fn.__globals__.get("__name__")  # the defining module, even under wraps()
        origin = module_origin(modname, code.co_filename)
        if origin != USER:
            return self._external(fn, origin)
        final = self._claim(fn, key or f"func:{modname}.{code.co_qualname}")
        unit = self._function_unit(fn)
        self.manifest[final] = unit.digest
        self._resolve_all(unit.refs, fn.__globals__)
        for name, cell in zip(code.co_freevars, fn.__closure__ or (), strict=False):
            try:
                value = cell.cell_contents
            except ValueError:  # a cell not filled yet (recursive inner function)
                continue
            self.track(value, f"{modname}.{code.co_qualname}.<closure>.{name}")
        return final

    def _function_unit(self, fn: types.FunctionType) -> Unit:
        code = fn.__code__
        # A nested function is fingerprinted with the function that defines it:
        # its enclosing code (decorator, factory) decides what it does too.
        outer = code.co_qualname.split(".<locals>.")[0]
        index = self._index(code.co_filename)
        if index is not None and outer.endswith("<lambda>"):
            lambdas = index.lambdas.get(code.co_firstlineno, [])
            if lambdas:
                return index.unit(lambdas)
        elif index is not None:
            nodes = index.def_nodes(outer, code.co_firstlineno)
            if nodes:
                return index.unit(nodes)
        what = "lambda" if code.co_name == "<lambda>" else "function"
        raise RegistrationError(
            f"cannot fingerprint {what} {fn.__module__}.{code.co_qualname}: its source is "
            f"not available; define it with `def` in a module file or notebook cell"
        )

    def _class(self, cls: type, key: str | None) -> str:
        methods = _own_functions(cls)
        module = sys.modules.get(cls.__module__)
        namespace: Namespace = methods[0].__globals__ if methods else vars(module) if module else {}
        files = [m.__code__.co_filename for m in methods] + [getattr(module, "__file__", None)]
        origin = module_origin(cls.__module__, files[0])
        if origin != USER:
            return self._external(cls, origin)
        final = self._claim(cls, key or f"class:{cls.__module__}.{cls.__qualname__}")
        line = methods[0].__code__.co_firstlineno if methods else None
        unit = self._class_unit(cls, [f for f in files if f], line)
        self.manifest[final] = unit.digest
        self._resolve_all(unit.refs, namespace)
        return final

    def _class_unit(self, cls: type, files: list[str], line: int | None) -> Unit:
        outer = cls.__qualname__.split(".<locals>.")[0]
        for filename in dict.fromkeys(files):
            index = self._index(filename)
            nodes = index.def_nodes(outer, line) if index is not None else []
            if index is not None and nodes:
                return index.unit(nodes)
        nodes = injected_defs(outer)  # e.g. a pydantic model in a notebook cell
        if not nodes:
            raise RegistrationError(
                f"cannot fingerprint class {cls.__module__}.{cls.__qualname__}: its source "
                f"is not available; define it in a module file or notebook cell"
            )
        return make_unit(nodes)

    def _module(self, mod: types.ModuleType) -> str:
        origin = module_origin(mod.__name__)
        if origin != USER:
            return self._external(mod, origin)
        final = self._claim(mod, f"mod:{mod.__name__}")
        filename = getattr(mod, "__file__", None)
        index = self._index(filename) if filename else None
        if index is None:  # a namespace package: nothing but its submodules
            self.manifest[final] = hash_json(["module without source", mod.__name__]).hex
            return final
        unit = index.unit([index.tree])
        self.manifest[final] = unit.digest
        self._resolve_all(unit.refs, vars(mod))
        return final

    def _external(self, obj: object, origin: Origin) -> str:
        self._record(origin)
        name = getattr(obj, "__qualname__", None) or type(obj).__qualname__
        key = f"ext:{_module_name(obj)}.{name}"
        self._seen[id(obj)] = key
        self._alive.append(obj)
        return key

    # -- names ---------------------------------------------------------------

    def _resolve_all(self, refs: tuple[Ref, ...], namespace: Namespace) -> None:
        for ref in refs:
            self._resolve(ref, namespace)

    def _resolve(self, parts: Ref, namespace: Namespace) -> None:
        name = parts[0]
        if name not in namespace:
            if name in vars(builtins):
                self.manifest[STDLIB_KEY] = STDLIB_VERSION
            return  # otherwise a local variable, parameter or attribute
        obj = namespace[name]
        owner = str(namespace.get("__name__"))
        # Follow module.attr chains through the user's own modules only:
        # `helpers.clean` depends on clean, not on everything in helpers.
        for attr in parts[1:]:
            if not isinstance(obj, types.ModuleType) or module_origin(obj.__name__) != USER:
                break
            attrs = vars(obj)
            if attr not in attrs:
                break
            owner, name, obj = obj.__name__, attr, attrs[attr]
        self.track(obj, f"{owner}.{name}")

    def _binding(self, obj: object, location: str) -> object:
        """A value we cannot encode: hash the source statements that bind it."""
        self._record(module_origin(type(obj).__module__))
        type_name = f"{type(obj).__module__}.{type(obj).__qualname__}"
        owner, _, name = location.rpartition(".")
        module = sys.modules.get(owner)
        filename = getattr(module, "__file__", None)
        index = self._index(filename) if module is not None and filename else None
        stmts = index.bindings(name) if index is not None else []
        if module is None or index is None or not stmts:
            return ["opaque", type_name]  # closure cells and notebook globals: type only
        unit = index.unit(stmts)
        self._resolve_all(unit.refs, vars(module))
        return ["binding", type_name, unit.digest]

    # -- helpers -------------------------------------------------------------

    def _claim(self, obj: object, key: str) -> str:
        final, n = key, 1
        while final in self.manifest:  # two objects, one name (e.g. a redefined function)
            final, n = f"{key}~{n}", n + 1
        self.manifest[final] = ""
        self._seen[id(obj)] = final
        self._alive.append(obj)
        return final

    def _record(self, origin: Origin) -> None:
        if origin.kind == "stdlib":
            self.manifest[STDLIB_KEY] = STDLIB_VERSION
        elif origin.kind == "dist":
            for dist, version in dist_versions(origin.top):
                self.manifest[f"dist:{dist}"] = version

    def _index(self, filename: str) -> ModuleIndex | None:
        if filename not in self._indexes:
            try:
                self._indexes[filename] = module_index(filename)
            except SyntaxError as exc:
                raise RegistrationError(f"cannot parse {filename}: {exc}") from exc
        return self._indexes[filename]


def _module_of(obj: object) -> Origin:
    return module_origin(_module_name(obj))


def _module_name(obj: object) -> str:
    name = obj.__name__ if isinstance(obj, types.ModuleType) else getattr(obj, "__module__", None)
    return name if isinstance(name, str) else type(obj).__module__


def _own_functions(cls: type) -> list[types.FunctionType]:
    """Functions written in the class body (not generated, not assigned from outside)."""
    found: list[types.FunctionType] = []
    for attr in vars(cls).values():
        func: object = getattr(attr, "__func__", None) or getattr(attr, "fget", None) or attr
        if (
            inspect.isfunction(func)
            and func.__qualname__.startswith(cls.__qualname__ + ".")
            and func.__code__.co_filename != "<string>"  # generated by dataclasses & co
        ):
            found.append(func)
    return found
