"""Params per stage: what the registered stages use now, or what a revision's results were made with."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pivot.show.metrics import Flat, flatten
from pivot.show.tables import Row, TableResult, cell
from pivot.show.views import View


def collect(view: View, stages: list[str]) -> dict[str, Flat]:
    """``{stage: {dotted.key: value}}``; a shell stage's params are already dotted keys."""
    found = {}
    for stage, values in sorted(view.params().items()):
        if stages and not any(t == stage or stage.endswith(f":{t}") for t in stages):
            continue
        found[stage] = flatten(dict(values))
    return found


class ParamsShow(TableResult):
    headers = ("stage", "key", "value")
    empty = "no params"

    def __init__(self, found: Mapping[str, Flat], label: str) -> None:
        self.found = found
        self.caption = f"Params ({label})"

    def rows(self) -> list[Row]:
        return [(stage, key, cell(value)) for stage, values in self.found.items() for key, value in values.items()]

    def to_json(self) -> dict[str, Any]:
        return {"params": [{"stage": stage, "values": values} for stage, values in self.found.items()]}


__all__ = ["ParamsShow", "collect"]
