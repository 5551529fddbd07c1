"""Experiments grid benchmark: a 4x3 sweep over a 100-stage project whose mid-pipeline
`train` stage reads the swept params (49 independent upstream stages, `train`, then a
50-stage chain after it), run three ways side by side in one run:

- Pivot's grid: `pivot exp run -S train.lr=... -S train.depth=...` (local pool, and
  `--cluster local` with 2 workers): one batch, shared upstream stages run once;
- the same 12 configurations one after another with `pivot repro` (params edited between);
- DVC 3: `dvc exp run --queue` of the 12, then `dvc queue start -j 2`, waited for.

Usage: python -m tests.benchmarks.exp_grid [--work 0.05] [--no-dvc] [--out BENCHMARKS.md]
"""

from __future__ import annotations

import argparse
import itertools
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time

import yaml

from tests.benchmarks import dvc_env

LRS = ("0.001", "0.01", "0.1", "1")
DEPTHS = ("3", "5", "8")
UP, DOWN = 49, 50
PIVOT = [sys.executable, "-m", "pivot.cli.main"]


def _stages(work: float) -> list[dict[str, object]]:
    sleep = f"sleep {work}"
    stages: list[dict[str, object]] = [
        {"name": f"up{i:02d}", "cmd": f"{sleep} && cat data.txt > out/up{i:02d}.txt", "deps": ["data.txt"],
         "outs": [f"out/up{i:02d}.txt"], "params": []} for i in range(UP)]
    ups = [f"out/up{i:02d}.txt" for i in range(UP)]
    stages.append({"name": "train", "cmd": f"{sleep} && cat {' '.join(ups)} | wc -c > out/train.txt && "
                   "grep -A2 '^train:' params.yaml >> out/train.txt", "deps": ups, "outs": ["out/train.txt"],
                   "params": ["train.lr", "train.depth"]})
    prev = "out/train.txt"
    for i in range(DOWN):
        out = f"out/down{i:02d}.txt"
        stages.append({"name": f"down{i:02d}", "cmd": f"{sleep} && cat {prev} > {out}", "deps": [prev],
                       "outs": [out], "params": []})
        prev = out
    return stages


def _common(root: pathlib.Path) -> None:
    root.mkdir(parents=True)
    (root / "out").mkdir()
    (root / "data.txt").write_text("the quick brown fox\n" * 50)
    (root / "params.yaml").write_text("train:\n  lr: 0.1\n  depth: 3\n")
    (root / ".gitignore").write_text("out/\n")


def _git(root: pathlib.Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


def _commit(root: pathlib.Path) -> None:
    _git(root, "init", "-q")
    _git(root, "config", "user.email", "b@example.com")
    _git(root, "config", "user.name", "bench")
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "bench project")


def make_pivot(root: pathlib.Path, work: float) -> pathlib.Path:
    _common(root)
    subprocess.run([*PIVOT, "init"], cwd=root, check=True, capture_output=True)
    lines = ["from pivot import Pipeline", "pipeline = Pipeline('grid')"]
    for st in _stages(work):
        params = [f"params.yaml:{p}" for p in st["params"]]  # type: ignore[union-attr]
        lines.append(f"pipeline.register_cmd({st['name']!r}, cmd=[{st['cmd']!r}], deps={st['deps']!r}, "
                     f"outs={st['outs']!r}, params={params!r})")
    (root / "pipeline.py").write_text("\n".join(lines) + "\n")
    _commit(root)
    return root


def make_dvc(root: pathlib.Path, work: float) -> pathlib.Path:
    _common(root)
    _git(root, "init", "-q")
    dvc_env.run(["init", "-q"], root)
    doc = {st["name"]: {"cmd": st["cmd"], "deps": st["deps"], "outs": st["outs"],
                        **({"params": st["params"]} if st["params"] else {})} for st in _stages(work)}
    (root / "dvc.yaml").write_text(yaml.safe_dump({"stages": doc}, sort_keys=False))
    _commit(root)
    return root


def _grid_args() -> list[str]:
    return ["-S", f"train.lr={','.join(LRS)}", "-S", f"train.depth={','.join(DEPTHS)}"]


def _timed(fn: object) -> float:
    start = time.perf_counter()
    fn()  # type: ignore[operator]
    return time.perf_counter() - start


def pivot_grid(root: pathlib.Path, *extra: str) -> float:
    return _timed(lambda: subprocess.run([*PIVOT, "exp", "run", *_grid_args(), *extra], cwd=root, check=True,
                                         capture_output=True))


def pivot_sequential(root: pathlib.Path) -> float:
    def go() -> None:
        for lr, depth in itertools.product(LRS, DEPTHS):
            (root / "params.yaml").write_text(f"train:\n  lr: {lr}\n  depth: {depth}\n")
            subprocess.run([*PIVOT, "repro"], cwd=root, check=True, capture_output=True)
    return _timed(go)


def dvc_queue(root: pathlib.Path) -> float:
    def go() -> None:
        for lr, depth in itertools.product(LRS, DEPTHS):
            dvc_env.run(["exp", "run", "--queue", "-S", f"train.lr={lr}", "-S", f"train.depth={depth}"], root)
        dvc_env.run(["queue", "start", "-j", "2"], root)
        deadline = time.monotonic() + 7200
        while time.monotonic() < deadline:
            status = dvc_env.run(["queue", "status"], root)
            if not any(word in status for word in ("Queued", "Running")):
                return
            time.sleep(1)
    return _timed(go)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", type=float, default=0.05, help="seconds of sleep per stage")
    ap.add_argument("--no-dvc", action="store_true")
    ap.add_argument("--out", default=None, help="append a section to this Markdown file")
    args = ap.parse_args(argv)
    rows: list[tuple[str, float]] = []
    with tempfile.TemporaryDirectory(prefix="pivot-bench-exp-") as tmp:
        base = pathlib.Path(tmp)
        rows.append(("pivot exp run grid (local pool)", pivot_grid(make_pivot(base / "grid", args.work))))
        rows.append(("pivot exp run grid (--cluster local, 2 workers)",
                     pivot_grid(make_pivot(base / "cluster", args.work), "--cluster", "local", "--workers", "2")))
        rows.append(("12 x pivot repro, one after another", pivot_sequential(make_pivot(base / "seq", args.work))))
        if not args.no_dvc:
            dvc_env.ensure_venv()
            rows.append((f"DVC {dvc_env.dvc_version()}: exp run --queue x12 + queue start -j 2",
                         dvc_queue(make_dvc(base / "dvc", args.work))))
        shutil.rmtree(base, ignore_errors=True)
    seq = rows[2][1]
    lines = ["", "## Experiments: a 4x3 grid over a 100-stage project", "",
             f"49 independent upstream stages, `train` (reads `train.lr`, `train.depth`), then a 50-stage chain; "
             f"each stage sleeps {args.work} s. One measurement each, side by side in one run.", "",
             "| scenario | seconds | vs sequential pivot repro |", "| --- | --- | --- |"]
    lines += [f"| {name} | {sec:.1f} | {sec / seq:.2f}x |" for name, sec in rows]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        with open(args.out, "a", encoding="utf-8") as fh:
            fh.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
