"""Fetch again what failed verification in the local cache (DESIGN rule 13).

A corrupt local object is moved to quarantine by the checkout that found it;
this puts a verified copy back from the default remote, when there is one, so
the placement can be retried instead of the stage re-run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from pivot.digest import Digest
from pivot.errors import PivotError
from pivot.remote.config import default_remote

if TYPE_CHECKING:
    from pivot.workspace import Workspace

log = logging.getLogger(__name__)


def refetcher(ws: Workspace) -> Callable[[Digest, bool], bool]:
    """``ws.refetch``: True when every object of the artifact is back, verified."""

    def refetch(d: Digest, is_dir: bool) -> bool:
        try:
            remote = default_remote(ws)  # resolved only now: most runs never need it
            if remote is None:
                return False
            if is_dir and not ws.odb.exists(d):
                ws.odb.put_bytes(remote.get_manifest_bytes(d))  # verified by get_bytes
            wanted = {e.digest for e in ws.odb.read_manifest(d)} if is_dir else {d}
            todo = wanted - ws.odb.exists_many(wanted)
            failed = remote.download(ws.odb, todo, ws.layout.tmp_dir)
        except (PivotError, OSError, ValueError) as exc:
            log.warning("cannot fetch %s again from the remote: %s", d, exc)
            return False
        for f in failed:
            log.warning("cannot fetch %s again from %s: %s", f.digest, remote.url, f.error)
        if not failed:
            log.warning("fetched %s again from %s", d, remote.url)
        return not failed

    return refetch
