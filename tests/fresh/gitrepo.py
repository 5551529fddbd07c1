"""Real git repositories for tests: init, commit what a user commits, clone."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.com", "GIT_CONFIG_NOSYSTEM": "1"}


def git(cwd: Path, *args: str) -> str:
    proc = subprocess.run(["git", "-c", "init.defaultBranch=main", *args], cwd=cwd, capture_output=True,
                          text=True, env={**os.environ, **GIT_ENV}, timeout=60, check=False)
    if proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} exited {proc.returncode}: {proc.stderr}")
    return proc.stdout


def init(root: Path) -> None:
    git(root, "init", "-q")


def commit_sources(root: Path, message: str) -> None:
    """What a user commits: code, .pvt files, .gitignore files, config and lock files; never data
    or outputs (they are listed explicitly, so the test does not depend on .gitignore support)."""
    keep = (".py", ".pvt", ".gitignore", ".lock", ".yaml")
    files = [p.relative_to(root).as_posix() for p in sorted(root.rglob("*"))
             if p.is_file() and p.name.endswith(keep) and "__pycache__" not in p.parts
             and not _machine_local(p.relative_to(root).parts)]
    git(root, "add", "-f", "--", *files)
    git(root, "commit", "-q", "-m", message)


def _machine_local(parts: tuple[str, ...]) -> bool:
    return parts[0] == ".git" or (parts[0] == ".pivot" and parts[1] not in ("stages", "config.yaml", ".gitignore"))


def clone(src: Path, dest: Path, *, branch: str = "main", shallow: bool = True) -> Path:
    """By default the k8s Job's own clone: shallow, one branch, through a URL."""
    depth = ["--depth", "1"] if shallow else []
    git(dest.parent, "clone", "-q", *depth, "--branch", branch, f"file://{src}", str(dest))
    return dest
