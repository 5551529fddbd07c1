"""The stage graph as text, Mermaid, Graphviz dot or JSON."""

from __future__ import annotations

import json

from pivot.graph.build import StageGraph


def render(graph: StageGraph, fmt: str) -> str:
    order = graph.topo_order()
    edges = sorted((u, s) for s in order for u in graph.upstream[s])
    if fmt == "json":
        return json.dumps({"stages": order, "edges": [{"from": u, "to": s} for u, s in edges]}, indent=2)
    ids = {s: f"s{i}" for i, s in enumerate(order)}
    if fmt == "mermaid":
        lines = ["flowchart TD", *(f'    {ids[s]}["{s}"]' for s in order), *(f"    {ids[u]} --> {ids[s]}" for u, s in edges)]
        return "\n".join(lines)
    if fmt == "dot":
        lines = ["digraph pivot {", *(f'  "{s}";' for s in order), *(f'  "{u}" -> "{s}";' for u, s in edges), "}"]
        return "\n".join(lines)
    out = []
    for stage in order:
        ups = sorted(graph.upstream[stage])
        out.append(f"{stage}" + (f"  <- {', '.join(ups)}" if ups else ""))
    return "\n".join(out)
