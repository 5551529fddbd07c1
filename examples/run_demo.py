"""`make demo`: build the example multi-pipeline project, run it, show what re-runs and why.

Creates examples/demo_project/ from examples/demo/, generates synthetic sales
data, tracks it, then: repro --all; a second repro (runs nothing); an edit of
one region's rows (status --explain, then repro re-runs only what depends on it).
"""

from __future__ import annotations

import random
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
PROJECT = HERE / "demo_project"
REGIONS = ("north", "south", "east", "west", "central")


def pivot(*args: str) -> None:
    print(f"\n$ pivot {' '.join(args)}", flush=True)
    subprocess.run([sys.executable, "-m", "pivot.cli.main", *args], cwd=PROJECT, check=True)


def write_sales(path: Path, *, bump_region: str | None = None) -> None:
    rng = random.Random(42)
    lines = ["day,region,amount"]
    for day in range(120):
        for region in REGIONS:
            amount = round(rng.uniform(10, 100), 2)
            if region == bump_region and day >= 100:
                amount += 25.0
            lines.append(f"{day},{region},{amount}")
    path.write_text("\n".join(lines) + "\n")


def main() -> None:
    shutil.rmtree(PROJECT, ignore_errors=True)
    shutil.copytree(HERE / "demo", PROJECT)
    (PROJECT / "data").mkdir()
    write_sales(PROJECT / "data" / "sales.csv")
    pivot("init")
    pivot("track", "data/sales.csv")
    (PROJECT / "models" / "params.yaml").write_text("# per-stage overrides; name@variant wins over name\ntrain:\n  epochs: 5\n")
    pivot("list")
    pivot("repro", "--all")
    pivot("repro", "--all")  # nothing to do
    print("\n# edit: the last 20 days of the 'west' region change", flush=True)
    write_sales(PROJECT / "data" / "sales.csv", bump_region="west")
    pivot("track", "--force", "data/sales.csv")
    pivot("status", "--all", "--explain")
    pivot("repro", "--all")
    pivot("verify")
    print(f"\ndemo project left in {PROJECT}")


if __name__ == "__main__":
    main()
