"""Install story (issue 12): s3:// without s3fs is one line naming the extra; `pivot init`'s
template shows only current config keys."""

from __future__ import annotations

import os
from pathlib import Path

from tests.fixtures.project import run_cli

HIDE_S3FS = """
import sys


class _NoS3fs:
    def find_spec(self, name, path=None, target=None):
        if name == "s3fs" or name.startswith("s3fs."):
            raise ModuleNotFoundError("No module named 's3fs'", name="s3fs")
        return None


sys.meta_path.insert(0, _NoS3fs())
"""


def test_s3_url_without_s3fs_names_the_extra(tmp_path: Path) -> None:
    # s3fs made absent for the CLI process, as if never installed: a finder ahead of all others
    # says there is no such module (looking for it fails, not only importing it; Pivot looks
    # for the package without importing it, as importing s3fs costs ~0.4 s).
    blocker = tmp_path / "no-s3fs"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text(HIDE_S3FS)
    root = tmp_path / "proj"
    root.mkdir()
    run_cli(root, "init")
    run_cli(root, "config", "set", "cache.dir", "s3://bucket/cache")
    env = {"PYTHONPATH": os.pathsep.join([str(blocker), os.environ.get("PYTHONPATH", "")])}
    result = run_cli(root, "status", env=env, check=False)
    assert result.code == 2, result.out + result.err
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and "pip install 'pivot[s3]'" in lines[0], result.err


def test_init_template_shows_current_keys_only(tmp_path: Path) -> None:
    run_cli(tmp_path, "init")
    text = (tmp_path / ".pivot" / "config.yaml").read_text()
    assert "remotes:" in text and "dir: s3://" in text and "grace:" in text
    assert "#   remote: s3://" not in text  # the legacy `cache: remote: URL`
