"""The floor for a fresh local run: the same commands in a plain process pool.

usage: python -m tests.benchmarks.raw_pool PROJECT_DIR PLAN_JSON [JOBS]
One worker per core (like `pivot repro`), each stage one `sh -c` of its command in its
pipeline folder, started as soon as the stages producing its inputs are done. No
hashing, no cache, no lock files, no state: only process start-up and the work itself.
"""

from __future__ import annotations

import concurrent.futures as cf
import json
import multiprocessing
import os
import pathlib
import subprocess
import sys
import time


def run_stage(cwd: str, cmd: str) -> int:
    return subprocess.run(["sh", "-c", cmd], cwd=cwd, check=True).returncode


def main(project: pathlib.Path, plan_path: pathlib.Path, jobs: int) -> None:
    plan = json.loads(plan_path.read_text())
    producer: dict[str, int] = {}
    parents: list[set[int]] = []
    for i, st in enumerate(plan):
        cwd = project / st["pipeline"]
        parents.append({producer[p] for d in st["deps"] if (p := os.path.normpath(cwd / d)) in producer})
        producer[os.path.normpath(cwd / st["out"])] = i
    children: dict[int, list[int]] = {}
    for i, ps in enumerate(parents):
        for p in ps:
            children.setdefault(p, []).append(i)
    waiting = [len(ps) for ps in parents]
    t0 = time.perf_counter()
    with cf.ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        def submit(i: int) -> cf.Future[int]:
            return pool.submit(run_stage, str(project / plan[i]["pipeline"]), plan[i]["cmd"])

        running = {submit(i): i for i, w in enumerate(waiting) if w == 0}
        while running:
            done, _ = cf.wait(running, return_when=cf.FIRST_COMPLETED)
            for fut in done:
                i = running.pop(fut)
                fut.result()
                for c in children.get(i, ()):
                    waiting[c] -= 1
                    if waiting[c] == 0:
                        running[submit(c)] = c
    print(f"raw pool: {len(plan)} stages in {time.perf_counter() - t0:.3f} s")


if __name__ == "__main__":
    main(pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]),
         int(sys.argv[3]) if len(sys.argv) > 3 else (os.cpu_count() or 1))
