"""Small helpers shared by the Dask executor tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from tests.fixtures.project import CliResult, write

ALL_STAGES = {"prep:clean", "prep:split", "prep:shards", "model:train@small", "model:train@large",
              "model:evaluate@small", "model:evaluate@large", "report:summary"}
# Line 2 of raw.txt lands in the test split only: train, shards and the models
# keep their inputs (early cutoff); the evaluations and the summary re-run.
AFTER_EDIT = {"prep:clean", "prep:split", "model:evaluate@small", "model:evaluate@large", "report:summary"}


def ran(result: CliResult) -> set[str]:
    return {s["name"] for s in result.json()["stages"] if s["status"] == "ran"}


def edit_raw(root: Path) -> None:
    raw = root / "data" / "raw.txt"
    raw.write_text(raw.read_text().replace("Gamma delta", "Gamma delta omega"))


def set_config(root: Path, **sections: dict[str, Any]) -> None:
    """Merge ``sections`` into .pivot/config.yaml (None removes a key)."""
    path = root / ".pivot" / "config.yaml"
    data = yaml.safe_load(path.read_text()) or {}
    for name, values in sections.items():
        section = data.setdefault(name, {})
        for key, value in values.items():
            if value is None:
                section.pop(key, None)
            else:
                section[key] = value
    path.write_text(yaml.safe_dump(data))


def add_pipeline(root: Path, folder: str, source: str) -> None:
    write(root / folder / "pipeline.py", source)


def lock_exists(root: Path, stage: str) -> bool:
    return (root / ".pivot" / "stages" / f"{stage.replace(':', '/')}.lock").exists()
