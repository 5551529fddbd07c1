"""``python -m pivot.migrate.run_stage IDENTITY``: run one Python stage in place.

What a dvc.yaml written by `pivot export-dvc` calls for a Python stage: the function runs in
its pipeline folder with its dependencies loaded and its outputs saved exactly as Pivot's
worker does, but nothing is cached or locked (DVC records the result).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    from pivot import api
    from pivot.errors import PivotError, UserError
    from pivot.executor.task import StageTask
    from pivot.executor.worker import _call_function

    if len(argv) != 1:
        print("usage: python -m pivot.migrate.run_stage STAGE", file=sys.stderr)
        return 2
    try:
        root = api.find_root()
        found = [s for s in api.list_stages(root) if argv[0] in (s.identity, s.name)]
        if len(found) != 1 or found[0].func is None:
            raise UserError(f"{argv[0]}: no such Python stage", stage=argv[0])
        spec = found[0]
        for out in spec.outs:
            (root / paths_parent(out.path)).mkdir(parents=True, exist_ok=True)
        task = StageTask(spec.identity, spec.name, spec.pipeline_file, spec.pipeline_dir, "", "", "export", (), (),
                         params=dict(spec.param_values), project_root=str(root))
        os.chdir(root / spec.pipeline_dir)
        _call_function(spec, task)
    except PivotError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    return 0


def paths_parent(rel: str) -> Path:
    return Path(rel.rstrip("/")).parent


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
