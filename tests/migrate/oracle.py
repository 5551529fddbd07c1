"""Ask the real DVC (in its own venv) how it resolves a project's dvc.yaml files.

Runs inside DVC's venv: ``python oracle.py ROOT`` prints one JSON object per stage with
DVC's own resolved name, folder, cmd, wdir-relative deps/outs and params.
"""

from __future__ import annotations

import json
import os
import sys


def main(root: str) -> None:
    from dvc.repo import Repo

    repo = Repo(root)
    found = []
    for stage in repo.index.stages:
        if not hasattr(stage, "cmd") or stage.cmd is None:
            continue
        folder = os.path.relpath(os.path.dirname(stage.path), root)
        wdir = os.path.relpath(stage.wdir, os.path.dirname(stage.path))
        params = {}
        for dep in stage.deps:
            if hasattr(dep, "params") and dep.__class__.__name__ == "ParamsDependency":
                params[os.path.relpath(dep.fs_path, stage.wdir)] = dep.params or None
        found.append({
            "folder": "" if folder == "." else folder,
            "name": stage.name,
            "cmd": stage.cmd,
            "wdir": "" if wdir == "." else wdir,
            "deps": sorted(d.def_path for d in stage.deps if d.__class__.__name__ != "ParamsDependency"),
            "outs": sorted(o.def_path for o in stage.outs),
            "params": params,
            "frozen": bool(stage.frozen),
            "always_changed": bool(stage.always_changed),
        })
    print(json.dumps(found))


if __name__ == "__main__":
    main(sys.argv[1])
