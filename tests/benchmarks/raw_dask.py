"""The floor for `repro --cluster local`: the same commands through raw client.submit.

usage: python -m tests.benchmarks.raw_dask PROJECT_DIR PLAN_JSON
Each stage is one task running its shell command; parents are passed as futures so Dask
orders them. No hashing, no cache, no lock files: only the scheduler's own cost.
"""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys
import time


def run_stage(cwd: str, cmd: str, *_parents: object) -> int:
    return subprocess.run(["sh", "-c", cmd], cwd=cwd, check=True).returncode


def main(project: pathlib.Path, plan_path: pathlib.Path) -> None:
    from distributed import Client, LocalCluster

    plan = json.loads(plan_path.read_text())
    producer: dict[str, object] = {}
    t0 = time.perf_counter()
    with (
        LocalCluster(processes=True, dashboard_address=None) as cluster,  # type: ignore[no-untyped-call]
        Client(cluster) as client,  # type: ignore[no-untyped-call]
    ):
        futures = []
        for st in plan:
            cwd = project / st["pipeline"]
            parents = [producer[str((cwd / d).resolve())] for d in st["deps"]
                       if str((cwd / d).resolve()) in producer]
            fut = client.submit(run_stage, str(cwd), st["cmd"], *parents, pure=False)
            producer[str((cwd / st["out"]).resolve())] = fut
            futures.append(fut)
        client.gather(futures)
    print(f"raw dask: {len(plan)} stages in {time.perf_counter() - t0:.3f} s")


if __name__ == "__main__":
    main(pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]))
