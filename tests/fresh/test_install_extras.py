"""Install story (issue 12): s3:// without s3fs is one line naming the extra; `pivot init`'s
template shows only current config keys."""

from __future__ import annotations

import os
from pathlib import Path

from tests.fixtures.project import run_cli


def test_s3_url_without_s3fs_names_the_extra(tmp_path: Path) -> None:
    blocker = tmp_path / "no-s3fs"
    (blocker / "s3fs").mkdir(parents=True)
    (blocker / "s3fs" / "__init__.py").write_text("raise ImportError('No module named s3fs')\n")
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
