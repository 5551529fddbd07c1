"""``.pivot/migration-notes.md``: everything import-dvc did not convert, or converted differently."""

from __future__ import annotations

import configparser
import re
from dataclasses import dataclass, field
from pathlib import Path

from pivot.lockfile import atomic_write_text

NOTES_FILE = "migration-notes.md"


@dataclass
class Notes:
    skipped: list[str] = field(default_factory=list)  # not converted, and why
    changed: list[str] = field(default_factory=list)  # converted with a difference in meaning
    todo: list[str] = field(default_factory=list)  # commands for the user to run
    unadopted: list[str] = field(default_factory=list)  # stages the first `pivot repro` will run, and why

    def to_json(self) -> dict[str, list[str]]:
        return {"not_converted": _unique(self.skipped), "converted_differently": _unique(self.changed),
                "to_do": _unique(self.todo),
                "not_adopted": self.unadopted}


def project_notes(root: Path, notes: Notes) -> None:
    """What lives outside dvc.yaml: remotes, experiments, custom plot templates."""
    parser = configparser.ConfigParser()
    parser.read([root / ".dvc" / "config", root / ".dvc" / "config.local"])
    for section in parser.sections():
        match = re.fullmatch(r"""\s*'?remote\s+"(.+)"'?\s*""", section)  # DVC writes ['remote "name"']
        if match and parser.has_option(section, "url"):
            url = parser.get(section, "url")
            notes.todo.append(f"DVC remote {match[1]!r}: run `pivot remote add {match[1]} {url}` "
                              "(credentials and other options are not copied)")
    if (root / ".dvc" / "tmp" / "exps").exists() or (root / ".git" / "refs" / "exps").exists():
        notes.skipped.append("DVC experiments (`dvc exp`): not converted; apply the ones to keep before importing")
    if (root / ".dvc" / "plots").is_dir():
        notes.skipped.append("custom plot templates in .dvc/plots/: Pivot does not use them")


def write(root: Path, notes: Notes) -> Path:
    target = root / ".pivot" / NOTES_FILE
    atomic_write_text(target, render(notes))
    return target


def render(notes: Notes) -> str:
    parts = ["# Migration notes (pivot import-dvc)\n"]
    for title, items in (("To do", notes.todo), ("Not converted", notes.skipped),
                         ("Converted with a difference", notes.changed),
                         ("Stages not adopted (the first `pivot repro` runs them)", notes.unadopted)):
        parts.append(f"\n## {title}\n\n")
        parts.append("".join(f"- {item}\n" for item in dict.fromkeys(items)) if items else "Nothing.\n")
    return "".join(parts)


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))
