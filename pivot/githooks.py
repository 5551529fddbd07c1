"""`pivot install`: git hooks that keep data following git, as `dvc install` does.

- post-checkout: after a branch checkout, `pivot checkout` places the outputs and tracked data
  the new commit's lock and .pvt files name (git itself only moves those small files). A
  workspace change whose bytes are in no cache is kept and reported, as by `pivot checkout`.
- pre-push: `pivot push` first, so a teammate who pulls the commits finds their data on the
  remote; if it fails, the git push stops (`git push --no-verify` skips the hook).

Hooks go where git looks for them (`git rev-parse --git-path hooks`: core.hooksPath and
worktrees included). A hook file Pivot did not write is never replaced or removed. The hook
runs the Pivot that installed it while that interpreter exists, else `pivot` on PATH, from the
project's folder inside the repository (a project need not be at the repository's top).
"""

from __future__ import annotations

import os
import shlex
import stat
import sys
from pathlib import Path

from pivot.errors import UserError

MARKER = "# installed by `pivot install`"
HOOKS = {
    "post-checkout": ('[ "$3" = 1 ] || exit 0  # a branch checkout, not one file\n'
                      '[ "$1" = "$2" ] && exit 0  # the same commit: nothing moved\n'
                      'run checkout || echo "pivot install: pivot checkout failed (see above)" >&2\n'
                      "exit 0  # git has switched already: never fail the checkout\n"),
    "pre-push": ('run push || { echo "pivot install: pivot push failed, so git push stopped'
                 ' (git push --no-verify skips this)" >&2; exit 1; }\n'),
}


def hooks_dir(root: Path) -> tuple[Path, str]:
    """Where git looks for this repository's hooks, and the project's folder inside the repository."""
    from pivot import git

    done = git.run(root, "rev-parse", "--git-path", "hooks", "--show-prefix", check=False)
    if done.returncode != 0:
        raise UserError(f"{root} is not in a git repository: `pivot install` adds git hooks "
                        "(run `git init` first)", path=str(root))
    hooks_line, _, prefix = done.stdout.partition("\n")
    hooks = Path(hooks_line.strip())
    return (hooks if hooks.is_absolute() else root / hooks), prefix.strip()


def script(name: str, prefix: str) -> str:
    """The hook's text: find the project folder and a Pivot to run, then the hook's body."""
    script_path = Path(sys.executable).parent / "pivot"  # the console script: same as the user's runs
    here = shlex.quote(str(script_path) if script_path.exists() else sys.executable)
    args = "" if script_path.exists() else " -m pivot.cli.main"
    return (f"#!/bin/sh\n{MARKER}: {name} (remove with `pivot install --uninstall`)\n"
            f'cd "$(git rev-parse --show-toplevel)"/{shlex.quote(prefix or ".")} 2>/dev/null || exit 0\n'
            "[ -d .pivot ] || exit 0  # the project is not in this commit\n"
            f"run() {{\n  if [ -x {here} ]; then {here}{args} \"$@\"\n"
            "  elif command -v pivot >/dev/null 2>&1; then pivot \"$@\"\n"
            '  else echo "pivot install: no pivot found (reinstall it, or remove this hook)" >&2; return 1; fi\n}\n'
            + HOOKS[name])


def install(root: Path) -> list[Path]:
    """Write every hook; refuses (before writing any) when one exists that Pivot did not write."""
    folder, prefix = hooks_dir(root)
    targets = [folder / name for name in HOOKS]
    foreign = [p for p in targets if p.exists() and not _ours(p)]
    if foreign:
        raise UserError(f"{foreign[0]} exists and was not written by Pivot: add a line running "
                        f"`pivot {'checkout' if foreign[0].name == 'post-checkout' else 'push'}` to it "
                        "yourself, or move it away and run `pivot install` again", path=str(foreign[0]))
    folder.mkdir(parents=True, exist_ok=True)
    for path in targets:
        tmp = path.with_name(f".{path.name}.pivot-tmp")
        tmp.write_text(script(path.name, prefix))
        tmp.chmod(tmp.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        os.replace(tmp, path)
    return targets


def uninstall(root: Path) -> list[Path]:
    """Remove the hooks Pivot wrote; any other hook file stays."""
    folder, _ = hooks_dir(root)
    removed = [p for p in (folder / name for name in HOOKS) if p.exists() and _ours(p)]
    for path in removed:
        path.unlink()
    return removed


def _ours(path: Path) -> bool:
    try:
        return MARKER in path.read_text(errors="replace").splitlines()[1]
    except (OSError, IndexError):
        return False
