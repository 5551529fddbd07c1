"""The whole no-op plan, remembered: a plan in which every stage was recalled from the skip memo.

The skip memo (pivot.skipmemo) still needs every stage's spec, the graph and one
state-DB read per stage. When a plan recalled *every* stage in its scope, the
entries it recalled are written again as one record, keyed by what that plan
was a function of: the loaded project (the digest of the load cache's body,
pivot.loadcache.Pending.digest, which names every definition and the graph) and
the request (targets, ``--all``, the working folder, upstream or not). A later
request with the same key takes the plan from the record when the lock file and
every file of every entry still have their recorded signatures: then each stage's
recall would read the same entry, compare the same definition and settle its
upstream with the same hashes, so it gives the same skip (DESIGN rule 3) — and
the stages are never decoded. Forced runs, notebook stages and loads not served
whole by the cache never use or write a record. A damaged record is a silent miss.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import xxhash

from pivot import lockfile
from pivot.planner.decision import Plan, skip_decision
from pivot.safepath import UnsafePathError, safe_path
from pivot.skipmemo import FileSig, current_sig, str_map

PREFIX = "plan:"
_SOURCE = ".pivot/state.lmdb (a remembered plan)"


@dataclass(frozen=True)
class Request:
    """What a plan's scope is a function of, besides the loaded project."""

    targets: tuple[str, ...]
    all_pipelines: bool
    cwd_rel: str
    upstream: bool = True

    def key(self, load_digest: str) -> str:
        request = [load_digest, list(self.targets), self.all_pipelines, self.cwd_rel, self.upstream]
        return PREFIX + xxhash.xxh3_128_hexdigest(json.dumps(request).encode("utf-8", "surrogatepass"))


@dataclass(frozen=True)
class Shot:
    """A remembered whole plan and what a no-op repro does besides planning, derived from the
    same load and request: the folders swept for a killed run's temp files, the .gitignore
    blocks (None outside git)."""

    plan: Plan
    sweep: list[str]
    ignore: dict[str, list[str]] | None


def encode(load_digest: str, entries: Sequence[list[object]], sweep: Sequence[str],
           ignore: dict[str, list[str]] | None) -> bytes:
    """``entries``: [stage, stage key, lock signature, deps, outs, files] in plan order."""
    return json.dumps([load_digest, list(entries), list(sweep), ignore], separators=(",", ":")).encode()


def recall(raw: bytes | None, load_digest: str, root: str, state_dir: str) -> Shot | None:
    """The remembered plan when every file it compared is unchanged; None otherwise."""
    if raw is None:
        return None
    try:
        digest, entries, sweep, ignore = json.loads(raw)
        if digest != load_digest or not isinstance(entries, list) or not entries:
            return None
        plan = _plan(entries, root, state_dir)
        if plan is None:
            return None
        return Shot(plan, [_folder(f) for f in sweep], None if ignore is None else _ignore(ignore))
    except (ValueError, TypeError, AttributeError, UnsafePathError):
        return None


def _plan(entries: list[Any], root: str, state_dir: str) -> Plan | None:
    """Each entry checked as the memo's recall checks it, in plan order: a dependency an earlier
    stage of the plan produces settles with that stage's output hash (it was equal when the
    plan was remembered); every other recorded file must still have its signature."""
    seen: dict[str, FileSig | None] = {}
    produced: dict[str, str] = {}
    plan = Plan()
    for stage, key, lock_sig, raw_deps, raw_outs, files in entries:
        if not isinstance(stage, str) or not isinstance(key, str) or not isinstance(files, dict):
            return None
        if safe_path(stage.replace(":", "/"), source=_SOURCE) != stage.replace(":", "/"):
            return None  # an identity names a lock file: never one outside .pivot/stages
        if current_sig(lockfile.lock_name(state_dir, stage)) != tuple(lock_sig):
            return None
        deps, outs = str_map(raw_deps), str_map(raw_outs)
        if any(produced[p] != h for p, h in deps.items() if p in produced):
            return None
        for path, sig in files.items():
            if path in produced and path not in outs:
                continue
            if path not in seen:
                seen[path] = current_sig(f"{root}/{safe_path(path, source=_SOURCE)}")
            if seen[path] != tuple(sig):
                return None
        produced.update(outs)
        plan.add(skip_decision(stage, key, deps, outs))
    return plan


def _folder(raw: object) -> str:
    """"." (the root) or a checked project folder: temp files are deleted there."""
    return "." if raw == "." else safe_path(raw, source=_SOURCE)


def _ignore(raw: object) -> dict[str, list[str]]:
    """.gitignore blocks are written there: checked folders, one-line entries."""
    if not isinstance(raw, dict):
        raise TypeError("not a mapping")
    found: dict[str, list[str]] = {}
    for folder, lines in raw.items():
        if not isinstance(lines, list) or not all(isinstance(x, str) and "\n" not in x and "\r" not in x for x in lines):
            raise TypeError("not a list of lines")
        found["" if folder == "" else safe_path(folder, source=_SOURCE)] = lines
    return found
