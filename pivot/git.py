"""The one place that reads the project as it was at a git revision.

Lock files, ``.pvt`` files, params files and git-tracked outputs at any
revision, and the list of revisions, all through the ``git`` command line (no
object parsing here: ``git cat-file --batch`` hands back whole blobs). Paths
handed out are project-root-relative and checked (DESIGN rule 13): a lock or
``.pvt`` read from history is as untrusted as one on disk.

A project that is not in a git repository works for the workspace alone;
asking it for a revision is a one-line user error.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from pivot import lockfile, paths
from pivot.errors import UserError
from pivot.lockfile import LockRecord
from pivot.project import tracked
from pivot.project.tracked import Tracked

_LOCKS = f"{paths.STATE_DIR}/stages/"


log = logging.getLogger(__name__)


class GitError(UserError):
    """A revision argument cannot be served: no git, not a repository, unknown revision."""


def run(cwd: str | Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """``git -C cwd ARGS`` as text; a GitError naming git's last line of complaint when ``check``."""
    done = subprocess.run(["git", "-C", str(cwd), *args], capture_output=True, text=True, check=False)
    if check and done.returncode != 0:
        problem = done.stderr.strip().splitlines()
        raise GitError(f"git {args[0]}: {problem[-1] if problem else 'failed'}")
    return done


@dataclass(frozen=True)
class Commit:
    sha: str
    subject: str


@dataclass(frozen=True)
class Repo:
    """The git repository holding a Pivot project; ``prefix`` is the project's folder inside it."""

    top: Path
    prefix: str  # "" when the project root is the repository root, else "sub/dir/"

    def _git(self, *args: str, stdin: bytes | None = None, check: bool = True) -> bytes:
        done = subprocess.run(["git", "-C", str(self.top), *args], input=stdin, capture_output=True, check=False)
        if check and done.returncode != 0:
            problem = done.stderr.decode(errors="replace").strip().splitlines()
            raise GitError(f"git {' '.join(args)}: {problem[-1] if problem else 'failed'}")
        return done.stdout

    def resolve(self, rev: str) -> str:
        """The commit id of ``rev`` (a sha, branch, tag, ``HEAD~1``...)."""
        out = self._git("rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}", check=False).decode().strip()
        if not out:
            raise GitError(f"unknown git revision {rev!r} in {self.top}", path=rev)
        return out

    def read_many(self, rev: str, rels: list[str]) -> dict[str, bytes]:
        """The files (project-relative) that exist at ``rev``, in one ``git cat-file --batch``."""
        if not rels:
            return {}
        sha = self.resolve(rev)
        blobs = self._cat([f"{sha}:{self.prefix}{rel}" for rel in rels])
        return {rel: data for rel, data in zip(rels, blobs, strict=True) if data is not None}

    def _cat(self, names: list[str]) -> list[bytes | None]:
        """The blobs named (``REV:path`` or an object id), in order; None for a missing one."""
        if not names:
            return []
        out = self._git("cat-file", "--batch", stdin="".join(f"{n}\n" for n in names).encode())
        found: list[bytes | None] = []
        pos = 0
        for _ in names:
            end = out.index(b"\n", pos)
            header = out[pos:end].split()
            pos = end + 1
            if len(header) != 3:  # "<name> missing"
                found.append(None)
                continue
            size = int(header[2])
            found.append(out[pos:pos + size] if header[1] == b"blob" else None)
            pos += size + 1  # the object, then its trailing newline
        return found

    def read(self, rev: str, rel: str) -> bytes | None:
        return self.read_many(rev, [rel]).get(rel)

    def files(self, rev: str, under: str = "") -> list[str]:
        """Project-relative paths of every file committed at ``rev`` (below ``under``)."""
        out = self._git("ls-tree", "-r", "-z", "--name-only", self.resolve(rev), "--", f"{self.prefix}{under}" or ".")
        names = [n.decode() for n in out.split(b"\0") if n]
        return [n[len(self.prefix):] for n in names if n.startswith(self.prefix)]

    def locks(self, rev: str) -> dict[str, LockRecord]:
        """Every stage's lock record at ``rev``, by stage identity."""
        rels = [f for f in self.files(rev, _LOCKS) if f.endswith(".lock")]
        records: dict[str, LockRecord] = {}
        for rel, data in self.read_many(rev, rels).items():
            try:
                record = lockfile.parse(data.decode(errors="replace"), f"{rev}:{rel}")
            except UserError as exc:  # a hostile path in an old lock: ignored, never applied (rule 13)
                log.warning("%s", exc)
                continue
            if record is not None and checked_outs(record):
                records[record.stage] = record
        return records

    def tracked(self, rev: str) -> list[Tracked]:
        """Every ``.pvt`` at ``rev``; a damaged one is a user error naming it."""
        rels = [f for f in self.files(rev) if f.endswith(tracked.SUFFIX) and not paths.is_inside_state_dir(f)]
        return [tracked.parse(data.decode(errors="replace"), rel.rpartition("/")[0], f"{rev}:{rel}")
                for rel, data in sorted(self.read_many(rev, rels).items())]

    def every_revision(self) -> list[str]:
        """Every commit reachable from a branch, tag or other ref, and HEAD."""
        head = ["HEAD"] if self._git("rev-parse", "--verify", "-q", "HEAD", check=False).strip() else []
        return self._git("rev-list", "--all", *head).decode().split()

    def state_files_across(self, commits: Iterable[str]) -> list[tuple[str, str, bytes]]:
        """(commit, project-relative path, content) of every lock and ``.pvt`` file in ``commits``.

        Each distinct blob is read once (a lock unchanged across a thousand commits is one
        blob), named by the first commit that holds it, all in one ``git cat-file --batch``.
        """
        first_seen: dict[str, tuple[str, str]] = {}  # blob id -> (commit, project-relative path)
        for commit in commits:
            listing = self._git("ls-tree", "-r", "--full-tree", "-z", commit).decode(errors="surrogateescape")
            for entry in filter(None, listing.split("\0")):
                meta, _, path = entry.partition("\t")
                kind_id = meta.split()[1:]
                rel = path[len(self.prefix):]
                if kind_id[:1] == ["blob"] and path.startswith(self.prefix) and _is_state_file(rel):
                    first_seen.setdefault(kind_id[1], (commit, rel))
        blob_ids = list(first_seen)
        return [(*first_seen[b], data) for b, data in zip(blob_ids, self._cat(blob_ids), strict=True)
                if data is not None]

    def revisions(self, limit: int = 20) -> list[Commit]:
        """The newest commits reachable from HEAD that touched the project, newest first."""
        out = self._git("log", f"-n{limit}", "--format=%H%x00%s", "HEAD", "--", self.prefix or ".", check=False)
        return [Commit(*line.split("\0", 1)) for line in out.decode().splitlines() if "\0" in line]


def _is_state_file(rel: str) -> bool:
    return rel.endswith(tracked.SUFFIX) or (rel.startswith(_LOCKS) and rel.endswith(".lock"))


def checked_outs(record: LockRecord) -> bool:
    """Refuse a lock from history (or an experiment) whose output paths leave the project (rule 13)."""
    try:
        return all(paths.normalize(o.path) == o.path and not paths.is_inside_state_dir(o.path) for o in record.outs)
    except UserError:
        return False


def open_repo(root: Path) -> Repo:
    """The repository holding the project at ``root``; a GitError when there is none."""
    if shutil.which("git") is None:
        raise GitError("revision arguments need git, which is not installed")
    done = subprocess.run(["git", "-C", str(root), "rev-parse", "--show-toplevel", "--show-prefix"],
                          capture_output=True, check=False, text=True)
    lines = done.stdout.splitlines()
    if done.returncode != 0 or len(lines) < 1:
        raise GitError(f"{root} is not in a git repository: revision arguments need one "
                       "(the workspace alone works without git)", path=str(root))
    return Repo(Path(lines[0]), lines[1] if len(lines) > 1 else "")


__all__ = ["Commit", "GitError", "Repo", "open_repo"]
