"""The stage graph: stages joined through the artifacts they read and write.

Edges come from paths, never from explicit wiring: a dependency links to every
stage whose output is the same path, contains it, or lies inside it (compared
by path component with a trie, so ``data/`` overlaps ``data/x.csv`` but not
``data-backup/``).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import pygtrie

from pivot import paths
from pivot.errors import GraphError
from pivot.project.spec import StageSpec


def _parts(path: str) -> tuple[str, ...]:
    return tuple(p for p in paths.strip_dir(path).split("/") if p)


@dataclass
class StageGraph:
    """Stages by identity, producers of each output, and edges both ways."""

    stages: dict[str, StageSpec]
    upstream: dict[str, set[str]] = field(default_factory=dict)
    downstream: dict[str, set[str]] = field(default_factory=dict)
    _outs: pygtrie.Trie = field(default_factory=pygtrie.Trie)
    _producers: dict[str, frozenset[str]] = field(default_factory=dict)  # the trie is slow; outputs never change
    _exact: dict[str, str | None] = field(default_factory=dict)

    def producers(self, path: str) -> set[str]:
        """Stages whose outputs equal, contain, or lie inside ``path`` (a fresh set)."""
        cached = self._producers.get(path)
        if cached is None:
            key = _parts(path)
            found = {value[0] for _, value in self._outs.prefixes(key)}
            found.update(value[0] for _, value in _iter_subtrie(self._outs, key))
            cached = self._producers[path] = frozenset(found)
        return set(cached)

    def exact_producer(self, path: str) -> str | None:
        if path not in self._exact:  # asked per dependency per plan: the trie walk is slow
            value = self._outs.get(_parts(path))
            self._exact[path] = None if value is None else str(value[0])
        return self._exact[path]

    def topo_order(self, subset: Iterable[str] | None = None) -> list[str]:
        """Deterministic topological order (Kahn's algorithm, ties by name)."""
        chosen = set(self.stages) if subset is None else set(subset)
        indegree = {s: len(self.upstream[s] & chosen) for s in chosen}
        ready = [s for s, d in indegree.items() if d == 0]
        heapq.heapify(ready)
        order: list[str] = []
        while ready:
            current = heapq.heappop(ready)
            order.append(current)
            for child in self.downstream[current] & chosen:
                indegree[child] -= 1
                if indegree[child] == 0:
                    heapq.heappush(ready, child)
        return order

    def ancestors(self, identities: Iterable[str]) -> set[str]:
        return _closure(identities, self.upstream)

    def descendants(self, identities: Iterable[str]) -> set[str]:
        return _closure(identities, self.downstream)


def _iter_subtrie(trie: pygtrie.Trie, key: tuple[str, ...]) -> list[tuple[object, tuple[str, str]]]:
    if not trie.has_subtrie(key):
        return []
    return list(trie.iteritems(prefix=key))


def _closure(start: Iterable[str], edges: dict[str, set[str]]) -> set[str]:
    seen: set[str] = set()
    stack = list(start)
    while stack:
        current = stack.pop()
        for nxt in edges.get(current, ()):
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return seen


def build_graph(specs: Sequence[StageSpec]) -> StageGraph:
    """Check the stages form a valid graph and link them; raise GraphError otherwise."""
    graph = StageGraph(stages={s.identity: s for s in specs})
    _index_outputs(graph, specs)
    for spec in specs:
        graph.upstream[spec.identity] = set()
        graph.downstream.setdefault(spec.identity, set())
    for spec in specs:
        for dep in spec.deps:
            for producer in graph.producers(dep.path):
                if producer == spec.identity:
                    if not any(o.path == dep.path and o.kind == "incremental" for o in spec.outs):
                        raise GraphError(f"stage {spec.identity!r} depends on its own output {dep.path!r}", stage=spec.identity, path=dep.path)
                    continue
                graph.upstream[spec.identity].add(producer)
                graph.downstream.setdefault(producer, set()).add(spec.identity)
    _check_cycles(graph)
    return graph


def _index_outputs(graph: StageGraph, specs: Sequence[StageSpec]) -> None:
    for spec in specs:
        for out in spec.outs:
            if paths.is_inside_state_dir(out.path):
                raise GraphError(f"stage {spec.identity!r} ({spec.pipeline_file}) writes {out.path!r} inside .pivot/", stage=spec.identity, path=out.path)
            key = _parts(out.path)
            existing = graph._outs.get(key)
            if existing is not None:
                raise GraphError(
                    f"stages {existing[0]!r} and {spec.identity!r} ({spec.pipeline_file}) both write {out.path!r}",
                    stage=spec.identity, path=out.path,
                )
            clash = _overlapping_output(graph._outs, key)
            if clash is not None:
                raise GraphError(
                    f"output {out.path!r} of {spec.identity!r} ({spec.pipeline_file}) overlaps output {clash[1]!r} of {clash[0]!r}",
                    stage=spec.identity, path=out.path,
                )
            graph._outs[key] = (spec.identity, out.path)


def _overlapping_output(trie: pygtrie.Trie, key: tuple[str, ...]) -> tuple[str, str] | None:
    for _, value in trie.prefixes(key):
        return value  # type: ignore[no-any-return]
    for _, value in _iter_subtrie(trie, key):
        return value
    return None


def _check_cycles(graph: StageGraph) -> None:
    order = graph.topo_order()
    if len(order) == len(graph.stages):
        return
    remaining = set(graph.stages) - set(order)
    cycle = _find_cycle(graph, remaining)
    raise GraphError("dependency cycle: " + " -> ".join(cycle), stage=cycle[0])


def _find_cycle(graph: StageGraph, remaining: set[str]) -> list[str]:
    start = min(remaining)
    path = [start]
    seen = {start: 0}
    current = start
    while True:
        nxt = min(graph.upstream[current] & remaining)
        if nxt in seen:
            loop = [*path[seen[nxt]:], nxt]
            return list(reversed(loop))
        seen[nxt] = len(path)
        path.append(nxt)
        current = nxt
