"""Edits applied to the sample project, and the checks every scenario must pass."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable
from pathlib import Path

from tests.fixtures.project import outputs_snapshot, run_cli, write

Edit = Callable[[Path], None]


def code_edit(root: Path) -> None:
    path = root / "prep" / "helpers.py"
    path.write_text(path.read_text().replace('" ".join(line.split())', '" ".join(line.split()).strip(".")'))


def params_edit(root: Path) -> None:
    write(root / "model" / "params.yaml", "train@large:\n  weight: 5\n")


def dep_edit(root: Path) -> None:
    path = root / "data" / "raw.txt"
    path.write_text(path.read_text() + "lambda mu\n")
    run_cli(root, "track", "--force", "data/raw.txt")


def tracked_edit_without_track(root: Path) -> None:
    path = root / "data" / "raw.txt"
    path.write_text(path.read_text() + "nu xi\n")


def out_decl_edit(root: Path) -> None:
    path = root / "report" / "pipeline.py"
    path.write_text(path.read_text().replace('outs=["summary.txt"]', 'outs=["summary.txt", "extra.txt"]')
                    .replace('"wc -l < summary.txt >> summary.txt"', '"wc -l < summary.txt >> summary.txt", "echo x > extra.txt"'))


def delete_output(root: Path) -> None:
    (root / "model" / "model_small.json").unlink()


def modify_output(root: Path) -> None:
    target = root / "prep" / "clean.txt"
    target.chmod(0o644)
    target.write_text("tampered\n")


def identical_upstream_output(root: Path) -> None:
    """Whitespace-only data change: clean re-runs, produces identical bytes (early cutoff)."""
    path = root / "data" / "raw.txt"
    path.write_text(path.read_text().replace("Alpha  Beta", "Alpha   Beta"))


def revert_input(root: Path) -> None:
    """Change an input, run, then put it back: the run cache restores the old result."""
    path = root / "data" / "raw.txt"
    original = path.read_text()
    path.write_text(original + "omicron\n")
    run_cli(root, "repro", "--all")
    path.write_text(original)


def delete_shard_folder(root: Path) -> None:
    shutil.rmtree(root / "prep" / "shards")


SCENARIOS: dict[str, Edit] = {
    "code_edit": code_edit,
    "params_edit": params_edit,
    "dep_edit": dep_edit,
    "tracked_edit_without_track": tracked_edit_without_track,
    "out_decl_edit": out_decl_edit,
    "delete_output": delete_output,
    "modify_output": modify_output,
    "identical_upstream_output": identical_upstream_output,
    "revert_input": revert_input,
    "delete_folder_output": delete_shard_folder,
}


def check_explain_agrees(root: Path, *extra: str) -> dict[str, str]:
    """status --explain predicts; repro executes; the two must agree (DESIGN rule 1)."""
    ask = ("repro", "--dry-run", "--all", "--json", *extra) if "--force" in extra else ("status", "--all", "--explain", "--json")
    predicted = {s["name"]: s for s in run_cli(root, *ask).json()["stages"]}
    report = run_cli(root, "repro", "--all", "--json", *extra).json()
    executed = {s["name"]: s["status"] for s in report["stages"]}
    for name, status in executed.items():
        p = predicted[name]
        if status in ("ran", "restored"):
            assert p["will_run"] or p["upstream_stale"], f"{name} {status} but status said {p}"
        if p["will_run"]:
            assert status in ("ran", "restored"), f"{name} predicted will_run but {status}"
        if p["decision"] == "skip":
            assert status == "skipped", f"{name} predicted skip but {status}"
        if p["decision"] == "checkout":
            assert status == "checked_out", f"{name} predicted checkout but {status}"
    return executed


# From-scratch results by the exact bytes they were computed from (see scratch_outputs).
_SCRATCH: dict[str, dict[str, bytes]] = {}


def scratch_outputs(root: Path, tmp: Path) -> dict[str, bytes]:
    """Outputs of a from-scratch run of a copy of the project (sources and .pvt only).

    The sample stages are deterministic, so a from-scratch run is a function of the files it
    starts from: many scenarios (a deleted or tampered output, a reverted input, the same edit
    on each executor) start from identical bytes, and the run is made once per test process
    for each distinct starting tree."""
    fresh = tmp / "scratch"
    shutil.rmtree(fresh, ignore_errors=True)
    shutil.copytree(root, fresh, ignore=shutil.ignore_patterns(".pivot", "__pycache__"))
    # remove every output so that nothing from the incremental history leaks in
    for lock_out in _declared_outputs(root):
        target = fresh / lock_out
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
    key = _tree_digest(fresh)
    if key not in _SCRATCH:
        run_cli(fresh, "init")
        run_cli(fresh, "repro", "--all")
        _SCRATCH[key] = outputs_snapshot(fresh)
    return _SCRATCH[key]


def _tree_digest(root: Path) -> str:
    """Every file's path, mode and bytes: all a from-scratch run can depend on."""
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.is_file():
            digest.update(f"{path.relative_to(root).as_posix()}\0{path.stat().st_mode:o}\0".encode())
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _declared_outputs(root: Path) -> list[str]:
    listing = run_cli(root, "list", "--json").json()["stages"]
    return [o.rstrip("/") for s in listing for o in s["outs"]]
