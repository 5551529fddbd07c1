"""Source of user code: parse each module once, hash normalised AST units.

The parse cache is keyed by file name and validated by comparing the whole
source text on every lookup (a read of a small file costs microseconds), so a
file edited on disk, or a notebook cell redefined under the same name, can
never replay an old parse. Nothing here hashes paths or line numbers.
"""

from __future__ import annotations

import ast
import linecache
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from pivot.digest import hash_json

DefNode = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef
Ref = tuple[str, ...]  # a dotted name as written: ("helpers", "clean")

_DEF_TYPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)


@dataclass(frozen=True, slots=True)
class Unit:
    """A fingerprinted piece of source: digest of its AST and the names it uses."""

    digest: str
    refs: tuple[Ref, ...]


@dataclass
class ModuleIndex:
    tree: ast.Module
    defs: dict[str, list[DefNode]] = field(default_factory=dict)  # qualname -> nodes
    lambdas: dict[int, list[ast.Lambda]] = field(default_factory=dict)  # line -> nodes
    _bindings: dict[str, list[ast.stmt]] | None = None
    _units: dict[tuple[int, ...], Unit] = field(default_factory=dict)

    def unit(self, nodes: Sequence[ast.AST]) -> Unit:
        # id() is only a memo key here: the nodes live as long as this index.
        key = tuple(id(n) for n in nodes)
        cached = self._units.get(key)
        if cached is None:
            cached = self._units[key] = make_unit(nodes)
        return cached

    def bindings(self, name: str) -> list[ast.stmt]:
        """Module-level statements that bind or mention `name` (assignment, def, import...)."""
        if self._bindings is None:
            self._bindings = {}
            for stmt in self.tree.body:
                for bound in sorted(set(_bound_names(stmt))):
                    self._bindings.setdefault(bound, []).append(stmt)
        return self._bindings.get(name, [])

    def def_nodes(self, qualname: str, line: int | None) -> list[DefNode]:
        """Nodes defining `qualname`; the one spanning `line` when that is unambiguous."""
        nodes = self.defs.get(qualname, [])
        if line is None or len(nodes) < 2:
            return nodes
        spanning = [n for n in nodes if _start(n) <= line <= (n.end_lineno or n.lineno)]
        return spanning if len(spanning) == 1 else nodes


_CACHE: dict[str, tuple[bytes | str, ModuleIndex]] = {}


def module_index(filename: str) -> ModuleIndex | None:
    """Parsed source of `filename`, or None when no source can be found."""
    source = read_source(filename)
    if source is None:
        return None
    cached = _CACHE.get(filename)
    if cached is not None and cached[0] == source:
        return cached[1]
    index = _build_index(ast.parse(source, filename))
    _CACHE[filename] = (source, index)
    return index


def read_source(filename: str) -> bytes | str | None:
    """The current source: bytes of a file on disk, or text injected into linecache."""
    entry = linecache.cache.get(filename)
    if entry is not None and len(entry) == 4 and entry[1] is None:
        # Injected by IPython (or exec with a registered cell): not on disk.
        return "".join(entry[2])
    if not filename.startswith("<"):
        try:
            with open(filename, "rb") as fh:
                return fh.read()
        except OSError:
            pass
    lines = linecache.getlines(filename)
    return "".join(lines) if lines else None


def injected_defs(qualname: str) -> list[DefNode]:
    """Definitions of `qualname` in every source injected into linecache (notebook cells).

    Used only for classes that nothing else locates. All matches count, sorted by
    content: a class redefined in a later cell changes the fingerprint.
    """
    found: list[tuple[str, DefNode]] = []
    for filename in sorted(linecache.cache):
        entry = linecache.cache[filename]
        if len(entry) != 4 or entry[1] is not None:
            continue
        try:
            index = module_index(filename)
        except SyntaxError:
            continue
        for node in index.defs.get(qualname, []) if index is not None else []:
            found.append((ast.dump(node), node))
    return [node for _, node in sorted(found, key=lambda pair: pair[0])]


def make_unit(nodes: Sequence[ast.AST]) -> Unit:
    dumps = [ast.dump(n, annotate_fields=True, include_attributes=False) for n in nodes]
    refs: dict[Ref, None] = {}
    for node in nodes:
        collector = _RefCollector(refs)
        collector.visit(node)
    return Unit(hash_json(["ast", dumps]).hex, tuple(refs))


def _build_index(tree: ast.Module) -> ModuleIndex:
    _strip_docstrings(tree)
    index = ModuleIndex(tree)
    _index_children(index, tree, "")
    return index


def _index_children(index: ModuleIndex, parent: ast.AST, prefix: str) -> None:
    for node in ast.iter_child_nodes(parent):
        if isinstance(node, _DEF_TYPES):
            qualname = prefix + node.name
            index.defs.setdefault(qualname, []).append(node)
            inner = ".<locals>." if not isinstance(node, ast.ClassDef) else "."
            _index_children(index, node, qualname + inner)
            continue
        if isinstance(node, ast.Lambda):
            index.lambdas.setdefault(node.lineno, []).append(node)
        _index_children(index, node, prefix)


def _strip_docstrings(tree: ast.Module) -> None:
    for node in ast.walk(tree):
        if not isinstance(node, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            continue
        body = node.body
        first = body[0].value if body and isinstance(body[0], ast.Expr) else None
        if isinstance(first, ast.Constant) and isinstance(first.value, str):
            del body[0]
        if not body and not isinstance(node, ast.Module):
            body.append(ast.Pass())


def _start(node: DefNode) -> int:
    return min([node.lineno, *(d.lineno for d in node.decorator_list)])


def _bound_names(stmt: ast.AST) -> Iterator[str]:
    """Names a module-level statement binds or mutates, without entering nested scopes.

    Any mention counts (`CONFIG["a"] = 1`, `REGISTRY.append(f)`): for a value we
    cannot encode, hashing too many statements beats missing the one that changed.
    """
    if isinstance(stmt, _DEF_TYPES):
        yield stmt.name
        for deco in stmt.decorator_list:
            yield from _bound_names(deco)
        return
    if isinstance(stmt, ast.Import | ast.ImportFrom):
        for alias in stmt.names:
            yield alias.asname or alias.name.partition(".")[0]
        return
    if isinstance(stmt, ast.Name):
        yield stmt.id
        return
    if isinstance(stmt, ast.Lambda):
        return
    for child in ast.iter_child_nodes(stmt):
        yield from _bound_names(child)


class _RefCollector(ast.NodeVisitor):
    """Every dotted name a piece of code mentions, in first-seen order."""

    def __init__(self, refs: dict[Ref, None]) -> None:
        self.refs = refs

    def visit_Name(self, node: ast.Name) -> None:
        self._add((node.id,))

    def visit_Attribute(self, node: ast.Attribute) -> None:
        parts = [node.attr]
        base: ast.expr = node.value
        while isinstance(base, ast.Attribute):
            parts.append(base.attr)
            base = base.value
        if isinstance(base, ast.Name):
            parts.append(base.id)
            self._add(tuple(reversed(parts)))
        else:
            self.visit(base)

    def _add(self, ref: Ref) -> None:
        # Dunders (__name__, __file__) are module plumbing, not code.
        if not (ref[0].startswith("__") and ref[0].endswith("__")):
            self.refs.setdefault(ref, None)
