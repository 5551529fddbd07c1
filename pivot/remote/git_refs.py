"""Lock files and .pvt files as committed in git: what `gc --all-commits` and `--rev` keep.

Read with the `git` CLI (no library): `git rev-list --all` for every commit reachable
from a branch, tag or other ref, `git ls-tree -r` for each commit's files, and one
`git cat-file --batch` for the distinct blobs (a lock file unchanged across a thousand
commits is one blob, read once). Everything read is parsed at the boundary like the
workspace's own files (DESIGN rule 13): a path leaving the project is refused.
"""

from __future__ import annotations

import posixpath
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pivot.digest import Digest
from pivot.errors import UserError

_STAGES = ".pivot/stages/"


@dataclass
class CommittedRefs:
    """Every output and tracked object the chosen commits name, and their stage keys."""

    items: list[tuple[str, Digest, bool]] = field(default_factory=list)
    stage_keys: set[str] = field(default_factory=set)
    commits: int = 0
    unreadable: list[str] = field(default_factory=list)  # "REV:path" of files that could not be parsed


def _git(root: Path, *args: str, stdin: bytes | None = None) -> bytes:
    try:
        proc = subprocess.run(["git", *args], cwd=root, input=stdin, capture_output=True, check=False, timeout=600)
    except FileNotFoundError as exc:
        raise UserError("gc --all-commits/--rev read git history, but `git` is not installed") from exc
    if proc.returncode != 0:
        msg = proc.stderr.decode(errors="replace").strip().splitlines()
        raise UserError(f"git {args[0]}: {msg[-1] if msg else 'failed'}", path=str(root))
    return proc.stdout


def project_prefix(root: Path) -> str:
    """The project's folder inside its git repository ("" at the top), or a user error."""
    try:
        return _git(root, "rev-parse", "--show-prefix").decode().strip()
    except UserError as exc:
        raise UserError(f"{root} is not in a git repository ({exc}); use --workspace", path=str(root)) from exc


def all_revisions(root: Path) -> list[str]:
    """Every commit reachable from any branch, tag or other ref (and HEAD)."""
    out = _git(root, "rev-list", "--all", "HEAD") if _has_head(root) else _git(root, "rev-list", "--all")
    return out.decode().split()


def _has_head(root: Path) -> bool:
    return subprocess.run(["git", "rev-parse", "--verify", "-q", "HEAD"], cwd=root, capture_output=True,
                          check=False).returncode == 0


def resolve_revisions(root: Path, revs: Sequence[str]) -> list[str]:
    found = []
    for rev in revs:
        try:
            found.append(_git(root, "rev-parse", "--verify", "--end-of-options", f"{rev}^{{commit}}").decode().strip())
        except UserError as exc:
            raise UserError(f"--rev {rev}: not a commit in this repository", path=rev) from exc
    return found


def committed_refs(root: Path, commits: Iterable[str]) -> CommittedRefs:
    prefix = project_prefix(root)
    blobs: dict[str, tuple[str, str]] = {}  # blob id -> (commit, project-relative path)
    refs = CommittedRefs()
    for commit in commits:
        refs.commits += 1
        listing = _git(root, "ls-tree", "-r", "--full-tree", "-z", commit).decode(errors="surrogateescape")
        for entry in filter(None, listing.split("\0")):
            meta, _, path = entry.partition("\t")
            parts = meta.split()
            if len(parts) == 3 and parts[1] == "blob" and path.startswith(prefix) and _wanted(path[len(prefix):]):
                blobs.setdefault(parts[2], (commit, path[len(prefix):]))
    for blob, text in _read_blobs(root, list(blobs)):
        commit, rel = blobs[blob]
        if not _parse_into(refs, rel, text):
            refs.unreadable.append(f"{commit[:12]}:{rel}")
    return refs


def _wanted(rel: str) -> bool:
    return rel.endswith(".pvt") or (rel.startswith(_STAGES) and rel.endswith(".lock"))


def _read_blobs(root: Path, ids: list[str]) -> list[tuple[str, str]]:
    if not ids:
        return []
    out = _git(root, "cat-file", "--batch", stdin="".join(f"{i}\n" for i in ids).encode())
    result, pos = [], 0
    for blob in ids:
        header_end = out.index(b"\n", pos)
        size = int(out[pos:header_end].split()[2])
        start = header_end + 1
        result.append((blob, out[start:start + size].decode("utf-8", errors="replace")))
        pos = start + size + 1
    return result


def _parse_into(refs: CommittedRefs, rel: str, text: str) -> bool:
    """False when the file cannot be read: gc then cannot know what it needs, and refuses."""
    from pivot import lockfile
    from pivot.project import tracked

    if rel.endswith(".pvt"):
        try:
            item = tracked.parse(text, posixpath.dirname(rel), rel)
        except UserError:
            return False
        refs.items.append((item.path, item.digest, item.is_dir))
        return True
    lock = lockfile.parse(text, rel)
    if lock is None:
        return False
    refs.stage_keys.add(lock.stage_key)
    refs.items += [(o.path, o.digest, o.is_dir) for o in lock.outs]
    return True
