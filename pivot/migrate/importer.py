"""`pivot import-dvc`: one command from a DVC project to a Pivot one, without re-running anything.

Order: read and resolve every dvc.yaml; refuse to overwrite a pipeline.py (unless forced);
write the pipeline.py files; import ``.dvc`` data into Pivot's cache as ``.pvt`` files;
track frozen stages' outputs; adopt every stage whose dvc.lock matches the workspace;
write ``.pivot/migration-notes.md``. The DVC files are left in place.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pivot.errors import UserError
from pivot.migrate import adopt as _adopt
from pivot.migrate import codegen, dvcfiles, notes, objects
from pivot.safepath import safe_path

Progress = Callable[[str], None]


@dataclass
class ImportReport:
    root: str
    pipelines: dict[str, str] = field(default_factory=dict)  # root-relative pipeline.py -> its text
    tracked: list[str] = field(default_factory=list)  # root-relative data paths now in .pvt files
    adopted: list[str] = field(default_factory=list)
    not_adopted: dict[str, str] = field(default_factory=dict)  # stage identity -> why
    notes: notes.Notes = field(default_factory=notes.Notes)
    dry_run: bool = False

    def to_json(self) -> dict[str, object]:
        return {"root": self.root, "dry_run": self.dry_run, "pipelines": sorted(self.pipelines),
                "tracked": self.tracked, "adopted": self.adopted, "not_adopted": self.not_adopted,
                "notes": self.notes.to_json()}


def import_dvc(root: Path, *, dry_run: bool = False, force: bool = False,
               progress: Progress | None = None) -> ImportReport:
    say = progress or (lambda _m: None)
    root = root.resolve()
    if not (root / ".dvc").is_dir():
        raise UserError(f"{root}: not a DVC project (no .dvc/ folder)", path=str(root))
    report = ImportReport(str(root), dry_run=dry_run)
    files = [dvcfiles.read_dvc_file(root, f) for f in dvcfiles.find_dvc_yamls(root)]
    converted = {f.folder: _convert_file(root, f, report) for f in files}
    for f in files:
        rel = posixpath.join(f.folder, "pipeline.py")
        report.pipelines[rel] = codegen.render(_pipeline_name(root, f.folder), _shown(f.folder), converted[f.folder],
                                               root / f.folder)
    notes.project_notes(root, report.notes)
    verdicts = _verdicts(root, files, converted, report)
    if dry_run:
        return report
    clashes = [p for p in report.pipelines if (root / p).exists()]
    if clashes and not force:
        raise UserError(f"{clashes[0]} already exists; use --force to overwrite it", path=clashes[0])
    if not (root / ".pivot").is_dir():
        from pivot import api

        api.init(root)
    for rel, text in report.pipelines.items():
        (root / rel).write_text(text, encoding="utf-8")
    say(f"wrote {len(report.pipelines)} pipeline.py file(s)")
    _import_tracked(root, report, say)
    _track_frozen(root, files, converted, report)
    _adopt.adopt(root, verdicts)
    say(f"adopted {len(verdicts)} stage result(s); {len(report.not_adopted)} stage(s) will run")
    notes.write(root, report.notes)
    return report


def _shown(folder: str) -> str:
    return posixpath.join(folder, "dvc.yaml")


def _pipeline_name(root: Path, folder: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", folder.replace("/", "-") if folder else root.name) or "main"


def _convert_file(root: Path, f: dvcfiles.DvcFile, report: ImportReport) -> list[codegen.Converted]:
    report.notes.skipped.extend(f.problems)
    for section in f.top_level:
        report.notes.skipped.append(f"{_shown(f.folder)}: top-level `{section}:` section (Pivot has no equivalent)")
    dirs = {st.stage_path(str(e.get("path"))) for st in f.stages
            for key in ("deps", "outs") for e in (f.lock.get(st.name) or {}).get(key) or []
            if str(e.get("md5", "")).endswith(".dir")}
    here = root / f.folder

    def is_dir(path: str) -> bool:
        return path in dirs or (here / path).is_dir()

    result = []
    for stage in f.stages:
        conv = codegen.convert(stage, is_dir)
        report.notes.changed.extend(f"{_shown(f.folder)}: {n}" for n in conv.notes)
        result.append(conv)
    return result


def _identity(stage: dvcfiles.DvcStage) -> str:
    return stage.identity


def _import_tracked(root: Path, report: ImportReport, say: Progress) -> None:
    from pivot import api
    from pivot.project import tracked

    cache = objects.DvcCache(root)
    with api.session(root) as s:
        for rel in dvcfiles.find_dot_dvc(root):
            items, problem = dvcfiles.read_dot_dvc(root, rel)
            if problem:
                report.notes.skipped.append(problem)
            for item in items:
                try:
                    path = objects.checked_path("", item.path)
                    if item.md5.endswith(".dir"):
                        art = cache.import_dir(s.ws.odb, item.md5, item.legacy, root / path)
                        tracked.write(root, tracked.Tracked(safe_path(path + "/", source=rel), art.digest, art.size))
                    else:
                        digest, size = cache.import_file(s.ws.odb, item.md5, item.legacy)
                        tracked.write(root, tracked.Tracked(safe_path(path, source=rel), digest, size))
                except (UserError, OSError, ValueError, KeyError) as exc:
                    report.notes.skipped.append(f"{rel}: {item.path} not imported: {exc}")
                    continue
                tracked.add_to_gitignore(root, path)
                report.tracked.append(path)
    say(f"imported {len(report.tracked)} tracked file(s)/folder(s) from DVC's cache")


def _track_frozen(root: Path, files: list[dvcfiles.DvcFile], converted: dict[str, list[codegen.Converted]],
                  report: ImportReport) -> None:
    from pivot import api

    targets = []
    for f in files:
        for conv in converted[f.folder]:
            if not conv.stage.frozen:
                continue
            for out in conv.stage.outs:
                rel = posixpath.normpath(posixpath.join(f.folder, conv.stage.stage_path(out.path)))
                if (root / rel).exists():
                    targets.append(rel)
                else:
                    report.notes.skipped.append(f"frozen stage {_identity(conv.stage)!r}: output {rel} is missing")
    if targets:
        report.tracked.extend(api.track(targets, force=True, root=root))


def _verdicts(root: Path, files: list[dvcfiles.DvcFile], converted: dict[str, list[codegen.Converted]],
              report: ImportReport) -> dict[str, _adopt.Verdict]:
    """Which stages' DVC results can be adopted (checking writes nothing, so --dry-run says it too)."""
    candidates: dict[str, _adopt.Verdict] = {}
    cache = objects.DvcCache(root)
    for f in files:
        for conv in converted[f.folder]:
            if conv.stage.frozen:
                continue
            identity = _identity(conv.stage)
            verdict = _adopt.check(root, conv.stage, f.lock.get(conv.stage.name), cache)
            if verdict.reason is None:
                candidates[identity] = verdict
            else:
                report.not_adopted[identity] = verdict.reason
                report.notes.unadopted.append(f"{identity}: {verdict.reason}")
    report.adopted = list(candidates)
    return candidates
