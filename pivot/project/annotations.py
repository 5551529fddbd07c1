"""Read a stage function's dependencies, outputs and params from its type hints.

- a parameter ``Annotated[T, Dep(path, loader)]`` is a dependency injected as that argument;
- a parameter whose type is a StageParams subclass receives the params;
- the return annotation is a TypedDict of ``Annotated[T, Out(...)]`` (one output
  per key), a single ``Annotated[T, Out(...)]`` (key None), or None / absent
  (no outputs).

Functions, TypedDicts and loader classes must live at module level: workers
re-import them by qualified name, and ``get_type_hints`` resolves names through
the defining module.
"""

from __future__ import annotations

import dataclasses
import inspect
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pivot.errors import RegistrationError
from pivot.loaders import Loader
from pivot.project.outputs import Dep, Metric, Out, Plot
from pivot.project.params import StageParams


@dataclass(frozen=True)
class Site:
    """Where a registration happens, so every error names the pipeline file and the stage."""

    file: str
    stage: str

    def error(self, problem: str) -> RegistrationError:
        return RegistrationError(f"{self.file}: stage {self.stage!r}: {problem}", path=self.file, stage=self.stage)


@dataclass(frozen=True)
class Signature:
    deps: tuple[tuple[str, Dep], ...]  # (parameter name, marker)
    outs: tuple[tuple[str | None, Out], ...]  # (TypedDict key or None, marker)
    params_arg: str | None
    params_cls: type[StageParams] | None


def check_function(func: object, site: Site) -> None:
    if not inspect.isfunction(func):
        raise site.error(f"expected a function, got {type(func).__name__}")
    if func.__name__ == "<lambda>":
        raise site.error("a lambda cannot be a stage; define a named function at module level")
    check_module_level(func, "function", site)


def check_module_level(obj: Any, what: str, site: Site) -> None:
    if "<locals>" in getattr(obj, "__qualname__", ""):
        raise site.error(
            f"{what} {obj.__qualname__!r} is defined inside a function; "
            "define it at module level so workers can import it"
        )


def check_loader(loader: object, site: Site) -> None:
    if not isinstance(loader, Loader):
        hint = ""
        if isinstance(loader, type) and issubclass(loader, Loader):
            hint = f" (did you mean {loader.__name__}()?)"
        raise site.error(f"unknown loader {loader!r}{hint}: expected an instance of a pivot.loaders.Loader subclass")
    cls = type(loader)
    params = cls.__dict__.get("__dataclass_params__")
    if params is None or not params.frozen:
        raise site.error(f"loader class {cls.__qualname__!r} must be decorated with @dataclass(frozen=True)")
    check_module_level(cls, "loader class", site)


def read_signature(func: Callable[..., Any], site: Site) -> Signature:
    hints = _hints(func, site)
    deps: list[tuple[str, Dep]] = []
    params_arg: str | None = None
    params_cls: type[StageParams] | None = None
    for param in inspect.signature(func).parameters.values():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        hint = hints.get(param.name)
        marker = _marker(hint)
        if isinstance(marker, Dep):
            check_loader(marker.loader, site)
            deps.append((param.name, marker))
        elif isinstance(marker, Out):
            raise site.error(f"parameter {param.name!r} is marked Out; outputs are declared in the return annotation")
        elif isinstance(hint, type) and issubclass(hint, StageParams):
            if params_arg is not None:
                raise site.error(f"parameters {params_arg!r} and {param.name!r} both take StageParams; use one")
            params_arg, params_cls = param.name, hint
        elif param.default is param.empty:
            raise site.error(
                f"parameter {param.name!r} is neither Annotated[..., Dep(...)] nor a StageParams "
                "subclass, and has no default: Pivot cannot supply it"
            )
    outs = _outputs(hints.get("return", type(None)), site)
    return Signature(tuple(deps), outs, params_arg, params_cls)


def _outputs(ret: Any, site: Site) -> tuple[tuple[str | None, Out], ...]:
    if ret is None or ret is type(None):
        return ()
    marker = _marker(ret)
    if isinstance(marker, Out):
        check_loader(marker.loader, site)
        return ((None, marker),)
    if typing.is_typeddict(ret):
        check_module_level(ret, "TypedDict", site)
        outs: list[tuple[str | None, Out]] = []
        for key, hint in _hints(ret, site).items():
            out = _marker(hint)
            if not isinstance(out, Out):
                raise site.error(f"output {key!r} of {ret.__qualname__} is not Annotated[..., Out(...)]")
            check_loader(out.loader, site)
            outs.append((key, out))
        return tuple(outs)
    raise site.error(
        f"return annotation {ret!r} declares no output: use a TypedDict of "
        "Annotated[T, Out(...)], a single Annotated[T, Out(...)], or None"
    )


def _marker(hint: Any) -> Dep | Out | None:
    if typing.get_origin(hint) is not typing.Annotated:
        return None
    for meta in hint.__metadata__:
        if isinstance(meta, Dep | Out):
            return meta
    return None


def _hints(obj: Callable[..., Any] | type, site: Site) -> dict[str, Any]:
    try:
        return typing.get_type_hints(obj, include_extras=True)
    except (NameError, TypeError, AttributeError) as exc:
        name = getattr(obj, "__qualname__", repr(obj))
        raise site.error(f"cannot resolve the type hints of {name}: {exc}") from exc


def marker_from(entry: Any, cls: type[Metric] | type[Plot], site: Site) -> Out:
    """A ``metrics=``/``plots=`` entry: a path, a marker, or ``{path: {option: value}}`` as in dvc.yaml."""
    if isinstance(entry, str):
        return cls(entry)
    if isinstance(entry, cls):
        return entry
    if isinstance(entry, Mapping) and len(entry) == 1:
        path, options = next(iter(entry.items()))
        fields = {f.name for f in dataclasses.fields(cls)} - {"path", "loader"}
        options = dict(options or {})
        if unknown := sorted(set(options) - fields):
            raise site.error(f"{cls.__name__.lower()} {path!r}: unknown options {unknown}; allowed: {sorted(fields)}")
        return cls(str(path), **options)
    raise site.error(f"expected a path, {cls.__name__} or {{path: {{options}}}}, got {entry!r}")


__all__ = ["Signature", "Site", "check_function", "check_loader", "check_module_level", "marker_from", "read_signature"]
