"""The README quickstart works when pasted: run its shell block as written."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).parent.parent / "README.md"


def test_quickstart_block_runs(tmp_path: Path) -> None:
    text = README.read_text()
    section = text.split("## Quickstart", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block is not None
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    script = "set -euo pipefail\n" + block.group(1)
    proc = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "params changed" in proc.stdout
    assert (tmp_path / "hello" / "out" / "shout.txt").read_text() == "HELLO WORLD\n" * 3
