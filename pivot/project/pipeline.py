"""``Pipeline``: where a pipeline.py registers its stages.

Registration checks everything it can at once (so a notebook sees the error on
the ``register`` line); ``resolve(root)`` then makes paths root-relative, reads
params.yaml and returns the ``StageSpec``s every later step consumes.

A pipeline's folder (the base of the paths it declares, and where its
params.yaml lives) is, first match wins: ``Pipeline(name, root=folder)``; the
pipeline.py being loaded by discovery (``loading``); the ``__file__`` of the
module that created the Pipeline; the current directory (a notebook).
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pydantic

from pivot import paths
from pivot.errors import RegistrationError
from pivot.project import params as _params
from pivot.project import shell_params
from pivot.project.annotations import Signature, Site, check_function, marker_from, read_signature
from pivot.project.outputs import TEMPLATES, Dep, DirectoryOut, Metric, Out, Plot
from pivot.project.params import StageParams
from pivot.project.root import absolute, find_root
from pivot.project.spec import DepSpec, OutKind, OutSpec, StageSpec

F = TypeVar("F", bound=Callable[..., Any])

# The key that names the single (non-TypedDict) output in out_path_overrides.
RETURN_KEY = "return"
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*(@[A-Za-z0-9_.\-]+)?$")
_VARIANT_KEYS = frozenset({"params", "dep_path_overrides", "out_path_overrides"})
_loading: ContextVar[Path | None] = ContextVar("pivot_loading_pipeline", default=None)


@contextlib.contextmanager
def loading(file: Path) -> Iterator[None]:
    """While a pipeline.py executes, Pipelines it creates belong to ``file``'s folder."""
    token = _loading.set(absolute(file))
    try:
        yield
    finally:
        _loading.reset(token)


@dataclass(frozen=True)
class _Stage:
    """A registered stage before resolution: markers with user-written paths."""

    name: str
    func: Callable[..., Any] | None
    cmd: tuple[str, ...] | None
    deps: tuple[tuple[str | None, Dep], ...]
    outs: tuple[tuple[str | None, Out], ...]
    params_cls: type[StageParams] | None
    params: StageParams | None
    params_arg: str | None
    param_keys: tuple[str, ...]
    always_run: bool
    resources: Mapping[str, float]
    mutex: tuple[str, ...]


class Pipeline:
    """A named set of stages declared in one folder."""

    def __init__(self, name: str, *, root: Path | None = None) -> None:
        self.name = name
        if root is not None:
            self.folder = absolute(root)
            self.file = self.folder / "pipeline.py"
        else:
            self.file = _loading.get() or _caller_file() or absolute(Path.cwd()) / "pipeline.py"
            self.folder = self.file.parent
        self._stages: dict[str, _Stage] = {}

    def __repr__(self) -> str:
        return f"Pipeline({self.name!r}, {len(self._stages)} stages, folder={str(self.folder)!r})"

    def __len__(self) -> int:
        return len(self._stages)

    def names(self) -> list[str]:
        return list(self._stages)

    def register(
        self,
        func: F,
        *,
        name: str | None = None,
        params: StageParams | type[StageParams] | None = None,
        dep_path_overrides: Mapping[str, str] | None = None,
        out_path_overrides: Mapping[str, str] | None = None,
        always_run: bool = False,
        resources: Mapping[str, float] | None = None,
        mutex: str | Sequence[str] | None = None,
        matrix: Mapping[str, Mapping[str, Any] | None] | None = None,
    ) -> F:
        """Register a Python stage; returns ``func`` so it also works as a decorator.

        ``out_path_overrides`` names outputs by TypedDict key, the single output as
        ``"return"``. ``matrix={"small": {"params": {...} | StageParams,
        "dep_path_overrides": {...}, "out_path_overrides": {...}}}`` registers
        ``<name>@small`` exactly as a loop over ``register(name="<name>@small")`` would.
        """
        site = Site(str(self.file), name or str(getattr(func, "__name__", repr(func))))
        check_function(func, site)
        if matrix is not None:
            common = {"always_run": always_run, "resources": resources, "mutex": mutex}
            self._register_matrix(func, site, params, dep_path_overrides, out_path_overrides, common, matrix)
            return func
        stage_name = self._check_name(site)
        sig = read_signature(func, site)
        params_cls, baseline = _stage_params(sig, params, site)
        deps = _override(sig.deps, dep_path_overrides, site, "parameter")
        outs = _override(sig.outs, out_path_overrides, site, "output")
        for _, out in outs:
            _check_out(out, site)
        self._stages[stage_name] = _Stage(
            stage_name, func, None, tuple(deps), tuple(outs), params_cls, baseline, sig.params_arg,
            (), always_run, dict(resources or {}), _mutex(mutex))
        return func

    def register_cmd(
        self,
        name: str,
        *,
        cmd: str | Sequence[str],
        deps: Sequence[str | Dep] = (),
        outs: Sequence[str | Out] = (),
        params: Sequence[str] = (),
        always_run: bool = False,
        resources: Mapping[str, float] | None = None,
        mutex: str | Sequence[str] | None = None,
        metrics: Sequence[str | Metric | Mapping[str, Any]] = (),
        plots: Sequence[str | Plot | Mapping[str, Any]] = (),
    ) -> None:
        """Register a shell stage; each command runs separately in the pipeline folder.

        A string output ending in "/" is a directory; ``params`` are dotted
        params.yaml keys ("train.lr") whose values become part of the stage.
        ``metrics``/``plots`` entries are a path, a ``Metric``/``Plot``, or DVC's
        ``{"path": {"cache": False, "x": ..., "y": ..., "template": ...}}``.
        """
        site = Site(str(self.file), name)
        stage_name = self._check_name(site)
        keys = (params,) if isinstance(params, str) else tuple(params)
        cmds = (cmd,) if isinstance(cmd, str) else tuple(cmd)
        if not cmds or not all(isinstance(c, str) and c.strip() for c in cmds):
            raise site.error("cmd must be a non-empty string or a list of non-empty strings")
        dep_markers = [Dep(d) if isinstance(d, str) else d for d in deps]
        out_markers = [_out_from(o) for o in outs]
        out_markers += [marker_from(m, Metric, site) for m in metrics]
        out_markers += [marker_from(p, Plot, site) for p in plots]
        for marker in (*dep_markers, *out_markers):
            if not isinstance(marker, Dep | Out):
                raise site.error(f"expected a path, Dep or Out, got {marker!r}")
        for out in out_markers:
            _check_out(out, site)
        self._stages[stage_name] = _Stage(
            stage_name, None, cmds, tuple((None, d) for d in dep_markers),
            tuple((None, o) for o in out_markers), None, None, None, keys,
            always_run, dict(resources or {}), _mutex(mutex))

    def resolve(self, root: Path) -> list[StageSpec]:
        """The stages with root-relative paths and params from params.yaml applied."""
        root = absolute(root)
        pipeline_dir = paths.relative_to_root(root, self.folder)
        pipeline_file = paths.relative_to_root(root, self.file)
        shown = f"{pipeline_dir}/{_params.PARAMS_FILE}" if pipeline_dir else _params.PARAMS_FILE
        needs_yaml = any(s.params_cls or s.param_keys for s in self._stages.values())
        values = _params.read_params_yaml(self.folder / _params.PARAMS_FILE, shown) if needs_yaml else {}
        other_files: dict[str, Mapping[str, Any]] = {}  # "FILE:key" params: each file read once
        return [self._resolve_one(s, root, pipeline_dir, pipeline_file, values, shown, other_files)
                for s in self._stages.values()]

    def stages(self) -> list[StageSpec]:
        """``resolve`` against the project that holds this pipeline's folder."""
        return self.resolve(find_root(self.folder))

    def _resolve_one(
        self, stage: _Stage, root: Path, pipeline_dir: str, pipeline_file: str, values: Mapping[str, Any], shown: str,
        other_files: dict[str, Mapping[str, Any]],
    ) -> StageSpec:
        site = Site(pipeline_file, stage.name)
        shell = stage.cmd is not None
        deps = tuple(DepSpec(_root_path(d.path, pipeline_dir, site), d.path, arg, None if shell else d.loader)
                     for arg, d in stage.deps)
        outs = tuple(OutSpec(_root_path(o.path, pipeline_dir, site), o.path, o.kind, key, None if shell else o.loader,
                             getattr(o, "cache", True), o.props() if isinstance(o, Plot) else {})
                     for key, o in stage.outs)
        for out in outs:
            if paths.is_inside_state_dir(out.path):
                raise site.error(f"output {out.written!r} is inside {paths.STATE_DIR}/, which Pivot owns")
        resolved = None
        if stage.params_cls is not None:
            resolved = _params.resolve(stage.params_cls, stage.params, stage.name, values, shown)
        param_values = (resolved.model_dump(mode="json") if resolved is not None
                        else self._shell_params(stage, root, pipeline_dir, values, other_files))
        identity = f"{pipeline_dir}:{stage.name}" if pipeline_dir else stage.name
        return StageSpec(
            identity=identity, name=stage.name, pipeline=self.name, pipeline_dir=pipeline_dir,
            pipeline_file=pipeline_file, deps=deps, outs=outs, func=stage.func, cmd=stage.cmd,
            params=resolved, params_arg=stage.params_arg, param_keys=stage.param_keys,
            param_values=param_values, always_run=stage.always_run, resources=stage.resources,
            mutex=stage.mutex)

    def _shell_params(self, stage: _Stage, root: Path, pipeline_dir: str, values: Mapping[str, Any],
                      other_files: dict[str, Mapping[str, Any]]) -> dict[str, Any]:
        """The shell stage's ``param_keys`` (pivot.project.shell_params: the load cache resolves them
        the same way); each file read once per load."""
        own = shell_params.own_params_file(pipeline_dir)

        def read(rel: str) -> Mapping[str, Any]:
            if rel == own:
                return values
            if rel not in other_files:
                other_files[rel] = _params.read_params_yaml(root / rel, rel)
            return other_files[rel]

        return shell_params.values(stage.name, stage.param_keys, pipeline_dir, read)

    def _check_name(self, site: Site) -> str:
        if not _NAME.match(site.stage):
            raise site.error("invalid stage name: use letters, digits, '_', '.', '-', and one '@variant'")
        if site.stage in self._stages:
            raise site.error(f"a stage of this name is already registered in pipeline {self.name!r}")
        return site.stage

    def _register_matrix(
        self, func: Callable[..., Any], site: Site, base_params: StageParams | type[StageParams] | None,
        dep_overrides: Mapping[str, str] | None, out_overrides: Mapping[str, str] | None,
        common: dict[str, Any], matrix: Mapping[str, Mapping[str, Any] | None],
    ) -> None:
        if "@" in site.stage or not matrix:
            raise site.error("a matrix needs a base name without '@' and at least one variant")
        before = dict(self._stages)
        try:
            for variant, raw in matrix.items():
                entry = dict(raw or {})
                vsite = Site(site.file, f"{site.stage}@{variant}")
                if unknown := set(entry) - _VARIANT_KEYS:
                    raise vsite.error(f"unknown matrix keys {sorted(unknown)}; allowed: {sorted(_VARIANT_KEYS)}")
                self.register(
                    func, name=vsite.stage, params=_variant_params(func, base_params, entry.get("params"), vsite),
                    dep_path_overrides={**(dep_overrides or {}), **entry.get("dep_path_overrides", {})},
                    out_path_overrides={**(out_overrides or {}), **entry.get("out_path_overrides", {})},
                    **common)
        except RegistrationError:
            self._stages = before  # all variants or none: a fixed notebook cell can simply run again
            raise


def _stage_params(
    sig: Signature, given: StageParams | type[StageParams] | None, site: Site
) -> tuple[type[StageParams] | None, StageParams | None]:
    """The params class a stage resolves and the instance given as its baseline."""
    if given is None:
        return sig.params_cls, None
    if sig.params_cls is None:
        raise site.error("params were given but the function has no StageParams parameter")
    cls = given if isinstance(given, type) else type(given)
    if not issubclass(cls, sig.params_cls):
        raise site.error(f"params {cls.__name__} is not a {sig.params_cls.__name__}")
    return cls, None if isinstance(given, type) else given


def _variant_params(
    func: Callable[..., Any], base: StageParams | type[StageParams] | None, value: Any, site: Site
) -> StageParams | type[StageParams] | None:
    """A matrix variant's ``params``: an instance as is, a dict applied over the base params."""
    if value is None or isinstance(value, StageParams):
        return base if value is None else value
    if not isinstance(value, Mapping):
        raise site.error(f"matrix params must be a mapping or a StageParams instance, got {type(value).__name__}")
    if base is None:
        base = read_signature(func, site).params_cls
    if base is None:
        raise site.error("matrix params were given but the function has no StageParams parameter")
    cls = base if isinstance(base, type) else type(base)
    start = {} if isinstance(base, type) else base.model_dump()
    try:
        return cls.model_validate(_params.deep_merge(start, value))
    except pydantic.ValidationError as exc:
        raise site.error(f"invalid matrix params: {exc.errors()[0]['loc']}: {exc.errors()[0]['msg']}") from exc


def _override(
    items: Sequence[tuple[str | None, Any]], overrides: Mapping[str, str] | None, site: Site, what: str
) -> list[tuple[Any, Any]]:
    """Markers with their paths replaced as ``overrides`` (parameter or output key -> path) says."""
    overrides = dict(overrides or {})
    result = []
    for key, marker in items:
        lookup = RETURN_KEY if key is None else key
        if lookup in overrides:
            marker = dataclasses.replace(marker, path=overrides.pop(lookup))
        result.append((key, marker))
    if overrides:
        known = sorted(RETURN_KEY if k is None else k for k, _ in items)
        raise site.error(f"path override for unknown {what} {sorted(overrides)}; known: {known}")
    return result


def _check_out(out: Out, site: Site) -> None:
    is_dir = paths.is_dir_path(out.path)
    if isinstance(out, DirectoryOut) and not is_dir:
        raise site.error(f"DirectoryOut path {out.path!r} must end in '/'")
    if is_dir and out.kind is not OutKind.DIRECTORY:
        raise site.error(f"output {out.path!r} ends in '/': declare it as DirectoryOut")
    if isinstance(out, Plot) and out.template not in TEMPLATES:
        raise site.error(f"plot {out.path!r}: unknown template {out.template!r}; use one of {', '.join(TEMPLATES)}")
    if not isinstance(getattr(out, "cache", True), bool):
        raise site.error(f"output {out.path!r}: cache must be true or false")


def _out_from(value: str | Out) -> Out:
    if isinstance(value, str):
        return DirectoryOut(value) if paths.is_dir_path(value) else Out(value)
    return value


def _root_path(written: str, pipeline_dir: str, site: Site) -> str:
    try:
        return paths.normalize(written, base=pipeline_dir)
    except RegistrationError as exc:
        raise site.error(exc.message) from exc


def _mutex(mutex: str | Sequence[str] | None) -> tuple[str, ...]:
    if mutex is None:
        return ()
    return (mutex,) if isinstance(mutex, str) else tuple(mutex)


def _caller_file() -> Path | None:
    # Frame 0 is here, 1 is Pipeline.__init__, 2 is whoever wrote Pipeline(...).
    file = sys._getframe(2).f_globals.get("__file__")
    return absolute(Path(file)) if isinstance(file, str) else None
